/**
 * One long-lived `git cat-file --batch` child shared by many lookups, so a clean filter can fetch
 * the index/HEAD version of each file it sees during a whole `git status` with a single spawn.
 *
 * Protocol (git-cat-file(1), --batch): one object name per input line; for each, git prints
 * `<oid> SP <type> SP <size> LF <contents> LF`, or `<name> SP missing LF` (also `ambiguous`).
 * Answers come back in request order, so requests are pipelined: every read() writes its line at
 * once and waits for its turn in a FIFO.
 *
 * Object names are taken literally, e.g. `:0:path` (index, stage 0), `HEAD:path`, an oid. Paths in
 * `:path` forms are relative to the top of the work tree. The child inherits GIT_DIR /
 * GIT_INDEX_FILE from the environment, so inside a filter started by git it sees the same
 * repository and index as git does.
 *
 * An idle CatFileBatch does not keep the Node process alive (its child and pipes are unref'd
 * while no request is pending), but call close() to end the child promptly.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { GitSealError } from '../errors.js';
import { ChunkQueue } from './pktline.js';

export interface CatFileOptions {
  /** Working directory for git (default: process.cwd()). */
  cwd?: string;
  /** Sets GIT_DIR for the child. */
  gitDir?: string;
  /** Environment for the child (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** git executable (default: "git"). */
  git?: string;
}

export interface CatFileObject {
  oid: string;
  type: string;
  content: Buffer;
}

interface Pending {
  spec: string;
  resolve(obj: CatFileObject | null): void;
  reject(err: Error): void;
}

interface Refable {
  ref?(): unknown;
  unref?(): unknown;
}

const HEADER = /^([0-9a-f]{40}|[0-9a-f]{64}) (\S+) (\d+)$/;
const STDERR_LIMIT = 4096;

export class CatFileBatch {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly queue: Pending[] = [];
  private readonly out = new ChunkQueue();
  private header: { oid: string; type: string; size: number } | null = null;
  private stderrText = '';
  private failure: Error | null = null;
  private closed = false;
  private exited: Promise<void> | null = null;
  private outbox: string[] = [];
  private flushScheduled = false;

  constructor(private readonly options: CatFileOptions = {}) {}

  /** Content of the object named by `spec`, or null if git reports it missing (or ambiguous). */
  async read(spec: string): Promise<Buffer | null> {
    const obj = await this.readObject(spec);
    return obj === null ? null : obj.content;
  }

  /** Like read(), with the object's oid and type. */
  readObject(spec: string): Promise<CatFileObject | null> {
    if (this.closed) return Promise.reject(new GitSealError('git cat-file helper used after close()'));
    if (this.failure) return Promise.reject(this.failure);
    if (/[\n\r\0]/.test(spec)) {
      return Promise.reject(new GitSealError(`cannot look up ${JSON.stringify(spec)}: object names with line breaks or NUL are not supported`));
    }
    let child: ChildProcessWithoutNullStreams;
    try {
      child = this.ensureChild();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<CatFileObject | null>((resolve, reject) => {
      this.queue.push({ spec, resolve, reject });
      if (this.queue.length === 1) this.setRef(child, true);
      // Batch the request lines of everything asked for in the same tick into one write.
      this.outbox.push(`${spec}\n`);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        process.nextTick(() => this.flushOutbox());
      }
    });
  }

  /** End the child after answering everything already requested. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.exited ?? undefined;
    this.closed = true;
    const child = this.child;
    if (!child) return;
    this.flushOutbox();
    // Keep the loop alive until git exits, so awaiting close() cannot strand the caller.
    this.setRef(child, true);
    if (!child.stdin.destroyed) child.stdin.end();
    await this.exited;
  }

  private flushOutbox(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0 || !this.child) return;
    const text = this.outbox.join('');
    this.outbox = [];
    if (!this.child.stdin.destroyed) this.child.stdin.write(text);
  }

  private ensureChild(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const env = { ...(this.options.env ?? process.env) };
    if (this.options.gitDir) env.GIT_DIR = this.options.gitDir;
    const child = spawn(this.options.git ?? 'git', ['cat-file', '--batch'], {
      cwd: this.options.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise<void>((resolve) => {
      let done = false;
      const finish = (err: Error | null): void => {
        if (done) return;
        done = true;
        this.fail(err ?? this.exitError(child.exitCode, child.signalCode));
        resolve();
      };
      child.on('error', (err: NodeJS.ErrnoException) => {
        finish(
          err.code === 'ENOENT'
            ? new GitSealError('git executable not found', 'install git or put it on PATH')
            : new GitSealError(`could not run git cat-file: ${err.message}`),
        );
      });
      child.on('close', (code, signal) => finish(this.exitError(code, signal)));
    });
    child.stdin.on('error', () => {
      /* EPIPE when git exits early; reported through 'close' with git's own message */
    });
    child.stdout.on('data', (chunk: Buffer) => this.onStdout(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (this.stderrText.length < STDERR_LIMIT) this.stderrText += s;
    });
    this.setRef(child, false);
    return child;
  }

  /** While requests are pending the child keeps the event loop alive; while idle it does not. */
  private setRef(child: ChildProcessWithoutNullStreams, on: boolean): void {
    for (const h of [child, child.stdin, child.stdout, child.stderr] as Refable[]) {
      if (on) h.ref?.();
      else h.unref?.();
    }
  }

  private exitError(code: number | null, signal: NodeJS.Signals | null): GitSealError {
    const msg = this.stderrText.split('\n').find((l) => l.trim() !== '')?.trim();
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (msg && /not a git repository/i.test(msg)) {
      return new GitSealError(`git cat-file failed: ${msg}`, 'run this inside a git repository (or set GIT_DIR)');
    }
    return new GitSealError(`git cat-file ${how}${msg ? `: ${msg}` : ''}`);
  }

  /** Reject everything outstanding and make later reads fail with the same error. */
  private fail(err: Error): void {
    if (!this.closed || this.queue.length > 0) this.failure ??= err;
    const pending = this.queue.splice(0);
    for (const p of pending) p.reject(this.failure ?? err);
    if (this.child && this.queue.length === 0) this.setRef(this.child, false);
  }

  private onStdout(chunk: Buffer): void {
    this.out.push(chunk);
    for (;;) {
      if (this.header === null) {
        const lf = this.out.indexOf(0x0a);
        if (lf < 0) return;
        const line = this.out.take(lf + 1).toString('utf8', 0, lf);
        const head = this.queue[0];
        if (!head) return this.desync(`unexpected output ${JSON.stringify(line)}`);
        const m = HEADER.exec(line);
        if (m) {
          this.header = { oid: m[1], type: m[2], size: Number(m[3]) };
        } else if (line.startsWith(`${head.spec} `)) {
          // "<spec> missing" / "<spec> ambiguous": no object to return
          this.settle()?.resolve(null);
          continue;
        } else {
          return this.desync(`unexpected reply ${JSON.stringify(line)} for ${JSON.stringify(head.spec)}`);
        }
      }
      const h = this.header;
      if (this.out.length < h.size + 1) return;
      const content = this.out.take(h.size);
      const lf = this.out.take(1);
      if (lf[0] !== 0x0a) return this.desync('object content not followed by a line feed');
      this.header = null;
      this.settle()?.resolve({ oid: h.oid, type: h.type, content });
    }
  }

  private settle(): Pending | undefined {
    const p = this.queue.shift();
    if (this.queue.length === 0 && this.child) this.setRef(this.child, false);
    return p;
  }

  private desync(detail: string): void {
    this.fail(new GitSealError(`git cat-file protocol error: ${detail}`));
    this.child?.kill();
  }
}
