import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import { compileModule } from '../helpers.js';
import {
  errorLine,
  parseKeyValue,
  runFilterProcess,
  type FilterHandlers,
  type FilterRequest,
} from '../../src/git/filter-process.js';

// ---------------------------------------------------------------------------------------------
// Byte-level helpers written independently of src/git/pktline.ts, so the unit tests check the
// wire format rather than round-tripping through the implementation under test.

function pkt(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'latin1'), body]);
}
const line = (s: string): Buffer => pkt(`${s}\n`);
const FLUSH = Buffer.from('0000', 'latin1');
const wire = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

const HANDSHAKE_IN = wire(line('git-filter-client'), line('version=2'), FLUSH);
const CAPS_IN = wire(line('capability=clean'), line('capability=smudge'), line('capability=delay'), FLUSH);
const HANDSHAKE_OUT = wire(line('git-filter-server'), line('version=2'), FLUSH);
const CAPS_OUT = wire(line('capability=clean'), line('capability=smudge'), FLUSH);
const ERROR_OUT = wire(line('status=error'), FLUSH);
const success = (content: Buffer): Buffer => {
  const pieces: Buffer[] = [];
  for (let off = 0; off < content.length; off += 65516) pieces.push(pkt(content.subarray(off, off + 65516)));
  return wire(line('status=success'), FLUSH, ...pieces, FLUSH, FLUSH);
};
const request = (headers: string[], content: Buffer[]): Buffer =>
  wire(...headers.map(line), FLUSH, ...content.map((c) => pkt(c)), FLUSH);

/** Plays git's side over in-memory pipes, reading the filter's answers byte for byte. */
class FakeGit {
  readonly input = new PassThrough(); // git -> filter
  readonly output = new PassThrough(); // filter -> git
  stderrText = '';
  readonly stderr = new Writable({
    write: (c: Buffer, _e, cb) => {
      this.stderrText += c.toString('utf8');
      cb();
    },
  });
  writeCalls = 0;
  private got: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;

  constructor() {
    const write = this.output.write.bind(this.output) as (c: Buffer) => boolean;
    this.output.write = ((c: Buffer) => {
      this.writeCalls++;
      return write(c);
    }) as typeof this.output.write;
    this.output.on('data', (c: Buffer) => {
      this.got = Buffer.concat([this.got, c]);
      this.waiter?.();
    });
  }

  send(...parts: Buffer[]): void {
    this.input.write(wire(...parts));
  }

  get pendingBytes(): number {
    return this.got.length;
  }

  /** Wait for exactly `bytes` and compare them (as latin1 text, so failures show readable diffs). */
  async expect(bytes: Buffer, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.got.length < bytes.length) {
      if (Date.now() > deadline) break;
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 20);
      });
    }
    const actual = this.got.subarray(0, bytes.length);
    this.got = this.got.subarray(actual.length);
    expect(actual.toString('latin1')).toBe(bytes.toString('latin1'));
  }
}

function upperHandlers(calls: FilterRequest[] = []): FilterHandlers {
  return {
    async clean(req) {
      calls.push(req);
      await new Promise((r) => setImmediate(r));
      if (req.content.includes('SECRET')) throw new Error('cannot seal this file\nsecond line mentions SECRET');
      return Buffer.from(req.content.toString('utf8').toUpperCase());
    },
    smudge(req) {
      calls.push(req);
      return Buffer.from(req.content.toString('utf8').toLowerCase());
    },
  };
}

