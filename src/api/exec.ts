import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, fstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isatty } from 'node:tty';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { isSealedScalar, looksSealed, openSealed, parseSealed, prefetchDataKeys, unsealedValueError, unsealedValues, VALUE_IN_CLEAR_HINT } from '../format/seal.js';
import { findRepo, repoPath, type Repo } from '../git/repo.js';
import { readIndexFile, type IndexEntry } from '../git/index-file.js';
import { gitBuffer } from '../git/run.js';
import type { PathSettings } from '../profiles/path-settings.js';
import { decodeScalar, type PathSegment, type TomlDocument } from '../toml/index.js';
import { scanOrThrow } from '../toml/scan-or-throw.js';
import { decodeText } from '../util/io.js';
import type { EnvNaming } from '../profiles/exec-naming.js';
import { envFromToml, type EnvSecret } from './env-naming.js';

export interface ExecSecret extends EnvSecret {
  /** The file it came from (repository-relative with --profile, as given with --file). */
  file: string;
}

export interface CollectOptions {
  /** Every tracked file of this profile… */
  profile?: string;
  /** …or these files (paths relative to `cwd`). */
  files?: string[];
  /** Overrides the profile's `exec.naming`; `dlt` when neither is set. */
  naming?: EnvNaming;
  /** Hand the command the decrypted file instead of environment variables (one file only). */
  asFile?: boolean;
  identities: readonly Identity[];
  cwd?: string;
}

export interface CollectedSecrets {
  /** The variables to set (none with `asFile`). */
  secrets: ExecSecret[];
  /** Every sealed value, for CI log masks. */
  masks: string[];
  /** With `asFile`: the one file's name and plaintext. */
  file?: { name: string; plaintext: string };
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
  /** The file's settings (its profile's naming, plaintext keys, allow_env); null outside a repository. */
  settings: PathSettings | null;
}

function readIfExists(path: string, name: string): string | null {
  return existsSync(path) ? decodeText(readFileSync(path), name) : null;
}

class ConflictError extends GitSealError {}

function conflictError(name: string): GitSealError {
  return new ConflictError(`${name}: has an unresolved merge conflict, so exec cannot tell which secrets to use`, `resolve it first (git-seal edit ${name}, or git checkout --ours/--theirs ${name}), then git add ${name}`);
}

/** The committed version of a file: its index entry, else HEAD's; a conflicted file is an error. */
function gitVersion(repo: Repo, name: string, rel: string): string | null {
  const staged = gitBuffer(['cat-file', 'blob', `:0:${rel}`], { cwd: repo.root, allowFailure: true });
  if (staged) return decodeText(staged, rel);
  if (gitBuffer(['ls-files', '-u', '-z', '--', rel], { cwd: repo.root, allowFailure: true })?.length) throw conflictError(name);
  const head = gitBuffer(['cat-file', 'blob', `HEAD:${rel}`], { cwd: repo.root, allowFailure: true });
  return head ? decodeText(head, rel) : null;
}

/** A file sealed in the working tree is read from there; otherwise its sealed version in git is used. */
async function source(name: string, abs: string, committed: () => Promise<string | null>, settings: PathSettings | null): Promise<Source> {
  const work = readIfExists(abs, name);
  if (work !== null && looksSealed(work)) return { name, sealed: work, worktree: null, settings };
  let sealed: string | null = null;
  try {
    sealed = await committed();
  } catch (err) {
    if (work === null || err instanceof ConflictError) throw err; // e.g. not in a git repository
  }
  if (sealed === null || !looksSealed(sealed)) {
    if (work === null) throw new GitSealError(`${name}: no such file, and no sealed version in git`, 'check the path');
    throw new GitSealError(`${name}: not sealed, in the working tree or in git`, 'exec reads sealed files: seal it with git-seal encrypt, or commit it with the filter installed');
  }
  return { name, sealed, worktree: work, settings };
}

