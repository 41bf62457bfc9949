import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitSealError } from '../errors.js';
import { assertUnchanged, privateGitSealDir, sweepStale, tempDirFor, tempName, withFileLock, writeFileAtomic } from './atomic-write.js';
import { loadIdentities } from '../age/index.js';
import { batchesUnwraps, looksSealed } from '../format/seal.js';
import { loadConfigIfPresent } from '../profiles/config.js';
import { DRIVER, trackedSealedFiles } from './attributes.js';
import { CatFileBatch } from './cat-file.js';
import { assertIndexUnlocked, updateIndex } from './index-lock.js';
import { SealFilter } from './filter.js';
import { plaintextOnDisk, scrubGitDir, sealInPlace, untrackedPlaintext } from './leftovers.js';
import { listFiles, type TreeEntry } from './tree.js';
import type { Repo } from './repo.js';
import { git, gitBuffer, gitMaybe } from './run.js';

const HOOK_MARK = '# installed by git-seal';

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

/**
 * Sealed-pattern files whose working copy differs from the index. Compared in-process (bytes for a sealed
 * working copy, our own clean for a plaintext one) rather than through `git diff`, which would start a
 * filter process and re-clean every racily clean entry of a fresh checkout.
 */
async function modifiedFiles(repo: Repo, files: readonly string[], identityFiles: string[]): Promise<{ dirty: Set<string>; seen: Map<string, Buffer>; index: TreeEntry[] }> {
  const want = new Set(files);
  const index = listFiles(repo.root, 'index').filter((e) => want.has(e.path));
  const objects = new CatFileBatch({ cwd: repo.root });
  const filter = new SealFilter(repo.root, identityFiles, () => {});
  const dirty = new Set<string>(files);
  const seen = new Map<string, Buffer>();
  try {
    // Ask for every blob at once: the reader pipelines the requests to one git cat-file.
    const blobs = await Promise.all(index.map((e) => objects.read(e.oid)));
    for (const [i, e] of index.entries()) {
      let work: Buffer;
      try {
        work = readFileSync(join(repo.root, e.path));
      } catch {
        continue; // missing: checking it out again is what the user wants
      }
      seen.set(e.path, work);
      const blob = blobs[i];
      if (!blob) continue;
      if (work.equals(blob)) {
        dirty.delete(e.path);
        continue;
      }
      if (looksSealed(work.toString('utf8'))) continue;
      try {
        if ((await filter.clean(e.path, work)).equals(blob)) dirty.delete(e.path);
      } catch {
        /* cannot seal it: leave it alone */
      }
    }
  } finally {
    filter.close();
    await objects.close();
  }
  return { dirty, seen, index };
}

/**
 * Rewrite unmodified sealed-pattern files from the index, so the current filter config applies to them.
 * git checks each one out (through the filter) into a private directory under the git dir, and it is then
 * renamed over the working copy: a file is never deleted before its replacement is in place. When git
 * cannot lock the index, this fails with git's own error before changing anything.
 */
async function recheckout(repo: Repo, files: readonly string[], identityFiles: string[], opening: boolean): Promise<string[]> {
  const { dirty, seen, index } = await modifiedFiles(repo, files, identityFiles);
  const clean = files.filter((f) => !dirty.has(f) && seen.has(f));
  if (clean.length === 0) return [];
  assertIndexUnlocked(repo); // fails here, changing nothing, while git holds the index
  // Opening (install) may smudge in-process for a plugin; locking always lets git write the sealed blobs.
  await replaceFromIndex(repo, clean, seen, opening ? await pluginCheckout(repo, index, identityFiles) : null);
  // The index still has the old files' sizes, which git takes as "modified" without looking: re-enter
  // the same blobs without stat data, so git compares content (through the filter) and records it.
  const entries = index.filter((e) => clean.includes(e.path));
  updateIndex(repo, entries.map((e) => ({ ...e, expect: e.oid })));
  gitMaybe(['update-index', '-q', '--refresh'], { cwd: repo.root }); // record the new stat info
  return clean;
}

type Materialize = (files: readonly string[], prefix: string) => Promise<void>;