describe('runFilterProcess (in-memory git)', () => {
  it('handshakes, serves requests, reports a failing file without stopping, and ends at EOF', async () => {
    const git = new FakeGit();
    const calls: FilterRequest[] = [];
    const run = runFilterProcess(upperHandlers(calls), git);

    git.send(HANDSHAKE_IN);
    await git.expect(HANDSHAKE_OUT);
    git.send(CAPS_IN);
    await git.expect(CAPS_OUT);

    // Request 1, content split over two packets and sent in two steps: no answer before the final flush.
    git.send(wire(line('command=clean'), line('pathname=dir/a b.sec'), FLUSH, pkt('hel')));
    await new Promise((r) => setTimeout(r, 30));
    expect(git.pendingBytes).toBe(0);
    git.send(pkt('lo\n'), FLUSH);
    await git.expect(success(Buffer.from('HELLO\n')));

    // Request 2: the handler throws -> status=error for this file only.
    git.send(request(['command=clean', 'pathname=bad.sec'], [Buffer.from('SECRET-VALUE=hunter2')]));
    await git.expect(ERROR_OUT);

    // Request 3: smudge with metadata and empty content -> success with empty content.
    git.send(
      request(
        ['command=smudge', 'pathname=c.sec', 'ref=refs/heads/main', 'treeish=0123abcd', 'blob=89ef', 'weird=a=b'],
        [],
      ),
    );
    await git.expect(success(Buffer.alloc(0)));

    // Request 4: a command we never advertised -> status=error, and still serving.
    git.send(request(['command=frobnicate', 'pathname=x.sec'], [Buffer.from('data')]));
    await git.expect(ERROR_OUT);

    // Request 5: the next file still works.
    git.send(request(['command=smudge', 'pathname=d.sec'], [Buffer.from('ABC')]));
    await git.expect(success(Buffer.from('abc')));

    git.input.end();
    await run;
    expect(git.pendingBytes).toBe(0);

    expect(calls.map((c) => [c.command, c.pathname, c.content.toString()])).toEqual([
      ['clean', 'dir/a b.sec', 'hello\n'],
      ['clean', 'bad.sec', 'SECRET-VALUE=hunter2'],
      ['smudge', 'c.sec', ''],
      ['smudge', 'd.sec', 'ABC'],
    ]);
    expect(calls[2].meta).toEqual({ ref: 'refs/heads/main', treeish: '0123abcd', blob: '89ef', weird: 'a=b' });
    expect(calls[0].meta).toEqual({});
    expect(git.stderrText).toBe(
      'git-seal: bad.sec: cannot seal this file\n' + 'git-seal: x.sec: unsupported filter command "frobnicate"\n',
    );
    expect(git.stderrText).not.toContain('hunter2');
    // one write per answer: handshake, capabilities, then one per request
    expect(git.writeCalls).toBe(2 + 5);
  });

  it('works when git\'s bytes arrive one at a time', async () => {
    const session = wire(
      HANDSHAKE_IN,
      CAPS_IN,
      request(['command=clean', 'pathname=a'], [Buffer.from('one'), Buffer.from('two')]),
      request(['command=clean', 'pathname=b'], [Buffer.from('SECRET')]),
      request(['command=smudge', 'pathname=c'], [Buffer.from('XY')]),
    );
    const bytes = [...session].map((b) => Buffer.from([b]));
    const out: Buffer[] = [];
    const output = new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    });
    const stderr = new PassThrough();
    await runFilterProcess(upperHandlers(), { input: Readable.from(bytes), output, stderr });
    expect(Buffer.concat(out).toString('latin1')).toBe(
      wire(HANDSHAKE_OUT, CAPS_OUT, success(Buffer.from('ONETWO')), ERROR_OUT, success(Buffer.from('xy'))).toString('latin1'),
    );
  });

  it('offers to work ahead after a clean git has its answer to, unless git has sent the next request', async () => {
    const git = new FakeGit();
    const ahead: string[] = [];
    const handlers: FilterHandlers = { ...upperHandlers(), afterClean: (p) => ahead.push(p) };
    const run = runFilterProcess(handlers, git);
    git.send(HANDSHAKE_IN, CAPS_IN);
    await git.expect(wire(HANDSHAKE_OUT, CAPS_OUT));
    git.send(request(['command=clean', 'pathname=a'], [Buffer.from('x')]));
    await git.expect(success(Buffer.from('X')));
    await new Promise((r) => setImmediate(r));
    expect(ahead).toEqual(['a']);
    // Two requests at once: the second is read before the first's turn to work ahead comes.
    git.send(request(['command=clean', 'pathname=b'], [Buffer.from('y')]), request(['command=clean', 'pathname=c'], [Buffer.from('z')]));
    await git.expect(wire(success(Buffer.from('Y')), success(Buffer.from('Z'))));
    await new Promise((r) => setTimeout(r, 20));
    expect(ahead).toEqual(['a', 'c']);
    // Not after a failed clean, nor after a smudge.
    git.send(request(['command=clean', 'pathname=bad'], [Buffer.from('SECRET')]), request(['command=smudge', 'pathname=d'], [Buffer.from('Q')]));
    await git.expect(wire(ERROR_OUT, success(Buffer.from('q'))));
    await new Promise((r) => setTimeout(r, 20));
    expect(ahead).toEqual(['a', 'c']);
    git.input.end();
    await run;
  });

  it('advertises only the intersection of capabilities and refuses unnegotiated commands', async () => {
    const git = new FakeGit();
    const run = runFilterProcess(upperHandlers(), git);
    git.send(HANDSHAKE_IN, line('capability=smudge'), line('capability=delay'), FLUSH);
    await git.expect(wire(HANDSHAKE_OUT, line('capability=smudge'), FLUSH));
    git.send(request(['command=clean', 'pathname=a'], [Buffer.from('x')]));
    await git.expect(ERROR_OUT);
    git.input.end();
    await run;
  });

  it('accepts lines without trailing LF and a version list with other versions', async () => {
    const git = new FakeGit();
    const run = runFilterProcess(upperHandlers(), git);
    git.send(pkt('git-filter-client'), pkt('version=42'), pkt('version=2'), FLUSH, pkt('capability=clean'), FLUSH);
    await git.expect(wire(HANDSHAKE_OUT, line('capability=clean'), FLUSH));
    git.send(pkt('command=clean'), pkt('pathname=p=q'), FLUSH, pkt('z'), FLUSH);
    await git.expect(success(Buffer.from('Z')));
    git.input.end();
    await run;
  });

  it('rejects a client that is not git or offers no version 2', async () => {
    for (const hello of [
      wire(line('git-filter-client'), line('version=3'), FLUSH),
      wire(line('git-other-client'), line('version=2'), FLUSH),
      wire(line('hello')),
    ]) {
      const git = new FakeGit();
      const run = runFilterProcess(upperHandlers(), git);
      git.send(hello);
      git.input.end();
      await expect(run).rejects.toBeInstanceOf(GitSealError);
      expect(git.pendingBytes).toBe(0);
    }
  });

  it('rejects when git disappears in the middle of a request', async () => {
    const git = new FakeGit();
    const run = runFilterProcess(upperHandlers(), git);
    git.send(HANDSHAKE_IN, CAPS_IN, line('command=clean'), line('pathname=a'), FLUSH, pkt('partial'));
    git.input.end();
    await expect(run).rejects.toThrow(/ended before the flush/);
  });

  it('answers a non-Buffer handler result with status=error', async () => {
    const git = new FakeGit();
    const handlers = { clean: () => 'text' as unknown as Buffer, smudge: () => new Uint8Array([104, 105]) as Buffer };
    const run = runFilterProcess(handlers, git);
    git.send(HANDSHAKE_IN, CAPS_IN, request(['command=clean', 'pathname=a'], []));
    await git.expect(wire(HANDSHAKE_OUT, CAPS_OUT, ERROR_OUT));
    git.send(request(['command=smudge', 'pathname=b'], []));
    await git.expect(success(Buffer.from('hi')));
    git.input.end();
    await run;
    expect(git.stderrText).toMatch(/^git-seal: a: filter handler returned string/);
  });

  it('respects backpressure on a large response', async () => {
    const input = new PassThrough();
    const output = new PassThrough({ highWaterMark: 16 * 1024 });
    let handedOver = 0;
    let refused!: () => void;
    const full = new Promise<void>((r) => (refused = r));
    const write = output.write.bind(output) as (c: Buffer) => boolean;
    output.write = ((c: Buffer) => {
      handedOver += c.length;
      const ok = write(c);
      if (!ok) refused();
      return ok;
    }) as typeof output.write;
    const big = randomBytes(8 * 1024 * 1024);
    const run = runFilterProcess({ clean: (r) => r.content, smudge: () => big }, { input, output, stderr: new PassThrough() });
    input.write(wire(HANDSHAKE_IN, CAPS_IN, request(['command=smudge', 'pathname=big'], [])));
    input.end();
    // Wait (on events, not time) until the stream reports it is full, then give the writer many
    // turns of the event loop: one that respects back-pressure waits for 'drain' and writes nothing.
    await full;
    const atFull = handedOver;
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    // git (the reader) is not reading yet: at most about one 1 MiB segment may have been handed over.
    expect(handedOver).toBe(atFull);
    expect(handedOver).toBeGreaterThan(0);
    expect(handedOver).toBeLessThan(2 * 1024 * 1024);
    const chunks: Buffer[] = [];
    output.on('data', (c: Buffer) => chunks.push(c));
    await run;
    const all = Buffer.concat(chunks);
    const expected = wire(HANDSHAKE_OUT, CAPS_OUT, success(big));
    expect(all.length).toBe(expected.length);
    expect(all.equals(expected)).toBe(true);
  });

  it('serves 500 requests with one write each', async () => {
    const git = new FakeGit();
    const run = runFilterProcess(upperHandlers(), git);
    git.send(HANDSHAKE_IN, CAPS_IN);
    await git.expect(wire(HANDSHAKE_OUT, CAPS_OUT));
    const expected: Buffer[] = [];
    for (let i = 0; i < 500; i++) {
      git.send(request(['command=clean', `pathname=f${i}.sec`], [Buffer.from(`value ${i}\n`)]));
      expected.push(success(Buffer.from(`VALUE ${i}\n`)));
    }
    await git.expect(wire(...expected));
    git.input.end();
    await run;
    expect(git.writeCalls).toBe(2 + 500);
  });

  it('rejects when the output pipe breaks', async () => {
    const input = new PassThrough();
    const output = new Writable({
      write(_c, _e, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const run = runFilterProcess(upperHandlers(), { input, output, stderr: new PassThrough() });
    input.write(HANDSHAKE_IN);
    await expect(run).rejects.toThrow(/EPIPE/);
  });
});

describe('helpers', () => {
  it('parseKeyValue splits at the first =', () => {
    expect(parseKeyValue('pathname=a=b')).toEqual(['pathname', 'a=b']);
    expect(parseKeyValue('flag')).toEqual(['flag', '']);
  });

  it('errorLine keeps one line and a GitSealError hint', () => {
    expect(errorLine(new Error('first\nsecond'))).toBe('first');
    expect(errorLine(new GitSealError('no key', 'run git seal keygen'))).toBe('no key (run git seal keygen)');
    expect(errorLine('plain')).toBe('plain');
  });
});

// ---------------------------------------------------------------------------------------------
// End to end with real git.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = join(ROOT, 'test/fixtures/base64-filter.mjs');
const GIT_TIMEOUT_MS = Number(process.env.GIT_SEAL_TEST_GIT_TIMEOUT_MS ?? 30_000);

/** Environment for git that ignores the user's config and any GIT_* from the caller. */
function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return { ...env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(home, 'gitconfig') };
}

