import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { isSealedScalar, looksSealed, openSealed, parseSealed, scanOrThrow, unsealedValueError, unsealedValues, VALUE_IN_CLEAR_HINT, type PlaintextKeyFilter } from '../format/seal.js';
import { findRepo, repoPath } from '../git/repo.js';
import { gitBuffer } from '../git/run.js';
import { listFiles } from '../git/tree.js';
import { decodeText } from '../util/io.js';
import { envFromToml, type EnvNaming, type EnvSecret } from './env-naming.js';

export interface ExecSecret extends EnvSecret {
  /** The file it came from (repository-relative with --profile, as given with --file). */
  file: string;
}

export interface CollectOptions {
  /** Every tracked file of this profile… */
  profile?: string;
  /** …or these files (paths relative to `cwd`). */
  files?: string[];
  naming: EnvNaming;
  identities: readonly Identity[];
  cwd?: string;
}

export interface CollectedSecrets {
  secrets: ExecSecret[];
  /** Notes for stderr (names only). */
  warnings: string[];
}

interface Source {
  /** Name for messages. */
  name: string;
  /** The sealed text, from the working tree or git. */
  sealed: string;
  /** The working-tree text when it is not sealed (a key holder's plaintext checkout). */
  worktree: string | null;
  /** The plaintext_keys of its path in .gitseal.toml; looked up only when a value is in clear. */
  plaintextKeys: () => Promise<PlaintextKeyFilter | undefined>;
}

function readIfExists(path: string, name: string): string | null {
  return existsSync(path) ? decodeText(readFileSync(path), name) : null;
}

/** The committed version of a file: its index entry, else HEAD's. */
function gitVersion(abs: string): string | null {
  const repo = findRepo(dirname(abs));
  const rel = repoPath(repo, abs);
  for (const spec of [`:0:${rel}`, `HEAD:${rel}`]) {
    const blob = gitBuffer(['cat-file', 'blob', spec], { cwd: repo.root, allowFailure: true });
    if (blob) return decodeText(blob, rel);
  }
  return null;
}

/** A file sealed in the working tree is read from there; otherwise its sealed version in git is used. */
async function source(name: string, abs: string, committed: () => Promise<string | null>, plaintextKeys: Source['plaintextKeys']): Promise<Source> {
  const work = readIfExists(abs, name);
  if (work !== null && looksSealed(work)) return { name, sealed: work, worktree: null, plaintextKeys };
  let sealed: string | null = null;
  try {
    sealed = await committed();
  } catch (err) {
    if (work === null) throw err; // e.g. not in a git repository
  }
  if (sealed === null || !looksSealed(sealed)) {
    if (work === null) throw new GitSealError(`${name}: no such file, and no sealed version in git`, 'check the path');
    throw new GitSealError(`${name}: not sealed, in the working tree or in git`, 'exec reads sealed files: seal it with git-seal encrypt, or commit it with the filter installed');
  }
  return { name, sealed, worktree: work, plaintextKeys };
}

/** The work tree's top directory; at the top itself (the usual CI case) without spawning git. */
function workTreeRoot(cwd: string): string {
  const plain = !process.env.GIT_DIR && !process.env.GIT_WORK_TREE && existsSync(join(cwd, '.git'));
  return plain ? cwd : findRepo(cwd).root;
}

async function profileSources(profile: string, cwd: string): Promise<Source[]> {
  const root = workTreeRoot(cwd);
  // Loaded here, not at the top: its glob matcher costs start-up time that --file does not need.
  const { getProfile, loadConfig, plaintextKeyFilter, profileFor } = await import('../profiles/config.js');
  const config = loadConfig(root);
  const allowed = plaintextKeyFilter(getProfile(config, profile).plaintextKeys);
  const plaintextKeys = async () => allowed;
  const entries = listFiles(root, 'index').filter((e) => profileFor(config, e.path)?.name === profile);
  if (entries.length === 0) throw new GitSealError(`profile '${profile}' has no tracked files`, 'git add the secrets files of that profile first');
  // Blobs are needed only where the working tree holds plaintext (a key holder's checkout), never in CI.
  const blob = async (oid: string, path: string) => decodeText(gitBuffer(['cat-file', 'blob', oid], { cwd: root })!, path);
  return Promise.all(entries.map((e) => source(e.path, join(root, e.path), () => blob(e.oid, e.path), plaintextKeys)));
}

function fileSources(files: readonly string[], cwd: string): Promise<Source[]> {
  return Promise.all(
    files.map((f) => {
      const abs = resolve(cwd, f);
      // The full lookup (repository, config, profile) is loaded only for a file with a value in clear.
      const plaintextKeys = async () => {
        const [{ fileContext }, { plaintextKeyFilter }] = await Promise.all([import('./values.js'), import('../profiles/config.js')]);
        return plaintextKeyFilter(fileContext(abs).profile?.plaintextKeys ?? []);
      };
      return source(f, abs, async () => gitVersion(abs), plaintextKeys);
    }),
  );
}

