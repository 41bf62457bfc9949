/**
 * The one test world: temp dirs, key fixtures, the git and git-seal runners, people with their own HOME,
 * repositories, and the secrets files the tests seal. Every test builds its set-up from here.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Identity } from 'age-encryption';
import { expect } from 'vitest';
import { generateIdentity, parseIdentity, parseIdentityFile, type AgeIdentity } from '../src/age/index.js';
import { openSealed, openText, parseSealed } from '../src/format/seal.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'git-seal.js');
export const CORPUS = resolve(ROOT, '..', 'shared', 'toml-test', 'tests');

// ---------------------------------------------------------------------------------------------------
// Temp dirs

const dirs: string[] = [];

export function tempDir(prefix = 'gitseal-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------
// Keys

export interface TestKey {
  identity: string;
  recipient: string;
  parsed: AgeIdentity;
  /** An identity file on disk (age-keygen format). */
  file: string;
}

export async function makeKey(dir = tempDir()): Promise<TestKey> {
  const { identity, recipient } = await generateIdentity({ pq: false });
  const file = join(dir, `key-${recipient.slice(4, 12)}.txt`);
  writeFileSync(file, `# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  return { identity, recipient, parsed: parseIdentity(identity), file };
}

// ---------------------------------------------------------------------------------------------------
// Running git and git-seal

/** An environment with no identity sources but the ones a test adds. */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
  for (const k of ['GITSEAL_AGE_KEY', 'GITSEAL_AGE_KEY_FILE', 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'GITHUB_ACTIONS', 'GIT_DIR', 'GIT_INDEX_FILE', 'GIT_WORK_TREE']) delete env[k];
  env.GIT_AUTHOR_NAME = env.GIT_COMMITTER_NAME = 'Test';
  env.GIT_AUTHOR_EMAIL = env.GIT_COMMITTER_EMAIL = 'test@example.com';
  env.GIT_CONFIG_NOSYSTEM = '1';
  env.GIT_CONFIG_GLOBAL = join(home, '.gitconfig');
  return { ...env, ...extra };
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env, input: opts.input, encoding: 'utf8', maxBuffer: 1 << 28 });
}

/** Run the built CLI. */
export function gitSeal(args: string[], opts: RunOptions = {}): SpawnSyncReturns<string> {
  return run(process.execPath, [BIN, ...args], opts);
}

export interface Running {
  pid: number;
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Start the CLI without waiting for it (stdin closed). */
export function startSeal(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Awaited<Running['done']>>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
  return { pid: child.pid!, done };
}

/** Run git and fail loudly when it fails. */
export function git(args: string[], opts: RunOptions & { allowFail?: boolean } = {}): string {
  const r = run('git', args, opts);
  if (r.status !== 0 && !opts.allowFail) throw new Error(`git ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/**
 * Compile one module of src/ (and what it imports) into `outDir` with tsc, for tests that run it in a
 * child process: independent of dist/ and of unrelated work in src/. Returns the file URL of the module.
 */
export function compileModule(srcRelative: string, outDir: string): string {
  const tsc = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--strict', '--skipLibCheck', '--types', 'node',
      '--rootDir', join(ROOT, 'src'), '--outDir', outDir,
      join(ROOT, 'src', srcRelative),
      ...ambientDeclarations(),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
  return new URL(`file://${join(outDir, srcRelative.replace(/\.ts$/, '.js'))}`).href;
}

/** src/'s own .d.ts files (declarations for untyped packages), which a one-module compile must include. */
function ambientDeclarations(dir = join(ROOT, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? ambientDeclarations(join(dir, e.name)) : e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

// ---------------------------------------------------------------------------------------------------
// People

/** A person with their own HOME (and so their own default key and git config). */
export interface Person {
  name: string;
  home: string;
  env: NodeJS.ProcessEnv;
  recipient: string;
  /** Run git-seal as this person. */
  seal(args: string[], opts?: RunOptions): ReturnType<typeof gitSeal>;
  /** Run git as this person; throws on failure unless allowFail. */
  git(args: string[], cwd: string, opts?: { allowFail?: boolean; input?: string }): string;
}

export function person(name: string, opts: { withKey?: boolean } = {}): Person {
  const home = tempDir(`gitseal-${name}-`);
  const env = isolatedEnv(home);
  writeFileSync(join(home, '.gitconfig'), `[user]\n\tname = ${name}\n\temail = ${name}@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n`);
  let recipient = '';
  if (opts.withKey !== false) {
    const r = gitSeal(['keygen'], { env });
    expect(r.status, r.stderr).toBe(0);
    recipient = r.stdout.trim();
  }
  return {
    name,
    home,
    env,
    recipient,
    seal: (args, o = {}) => gitSeal(args, { env, ...o }),
    git: (args, cwd, o = {}) => git(args, { cwd, env, ...o }),
  };
}

/** Run git-seal as `p`, expecting success. */
export function seal(p: Person, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { stdout: string; stderr: string } {
  const r = p.seal(args, { cwd, env: { ...p.env, ...env } });
  expect(r.status, `git-seal ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** A person's default identity file (the one `git-seal keygen` wrote). */
export function keyFile(p: Person): string {
  return join(p.home, '.config', 'git-seal', 'keys.txt');
}

/** A person's default identities, for decrypting in-process. */
export function identitiesOf(p: Person): Identity[] {
  const file = keyFile(p);
  return parseIdentityFile(readFileSync(file, 'utf8'), file);
}

/** The plaintext of a sealed text for these identities, or null when they cannot open it. */
export async function tryOpen(sealed: string, identities: Identity[]): Promise<string | null> {
  try {
    return await openText(sealed, identities);
  } catch {
    return null;
  }
}

/** The plaintext of sealed text if `p` can open it (values in the clear allowed), else null. */
export async function openAs(p: Person, text: string): Promise<string | null> {
  const sealed = parseSealed(text, 'file');
  if (!sealed) throw new Error('not sealed');
  try {
    return (await openSealed(sealed, identitiesOf(p), 'file')).plaintext;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// Secrets files

/** A dlt secrets file with every kind of TOML value. */
export const SECRETS = `# dlt secrets for the stripe pipeline
[sources.stripe]
api_key = "sk_live_51HxYzStripeSecret" # rotated 2026-01
retries = 3

[destination.postgres.credentials]
database = "analytics"
password = "pg-pass-correct-horse"
host = "db.internal.example"
port = 5432
connect_timeout = 15.5
sslmode_required = true
created = 2026-01-02T03:04:05Z
schemas = ["raw", "staging"]
`;

export const SECRET_STRINGS = ['sk_live_51HxYzStripeSecret', 'pg-pass-correct-horse', 'db.internal.example', 'analytics'];

/** SECRETS cut down to the stripe key, retries, and the database name, password and port: what repoWith commits by default. */
export const SHORT_SECRETS = SECRETS.replace(' for the stripe pipeline', '').replace(/^(host|connect_timeout|sslmode_required|created|schemas) = .*\n/gm, '');

export const SHORT_SECRET_STRINGS = SECRET_STRINGS.filter((s) => SHORT_SECRETS.includes(s));

/** Production credentials, for the profile tests. */
export const PROD = `# prod credentials for the stripe pipeline
[sources.stripe]
api_key = "sk_live_prod_51Hx" # rotated 2026-01
retries = 3

[destination.postgres.credentials]
password = "pg-prod-correct-horse"
host = "db.prod.internal"
port = 5432
schemas = ["raw", "staging"]
`;

export const ACCESS = `# read-only credentials for notebooks
[destination.postgres.credentials]
password = "pg-readonly-battery"
host = "db.prod.internal"
`;

export const PROD_PATH = '.dlt/prod.secrets.toml';
export const ACCESS_PATH = '.dlt/secrets.access.toml';

// ---------------------------------------------------------------------------------------------------
// Repositories

/** An empty repository `<tempdir>/repo` that `owner` ran git init in (git-seal not set up). */
export function newRepo(owner: Person, prefix = 'gitseal-repo-'): string {
  const dir = join(tempDir(prefix), 'repo');
  mkdirSync(dir);
  owner.git(['init', '-q'], dir);
  return dir;
}

/** A repository set up by `owner` (git-seal init, filter installed) with `files` committed. */
export function repoWith(owner: Person, files: Record<string, string> = { '.dlt/secrets.toml': SHORT_SECRETS }, opts: { hook?: boolean } = {}): string {
  const dir = newRepo(owner);
  const r = owner.seal(['init', opts.hook ? '--hook' : '--no-hook'], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  writeFiles(dir, files);
  owner.git(['add', '-A'], dir);
  owner.git(['commit', '-q', '-m', 'initial secrets'], dir);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
}

export function read(dir: string, path: string): string {
  return readFileSync(join(dir, path), 'utf8');
}

/** Clone `from` as `p` (with any git clone `options`), without git-seal install: secrets files stay sealed on disk. */
export function sealedClone(p: Person, from: string, ...options: string[]): string {
  const dir = join(tempDir(`gitseal-${p.name}-clone-`), 'repo');
  p.git(['clone', '-q', ...options, from, dir], tempDir());
  return dir;
}

export function commitAll(p: Person, dir: string, message: string): string {
  p.git(['add', '-A'], dir);
  p.git(['commit', '-q', '-m', message], dir);
  return p.git(['rev-parse', 'HEAD'], dir).trim();
}

/**
 * Two branches that change `file` apart, main checked out: `branch` (from HEAD) commits `theirs`, then
 * main commits `ours`.
 */
export function diverge(p: Person, dir: string, file: string, branch: string, theirs: string, ours: string): void {
  p.git(['checkout', '-q', '-b', branch], dir);
  writeFileSync(join(dir, file), theirs);
  p.git(['commit', '-q', '-am', 'theirs'], dir);
  p.git(['checkout', '-q', 'main'], dir);
  writeFileSync(join(dir, file), ours);
  p.git(['commit', '-q', '-am', 'ours'], dir);
}

export function blob(p: Person, dir: string, spec: string): string {
  return p.git(['cat-file', 'blob', spec], dir);
}

/** Every object in the repository's object store, as text. */
export function allObjects(p: Person, dir: string): string {
  return p.git(['cat-file', '--batch-all-objects', '--batch'], dir);
}

export interface StoredObject {
  oid: string;
  type: string;
  content: Buffer;
}

/** Every object in a repository (loose and packed, reachable or not), from one cat-file call. */
export function allObjectsOf(dir: string, env: NodeJS.ProcessEnv): StoredObject[] {
  const r = spawnSync('git', ['cat-file', '--batch-all-objects', '--batch'], { cwd: dir, env, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git cat-file failed: ${r.stderr}`);
  const out = r.stdout;
  const objects: StoredObject[] = [];
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    const [oid, type, size] = out.subarray(pos, nl).toString('latin1').split(' ');
    const start = nl + 1;
    const end = start + Number(size);
    objects.push({ oid, type, content: out.subarray(start, end) });
    pos = end + 1;
  }
  return objects;
}

// ---------------------------------------------------------------------------------------------------
// Reading output

/** `env` output as a map. */
export function envMap(stdout: string): Record<string, string> {
  const m: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) m[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return m;
}

/** Lines of a unified diff that were added or removed (headers excluded). */
export function changedLines(diff: string): string[] {
  return diff.split('\n').filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---) /.test(l));
}

/** Lines that differ between two versions of a file, as [removed, added]. */
export function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  return { removed: withoutLinesOf(a, b), added: withoutLinesOf(b, a) };
}

/** The lines of `lines` left once each line of `other` has taken away one equal line. */
function withoutLinesOf(lines: string[], other: string[]): string[] {
  const left = other.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  return lines.filter((l) => {
    const n = left.get(l) ?? 0;
    if (n > 0) {
      left.set(l, n - 1);
      return false;
    }
    return true;
  });
}
