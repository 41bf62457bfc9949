/**
 * Server side of git's long-running filter process protocol (gitattributes(5), "Long Running
 * Filter Process"; Documentation/technical/long-running-process-protocol).
 *
 * git starts `filter.<driver>.process` once per git command, performs a handshake, then sends one
 * request per file. This module owns the framing; the caller supplies the clean/smudge transforms.
 *
 *   git> git-filter-client / version=2 / 0000      git< git-filter-server / version=2 / 0000
 *   git> capability=clean / capability=smudge / capability=delay / 0000
 *   git< capability=clean / capability=smudge / 0000
 *   git> command=clean / pathname=a.sec / [ref=… treeish=… blob=… can-delay=1] / 0000 / CONTENT… / 0000
 *   git< status=success / 0000 / CONTENT… / 0000 / 0000        (or: status=error / 0000)
 *
 * With `delay` (offered when the handlers have smudgeBatch and delay(), used when delay() says yes), a
 * smudge git marks can-delay=1 is answered `status=delayed` at once and queued; the queue is smudged in
 * batches of up to BATCH_SIZE files, so one batch call opens many files' data keys at once. git later
 * asks for what is ready:
 *   git> command=list_available_blobs / 0000       git< pathname=a.sec / … / 0000 / status=success / 0000
 *   git> command=smudge / pathname=a.sec / 0000 / 0000 (no content)   git< status=success / … as above
 * and stops asking when the list is empty. At most MAX_DELAYED files are held at once (their plaintext, in
 * memory until git fetches them); past that, smudges are answered in place.
 *
 * Nothing but pkt-lines may be written to the output stream while this runs: a stray
 * console.log to stdout corrupts the protocol. Diagnostics go to stderr.
 */
import type { Writable } from 'node:stream';
import { GitSealError } from '../errors.js';
import { PktLineReader, PktLineWriter } from './pktline.js';

export type FilterCommand = 'clean' | 'smudge';

export interface FilterRequest {
  command: FilterCommand;
  /** Path relative to the repository root, as git sent it. */
  pathname: string;
  content: Buffer;
  /** Every other key=value git sent with the request (ref, treeish, blob, can-delay, …). */
  meta: Record<string, string>;
}

export interface FilterHandlers {
  clean(req: FilterRequest): Promise<Buffer> | Buffer;
  smudge(req: FilterRequest): Promise<Buffer> | Buffer;
  /**
   * Smudge many files in one call (one result or Error per request, in order). When present and
   * `delay` is true, the `delay` capability is offered and delayed smudges are served in batches.
   */
  smudgeBatch?(reqs: FilterRequest[]): Promise<(Buffer | Error)[]>;
  /**
   * Whether to delay smudges (asked once, at the first smudge git allows to delay; with smudgeBatch,
   * the `delay` capability is offered and a "no" serves every smudge in place).
   */
  delay?(): Promise<boolean>;
  /** Called when git has its answer to a clean and no other request has come in yet: time to work ahead. */
  afterClean?(pathname: string): void;
}

export interface FilterIo {
  input: NodeJS.ReadableStream | AsyncIterable<Buffer | Uint8Array | string>;
  output: Writable | NodeJS.WritableStream;
  /** Where per-file error lines go (default process.stderr). */
  stderr?: Writable | NodeJS.WritableStream;
}

/** The capabilities this server implements, in the order they are advertised. */
const SUPPORTED_CAPABILITIES: readonly FilterCommand[] = ['clean', 'smudge'];

/** Most delayed smudges held (queued, or done and not yet fetched by git) at once. */
const MAX_DELAYED = 4096;
/** Most files in one smudgeBatch call. */
const BATCH_SIZE = 1024;

const WELCOME = 'git-filter';
const PROTOCOL_VERSION = '2';

function notGit(detail: string): GitSealError {
  return new GitSealError(
    `filter protocol error: ${detail}`,
    'this command is meant to be started by git via filter.<driver>.process',
  );
}