async function secretsOf(src: Source, opts: CollectOptions, warnings: string[]): Promise<ExecSecret[]> {
  const sealed = parseSealed(src.sealed, src.name)!;
  // A value in clear outside plaintext_keys was written without the key: never hand it to the command.
  const inClear = unsealedValues(sealed);
  if (inClear.length) {
    const allowed = await src.plaintextKeys();
    const refused = allowed ? inClear.filter((s) => !allowed(s.path)) : inClear;
    if (refused.length) throw unsealedValueError(src.name, refused, `${VALUE_IN_CLEAR_HINT}; exec did not run the command`);
  }
  const { plaintext } = await openSealed(sealed, opts.identities, src.name);
  if (src.worktree !== null && src.worktree !== plaintext) {
    warnings.push(`${src.name}: the working copy differs from the sealed version in git; exec uses the sealed one (git add the file to use your edits)`);
  }
  const encrypted = new Set<string>();
  for (const s of sealed.doc.scalars) if (s.start < sealed.bodyEnd && isSealedScalar(src.sealed, s)) encrypted.add(JSON.stringify(s.path));
  const env = envFromToml(plaintext, scanOrThrow(plaintext, src.name), { naming: opts.naming, file: src.name, sealedKeys: (p) => encrypted.has(JSON.stringify(p)) });
  return env.map((e) => ({ ...e, file: src.name }));
}

/** Decrypt (in memory) the profile's or the given files and turn their values into environment variables. */
export async function collectSecrets(opts: CollectOptions): Promise<CollectedSecrets> {
  const cwd = opts.cwd ?? process.cwd();
  if (!opts.profile === !opts.files?.length) throw new GitSealError('exec needs either --profile P or --file F', 'see git-seal exec --help');
  const sources = await (opts.profile ? profileSources(opts.profile, cwd) : fileSources(opts.files!, cwd));
  const warnings: string[] = [];
  const byName = new Map<string, ExecSecret>();
  for (const src of sources) {
    for (const s of await secretsOf(src, opts, warnings)) {
      const prev = byName.get(s.name);
      if (prev && prev.value !== s.value) {
        throw new GitSealError(`${s.name} would come from both '${prev.key}' in ${prev.file} and '${s.key}' in ${s.file}, with different values`, 'rename one of the keys, or give exec only one of the files (--file)');
      }
      if (!prev) byName.set(s.name, s);
    }
  }
  return { secrets: [...byName.values()], warnings };
}

/** The child's environment: the secrets added to `base`; variables already set win unless `override`. */
export function childEnv(base: NodeJS.ProcessEnv, secrets: readonly ExecSecret[], override: boolean): { env: NodeJS.ProcessEnv; kept: string[] } {
  const env = { ...base };
  const kept: string[] = [];
  for (const s of secrets) {
    if (!override && env[s.name] !== undefined) kept.push(s.name);
    else env[s.name] = s.value;
  }
  return { env, kept };
}

const escapeCommand = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/** GitHub Actions `::add-mask::` lines for every sealed value, one per line of a multi-line value. */
export function githubMasks(secrets: readonly ExecSecret[]): string {
  const lines = new Set<string>();
  for (const s of secrets) {
    if (!s.sealed) continue;
    for (const v of [s.value, ...s.strings]) for (const line of v.split(/\r?\n/)) if (line.trim() !== '') lines.add(line);
  }
  return [...lines].map((l) => `::add-mask::${escapeCommand(l)}\n`).join('');
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Run CMD with `env`, forwarding SIGINT/SIGTERM/SIGHUP; resolves to its exit code (128+n when killed by signal n). */
export function runCommand(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    // Listen before spawning: a fast child may already run when spawn() returns. Handlers run on the
    // event loop, so `child` is set by the time one does.
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    for (const sig of FORWARDED) process.on(sig, forward);
    const done = () => {
      for (const sig of FORWARDED) process.off(sig, forward);
    };
    const fail = (err: NodeJS.ErrnoException) => {
      done();
      if (err.code === 'ENOENT') reject(new GitSealError(`${cmd}: command not found`, 'check the command name and PATH', 127));
      else if (err.code === 'EACCES') reject(new GitSealError(`${cmd}: permission denied`, 'make it executable', 126));
      else reject(new GitSealError(`${cmd}: cannot run (${err.code ?? 'error'})`, 'check the command', 126));
    };
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { stdio: 'inherit', env });
    } catch (err) {
      return fail(err as NodeJS.ErrnoException); // e.g. a NUL byte in an argument
    }
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      done();
      resolvePromise(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}