/** Every index entry: from the index file itself, else (an index it cannot read) from `git ls-files`. */
function indexEntries(repo: Repo): IndexEntry[] {
  const inProcess = process.env.GIT_INDEX_FILE ? null : readIndexFile(join(repo.gitDir, 'index'));
  if (inProcess) return inProcess;
  const raw = gitBuffer(['ls-files', '-s', '-z'], { cwd: repo.root })!.toString('utf8');
  const entries: IndexEntry[] = [];
  for (const rec of raw.split('\0')) {
    const m = /^\d+ ([0-9a-f]+) (\d)\t(.*)$/s.exec(rec);
    if (m) entries.push({ oid: m[1], stage: Number(m[2]), path: m[3] });
  }
  return entries;
}

/** The index: merged entries, and the paths with unresolved conflicts (stages 1-3). */
function readIndex(repo: Repo): { entries: { oid: string; path: string }[]; conflicted: Set<string> } {
  const entries: { oid: string; path: string }[] = [];
  const conflicted = new Set<string>();
  for (const e of indexEntries(repo)) {
    if (e.stage === 0) entries.push({ oid: e.oid, path: e.path });
    else conflicted.add(e.path);
  }
  return { entries, conflicted };
}

async function profileSources(profile: string, cwd: string): Promise<Source[]> {
  const repo = findRepo(cwd);
  const { root } = repo;
  // Loaded here, not at the top: its glob matcher costs start-up time that a plain --file does not need.
  const { getProfile, loadConfig } = await import('../profiles/config.js');
  const { pathSettings } = await import('../profiles/path-settings.js');
  const config = loadConfig(root);
  getProfile(config, profile); // an unknown name is an error listing the profiles
  const index = readIndex(repo);
  for (const path of index.conflicted) if (pathSettings(config, path).profile?.name === profile) throw conflictError(path);
  const entries = index.entries.map((e) => ({ ...e, settings: pathSettings(config, e.path) })).filter((e) => e.settings.profile?.name === profile);
  if (entries.length === 0) throw new GitSealError(`profile '${profile}' has no tracked files`, 'git add the secrets files of that profile first');
  // Blobs are needed only where the working tree holds plaintext (a key holder's checkout), never in CI.
  const blob = async (oid: string, path: string) => decodeText(gitBuffer(['cat-file', 'blob', oid], { cwd: root })!, path);
  return Promise.all(entries.map((e) => source(e.path, join(root, e.path), () => blob(e.oid, e.path), e.settings)));
}

/** A file given with --file: its repository, path in it and that path's settings, when in a repository. */
async function placeOf(abs: string): Promise<{ repo: Repo; rel: string; settings: PathSettings } | null> {
  let repo: Repo;
  try {
    repo = findRepo(dirname(abs));
  } catch {
    return null; // a sealed file outside any repository: no git version, no profile
  }
  const rel = repoPath(repo, abs);
  const { loadConfigIfPresent } = await import('../profiles/config.js');
  const { pathSettings } = await import('../profiles/path-settings.js');
  return { repo, rel, settings: pathSettings(loadConfigIfPresent(repo.root), rel) };
}

async function fileSources(files: readonly string[], cwd: string): Promise<Source[]> {
  return Promise.all(
    files.map(async (f) => {
      const abs = resolve(cwd, f);
      const place = await placeOf(abs);
      return source(f, abs, async () => (place ? gitVersion(place.repo, f, place.rel) : null), place?.settings ?? null);
    }),
  );
}

/** The sealed scalars' values, as a program could print them. */
function sealedValues(plaintext: string, doc: TomlDocument, isSealed: (p: PathSegment[]) => boolean): string[] {
  const out: string[] = [];
  for (const s of doc.scalars) {
    if (!isSealed(s.path)) continue;
    const raw = plaintext.slice(s.start, s.end);
    out.push(s.kind === 'string' ? (decodeScalar(raw, 'string').value as string) : raw);
  }
  return out;
}

