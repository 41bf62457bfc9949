import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateIdentity, parseIdentity, type AgeIdentity } from '../src/age/index.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'git-seal.js');
export const CORPUS = resolve(ROOT, '..', 'shared', 'toml-test', 'tests');

export interface TestKey {
  identity: string;
  recipient: string;
  parsed: AgeIdentity;
  /** An identity file on disk (age-keygen format). */
  file: string;
}

const dirs: string[] = [];

export function tempDir(prefix = 'gitseal-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export async function makeKey(dir = tempDir()): Promise<TestKey> {
  const { identity, recipient } = await generateIdentity({ pq: false });
  const file = join(dir, `key-${recipient.slice(4, 12)}.txt`);
  writeFileSync(file, `# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  return { identity, recipient, parsed: parseIdentity(identity), file };
}

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
