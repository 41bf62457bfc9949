import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitSealError } from '../errors.js';
import { assertUnchanged, privateGitSealDir, sweepStale, tempDirFor, tempName, withFileLock, writeFileAtomic } from './atomic-write.js';
import { loadConfigIfPresent } from '../profiles/config.js';
import { attributesOf, checkoutConverts, CONVERTING_ATTRIBUTES, DRIVER, type PathAttributes } from './attributes.js';
import { CatFileBatch } from './cat-file.js';
import { assertIndexUnlocked, recordCheckedOut, updateIndex } from './index-lock.js';
import type { CheckedOut } from './index-stat.js';
import { SealFilter } from './filter.js';
import { SmudgeCache } from './smudge-cache.js';
import { blobOid, CleanCache } from './clean-cache.js';
import { appendLocalConfig, configSnapshot } from './local-config.js';
import { stopPoint } from '../util/test-hook.js';
import { plaintextOnDisk, scrubGitDir, sealInPlace, untrackedPlaintext } from './leftovers.js';
import { listIndex, type TreeEntry } from './list-files.js';
import type { Repo } from './repo.js';
import { git, gitBuffer, gitMaybe } from './run.js';

const HOOK_MARK = '# installed by git-seal';
const CR = 0x0d;

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      if (existsSync(p)) return realpathSync(p);
    } catch {
      /* unreadable entry */
    }
  }
  return null;
}

/** This package's bin script (dist/<x>/ and dist/bundle/ are both two levels below the package root). */
export function binScript(): string {
  return realpathSync(fileURLToPath(new URL('../../bin/git-seal.js', import.meta.url)));
}

/**
 * Runs git-seal's bin script ($2, with the node in $1) for git. A relative script (a devDependency) is
 * looked up in the current work tree, then in the main work tree (a linked worktree or a subdirectory
 * has no node_modules of its own); a missing one is one line naming the fix instead of Node's stack.
 */
const LAUNCHER =
  'n=$1; r=$2; shift 2; f=$r; ' +
  'case $r in /*) ;; *) [ -f "$f" ] || f="$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null)/../$r";; esac; ' +
  '[ -f "$f" ] || { echo "git-seal: not found at $r: run npm install (or npx git-seal install)" >&2; exit 127; }; ' +
  'exec "$n" "$f" "$@"';

/**
 * The shell command git should run to reach this git-seal: the launcher with a path relative to the
 * repository when the package lives inside it (a devDependency: no global install needed), `git-seal`
 * when that is on PATH and is this same install, else the launcher with absolute paths.
 */
function selfCommand(root: string): string {
  const script = binScript();
  const node = onPath('node') === realpathSync(process.execPath) ? 'node' : process.execPath;
  const rel = relative(realpathSync(root), script);
  const launch = (path: string) => `sh -c ${shellQuote(LAUNCHER)} git-seal ${shellQuote(node)} ${shellQuote(path)}`;
  if (!rel.startsWith('..') && !rel.startsWith(sep)) return launch(rel.split(sep).join('/'));
  if (onPath('git-seal') === script) return 'git-seal';
  return launch(script);
}

export function filterConfig(cmd: string): [string, string][] {
  return [
    [`filter.${DRIVER}.process`, `${cmd} filter-process`],
    [`filter.${DRIVER}.clean`, `${cmd} clean -- %f`],
    [`filter.${DRIVER}.smudge`, `${cmd} smudge -- %f`],
    [`filter.${DRIVER}.required`, 'true'],
    [`diff.${DRIVER}.textconv`, `${cmd} textconv --`],
    [`diff.${DRIVER}.binary`, 'false'],
    [`merge.${DRIVER}.name`, 'git-seal: merge sealed TOML value by value'],
    [`merge.${DRIVER}.driver`, `${cmd} merge-driver -- %O %A %B %L %P`],
    // git mergetool would keep FILE.orig, the conflicted plaintext, untracked in the working tree.
    ['mergetool.keepbackup', 'false'],
  ];
}

