import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { formatKeyPath } from '../format/keypath.js';
import { sameSet } from '../format/meta.js';
import { batchesUnwraps, isSealedScalar, looksSealed, openSealed, parseSealed, prefetchDataKeys, seal, type SealedFile } from '../format/seal.js';
import { CatFileBatch } from '../git/cat-file.js';
import { assertIndexUnlocked, updateIndex } from '../git/index-lock.js';
import type { Repo } from '../git/repo.js';
import { repoPath } from '../git/repo.js';
import { git } from '../git/run.js';
import { listFiles, type TreeEntry } from '../git/list-files.js';
import type { PathSegment } from '../toml/index.js';
import { loadConfig, type GitSealConfig } from '../profiles/config.js';
import { pathSettings, type PathSettings } from '../profiles/path-settings.js';
import { decodeText } from '../util/io.js';
import { withFileLock, writeFileAtomic } from '../git/atomic-write.js';
import { stopPoint } from '../util/test-hook.js';

export interface RekeyFileResult {
  path: string;
  profile?: string;
  status: 'rekeyed' | 'unchanged' | 'failed';
  /** Public keys the file gained and lost. */
  added: string[];
  removed: string[];
  /** A recipient was removed, so the data key was replaced and every value re-encrypted. */
  rotated: boolean;
  /** What was rewritten: the staged blob and/or the sealed working-tree file. */
  updated: ('index' | 'worktree')[];
  /** Keys whose values the removed recipients could read (names only, never values). */
  exposedKeys: string[];
  /** Why the file was not re-keyed (one line, with what to do). */
  error?: string;
}

export interface RekeyReport {
  files: RekeyFileResult[];
  failed: number;
}

export interface RekeyOptions {
  identities: readonly Identity[];
  /** Files to re-key (paths relative to the current directory); default: every tracked file that a profile covers. */
  paths?: string[];
  /** Without paths: only the files of these profiles. */
  profiles?: string[];
  /** The config to use (default: the repository's .gitseal.toml). */
  config?: GitSealConfig;
  /** Called after each file. */
  onFile?: (done: number, total: number, result: RekeyFileResult) => void;
}

interface Pending {
  path: string;
  mode: string;
  text: string;
  /** The staged blob the new text was computed from. */
  from: string;
  result: RekeyFileResult;
}


/** True when the file is sealed to exactly `recipients` and its data key header agrees with its list. */
function upToDate(sealed: SealedFile, recipients: readonly string[]): boolean {
  return sameSet(sealed.meta.recipients, recipients) && sealed.headerMatchesRecipients;
}

/** An array counts as one secret: `schemas`, not `schemas[0]`, `schemas[1]`. */
function secretName(path: readonly PathSegment[]): string {
  const i = path.findIndex((p) => typeof p === 'number');
  return formatKeyPath(i < 0 ? path : path.slice(0, i));
}

function encryptedKeys(sealed: SealedFile): string[] {
  const keys = sealed.doc.scalars.filter((s) => s.start < sealed.bodyEnd && isSealedScalar(sealed.text, s));
  return [...new Set(keys.map((s) => secretName(s.path)))];
}

function readWorktree(path: string): { text: string | null; bytes: Buffer | null } {
  if (!existsSync(path)) return { text: null, bytes: null };
  const bytes = readFileSync(path);
  try {
    return { text: decodeText(bytes, path), bytes };
  } catch {
    return { text: null, bytes }; // not UTF-8: certainly not a sealed file
  }
}

/** The files to re-key: the named ones, or every tracked file that a profile (of `profiles`) covers. */
function targets(repo: Repo, index: Map<string, TreeEntry>, config: GitSealConfig, opts: RekeyOptions): string[] {
  if (opts.paths?.length) return [...new Set(opts.paths.map((p) => repoPath(repo, p)))];
  const wanted = opts.profiles && new Set(opts.profiles);
  return [...index.values()]
    .filter((e) => {
      try {
        const { profile } = pathSettings(config, e.path);
        return profile !== null && (!wanted || wanted.has(profile.name));
      } catch {
        return true; // matched by two profiles: reported per file
      }
    })
    .map((e) => e.path);
}