/** Split `key=value` at the first '=' (values may contain '=', keys never do). */
export function parseKeyValue(line: string): [key: string, value: string] {
  const eq = line.indexOf('=');
  return eq < 0 ? [line, ''] : [line.slice(0, eq), line.slice(eq + 1)];
}

/**
 * Server half of the long-running process handshake. Reads the client's welcome + versions and its
 * capability list, answers with the server welcome, version 2 and the intersection of `supported`
 * with what the client offered. Returns the agreed capabilities.
 */
async function serverHandshake(
  reader: PktLineReader,
  writer: PktLineWriter,
  supported: readonly string[] = SUPPORTED_CAPABILITIES,
  welcome = WELCOME,
): Promise<Set<string>> {
  const hello = await reader.readTextList();
  if (hello === null) throw notGit('input ended before the handshake');
  if (hello[0] !== `${welcome}-client`) {
    throw notGit(`expected "${welcome}-client", got ${JSON.stringify(hello[0] ?? '')}`);
  }
  const versions = hello.slice(1).filter((l) => l.startsWith('version=')).map((l) => parseKeyValue(l)[1]);
  if (!versions.includes(PROTOCOL_VERSION)) {
    throw notGit(`client offers protocol version(s) ${versions.join(', ') || 'none'}, only ${PROTOCOL_VERSION} is supported`);
  }
  writer.text(`${welcome}-server`).text(`version=${PROTOCOL_VERSION}`).flushPkt();
  await writer.send();

  const caps = await reader.readTextList();
  if (caps === null) throw notGit('input ended before the capability list');
  const offered = new Set(caps.filter((l) => l.startsWith('capability=')).map((l) => parseKeyValue(l)[1]));
  const agreed = new Set<string>();
  for (const cap of supported) {
    if (offered.has(cap)) {
      agreed.add(cap);
      writer.text(`capability=${cap}`);
    }
  }
  writer.flushPkt();
  await writer.send();
  return agreed;
}

/** First line of an error's message (plus a GitSealError's hint): never multi-line, never a stack. */
export function errorLine(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const first = raw.split(/\r?\n/, 1)[0].trim() || (err instanceof Error ? err.name : 'error');
  return err instanceof GitSealError && err.hint ? `${first} (${err.hint})` : first;
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`filter handler returned ${value === null ? 'null' : typeof value}, expected a Buffer`);
}

/**
 * Serve git's long-running filter protocol until git closes the input (resolves), or the stream is
 * broken / not speaking the protocol (rejects with a GitSealError or the stream's error).
 *
 * Requests are served strictly one at a time. A handler that throws gets `status=error` for that
 * file only (git then fails that path if `filter.<driver>.required`), a line
 * `git-seal: <pathname>: <message>` on stderr, and the loop keeps serving the next request.
 */