/** The local filter config currently set, by key. */
export function installedConfig(repo: Repo): Map<string, string> {
  const out = gitMaybe(['config', '--local', '--get-regexp', `^((filter|diff|merge)\\.${DRIVER}\\.|mergetool\\.keepbackup$)`], { cwd: repo.root });
  const m = new Map<string, string>();
  for (const line of (out ?? '').split('\n').filter(Boolean)) {
    const i = line.indexOf(' ');
    m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** A path as git's C-style quoting writes it: `--stdin-paths` reads a line starting with `"` that way. */
function cQuote(path: string): string {
  const body = path.replace(/[\\"]/g, '\\$&').replace(/[\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return `"${body}"`;
}

/** The index's files that .gitattributes seals, with their stage-0 entries and checkout attributes. */
interface SealedFiles {
  files: string[];
  index: TreeEntry[];
  attributes: PathAttributes;
}

/** The index (read in process, else one `git ls-files`) and one `git check-attr`: what install and lock need to know of it. */
function sealedFiles(repo: Repo): SealedFiles {
  const listed = listIndex(repo.root, repo.gitDir);
  const attributes = attributesOf(repo.root, listed.paths, ['filter', ...CONVERTING_ATTRIBUTES]);
  const files = listed.paths.filter((p) => attributes.get(p)?.filter === DRIVER);
  const want = new Set(files);
  return { files, index: listed.staged.filter((e) => want.has(e.path)), attributes };
}

/** The sealed-pattern files' working copies: which differ from the index, as read, and their staged blobs. */
interface WorkingCopies extends SealedFiles {
  dirty: Set<string>;
  seen: Map<string, Buffer>;
  blobs: Map<string, Buffer>;
}

/**
 * Sealed-pattern files whose working copy differs from the index. A copy byte-equal to its blob is
 * unmodified; the others (plaintext, or converted by eol, ident or encoding attributes) are hashed by
 * `git hash-object` with the path's filter and conversions, as `git status` would, in one git process.
 * Copies git cannot hash (a value it refuses to seal, say) count as modified and are left alone.
 */
async function modifiedFiles(repo: Repo, sealed: SealedFiles): Promise<WorkingCopies> {
  const { files, index } = sealed;
  const dirty = new Set<string>(files);
  const seen = new Map<string, Buffer>();
  const staged = new Map<string, Buffer>();
  const differ: TreeEntry[] = [];
  const unknown: TreeEntry[] = [];
  for (const e of index) {
    let work: Buffer;
    try {
      work = readFileSync(join(repo.root, e.path));
    } catch {
      continue; // missing: checking it out again is what the user wants
    }
    seen.set(e.path, work);
    // A copy whose blob id is the staged one is that blob, byte for byte: no need to read it from git.
    if (blobOid(work, e.oid.length === 64 ? 'sha256' : 'sha1') === e.oid) {
      staged.set(e.oid, work);
      dirty.delete(e.path);
    } else unknown.push(e);
  }
  if (unknown.length) {
    const objects = new CatFileBatch({ cwd: repo.root });
    try {
      // Ask for every blob at once: the reader pipelines the requests to one git cat-file.
      const blobs = await Promise.all(unknown.map((e) => objects.read(e.oid)));
      for (const [i, e] of unknown.entries()) {
        const blob = blobs[i];
        if (!blob) continue;
        staged.set(e.oid, blob);
        if (seen.get(e.path)!.equals(blob)) dirty.delete(e.path);
        else differ.push(e);
      }
    } finally {
      await objects.close();
    }
  }
  // One git for all; when it fails (a copy it cannot clean), each path alone, so only that one stays modified.
  const hashes = (entries: readonly TreeEntry[]): (string | undefined)[] =>
    gitMaybe(['hash-object', '--stdin-paths'], { cwd: repo.root, input: entries.map((e) => cQuote(e.path) + '\n').join('') })?.split('\n') ?? [];
  let oids = differ.length ? hashes(differ) : [];
  if (differ.length > 1 && oids.length < differ.length) oids = differ.map((e) => hashes([e])[0]);
  differ.forEach((e, i) => {
    if (oids[i] === e.oid) dirty.delete(e.path);
  });
  return { ...sealed, dirty, seen, blobs: staged };
}

/**
 * Rewrite unmodified sealed-pattern files from the index, so the current filter config applies to them:
 * opened (install) or sealed (lock). Each new copy is written under the git dir and then renamed over the
 * working copy, so a file is never deleted before its replacement is in place. When git cannot lock the
 * index, this fails with git's own error before changing anything.
 */
async function recheckout(
  repo: Repo,
  { files, dirty, seen, index, blobs, attributes }: WorkingCopies,
  identityFiles: string[],
  opening: boolean,
  beforeGit: () => void = () => {},
): Promise<string[]> {
  const clean = files.filter((f) => !dirty.has(f) && seen.has(f));
  if (clean.length === 0) {
    beforeGit();
    return [];
  }
  assertIndexUnlocked(repo); // fails here, changing nothing, while git holds the index
  const cleanSet = new Set(clean);
  const entries = index.filter((e) => cleanSet.has(e.path));
  const checked = await replaceFromIndex(repo, entries, { seen, blobs }, attributes, identityFiles, opening, beforeGit);
  // The index still has the old files' stat data, which git takes as "modified" without looking. Copies
  // known to clean back to their blob get their new stat data here; for the rest, the same blobs are
  // entered again without stat data, so git compares content (through the filter) and records it.
  const recorded = new Set(recordCheckedOut(repo, checked));
  const rest = entries.filter((e) => !recorded.has(e.path));
  if (rest.length) {
    updateIndex(repo, rest.map((e) => ({ ...e, expect: e.oid })));
    gitMaybe(['update-index', '-q', '--refresh'], { cwd: repo.root }); // record the new stat info
  }
  return clean;
}

/**
 * Check `entries` out again and rename each over its working copy. Regular files that git would write
 * as they come out of the filter (no eol, ident or encoding conversion) are made here, in one batch: their
 * blobs read through one `git cat-file`, opened with every data key unwrapped together (one plugin
 * session), written flat into the git dir. The rest go through `git checkout-index` into a private
 * directory, exactly as git would write them.
 */
async function replaceFromIndex(
  repo: Repo,
  entries: readonly TreeEntry[],
  copies: Copies,
  attributes: PathAttributes,
  identityFiles: string[],
  opening: boolean,
  beforeGit: () => void,
): Promise<CheckedOut[]> {
  const converted = checkoutConverts(repo.root, entries.map((e) => e.path), attributes);
  const here = entries.filter((e) => (e.mode === '100644' || e.mode === '100755') && !converted.has(e.path));
  const inProcess = new Set(here);
  const byGit = entries.filter((e) => !inProcess.has(e));
  const checked = here.length ? await writeHere(repo, here, copies, identityFiles, opening) : [];
  beforeGit(); // lock drops the filter config here: after its own writes, before git's checkout and refresh
  if (byGit.length) await checkoutIndexInto(repo, byGit.map((e) => e.path), copies.seen);
  return checked;
}

/** Rename the new copy `from` over `path`'s working copy, unless someone changed that copy meanwhile. */
async function putInPlace(repo: Repo, path: string, from: string, seen: Map<string, Buffer>): Promise<void> {
  const abs = join(repo.root, path);
  await withFileLock(abs, async () => {
    assertUnchanged(abs, seen.get(path)!, path);
    renameSync(from, abs);
  });
}

/** The working copies as read before (to detect a change meanwhile) and the staged blobs, by oid. */
interface Copies {
  seen: Map<string, Buffer>;
  blobs: Map<string, Buffer>;
}

/**
 * Write `entries` (opened when `opening`) over their working copies. Returns those whose copy is known to
 * clean back to the staged blob (the blob itself when locking; the clean cache says so when opening), with
 * the lstat taken before their content was read back unchanged, as git's refresh does.
 */
async function writeHere(repo: Repo, entries: readonly TreeEntry[], { seen, blobs: staged }: Copies, identityFiles: string[], opening: boolean): Promise<CheckedOut[]> {
  const filter = opening ? new SealFilter(repo.root, identityFiles, undefined, repo.gitDir) : null;
  const temps = new Map<string, ReturnType<typeof tempDirFor>>();
  const unplaced = new Set<string>(); // temp files written but not renamed into place
  try {
    const blobs = entries.map((e) => staged.get(e.oid)!);
    const contents = filter ? await filter.smudgeMany(entries.map((e, i) => ({ path: e.path, content: blobs[i], blob: e.oid }))) : blobs;
    for (const [i, e] of entries.entries()) {
      const dir = dirname(join(repo.root, e.path));
      const temp = temps.get(dir) ?? temps.set(dir, tempDirFor(dir)).get(dir)!;
      const tmp = join(temp.dir, tempName());
      unplaced.add(tmp);
      writeFileSync(tmp, contents[i], { mode: e.mode === '100755' ? 0o777 : 0o666, flag: 'wx' }); // git's modes, less the umask
      await putInPlace(repo, e.path, tmp, seen);
      unplaced.delete(tmp);
    }
    stopPoint('install-placed');
    const checked: CheckedOut[] = [];
    for (const [i, e] of entries.entries()) {
      // A CR may be converted by git on the way in (text, eol, autocrlf): that copy is git's to compare.
      if (contents[i].includes(CR) || (filter ? !filter.cleansBackTo(e.path, contents[i], e.oid) : contents[i] !== blobs[i])) continue;
      const abs = join(repo.root, e.path);
      try {
        const stat = lstatSync(abs, { bigint: true });
        if (stat.isFile() && readFileSync(abs).equals(contents[i])) checked.push({ path: e.path, oid: e.oid, stat });
      } catch {
        /* gone or unreadable: git's refresh decides */
      }
    }
    return checked;
  } finally {
    for (const tmp of unplaced) rmSync(tmp, { force: true });
    for (const t of temps.values()) t.remove?.();
    filter?.close();
  }
}

async function checkoutIndexInto(repo: Repo, paths: readonly string[], seen: Map<string, Buffer>): Promise<void> {
  const groups = new Map<string, { temp: ReturnType<typeof tempDirFor>; files: string[] }>();
  for (const f of paths) {
    const temp = tempDirFor(dirname(join(repo.root, f)));
    const g = groups.get(temp.dir) ?? groups.set(temp.dir, { temp, files: [] }).get(temp.dir)!;
    g.files.push(f);
  }
  for (const { temp, files: group } of groups.values()) {
    const prefix = join(temp.dir, tempName());
    try {
      gitBuffer(['checkout-index', '-f', `--prefix=${prefix}/`, '-z', '--stdin'], { cwd: repo.root, input: group.join('\0') + '\0' });
      for (const f of group) await putInPlace(repo, f, join(prefix, f), seen);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
      temp.remove?.();
    }
  }
}

export interface InstallResult {
  command: string;
  refreshed: string[];
  skippedModified: string[];
}

/** Configure this clone's filter, diff and merge drivers, then check the sealed files out again. */
export async function install(repo: Repo, opts: { identityFiles?: string[] } = {}): Promise<InstallResult> {
  const cmd = selfCommand(repo.root);
  const wanted = filterConfig(cmd);
  const snapshot = configSnapshot(repo);
  const current = installedConfig(repo);
  const missing = wanted.filter(([k, v]) => current.get(k) !== v);
  // A clone without any of it gets it in one write; otherwise `git config` sets what differs.
  const appended = missing.length > 0 && current.size === 0 && snapshot !== null && appendLocalConfig(repo, wanted, () => installedConfig(repo), snapshot);
  if (!appended) for (const [k, v] of missing) git(['config', '--local', k, v], { cwd: repo.root });
  const sealed = sealedFiles(repo);
  const { files } = sealed;
  const refreshed = await recheckout(repo, await modifiedFiles(repo, sealed), opts.identityFiles ?? [], true);
  const done = new Set(refreshed);
  return { command: cmd, refreshed, skippedModified: files.filter((f) => !done.has(f) && existsSync(join(repo.root, f))) };
}

/**
 * Check the sealed files out in sealed form and remove the local filter config, leaving no plaintext that
 * git could commit: modified and untracked plaintext secrets files make it refuse, naming them (with
 * `force` they are sealed in place instead). Plaintext copies git keeps in .git/ are removed.
 */
export async function lock(repo: Repo, opts: { force?: boolean; identityFiles?: string[] } = {}): Promise<{ relocked: string[]; sealedInPlace: string[] }> {
  assertIndexUnlocked(repo); // fails here, changing nothing, while git holds the index
  const sealed = sealedFiles(repo);
  const { files } = sealed;
  const undecodable = files.filter((f) => f.includes('\uFFFD'));
  if (undecodable.length) {
    // Such a copy cannot be read back by the name git lists, so lock could not tell whether it holds plaintext.
    throw new GitSealError(
      `${undecodable.map((f) => JSON.stringify(f)).join(', ')}: secrets file names that are not UTF-8; nothing was changed`,
      'rename them to UTF-8 names (git mv) and run git-seal lock again',
    );
  }
  // Compared while the filter is still configured: git hashes plaintext copies through it.
  const copies = await modifiedFiles(repo, sealed);
  const { dirty } = copies;
  const config = loadConfigIfPresent(repo.root);
  const leftover = [...plaintextOnDisk(repo, dirty), ...untrackedPlaintext(repo, config)];
  if (leftover.length && !opts.force) {
    throw new GitSealError(
      `${leftover.join(', ')}: plaintext that git could commit once locked (uncommitted changes or untracked files); nothing was changed`,
      'commit or discard them first, or run git-seal lock --force to seal them in place',
    );
  }
  await sealInPlace(repo, leftover, config);
  const saved = installedConfig(repo);
  // The filter config goes only once the copies git-seal writes itself are sealed: a crash before that
  // leaves plaintext with the filter still configured, never plaintext without it.
  const dropFilter = (): void => {
    for (const section of ['filter', 'diff', 'merge']) {
      gitMaybe(['config', '--local', '--remove-section', `${section}.${DRIVER}`], { cwd: repo.root });
    }
    stopPoint('lock-filter-removed');
  };
  let relocked: string[];
  try {
    relocked = await recheckout(repo, copies, opts.identityFiles ?? [], false, dropFilter);
  } catch (err) {
    for (const [k, v] of saved) git(['config', '--local', k, v], { cwd: repo.root });
    throw err;
  }
  scrubGitDir(repo);
  sweepStale(privateGitSealDir(repo.root, 'tmp')!); // a killed write's plaintext
  CleanCache.forget(repo.gitDir); // tags of plaintexts
  SmudgeCache.forget(repo.gitDir); // plaintexts, sealed to this clone's key
  return { relocked, sealedInPlace: leftover };
}

/** Path of the pre-commit hook (honours core.hooksPath). */
export function hookPath(repo: Repo): string {
  const p = git(['rev-parse', '--git-path', 'hooks/pre-commit'], { cwd: repo.root });
  return p.startsWith('/') ? p : join(repo.root, p);
}

/** Whether the pre-commit hook runs `git-seal check --staged`: ours, someone else's that does, one that does not, or none. */
export function hookState(repo: Repo): 'installed' | 'runs-check' | 'foreign' | 'missing' {
  const p = hookPath(repo);
  if (!existsSync(p)) return 'missing';
  const text = readFileSync(p, 'utf8');
  if (text.includes(HOOK_MARK)) return 'installed';
  return /git-seal.*check --staged/.test(text) ? 'runs-check' : 'foreign';
}

/** Install a pre-commit hook running `git-seal check --staged`; never replaces someone else's hook. */
export function installHook(repo: Repo): 'installed' | 'already' | 'foreign' {
  const p = hookPath(repo);
  if (existsSync(p)) return readFileSync(p, 'utf8').includes(HOOK_MARK) ? 'already' : 'foreign';
  mkdirSync(dirname(p), { recursive: true });
  writeFileAtomic(p, `#!/bin/sh\n${HOOK_MARK}: refuse to commit plaintext secrets\nexec ${selfCommand(repo.root)} check --staged --quiet\n`, 0o755, { tempBeside: true });
  chmodSync(p, 0o755);
  return 'installed';
}
