import { patternMatcher } from '../util/wildmatch.js';
import type { CatFileBatch, CatFileObject } from './cat-file.js';
import { readIndexFile } from './index-file.js';
import { gitBuffer } from './run.js';

/** Cleans in one process before reading blobs ahead: a single `git add FILE` reads one blob. */
const START_AFTER = 4;
/** Blobs kept requested ahead of git. */
const WINDOW = 64;

/**
 * The staged blobs of the files git is about to clean, read before git asks for them.
 *
 * `git status`, `git add` and `git update-index --refresh` clean files in index order and wait for each
 * answer, and clean needs each file's staged blob: asking `git cat-file` for one at a time costs a round
 * trip between three processes per file. This lists the index entries under the profiles' patterns
 * once (their ids answer the clean cache without reading any blob) and, after a few cleans, keeps the
 * next WINDOW blobs requested, pipelined through one cat-file.
 * It is only a guess of what comes next: a path it does not know is read by name, as before.
 */
export class IndexReadAhead {
  private entries?: { index: Map<string, number>; oids: string[]; paths: string[] } | null;
  private readonly requested = new Map<number, Promise<CatFileObject | null>>();
  private cleans = 0;
  /** Entries before this index have been requested. */
  private ahead = 0;

  constructor(
    private readonly root: string,
    private readonly objects: CatFileBatch,
    private readonly patterns: () => readonly string[],
    /** The index file to read in process (null: ask `git ls-files`). */
    private readonly indexFile: () => string | null = () => null,
  ) {}

  /** Count one clean (call once per clean, before oidOf and read). */
  noteClean(): void {
    this.cleans++;
  }

  /** The stage-0 blob id of `path` from the listing (made on first use), without reading the blob; undefined for a path it does not list. */
  oidOf(path: string): string | undefined {
    const i = this.position(path);
    return i === undefined ? undefined : this.entries!.oids[i];
  }

  /** The path after `path` in index order among the profiles' entries (what git cleans next when it cleans them all). */
  nextAfter(path: string): string | undefined {
    const i = this.position(path);
    if (i === undefined) return undefined;
    const { index, paths } = this.entries!;
    for (let j = i + 1; j < paths.length; j++) if (index.get(paths[j]) === j) return paths[j]; // not an ambiguous name
    return undefined;
  }

  /** Whether `path` comes after `other` in index order (both among the profiles' entries). */
  isAfter(path: string, other: string): boolean {
    const i = this.position(path);
    const j = this.position(other);
    return i !== undefined && j !== undefined && i > j;
  }

  private position(path: string): number | undefined {
    if (this.entries === undefined) this.entries = this.list();
    return this.entries?.index.get(path);
  }

  /** The stage-0 blob of `path`, or undefined when it should be asked for by name. */
  read(path: string): Promise<CatFileObject | null> | undefined {
    if (this.cleans < START_AFTER) return undefined;
    const i = this.position(path);
    if (i === undefined) return undefined;
    const { oids } = this.entries!;
    // Refill in batches, so cat-file gets one request line per half window rather than one per file.
    if (!this.requested.has(i) || this.ahead - i < WINDOW / 2) {
      for (let j = Math.max(i, this.ahead); j < Math.min(i + WINDOW, oids.length); j++) {
        if (this.requested.has(j)) continue;
        const blob = this.objects.readObject(oids[j]);
        blob.catch(() => {}); // a failure reaches the caller that takes it; unread ones are dropped
        this.requested.set(j, blob);
      }
      this.ahead = Math.max(this.ahead, Math.min(i + WINDOW, oids.length));
    }
    const blob = this.requested.get(i) ?? this.objects.readObject(oids[i]);
    for (const j of this.requested.keys()) if (j <= i) this.requested.delete(j);
    return blob;
  }

  /** Stage-0 entries under the profiles' patterns, in index order; null when git cannot list them. */
  private list(): { index: Map<string, number>; oids: string[]; paths: string[] } | null {
    let patterns: readonly string[];
    try {
      patterns = this.patterns();
    } catch {
      return null; // a config clean cannot read: every path is read by name
    }
    if (patterns.length === 0) return null;
    const entries = this.listInProcess(patterns) ?? this.listWithGit(patterns);
    if (!entries) return null;
    const index = new Map<string, number>();
    const oids: string[] = [];
    const paths: string[] = [];
    const ambiguous = new Set<string>();
    for (const { path, oid } of entries) {
      // A name that is not UTF-8 decodes lossily, and two such names can decode alike: never guess.
      if (path.includes('\uFFFD') || index.has(path)) ambiguous.add(path);
      index.set(path, oids.length);
      oids.push(oid);
      paths.push(path);
    }
    for (const path of ambiguous) index.delete(path);
    return { index, oids, paths };
  }

  /** Stage-0 entries the patterns match, from the index file itself (null: it cannot be read in process). */
  private listInProcess(patterns: readonly string[]): { path: string; oid: string }[] | null {
    const file = this.indexFile();
    const all = file ? readIndexFile(file) : null;
    if (!all) return null;
    const covered = patternMatcher(patterns);
    return all.filter((e) => e.stage === 0 && covered(e.path));
  }

  private listWithGit(patterns: readonly string[]): { path: string; oid: string }[] | null {
    const specs = patterns.map((p) => `:(top,glob)${p.startsWith('/') ? p.slice(1) : p}`);
    const raw = gitBuffer(['ls-files', '-s', '-z', '--', ...specs], { cwd: this.root, allowFailure: true });
    if (!raw) return null;
    const out: { path: string; oid: string }[] = [];
    for (const rec of raw.toString('utf8').split('\0')) {
      const m = /^\d+ ([0-9a-f]+) 0\t(.*)$/s.exec(rec);
      if (m) out.push({ path: m[2], oid: m[1] });
    }
    return out;
  }
}