/**
 * With an age plugin identity, the files are smudged here, all data keys in one plugin session (one
 * touch): `git checkout-index` smudges one file at a time (it has no delayed checkout), which would start
 * the plugin once per file. Without one, git checks the files out (null).
 */
async function pluginCheckout(repo: Repo, index: readonly TreeEntry[], identityFiles: string[]): Promise<Materialize | null> {
  const { identities } = await loadIdentities({ identityFiles, env: process.env });
  if (!batchesUnwraps(identities)) return null;
  return async (files, prefix) => {
    const filter = new SealFilter(repo.root, identityFiles, undefined, repo.gitDir);
    const objects = new CatFileBatch({ cwd: repo.root });
    try {
      const entries = files.map((f) => index.find((e) => e.path === f)!);
      const blobs = await Promise.all(entries.map((e) => objects.read(e.oid)));
      const out = await filter.smudgeMany(entries.map((e, i) => ({ path: e.path, content: blobs[i]!, blob: e.oid })));
      entries.forEach((e, i) => {
        mkdirSync(dirname(join(prefix, e.path)), { recursive: true, mode: 0o700 });
        writeFileSync(join(prefix, e.path), out[i], { mode: e.mode === '100755' ? 0o755 : 0o644 });
      });
    } finally {
      filter.close();
      await objects.close();
    }
  };
}

/** Check `files` out through the filter into a private directory, then rename each over its working copy. */
async function replaceFromIndex(repo: Repo, clean: readonly string[], seen: Map<string, Buffer>, materialize: Materialize | null): Promise<void> {
  const groups = new Map<string, { temp: ReturnType<typeof tempDirFor>; files: string[] }>();
  for (const f of clean) {
    const temp = tempDirFor(dirname(join(repo.root, f)));
    const g = groups.get(temp.dir) ?? groups.set(temp.dir, { temp, files: [] }).get(temp.dir)!;
    g.files.push(f);
  }
  for (const { temp, files: group } of groups.values()) {
    const prefix = join(temp.dir, tempName());
    try {
      if (materialize) await materialize(group, prefix);
      else gitBuffer(['checkout-index', '-f', `--prefix=${prefix}/`, '-z', '--stdin'], { cwd: repo.root, input: group.join('\0') + '\0' });
      for (const f of group) {
        const abs = join(repo.root, f);
        await withFileLock(abs, async () => {
          assertUnchanged(abs, seen.get(f)!, f);
          renameSync(join(prefix, f), abs);
        });
      }
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
  for (const [k, v] of filterConfig(cmd)) git(['config', '--local', k, v], { cwd: repo.root });
  const files = trackedSealedFiles(repo.root);
  const refreshed = await recheckout(repo, files, opts.identityFiles ?? [], true);
  return { command: cmd, refreshed, skippedModified: files.filter((f) => !refreshed.includes(f) && existsSync(join(repo.root, f))) };
}

/**
 * Check the sealed files out in sealed form and remove the local filter config, leaving no plaintext that
 * git could commit: modified and untracked plaintext secrets files make it refuse, naming them (with
 * `force` they are sealed in place instead). Plaintext copies git keeps in .git/ are removed.
 */
export async function lock(repo: Repo, opts: { force?: boolean; identityFiles?: string[] } = {}): Promise<{ relocked: string[]; sealedInPlace: string[] }> {
  assertIndexUnlocked(repo); // fails here, changing nothing, while git holds the index
  const files = trackedSealedFiles(repo.root);
  const { dirty } = await modifiedFiles(repo, files, opts.identityFiles ?? []);
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
  for (const section of ['filter', 'diff', 'merge']) {
    gitMaybe(['config', '--local', '--remove-section', `${section}.${DRIVER}`], { cwd: repo.root });
  }
  let relocked: string[];
  try {
    relocked = await recheckout(repo, files, opts.identityFiles ?? [], false);
  } catch (err) {
    for (const [k, v] of saved) git(['config', '--local', k, v], { cwd: repo.root });
    throw err;
  }
  scrubGitDir(repo);
  sweepStale(privateGitSealDir(repo.root, 'tmp')!); // a killed write's plaintext
  for (const f of ['clean-cache', 'cache-key']) rmSync(join(repo.gitDir, 'git-seal', f), { force: true }); // tags of plaintexts
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
