/**
 * The client side of the age plugin protocol (C2SP age-plugin.md): finding `age-plugin-NAME` on PATH,
 * and exchanging age-header-style stanzas with it over its stdin and stdout.
 *
 * A plugin is looked up on PATH only, in absolute directories only: an empty or relative PATH entry
 * (`.`, `bin`) would resolve against the working directory, which is the repository, so a hostile
 * `./age-plugin-x` committed there is never run. The plugin runs in the temp directory, never the
 * repository. Every read waits at most `timeoutMs` for the plugin (not counting time spent asking the
 * user), then the plugin is killed and the call fails with one line naming it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { GitSealError } from '../errors.js';
import { decodeBase64NoPad, encodeBase64NoPad } from './base64.js';
import { terminalPluginUI, type PluginUI } from './plugin-ui.js';
import { NoTerminalError } from './prompt.js';

export type { PluginUI };

export interface PluginStanza {
  type: string;
  args: string[];
  body: Uint8Array;
}

export interface PluginOptions {
  ui?: PluginUI;
  /** How long to wait for the plugin between two of its messages; default $GITSEAL_PLUGIN_TIMEOUT seconds, else 120 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const NAME_RE = /^[a-z0-9][a-z0-9._+-]*$/;

/** A plugin name usable in a binary name: lowercase, no path separators. */
export function validPluginName(name: string): boolean {
  return NAME_RE.test(name);
}

/** The first line of an error stanza's message. */
export function errorMessage(s: PluginStanza): string {
  return Buffer.from(s.body).toString('utf8').split('\n')[0].slice(0, 200) || 'unspecified error';
}

export function pluginError(name: string, what: string, hint = `check that age-plugin-${name} works: run it with --help`): GitSealError {
  return new GitSealError(`age-plugin-${name}: ${what}`, hint);
}