async function openSource(src: Source, opts: CollectOptions, warnings: string[]): Promise<{ plaintext: string; doc: TomlDocument; isSealed: (p: PathSegment[]) => boolean }> {
  const sealed = parseSealed(src.sealed, src.name)!;
  if (sealed.meta.conflict !== undefined) throw conflictError(src.name);
  // A value in clear outside plaintext_keys was written without the key: never hand it to the command.
  const refused = unsealedValues(sealed, src.settings?.plaintextKeys);
  if (refused.length) throw unsealedValueError(src.name, refused, `${VALUE_IN_CLEAR_HINT}; exec did not run the command`);
  const { plaintext } = await openSealed(sealed, opts.identities, src.name);
  if (src.worktree !== null && src.worktree !== plaintext) {
    warnings.push(`${src.name}: the working copy differs from the sealed version in git; exec uses the sealed one (git add the file to use your edits)`);
  }
  const encrypted = new Set<string>();
  for (const s of sealed.doc.scalars) if (s.start < sealed.bodyEnd && isSealedScalar(src.sealed, s)) encrypted.add(JSON.stringify(s.path));
  return { plaintext, doc: scanOrThrow(plaintext, src.name), isSealed: (p) => encrypted.has(JSON.stringify(p)) };
}

async function secretsOf(src: Source, opts: CollectOptions, warnings: string[], masks: string[]): Promise<ExecSecret[]> {
  const { plaintext, doc, isSealed } = await openSource(src, opts, warnings);
  masks.push(...sealedValues(plaintext, doc, isSealed));
  const skipped: string[] = [];
  const env = envFromToml(plaintext, doc, {
    naming: opts.naming ?? src.settings?.naming ?? 'dlt',
    file: src.name,
    sealedKeys: isSealed,
    allowEnv: new Set(src.settings?.profile?.exec.allowEnv),
    allowHint: `[profiles.${src.settings?.profile?.name ?? 'NAME'}.exec] allow_env`,
    skipped,
  });
  if (skipped.length) warnings.push(`${src.name}: streamlit naming exports root-level strings and numbers only, as Streamlit does; not exported: ${skipped.join(', ')} (use exec --as-file to hand the command the whole file)`);
  return env.map((e) => ({ ...e, file: src.name }));
}

