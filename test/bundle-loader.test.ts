import assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanupTempDirs, gitSeal, isolatedEnv, makeKey, ROOT, tempDir } from './helpers.js';
import { runInPty } from './pty.js';

afterAll(cleanupTempDirs);

interface Loader {
  loadBundle: (name: string) => { cacheUsed: boolean };
  cacheDigest: (source: Buffer, data: Buffer, runtime?: string) => Buffer;
}
const { loadBundle } = createRequire(import.meta.url)(join(ROOT, 'bin', 'load-bundle.cjs')) as Loader;

/** A copy of the installed command (bin/, dist/bundle/, package.json) to tamper with. */
function packageCopy(): string {
  const pkg = tempDir();
  cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
  mkdirSync(join(pkg, 'dist'));
  cpSync(join(ROOT, 'dist', 'bundle'), join(pkg, 'dist', 'bundle'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  return pkg;
}

const help = (pkg: string) => spawnSync(process.execPath, [join(pkg, 'bin', 'git-seal.js'), '--help'], { encoding: 'utf8' });

describe('bundles start with their V8 code cache', () => {
  it('the build makes a cache that this Node accepts, for every bundle', () => {
    for (const name of ['cli', 'exec', 'filter']) expect(loadBundle(name).cacheUsed, name).toBe(true);
  });

  it('a bundle edited after the build runs as edited, even at the same length (the cache is for other bytes)', () => {
    const pkg = packageCopy();
    const bundle = join(pkg, 'dist', 'bundle', 'cli.cjs');
    const source = readFileSync(bundle, 'latin1');
    // A string the bundle's top level evaluates, so its bytecode is in the cache. V8 itself checks only
    // the source length: without the digest, the cached bytecode would still print the old text.
    expect(source).toContain('"Same as install"');
    writeFileSync(bundle, source.replace('"Same as install"', '"SAME AS INSTALL"'), 'latin1');
    const r = help(pkg);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('SAME AS INSTALL');
  });

  it('a cache made by another Node is ignored (Node 20 releases share a V8 version, not a cache layout)', () => {
    const pkg = packageCopy();
    const loader = createRequire(import.meta.url)(join(pkg, 'bin', 'load-bundle.cjs')) as Loader;
    expect(loader.loadBundle('exec').cacheUsed).toBe(true);
    const cache = join(pkg, 'dist', 'bundle', 'exec.cjs.v8cache');
    const data = readFileSync(cache).subarray(32);
    const other = process.versions.node === '20.11.1' ? '20.20.2' : '20.11.1';
    const runtime = [process.execPath, 0, 0, process.arch, JSON.stringify({ ...process.versions, node: other })].join('\0');
    writeFileSync(cache, Buffer.concat([loader.cacheDigest(readFileSync(join(pkg, 'dist', 'bundle', 'exec.cjs')), data, runtime), data]));
    expect(loader.loadBundle('exec').cacheUsed).toBe(false);
  });

  it('a damaged or missing cache is ignored', () => {
    const pkg = packageCopy();
    const cache = join(pkg, 'dist', 'bundle', 'cli.cjs.v8cache');
    const bytes = readFileSync(cache);
    for (let i = 40; i < bytes.length; i += 97) bytes[i] ^= 0x5a; // V8's data damaged: the digest no longer matches
    writeFileSync(cache, bytes);
    expect(help(pkg).stdout).toContain('git-seal <command>');
    writeFileSync(cache, '');
    expect(help(pkg).stdout).toContain('git-seal <command>');
  });
});

describe('code the bundles load on first use runs through vm.Script (no dynamic import)', () => {
  it("the CLI builds string-width's Intl.Segmenter only for text that is not printable ASCII, not at every start", () => {
    // A preload that counts Intl.Segmenter constructions (string-width makes one as it loads; ~20 ms each).
    const preload = join(tempDir(), 'count-segmenters.cjs');
    writeFileSync(
      preload,
      `const Real = Intl.Segmenter; let n = 0;
Intl.Segmenter = new Proxy(Real, { construct(t, a) { n++; return Reflect.construct(t, a); } });
process.on('exit', () => process.stderr.write('segmenters=' + n + '\\n'));`,
    );
    const segmenters = (args: string[]) => {
      const r = spawnSync(process.execPath, ['-r', preload, BIN, ...args], { encoding: 'utf8', env: isolatedEnv(tempDir()) });
      expect(r.status, r.stderr).toBe(0);
      return Number(/segmenters=(\d+)/.exec(r.stderr)?.[1]);
    };
    expect(segmenters(['--version'])).toBe(0);
    // yargs lays out a command's help before running it: ASCII text is measured without string-width.
    expect(segmenters(['keygen', '--output', '-'])).toBe(0);
    expect(segmenters(['--help'])).toBe(0);
    expect(segmenters(['recipients', 'add', '--help'])).toBe(0); // its text holds '…'
  });

  it("git's form of textconv (textconv -- FILE) starts from the lean filter bundle; other forms from the CLI", async () => {
    const dir = tempDir();
    const key = await makeKey(dir);
    const file = join(dir, 'secrets.toml');
    writeFileSync(file, gitSeal(['encrypt', '-r', key.recipient], { env: isolatedEnv(dir), input: 'a = "opened"\n' }).stdout);
    // A preload that names the bundles read.
    const preload = join(dir, 'bundles-read.cjs');
    writeFileSync(
      preload,
      `const fs = require('fs'); const read = fs.readFileSync; const seen = [];
fs.readFileSync = function (p, ...rest) { if (/dist[\\\\/]bundle[\\\\/]\\w+\\.cjs$/.test(String(p))) seen.push(String(p).replace(/^.*[\\\\/]/, '')); return read.call(this, p, ...rest); };
process.on('exit', () => process.stderr.write('bundles=' + seen.join(',') + '\\n'));`,
    );
    const started = (args: string[]) => {
      const r = spawnSync(process.execPath, ['-r', preload, BIN, ...args], { cwd: dir, encoding: 'utf8', env: isolatedEnv(dir, { GITSEAL_AGE_KEY: key.identity }) });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe('a = "opened"\n');
      return /bundles=(.*)/.exec(r.stderr)?.[1];
    };
    expect(started(['textconv', '--', file])).toBe('filter.cjs');
    expect(started(['textconv', file])).toBe('cli.cjs');
    expect(started(['decrypt', file])).toBe('cli.cjs');
  });

  it('the string-width shim measures as string-width does', async () => {
    const real = (await import(createRequire(createRequire(import.meta.url).resolve('yargs')).resolve('string-width'))) as { default: (s: string, o?: object) => number };
    const shim = { exports: {} as (s: string, o?: object) => number };
    const source = readFileSync(join(ROOT, 'scripts', 'string-width-lazy.cjs'), 'utf8');
    new Function('module', 'require', source)(shim, (id: string) => (id === 'string-width/real' ? real : assert.fail(id)));
    const samples = ['', 'git-seal set FILE KEY', 'two\n\nlines\n', '\r\n', 'tab\there', 'ä', 'NAME, …', '日本語', '👍🏽 ok', '\u001b[31mred\u001b[39m', 'a\u0301', '\u0000x', '~'];
    for (const s of samples) expect(shim.exports(s), JSON.stringify(s)).toBe(real.default(s));
    // string-width takes only undefined as its default (narrow); null or 0 make '…' wide.
    for (const o of [{ ambiguousIsNarrow: false }, { ambiguousIsNarrow: true }, { ambiguousIsNarrow: null }, { ambiguousIsNarrow: 0 }, {}]) {
      for (const s of ['日本', '…', 'a … b', 'plain']) expect(shim.exports(s, o), `${s} ${JSON.stringify(o)}`).toBe(real.default(s, o));
    }
  });

  it('a post-quantum identity seals and opens through the command (the recipient classes are bundled)', () => {
    const dir = tempDir();
    const env = isolatedEnv(dir);
    expect(gitSeal(['keygen', '--pq', '--output', join(dir, 'pq.txt')], { env, cwd: dir }).status).toBe(0);
    const recipient = /age1pq1[0-9a-z]+/.exec(readFileSync(join(dir, 'pq.txt'), 'utf8'))![0];
    const sealed = gitSeal(['encrypt', '-r', recipient], { env, cwd: dir, input: '[db]\npassword = "pq-secret"\n' });
    expect(sealed.status, sealed.stderr).toBe(0);
    writeFileSync(join(dir, 'sealed.toml'), sealed.stdout);
    const opened = gitSeal(['decrypt', '-i', join(dir, 'pq.txt'), 'sealed.toml'], { env, cwd: dir });
    expect(opened.stderr).toBe('');
    expect(opened.stdout).toBe('[db]\npassword = "pq-secret"\n');
  });

  it("init's yes/no question on a terminal (readline is loaded when asked)", () => {
    for (const [answer, hook] of [['y', true], ['n', false]] as const) {
      const dir = tempDir();
      const env = isolatedEnv(dir);
      spawnSync('git', ['init', '-q'], { cwd: dir, env });
      const run = runInPty([process.execPath, BIN, 'init'], { cwd: dir, env, answers: [answer], prompt: '\\[y/N\\] ' });
      expect(run.status, run.output).toBe(0);
      expect(run.prompts).toBe(1);
      expect(existsSync(join(dir, '.git', 'hooks', 'pre-commit')), answer).toBe(hook);
    }
  });
});