/** The absolute path of `age-plugin-NAME` on PATH, or null. Relative PATH entries are skipped. */
export function findPlugin(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (!validPluginName(name)) return null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const file = join(dir, `age-plugin-${name}`);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

function defaultTimeout(env: NodeJS.ProcessEnv): number {
  const s = Number(env.GITSEAL_PLUGIN_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 120_000;
}

/** Stanza text exactly as in an age header: args on the first line, base64 body in 64-column lines. */
function encodeStanza(type: string, args: readonly string[] = [], body: Uint8Array = new Uint8Array(0)): string {
  const b64 = encodeBase64NoPad(body);
  let text = `-> ${[type, ...args].join(' ')}\n`;
  for (let i = 0; i < b64.length; i += 64) text += b64.slice(i, i + 64) + '\n';
  if (b64.length % 64 === 0) text += '\n';
  return text;
}

/** One running plugin process, speaking one state machine. */
export class PluginConnection {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = '';
  private waiting: { resolve: () => void } | null = null;
  private exited: string | null = null;
  private stderrTail = '';
  private readonly timeoutMs: number;
  readonly ui: PluginUI;

  private constructor(readonly name: string, path: string, machine: string, opts: PluginOptions) {
    const env = opts.env ?? process.env;
    this.timeoutMs = opts.timeoutMs ?? defaultTimeout(env);
    this.ui = opts.ui ?? terminalPluginUI;
    this.child = spawn(path, [`--age-plugin=${machine}`], { cwd: tmpdir(), env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('latin1');
    this.child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.wake();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2000);
    });
    this.child.stdin.on('error', () => {
      /* reported as an exit */
    });
    this.child.on('error', (err) => this.finish(`could not start (${(err as NodeJS.ErrnoException).code ?? err.message})`));
    this.child.on('exit', (code, signal) => this.finish(signal ? `was killed by ${signal}` : `exited with status ${code}`));
  }

  /** Start `age-plugin-NAME --age-plugin=MACHINE`; a missing binary is a one-line error naming it. */
  static open(name: string, machine: 'recipient-v1' | 'identity-v1', opts: PluginOptions = {}): PluginConnection {
    const env = opts.env ?? process.env;
    const path = findPlugin(name, env);
    if (!path) {
      throw pluginError(name, 'not found on PATH', `install age-plugin-${name} and make sure its directory is on PATH (relative PATH entries are ignored)`);
    }
    return new PluginConnection(name, path, machine, opts);
  }

  private finish(why: string): void {
    this.exited ??= why;
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.resolve();
  }

  /** What the plugin printed last on stderr, as one short line. */
  private stderrLine(): string {
    const lines = this.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
    const last = lines[lines.length - 1];
    return last ? `: ${last.slice(0, 200)}` : '';
  }

  fail(what: string): never {
    this.kill();
    throw pluginError(this.name, what);
  }

  send(type: string, args: readonly string[] = [], body?: Uint8Array): void {
    if (this.exited) this.fail(`${this.exited} before the exchange finished${this.stderrLine()}`);
    this.child.stdin.write(encodeStanza(type, args, body), 'latin1');
  }

  private takeLine(): string | null {
    const nl = this.buffer.indexOf('\n');
    if (nl < 0) return null;
    const line = this.buffer.slice(0, nl);
    this.buffer = this.buffer.slice(nl + 1);
    return line;
  }

  /** Parse one complete stanza from the buffer, or null when more input is needed. */
  private parseBuffered(): PluginStanza | null {
    const saved = this.buffer;
    const head = this.takeLine();
    if (head === null) return null;
    if (!head.startsWith('-> ')) this.fail('answered out of protocol (expected a stanza)');
    const words = head.slice(3).split(' ');
    if (words.some((w) => w === '' || !/^[\x21-\x7e]+$/.test(w))) this.fail('answered out of protocol (malformed stanza)');
    const parts: Uint8Array[] = [];
    for (;;) {
      const line = this.takeLine();
      if (line === null) {
        this.buffer = saved;
        return null;
      }
      const bytes = line.length <= 64 ? decodeBase64NoPad(line) : null;
      if (!bytes) this.fail('answered out of protocol (malformed stanza body)');
      parts.push(bytes);
      if (line.length < 64) break;
    }
    return { type: words[0], args: words.slice(1), body: Buffer.concat(parts) };
  }

  /** The plugin's next stanza; fails on exit, timeout or garbage. */
  async read(): Promise<PluginStanza> {
    for (;;) {
      const s = this.parseBuffered();
      if (s) return s;
      if (this.exited) this.fail(`${this.exited} before the exchange finished${this.stderrLine()}`);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await new Promise<boolean>((resolve) => {
        this.waiting = { resolve: () => resolve(false) };
        timer = setTimeout(() => resolve(true), this.timeoutMs);
      });
      clearTimeout(timer);
      if (timedOut) this.fail(`did not answer within ${Math.round(this.timeoutMs / 1000)} s (set GITSEAL_PLUGIN_TIMEOUT to wait longer)`);
    }
  }

  /**
   * Answer one of the plugin's requests to the user (msg, confirm, request-public, request-secret).
   * Returns false for a command this client does not know, which the caller answers `unsupported`.
   */
  async answerUser(s: PluginStanza, asked: string[]): Promise<boolean> {
    const text = Buffer.from(s.body).toString('utf8');
    const ui = this.ui;
    switch (s.type) {
      case 'msg':
        try {
          await ui.message(this.name, text);
          this.send('ok');
        } catch {
          this.send('fail');
        }
        return true;
      case 'confirm': {
        if (s.args.length < 1 || s.args.length > 2) this.fail('answered out of protocol (malformed confirm)');
        const [yes, no] = s.args.map((a) => decodeBase64NoPad(a));
        if (!yes || (s.args.length === 2 && !no)) this.fail('answered out of protocol (malformed confirm)');
        try {
          const chose = await ui.confirm(this.name, text, Buffer.from(yes).toString('utf8'), no ? Buffer.from(no).toString('utf8') : undefined);
          this.send('ok', [chose ? 'yes' : 'no']);
        } catch (err) {
          this.unanswered(err, 'a confirmation', asked);
        }
        return true;
      }
      case 'request-public':
      case 'request-secret': {
        const secret = s.type === 'request-secret';
        try {
          const value = await ui.requestValue(this.name, text, secret);
          this.send('ok', [], Buffer.from(value, 'utf8'));
        } catch (err) {
          this.unanswered(err, secret ? 'a secret (PIN or passphrase)' : 'a value', asked);
        }
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * Phase 2 of either state machine, until the plugin's `done`: `handlers` take the machine's own commands
   * (each then answered `ok`), `error`s are collected (answered `ok`), requests to the user go to the UI,
   * anything else is `unsupported`. The process is killed on any failure, else left to exit.
   */
  async exchange(handlers: Record<string, (s: PluginStanza) => void>): Promise<{ errors: PluginStanza[]; asked: string[] }> {
    const errors: PluginStanza[] = [];
    const asked: string[] = [];
    try {
      for (;;) {
        const s = await this.read();
        if (s.type === 'done') break;
        const handle = Object.hasOwn(handlers, s.type) ? handlers[s.type] : undefined;
        if (handle || s.type === 'error') {
          if (handle) handle(s);
          else errors.push(s);
          this.send('ok');
        } else if (!(await this.answerUser(s, asked))) {
          this.send('unsupported');
        }
      }
    } catch (err) {
      this.kill();
      throw err;
    }
    this.close();
    return { errors, asked };
  }

  /** A file index argument below `count`, or a protocol failure naming `what`. */
  index(arg: string | undefined, count: number, what: string): number {
    const i = /^(0|[1-9][0-9]*)$/.test(arg ?? '') ? Number(arg) : -1;
    if (i < 0 || i >= count) this.fail(`answered out of protocol (bad ${what} index)`);
    return i;
  }

  /** The user could not be asked (no terminal): tell the plugin `fail`. A cancelled prompt ends the exchange. */
  private unanswered(err: unknown, what: string, asked: string[]): void {
    if (err instanceof GitSealError && !(err instanceof NoTerminalError)) {
      this.kill();
      throw err;
    }
    asked.push(what);
    this.send('fail');
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
    this.child.stdin.destroy();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
  }

  /** Close stdin and let the plugin exit on its own. */
  close(): void {
    this.child.stdin.end();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    this.child.unref();
  }
}