/** Decrypt (in memory) the profile's or the given files and turn their values into environment variables. */
export async function collectSecrets(opts: CollectOptions): Promise<CollectedSecrets> {
  const cwd = opts.cwd ?? process.cwd();
  if (!opts.profile === !opts.files?.length) throw new GitSealError('exec needs either --profile P or --file F', 'see git-seal exec --help');
  const sources = await (opts.profile ? profileSources(opts.profile, cwd) : fileSources(opts.files!, cwd));
  const warnings: string[] = [];
  const masks: string[] = [];
  if (opts.asFile) {
    if (sources.length !== 1) {
      throw new GitSealError(`exec --as-file hands the command one file, and profile '${opts.profile}' has ${sources.length}: ${sources.map((s) => s.name).join(', ')}`, 'name the file with --file instead of --profile');
    }
    const { plaintext, doc, isSealed } = await openSource(sources[0], opts, warnings);
    masks.push(...sealedValues(plaintext, doc, isSealed));
    return { secrets: [], masks, file: { name: sources[0].name, plaintext }, warnings };
  }
  const byName = new Map<string, ExecSecret>();
  await prefetchDataKeys(sources.map((src) => ({ text: src.sealed, file: src.name })), opts.identities);
  for (const src of sources) {
    for (const s of await secretsOf(src, opts, warnings, masks)) {
      const prev = byName.get(s.name);
      if (prev && prev.value !== s.value) {
        throw new GitSealError(`${s.name} would come from both '${prev.key}' in ${prev.file} and '${s.key}' in ${s.file}, with different values`, 'rename one of the keys, or give exec only one of the files (--file)');
      }
      if (!prev) byName.set(s.name, s);
      if (s.sealed) masks.push(s.value);
    }
  }
  return { secrets: [...byName.values()], masks, warnings };
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

/** GitHub Actions `::add-mask::` lines for these values, one per line of a multi-line value. */
export function githubMasks(values: readonly string[]): string {
  const lines = new Set<string>();
  for (const v of values) for (const line of v.split(/\r?\n/)) if (line.trim() !== '') lines.add(line);
  return [...lines].map((l) => `::add-mask::${escapeCommand(l)}\n`).join('');
}

/**
 * Why stderr cannot carry the masks to the GitHub Actions runner, or null when it can. The runner
 * starts every step with stdout and stderr on two pipes of their own and reads workflow commands
 * from both (docs/CI.md); stdout is the command's data (`> report.json`, `| jq`), so masks go to
 * stderr, and only while stderr still looks like the runner's: a pipe distinct from stdout, or a
 * terminal. A file, /dev/null or `2>&1` would put the masks in data and hide them from the runner.
 */
function maskChannelProblem(): string | null {
  if (isatty(2)) return null;
  let err;
  try {
    err = fstatSync(2);
  } catch {
    return 'is closed';
  }
  if (!err.isFIFO() && !err.isSocket()) return err.isFile() ? 'is redirected to a file' : 'is redirected away from the runner (to a device such as /dev/null)';
  try {
    const out = fstatSync(1);
    if (out.dev === err.dev && out.ino === err.ino) return 'is the same pipe as stdout (2>&1), so the masks would be mixed into the output';
  } catch {
    /* stdout closed: stderr is distinct */
  }
  return null;
}

/** Write the masks to stderr, fully, before the command starts. */
export async function writeMasks(values: readonly string[]): Promise<void> {
  const text = githubMasks(values);
  if (!text) return;
  const problem = maskChannelProblem();
  if (problem) {
    throw new GitSealError(
      `GitHub Actions: exec hands the runner its ::add-mask:: lines on stderr, but stderr ${problem}; the secrets would not be masked in the log`,
      "leave exec's stderr to the runner and redirect inside the command instead: git-seal exec … -- sh -c 'CMD 2>&1 | tee log'",
    );
  }
  await new Promise<void>((ok, fail) => process.stderr.write(text, (err) => (err ? fail(err) : ok())));
}

/** Signals that would end git-seal: passed on to the command, whose exit then ends git-seal. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGXCPU', 'SIGXFSZ'] as const;

/**
 * Run CMD with `env`, forwarding catchable terminating signals; resolves to its exit code (128+n when
 * killed by signal n). `onSignal` runs first for every signal (exec --as-file removes its file there).
 */
export function runCommand(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, onSignal?: () => void): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    // Listen before spawning: a fast child may already run when spawn() returns. Handlers run on the
    // event loop, so `child` is set by the time one does.
    const forward = (sig: NodeJS.Signals) => {
      onSignal?.();
      child.kill(sig);
    };
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

/** The variable holding the private file's path in `exec --as-file`. */
const SECRETS_FILE_VAR = 'GITSEAL_SECRETS_FILE';

/** A fresh 0700 directory, on tmpfs when there is one (/dev/shm, then $XDG_RUNTIME_DIR), else in the temp directory. */
function privateDir(env: NodeJS.ProcessEnv): { dir: string; tmpfs: boolean } {
  for (const base of ['/dev/shm', env.XDG_RUNTIME_DIR]) {
    if (!base) continue;
    try {
      if (statSync(base).isDirectory()) return { dir: mkdtempSync(join(base, 'git-seal-')), tmpfs: true };
    } catch {
      /* absent or not writable: try the next */
    }
  }
  return { dir: mkdtempSync(join(tmpdir(), 'git-seal-')), tmpfs: false };
}

/**
 * `exec --as-file`: write the plaintext to a private file (0600 in a fresh 0700 directory), run the
 * command with `{}` in its arguments replaced by the path and GITSEAL_SECRETS_FILE set to it, and
 * remove the file when the command ends, when git-seal gets a catchable signal, and on any exit.
 */
export async function runWithFile(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, file: { name: string; plaintext: string }, warn: (msg: string) => void): Promise<number> {
  const { dir, tmpfs } = privateDir(env);
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  try {
    if (!tmpfs) warn(`git-seal: no tmpfs found (/dev/shm, $XDG_RUNTIME_DIR): the decrypted file is on disk in ${dir} while the command runs`);
    const path = join(dir, basename(file.name));
    writeFileSync(path, file.plaintext, { mode: 0o600, flag: 'wx' });
    const put = (a: string) => a.split('{}').join(path);
    return await runCommand(put(cmd), args.map(put), { ...env, [SECRETS_FILE_VAR]: path }, remove);
  } finally {
    remove();
    process.off('exit', remove);
  }
}