/** Write blobs to the object database with one git call; returns their ids in order. */
function writeBlobs(repo: Repo, texts: string[]): string[] {
  // Scratch input for `git hash-object` (sealed text only), deleted right after; a crash before the
  // index update below leaves the index as it was, so these need no atomic writes.
  const dir = mkdtempSync(join(repo.gitDir, 'git-seal-rekey-'));
  try {
    const files = texts.map((t, i) => {
      const f = join(dir, String(i));
      writeFileSync(f, t);
      return f;
    });
    const out = git(['hash-object', '-w', '--no-filters', '--stdin-paths'], { cwd: repo.root, input: files.join('\n') + '\n' });
    const oids = out.split('\n');
    if (oids.length !== texts.length) throw new GitSealError(`git hash-object returned ${oids.length} ids for ${texts.length} blobs`, 'retry; report a bug if it persists');
    return oids;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Stage new blobs for the given paths in one atomic index update (see updateIndex). A path whose staged
 * blob changed since it was read (a `git add` during the re-key) keeps that blob and is reported as
 * failed: nothing staged is ever replaced by a re-key of an older version.
 */
function stage(repo: Repo, pending: Pending[]): void {
  if (pending.length === 0) return;
  stopPoint('stage');
  assertIndexUnlocked(repo);
  const oids = writeBlobs(repo, pending.map((p) => p.text));
  const skipped = new Set(updateIndex(repo, pending.map((p, i) => ({ mode: p.mode, oid: oids[i], path: p.path, expect: p.from }))));
  for (const p of pending) {
    if (!skipped.has(p.path)) continue;
    p.result.status = 'failed';
    p.result.updated = p.result.updated.filter((u) => u !== 'index');
    p.result.error = `${p.path}: staged again while it was being re-keyed (a git add?); that staged version was kept (run git-seal rekey again)`;
  }
}

/** Record which keys a file gained and lost; losing one means a new data key, so every value is exposed. */
function describeChange(result: RekeyFileResult, from: SealedFile, to: readonly string[]): void {
  const removed = from.meta.recipients.filter((r) => !to.includes(r));
  result.added = [...new Set([...result.added, ...to.filter((r) => !from.meta.recipients.includes(r))])];
  result.removed = [...new Set([...result.removed, ...removed])];
  if (removed.length || !from.headerMatchesRecipients) {
    result.rotated = true;
    result.exposedKeys = [...new Set([...result.exposedKeys, ...encryptedKeys(from)])];
  }
}

class Rekeyer {
  readonly pending: Pending[] = [];

  constructor(
    private readonly repo: Repo,
    private readonly config: GitSealConfig,
    private readonly index: Map<string, TreeEntry>,
    private readonly objects: CatFileBatch,
    private readonly identities: readonly Identity[],
  ) {}

  async file(path: string): Promise<RekeyFileResult> {
    const result: RekeyFileResult = { path, status: 'unchanged', added: [], removed: [], rotated: false, updated: [], exposedKeys: [] };
    try {
      const settings = pathSettings(this.config, path);
      if (!settings.profile) throw new GitSealError(`${path}: no profile in .gitseal.toml covers it`, "add its path to a profile's files");
      result.profile = settings.profile.name;
      await withFileLock(join(this.repo.root, path), () => this.plan(path, settings, result));
    } catch (err) {
      result.status = 'failed';
      result.error = err instanceof GitSealError ? err.oneLine : `unexpected error: ${(err as Error).message}`;
      result.updated = [];
    }
    return result;
  }

  private async samePlaintext(a: SealedFile, b: SealedFile, path: string): Promise<boolean> {
    return (await openSealed(a, this.identities, path)).plaintext === (await openSealed(b, this.identities, path)).plaintext;
  }

  /** Compute every new text for the file first, then write: a failure leaves the file untouched. */
  private async plan(path: string, { recipients, plaintextKeys }: PathSettings, result: RekeyFileResult): Promise<void> {
    const entry = this.index.get(path);
    const staged = entry ? (await this.objects.read(entry.oid))?.toString('utf8') ?? null : null;
    const abs = join(this.repo.root, path);
    const { text: work, bytes: workBytes } = readWorktree(abs);
    const stagedSealed = staged !== null ? parseSealed(staged, path) : null;
    const workSealed = work !== null && work !== staged && looksSealed(work) ? parseSealed(work, path) : null;
    if (!stagedSealed && !workSealed) {
      if (staged !== null) throw new GitSealError(`${path}: staged in plaintext, not sealed`, 'run git-seal check and follow its advice');
      throw new GitSealError(`${path}: not a tracked or sealed file`, 'name a sealed secrets file');
    }

    const indexStale = stagedSealed !== null && !upToDate(stagedSealed, recipients);
    const workStale = workSealed !== null && !upToDate(workSealed, recipients);
    const reseal = async (from: SealedFile): Promise<string> => {
      if (from.meta.conflict !== undefined) throw new GitSealError(`${path}: has an unresolved merge conflict`, 'resolve it, git add it, then rekey');
      const out = await seal(from.text, { recipients, identities: this.identities, plaintextKeys, file: path });
      return out.text;
    };
    const writes: { worktree?: string; index?: string } = {};
    if ((indexStale || workStale) && stagedSealed && workSealed && (await this.samePlaintext(stagedSealed, workSealed, path))) {
      // Same content in both (e.g. after an interrupted rekey): one sealed version serves both.
      const text = !indexStale ? stagedSealed.text : !workStale ? workSealed.text : await reseal(stagedSealed);
      if (indexStale) writes.index = text;
      if (workStale) writes.worktree = text;
    } else {
      if (indexStale) writes.index = await reseal(stagedSealed!);
      if (workStale) writes.worktree = await reseal(workSealed!);
    }
    // A sealed working file that matches the index gets the very same new text, staged.
    if (writes.index !== undefined && work === staged && looksSealed(work ?? '')) writes.worktree = writes.index;
    if (writes.index !== undefined) describeChange(result, stagedSealed!, recipients);
    if (writes.worktree !== undefined) describeChange(result, workSealed ?? stagedSealed!, recipients);

    if (writes.worktree !== undefined) {
      writeFileAtomic(abs, writes.worktree, undefined, { expected: workBytes });
      result.updated.push('worktree');
    }
    if (writes.index !== undefined && entry) {
      this.pending.push({ path, mode: entry.mode, text: writes.index, from: entry.oid, result });
      result.updated.push('index');
    }
    if (result.updated.length) result.status = 'rekeyed';
  }
}

/**
 * Bring sealed files to exactly their profile's recipients. Adding recipients re-wraps the data key
 * (values keep their ciphertext); removing one rotates it (every value is re-encrypted). The staged
 * blob is replaced in the index (the working tree is left alone when it holds plaintext, so unrelated
 * edits stay unstaged), and a sealed working-tree file is rewritten atomically.
 */
export async function rekey(repo: Repo, opts: RekeyOptions): Promise<RekeyReport> {
  const config = opts.config ?? loadConfig(repo.root);
  const index = new Map(listFiles(repo.root, 'index').filter((e) => e.mode.startsWith('100')).map((e) => [e.path, e]));
  const paths = targets(repo, index, config, opts);
  const objects = new CatFileBatch({ cwd: repo.root });
  const rekeyer = new Rekeyer(repo, config, index, objects, opts.identities);
  const files: RekeyFileResult[] = [];
  try {
    if (batchesUnwraps(opts.identities)) {
      // One plugin session (one touch) for every staged version, before the files are taken one by one.
      const staged = await Promise.all(paths.map(async (path) => ({ text: (await objects.read(index.get(path)?.oid ?? ''))?.toString('utf8') ?? '', file: path })));
      await prefetchDataKeys(staged, opts.identities);
    }
    for (const path of paths) {
      const r = await rekeyer.file(path);
      files.push(r);
      opts.onFile?.(files.length, paths.length, r);
    }
  } finally {
    await objects.close();
  }
  stage(repo, rekeyer.pending);
  return { files, failed: files.filter((f) => f.status === 'failed').length };
}