export async function runFilterProcess(
  handlers: FilterHandlers,
  io: FilterIo = { input: process.stdin, output: process.stdout },
): Promise<void> {
  const reader = new PktLineReader(io.input);
  const writer = new PktLineWriter(io.output);
  const stderr = io.stderr ?? process.stderr;
  const report = (pathname: string, message: string): void => {
    try {
      const named = !pathname || message.startsWith(`${pathname}:`); // most errors already name the file
      stderr.write(`git-seal: ${named ? '' : `${pathname}: `}${message}\n`);
    } catch {
      /* a broken stderr must not take the filter down */
    }
  };

  let clean = false;
  const delayed = handlers.delay && handlers.smudgeBatch ? new DelayedSmudges(handlers.smudgeBatch.bind(handlers), report) : null;
  let delaying: Promise<boolean> | undefined;
  let requests = 0;
  try {
    const agreed = await serverHandshake(reader, writer, delayed ? [...SUPPORTED_CAPABILITIES, 'delay'] : SUPPORTED_CAPABILITIES);
    for (;;) {
      const headers = await reader.readTextList();
      if (headers === null) break; // git closed the pipe between requests: normal shutdown

      let command = '';
      let pathname = '';
      const meta: Record<string, string> = {};
      for (const line of headers) {
        const [key, value] = parseKeyValue(line);
        if (key === 'command') command = value;
        else if (key === 'pathname') pathname = value;
        else meta[key] = value;
      }
      if (!command) throw notGit('request without a command');
      const request = ++requests;

      if (command === 'list_available_blobs') {
        // Carries no content. Without delay (or with nothing delayed) the empty list ends git's asking.
        for (const path of delayed && agreed.has('delay') ? await delayed.available() : []) writer.text(`pathname=${path}`);
        writer.flushPkt().text('status=success').flushPkt();
        await writer.send();
        continue;
      }

      const content = await reader.readContent();

      if (command === 'smudge' && delayed && agreed.has('delay') && agreed.has('smudge')) {
        if (meta['can-delay'] === '1' && delayed.accepts() && (await (delaying ??= handlers.delay!().catch(() => false)))) {
          await delayed.add({ command, pathname, content, meta });
          writer.text('status=delayed').flushPkt();
          await writer.send();
          continue;
        }
        const ready = delayed.take(pathname);
        if (ready !== undefined) {
          if (ready instanceof Error) writer.text('status=error').flushPkt();
          else writer.text('status=success').flushPkt().content(ready).flushPkt().flushPkt();
          await writer.send();
          continue;
        }
      }

      let result: Buffer | undefined;
      if ((command === 'clean' || command === 'smudge') && agreed.has(command)) {
        try {
          result = toBuffer(await handlers[command]({ command, pathname, content, meta }));
        } catch (err) {
          report(pathname, errorLine(err));
        }
      } else {
        report(pathname, `unsupported filter command ${JSON.stringify(command)}`);
      }

      if (result === undefined) {
        writer.text('status=error').flushPkt();
      } else {
        // status, content, then an empty list meaning "keep status=success".
        writer.text('status=success').flushPkt().content(result).flushPkt().flushPkt();
      }
      await writer.send();
      if (command === 'clean' && result !== undefined && handlers.afterClean) {
        const ahead = handlers.afterClean.bind(handlers);
        setImmediate(() => request === requests && ahead(pathname));
      }
    }
    clean = true;
  } finally {
    delayed?.clear();
    writer.detach();
    if (!clean) await reader.close().catch(() => undefined);
  }
}

/**
 * Delayed smudges: queued as git sends them and smudged in batches (one smudgeBatch call for up to
 * BATCH_SIZE files: when that many are queued, and for the rest when git asks what is available), then
 * kept until git fetches them. A failed file is an Error result, reported once on stderr; git then gets
 * status=error for it.
 */
class DelayedSmudges {
  private readonly queue: FilterRequest[] = [];
  private readonly done = new Map<string, Buffer | Error>();

  constructor(
    private readonly batch: (reqs: FilterRequest[]) => Promise<(Buffer | Error)[]>,
    private readonly report: (pathname: string, message: string) => void,
  ) {}

  accepts(): boolean {
    return this.queue.length + this.done.size < MAX_DELAYED;
  }

  async add(req: FilterRequest): Promise<void> {
    this.queue.push(req);
    if (this.queue.length >= BATCH_SIZE) await this.work();
  }

  private async work(): Promise<void> {
    const reqs = this.queue.splice(0);
    if (reqs.length === 0) return;
    let results: (Buffer | Error)[];
    try {
      results = await this.batch(reqs);
    } catch (err) {
      results = reqs.map(() => (err instanceof Error ? err : new Error(String(err))));
    }
    reqs.forEach((req, i) => {
      const r = results[i] ?? new Error('no result');
      if (r instanceof Error) this.report(req.pathname, errorLine(r));
      this.done.set(req.pathname, r instanceof Error ? r : toBuffer(r));
    });
  }

  /** Smudge what is still queued; the paths ready to fetch. */
  async available(): Promise<string[]> {
    await this.work();
    return [...this.done.keys()];
  }

  /** The result for a fetched path (and forget it), or undefined if it was not delayed. */
  take(pathname: string): Buffer | Error | undefined {
    const r = this.done.get(pathname);
    if (r !== undefined) this.done.delete(pathname);
    return r;
  }

  clear(): void {
    this.queue.length = 0;
    this.done.clear();
  }
}