describe('runFilterProcess with real git', () => {
  let work: string;
  let dist: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'git-seal-fp-'));
    dist = join(work, 'dist');
    // Compile just this module's import closure into a private directory: quick, independent of
    // unrelated work-in-progress in src/, and no race with other test files writing dist/.
    compileModule('git/filter-process.ts', dist);
    mkdirSync(join(work, 'home'));
    writeFileSync(join(work, 'home/gitconfig'), '');
    env = cleanEnv(join(work, 'home'));
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function git(cwd: string, args: string[], input?: Buffer): SpawnSyncReturns<Buffer> {
    // A protocol bug shows up as git waiting forever on the filter: bound it so the test fails instead.
    return spawnSync('git', args, { cwd, env, input, maxBuffer: 256 * 1024 * 1024, timeout: GIT_TIMEOUT_MS, killSignal: 'SIGKILL' });
  }
  function gitOk(cwd: string, args: string[], input?: Buffer): Buffer {
    const r = git(cwd, args, input);
    if (r.status !== 0) {
      throw new Error(`git ${args.join(' ')} failed (${r.status ?? r.signal}${r.error ? `, ${r.error.message}` : ''}): ${r.stderr.toString()}`);
    }
    return r.stdout;
  }

  function makeRepo(name: string): { repo: string; pidLog: string } {
    const repo = join(work, name);
    const pidLog = join(work, `${name}.pids`);
    mkdirSync(repo);
    gitOk(repo, ['init', '-q']);
    for (const [k, v] of [
      ['user.name', 'Test'],
      ['user.email', 'test@example.invalid'],
      ['core.autocrlf', 'false'],
      ['filter.test.process', `"${process.execPath}" "${FIXTURE}" "${dist}" "${pidLog}"`],
      ['filter.test.required', 'true'],
    ]) {
      gitOk(repo, ['config', k, v]);
    }
    writeFileSync(join(repo, '.gitattributes'), '*.sec filter=test\n');
    writeFileSync(pidLog, '');
    return { repo, pidLog };
  }
  const pids = (pidLog: string): string[] => readFileSync(pidLog, 'utf8').split('\n').filter(Boolean);
  const cleaned = (content: Buffer): string => `B64:${content.toString('base64')}`;

  it('cleans 300+ files on add and smudges them back on checkout with one filter process', () => {
    const { repo, pidLog } = makeRepo('roundtrip');
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 300; i++) {
      files.set(`files/f${String(i).padStart(3, '0')}.sec`, Buffer.from(`[secrets]\nkey${i} = "value ${i} ${randomBytes(8).toString('hex')}"\n`));
    }
    files.set('big.sec', randomBytes(3 * 1024 * 1024));
    files.set('crlf.sec', Buffer.from('[a]\r\nkey = "v"\r\nother = "w"\r\n'));
    files.set('empty.sec', Buffer.alloc(0));
    files.set('dir with space/ünïcødé 名前 file.sec', Buffer.from('name = "ünïcødé 名前"\n'));
    files.set('clean-boundary.sec', randomBytes(49134)); // cleaned form is exactly 65516 bytes: one full packet
    files.set('smudge-boundary.sec', randomBytes(65516)); // smudged form is exactly one full packet
    files.set('plain.txt', Buffer.from('not filtered\n'));
    for (const [path, content] of files) {
      mkdirSync(dirname(join(repo, path)), { recursive: true });
      writeFileSync(join(repo, path), content);
    }

    let t0 = performance.now();
    gitOk(repo, ['add', '-A']);
    const addMs = performance.now() - t0;
    expect(pids(pidLog)).toHaveLength(1);
    gitOk(repo, ['commit', '-q', '-m', 'init']);

    // Every blob in HEAD is the cleaned form (one cat-file --batch for all of them).
    const tree = gitOk(repo, ['ls-tree', '-r', '-z', 'HEAD']).toString('utf8').split('\0').filter(Boolean);
    const oids = new Map<string, string>();
    for (const entry of tree) {
      const [meta, path] = entry.split('\t');
      oids.set(path, meta.split(' ')[2]);
    }
    expect([...oids.keys()].sort()).toEqual([...files.keys(), '.gitattributes'].sort());
    const order = [...files.keys()];
    const batch = gitOk(repo, ['cat-file', '--batch'], Buffer.from(order.map((p) => `${oids.get(p)}\n`).join('')));
    let off = 0;
    for (const path of order) {
      const lf = batch.indexOf(0x0a, off);
      const size = Number(batch.toString('latin1', off, lf).split(' ')[2]);
      const blob = batch.subarray(lf + 1, lf + 1 + size);
      off = lf + 1 + size + 1;
      const want = path.endsWith('.sec') ? Buffer.from(cleaned(files.get(path)!)) : files.get(path)!;
      expect(blob.equals(want), path).toBe(true);
    }
    // and `git cat-file -p` on a few specific ones
    expect(gitOk(repo, ['cat-file', '-p', 'HEAD:crlf.sec']).toString()).toBe(cleaned(files.get('crlf.sec')!));
    expect(gitOk(repo, ['cat-file', '-p', 'HEAD:empty.sec']).toString()).toBe('B64:');
    expect(gitOk(repo, ['cat-file', '-p', 'HEAD:dir with space/ünïcødé 名前 file.sec']).toString()).toBe(
      cleaned(files.get('dir with space/ünïcødé 名前 file.sec')!),
    );

    // Remove the work tree files and check them out again.
    for (const path of files.keys()) rmSync(join(repo, path));
    writeFileSync(pidLog, '');
    t0 = performance.now();
    gitOk(repo, ['checkout', '--', '.']);
    const checkoutMs = performance.now() - t0;
    expect(pids(pidLog)).toHaveLength(1);
    for (const [path, content] of files) {
      expect(readFileSync(join(repo, path)).equals(content), path).toBe(true);
    }
    expect(gitOk(repo, ['status', '--porcelain']).toString()).toBe('');
    console.log(`[filter-process e2e] git add of ${files.size} files: ${addMs.toFixed(0)} ms; checkout: ${checkoutMs.toFixed(0)} ms`);
  });

  it('a handler error fails `git add` for that file when the filter is required, with our message', () => {
    const { repo } = makeRepo('required');
    writeFileSync(join(repo, 'bad.sec'), 'token = "FAIL-ME hunter2"\n');
    const r = git(repo, ['add', 'bad.sec']);
    expect(r.status).not.toBe(0);
    const stderr = r.stderr.toString();
    expect(stderr).toContain('git-seal: bad.sec: refusing to clean a file containing the failure marker');
    expect(stderr).toMatch(/bad\.sec.*clean filter 'test' failed/);
    expect(stderr).not.toContain('hunter2');
    expect(gitOk(repo, ['ls-files']).toString()).toBe('');
  });

  it('keeps serving after an error: with required=false the next files are still filtered by the same process', () => {
    const { repo, pidLog } = makeRepo('optional');
    gitOk(repo, ['config', 'filter.test.required', 'false']);
    writeFileSync(join(repo, 'a-bad.sec'), 'FAIL-ME\n');
    writeFileSync(join(repo, 'b-good.sec'), 'fine\n');
    writeFileSync(join(repo, 'c-good.sec'), 'also fine\n');
    const r = git(repo, ['add', 'a-bad.sec', 'b-good.sec', 'c-good.sec']);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stderr.toString()).toContain('git-seal: a-bad.sec: refusing to clean');
    expect(pids(pidLog)).toHaveLength(1);
    expect(gitOk(repo, ['cat-file', '-p', ':a-bad.sec']).toString()).toBe('FAIL-ME\n'); // git's fallback: unfiltered
    expect(gitOk(repo, ['cat-file', '-p', ':b-good.sec']).toString()).toBe(cleaned(Buffer.from('fine\n')));
    expect(gitOk(repo, ['cat-file', '-p', ':c-good.sec']).toString()).toBe(cleaned(Buffer.from('also fine\n')));
  });
});
