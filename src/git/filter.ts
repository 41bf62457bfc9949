import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { loadIdentities, unwrapDataKey, type LoadedIdentities } from '../age/index.js';
import { PluginIdentity } from '../age/plugin-identity.js';
import { X25519Identity } from '../age/x25519.js';
import { assembleSealed, META_TABLE, sameSet, sealedBody } from '../format/meta.js';
import {
  isSealedScalar,
  keyPathList,
  looksSealed,
  openWithKey,
  parseSealed,
  seal,
  unsealedValueError,
  unsealedValues,
  unwrapFileDataKey,
  unwrapFileDataKeys,
  type PlaintextKeyFilter,
  type SealedFile,
  type UnlockedFile,
} from '../format/seal.js';
import { CONFIG_FILE, loadConfigIfPresent, type GitSealConfig, type Profile } from '../profiles/config.js';
import { pathSettings, type PathSettings } from '../profiles/path-settings.js';
import { scanToml } from '../toml/index.js';
import { decodeText } from '../util/io.js';
import { CatFileBatch, type CatFileObject } from './cat-file.js';
import { IndexReadAhead } from './index-read-ahead.js';
import { isArchiveSmudge } from './archive.js';
import { blobOid, CleanCache } from './clean-cache.js';
import { SmudgeCache, smudgeInputName, type CacheOwner, type OpenedBlob } from './smudge-cache.js';
import { findRepo } from './repo.js';
import { gitMaybe } from './run.js';

/** One file for smudge: `meta` is what the process protocol sent (`blob`, `treeish`, `ref`). */
interface SmudgeInput {
  path: string;
  content: Buffer;
  blob?: string;
  meta?: Readonly<Record<string, string>>;
}

/** Larger files are not cleaned ahead of git's request (see SealFilter.cleanAhead). */
const MAX_AHEAD_BYTES = 64 << 10;

/** A clean done before git asked for it: the bytes it read, the config and index it saw, its result. */
interface AheadClean {
  path: string;
  content: Buffer;
  stamp: string;
  result: Promise<{ out: Buffer; effects: (() => void)[]; sealed: boolean } | null>;
}

/** One clean's bookkeeping: effects queued (a clean ahead) or null (apply them now); whether it sealed. */
interface CleanRun {
  effects: (() => void)[] | null;
  sealed: boolean;
}

/** Bytes every sealed file contains (its metadata table header). */
const SEALED_MARK = `[${META_TABLE}]`;

/** What clean does with a path: its recipients and plaintext keys (from its profile, else the file). */
interface CleanSettings {
  recipients: readonly string[];
  plaintextKeys: PlaintextKeyFilter | undefined;
  /** Canonical text of the two, for the clean cache. */
  key: string;
}

/**
 * The clean and smudge transforms, shared by the long-running filter process and the single-shot
 * fallbacks. One instance serves a whole git command: identities, config and the object reader are
 * loaded once, on first use.
 */
export class SealFilter {
  private loadedIdentities?: Promise<LoadedIdentities>;
  private configCache?: GitSealConfig | null;
  private configStamp?: string;
  private objectsStamp?: string;
  private resolvedGitDir?: string | null;
  private indexPath?: string | null;
  private configPath?: string;
  private archiveOptIn?: boolean;
  private objects?: CatFileBatch;
  private readAhead?: IndexReadAhead;
  /** File stamps (index, config) taken during the current request: git changes them only between requests. */
  private readonly stamps = new Map<string, string>();
  private cacheStore?: CleanCache | null;
  private openedStore?: Promise<SmudgeCache | null>;
  private openedLoaded?: SmudgeCache;
  private unopened: string[] = [];
  private hashAlgorithm?: 'sha1' | 'sha256';
  /** A profile's clean settings, resolved once per process. */
  private readonly profileSettings = new WeakMap<Profile, CleanSettings>();
  private ahead?: AheadClean;
  /** The last clean that sealed an indexed path, for git's second clean of a racily clean file. */
  private lastClean?: { path: string; content: Buffer; stamp: string; out: Buffer };
  /** The paths of git's last two clean requests. */
  private lastPath?: string;
  private previousPath?: string;
  private realRoot?: string;
  /** Whether the last clean sealed (rather than the cache answering): git is adding changed files. */
  private sealedLast = false;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly identityFiles: string[] = [],
    private readonly warn: (line: string) => void = (l) => process.stderr.write(l + '\n'),
    private readonly gitDir?: string,
  ) {}

  private stamp(path: string): string {
    let s = this.stamps.get(path);
    if (s === undefined) this.stamps.set(path, (s = fileStampOf(path)));
    return s;
  }

  private cache(): CleanCache | null {
    if (this.cacheStore === undefined) {
      const dir = this.gitDirPath();
      this.cacheStore = dir ? new CleanCache(dir) : null;
    }
    return this.cacheStore;
  }

  private gitDirPath(): string | null {
    this.resolvedGitDir ??= this.gitDir ?? gitDirOf(this.root);
    return this.resolvedGitDir;
  }

  /** This work tree's index file. */
  private indexFile(): string | null {
    if (this.indexPath === undefined) {
      const dir = this.gitDirPath();
      this.indexPath = process.env.GIT_INDEX_FILE ? resolve(this.root, process.env.GIT_INDEX_FILE) : dir ? join(dir, 'index') : null;
    }
    return this.indexPath;
  }

  /** `git -c git-seal.archive=plaintext archive …` (or the local config) opts archives in to plaintext. */
  private archivePlaintext(): boolean {
    this.archiveOptIn ??= gitMaybe(['config', '--get', 'git-seal.archive'], { cwd: this.root })?.trim() === 'plaintext';
    return this.archiveOptIn;
  }

  /**
   * The object reader, restarted when the index changed: `git cat-file` reads the index once, and
   * one filter process can outlive an index (a rebase checks out, then picks).
   */
  private reader(): CatFileBatch {
    const stamp = this.stamp(this.indexFile() ?? '');
    if (!this.objects || stamp !== this.objectsStamp) {
      void this.objects?.close();
      this.objects = new CatFileBatch({ cwd: this.root });
      this.readAhead = new IndexReadAhead(
        this.root,
        this.objects,
        () => this.config()?.profiles.flatMap((p) => p.patterns) ?? [],
        () => this.indexFile(),
      );
      this.objectsStamp = stamp;
    }
    return this.objects;
  }

  /** The repository's hash: from an object id at hand, else asked of git once. */
  private objectFormat(known?: CatFileObject): 'sha1' | 'sha256' {
    if (known) return known.oid.length === 64 ? 'sha256' : 'sha1';
    this.hashAlgorithm ??= gitMaybe(['rev-parse', '--show-object-format'], { cwd: this.root }) === 'sha256' ? 'sha256' : 'sha1';
    return this.hashAlgorithm;
  }

  /**
   * Whether smudging in batches pays: an identity is an age plugin, which costs a plugin session (and a
   * touch) per unwrap call, so the filter should collect a checkout's files with git's `delay`.
   */
  async wantsBatches(): Promise<boolean> {
    return this.identities().then(
      (ids) => ids.some((id) => id instanceof PluginIdentity),
      () => false,
    );
  }

  private identities(): Promise<Identity[]> {
    return this.loaded().then((l) => l.identities);
  }

  private loaded(): Promise<LoadedIdentities> {
    this.loadedIdentities ??= loadIdentities({ identityFiles: this.identityFiles, env: process.env });
    return this.loadedIdentities;
  }

  /** The smudge cache, read on first use; null without a git dir or an identity to seal it to. */
  private opened(): Promise<SmudgeCache | null> {
    this.openedStore ??= (async () => {
      const dir = this.gitDirPath();
      if (!dir) return null;
      const store = new SmudgeCache(dir, () => this.cacheOwner());
      if (!(await store.load())) return null;
      this.openedLoaded = store;
      return store;
    })();
    return this.openedStore;
  }

  /**
   * Whose key the smudge cache is derived from: the first plain X25519 identity loaded (keys.txt,
   * GITSEAL_AGE_KEY), else none and no cache. Only files that this identity opens by itself are stored
   * (ownerKey), so a file that needs a plugin, a passphrase or another key never becomes readable with it.
   */
  private async cacheOwner(): Promise<CacheOwner | null> {
    const { identities, recipients } = await this.loaded();
    const identity = identities.slice(0, recipients.length).find((i): i is X25519Identity => i instanceof X25519Identity);
    return identity ? { identity } : null;
  }

  /** The data key of `sealed` if the smudge cache's owner opens it alone (null: it does not, or there is no owner). */
  private async ownerKey(sealed: SealedFile, file: string): Promise<Uint8Array | null> {
    return sealed.meta.conflict === undefined ? this.ownerKeyOf(sealed.meta.dataKey, file) : null;
  }

  private async ownerKeyOf(armor: string, file: string): Promise<Uint8Array | null> {
    const owner = this.openedLoaded && (await this.cacheOwner());
    return owner ? unwrapDataKey(armor, [owner.identity], { source: file }).catch(() => null) : null;
  }

  /**
   * The work tree's config, read again when it changed: one process serves a whole rebase or
   * checkout, during which git rewrites .gitseal.toml (after the files sorted before it).
   */
  private config(): GitSealConfig | null {
    const stamp = this.stamp((this.configPath ??= join(this.root, CONFIG_FILE)));
    if (this.configCache === undefined || stamp !== this.configStamp) {
      this.configCache = loadConfigIfPresent(this.root);
      this.configStamp = stamp;
    }
    return this.configCache;
  }

  /** The version of `path` git already has: the index entry (or "ours" during a merge), else HEAD's. */
  private async previousVersion(path: string): Promise<CatFileObject | undefined> {
    const objects = this.reader();
    const oid = this.readAhead!.oidOf(path);
    const kept = oid && this.cache()?.keptBlob(oid);
    if (kept) return { oid: oid!, type: 'blob', content: kept }; // the staged blob, without git cat-file
    const staged = await this.readAhead!.read(path);
    if (staged) return staged;
    for (const spec of [`:0:${path}`, `:2:${path}`, `HEAD:${path}`]) {
      // cat-file --batch reads one name per line: a path with a line break is resolved to an oid first.
      const name = /[\n\r]/.test(spec) ? gitMaybe(['rev-parse', '--verify', '-q', spec], { cwd: this.root }) : spec;
      const obj = name ? await objects.readObject(name) : null;
      if (obj) return obj;
    }
    return undefined;
  }

  /** The path's clean settings: its profile's, else (no profile covers it) the earlier sealed version's recipients. */
  private cleanSettings(path: string, previous: SealedFile | null, settings = this.settingsOf(path)): CleanSettings {
    if (settings.profile) {
      let known = this.profileSettings.get(settings.profile);
      if (!known) {
        known = this.resolveCleanSettings(path, previous, settings);
        this.profileSettings.set(settings.profile, known);
      }
      return known;
    }
    return this.resolveCleanSettings(path, previous, settings);
  }

  private resolveCleanSettings(path: string, previous: SealedFile | null, settings: PathSettings): CleanSettings {
    const config = this.config();
    const recipients = settings.profile ? settings.recipients : previous?.meta.recipients ?? [];
    if (recipients.length === 0) {
      throw new GitSealError(
        config ? `no profile in .gitseal.toml covers ${path}` : `no .gitseal.toml and no earlier sealed version to take recipients from`,
        config ? "add its path to a profile's files in .gitseal.toml" : 'run git-seal init',
      );
    }
    const key = JSON.stringify([[...recipients].sort(), settings.profile?.plaintextKeys ?? []]);
    return { recipients, plaintextKeys: settings.plaintextKeys, key };
  }

  private settingsOf(path: string): PathSettings {
    return pathSettings(this.config(), path);
  }

  /**
   * Working tree to repository: seal plaintext. Sealed input passes through unchanged when every value
   * is sealed or in plaintext_keys; values in clear are sealed with its data key, or refused without it.
   */
  async clean(path: string, content: Buffer): Promise<Buffer> {
    // A clean ahead for another path is not waited for; it is kept while git may still ask for it (its
    // path comes later in the index), else dropped, so the next one can start.
    const pending = this.ahead;
    const ahead = pending?.path === path ? pending : undefined;
    if (pending && (ahead || !this.readAhead?.isAfter(pending.path, path))) this.ahead = undefined;
    const done = ahead && (await ahead.result);
    this.stamps.clear();
    this.previousPath = this.lastPath;
    this.lastPath = path;
    if (path === CONFIG_FILE) {
      this.sealedLast = false;
      return content; // the config is never a secrets file, whatever .gitattributes says
    }
    // git's requests (never cleans ahead) count toward starting the blob read-ahead, which reader() restarts when the index changed.
    this.reader();
    this.readAhead!.noteClean();
    const last = this.lastClean;
    if (last && last.path === path && last.content.equals(content) && last.stamp === this.aheadStamp()) {
      return last.out; // git cleans a racily clean file twice in a row (compare, then add)
    }
    let out: Buffer;
    if (done && ahead.content.equals(content) && ahead.stamp === this.aheadStamp()) {
      for (const apply of done.effects) apply();
      this.sealedLast = done.sealed;
      out = done.out;
    } else {
      const run: CleanRun = { effects: null, sealed: false };
      try {
        out = (await this.cleanNow(path, content, run))!;
      } finally {
        this.sealedLast = run.sealed;
      }
    }
    this.lastClean = this.sealedLast && this.readAhead!.oidOf(path) !== undefined ? { path, content, stamp: this.aheadStamp(), out } : undefined;
    return out;
  }

  /**
   * Clean, before git asks, the file git most likely asks for next: the profiles' next index entry after
   * `after`, read from the work tree. git cleans in index order and waits for each answer, then hashes and
   * stores it before it reads the next file, so this clean runs while git does that work. Its result is
   * used only for exactly these bytes at this path with the config and index unchanged, and nothing is
   * recorded (caches) until then. Only while git adds changed files in index order (the last clean sealed,
   * and came right after the one before it in the index); a clean the cache answers (`git status`) costs
   * less than reading ahead.
   */
  cleanAhead(after: string): void {
    if (this.ahead || this.closed || !this.sealedLast || after !== this.lastPath || this.previousPath === undefined) return;
    if (this.readAhead?.nextAfter(this.previousPath) !== after) return; // git is not walking the index in order
    const path = this.readAhead.nextAfter(after);
    if (!path || path === CONFIG_FILE || !this.insideWorkTree(path)) return;
    const content = readRegularFile(join(this.root, path), MAX_AHEAD_BYTES);
    if (!content) return;
    this.stamps.clear();
    const stamp = this.aheadStamp();
    const run: CleanRun = { effects: [], sealed: false };
    const result = this.cleanNow(path, content, run).then(
      (out) => (out ? { out, effects: run.effects!, sealed: run.sealed } : null),
      () => null, // git's own request for the file reports the error
    );
    this.ahead = { path, content, stamp, result };
  }

  /** Whether no directory on the way to `path` is a symbolic link (git does not clean a path beyond one). */
  private insideWorkTree(path: string): boolean {
    try {
      this.realRoot ??= realpathSync.native(this.root);
      const dir = dirname(join(this.root, path));
      return realpathSync.native(dir) === join(this.realRoot, relative(this.root, dir));
    } catch {
      return false;
    }
  }

  /** What a clean's result depends on besides the path and bytes: the config and the index (the previous version). */
  private aheadStamp(): string {
    return `${this.stamp((this.configPath ??= join(this.root, CONFIG_FILE)))}\0${this.stamp(this.indexFile() ?? '')}`;
  }

  /**
   * clean's work. With `run.effects`, a clean ahead of git's request: what it would record is queued there
   * instead, and a case it does not take ahead (a config error, sealed input, a conflict) gives null.
   */
  private async cleanNow(path: string, content: Buffer, run: CleanRun): Promise<Buffer | null> {
    const { effects } = run;
    const record = (apply: () => void): void => void (effects ? effects.push(apply) : apply());
    if (effects && content.includes(SEALED_MARK)) return null;
    this.reader();
    const cache = this.cache();
    let settings: PathSettings;
    try {
      settings = this.settingsOf(path);
    } catch (err) {
      if (!(err instanceof GitSealError) || effects) throw err;
      return this.cleanWithoutConfig(path, content, await this.previousVersion(path), err);
    }
    // Fast path: this exact plaintext is known to clean to the staged blob (see CleanCache). Sealed
    // input never takes it: its values in clear are checked below.
    const quick = cache && settings.profile && !content.includes(SEALED_MARK) ? this.cleanSettings(path, null, settings).key : null;
    const staged = quick !== null ? this.readAhead!.oidOf(path) : undefined;
    const kept = staged && cache!.sealedBlob(path, staged, content, quick!);
    if (kept) return kept; // the staged blob's bytes, without reading them back from git
    const previous = await this.previousVersion(path);
    if (previous && quick !== null && cache!.has(path, previous.oid, content, quick)) return previous.content;
    let text = decodeText(content, path);
    if (CONFLICT_MARKER.test(text) && !parsesAsToml(text) && (effects === null ? await this.unmerged(path) : true)) {
      if (effects) return null;
      // `git diff`, `git status` and mergetool clean a conflicted working copy: seal it whole, as the merge driver does.
      const ours = previous && tryParse(previous.content.toString('utf8'), path);
      const { recipients } = this.cleanSettings(path, ours ?? null, settings);
      const { sealConflictedCopy } = await import('./merge.js');
      return Buffer.from(await sealConflictedCopy(text, ours ?? null, await this.identities(), recipients, path), 'utf8');
    }
    // Pass through only what really is a sealed file: a [gitseal] line inside a string is plaintext.
    const sealed = looksSealed(text) ? parseSealed(text, path) : null;
    let own: UnlockedFile | null = null;
    if (sealed) {
      own = await this.unlockValuesInClear(path, sealed, settings);
      if (!own) return content;
      text = openWithKey(sealed, own.dataKey, path);
    }
    const previousText = previous?.content.toString('utf8');
    const prevSealed = previousText !== undefined && looksSealed(previousText) ? tryParse(previousText, path) : null;
    const { recipients, plaintextKeys, key } = this.cleanSettings(path, prevSealed ?? own?.sealed ?? null, settings);
    // The previous version's data key, if this clone unwrapped it before (see smudge-cache.ts).
    const opened = prevSealed && !own ? await this.opened() : null;
    const knownKey = prevSealed && opened?.dataKey(prevSealed.meta.dataKey);
    // Ahead of git, never anything that could start a plugin or ask for a passphrase or touch: only a
    // version whose data key this clone already holds, re-sealed for the same recipients (no wrapping).
    if (effects && (this.closed || !knownKey || !prevSealed!.headerMatchesRecipients || !sameSet(prevSealed!.meta.recipients, recipients))) return null;
    const result = await seal(text, {
      recipients,
      identities: await this.identities(),
      previous: own ?? (prevSealed && knownKey ? { sealed: prevSealed, dataKey: knownKey } : prevSealed) ?? undefined,
      plaintextKeys,
      file: path,
    });
    // Only a key that the cache's owner unwraps by itself is kept: never one this clone made (it may seal
    // for recipients the clone is not among), nor one that only another identity opens.
    if (result.reusedKey) {
      const cache = opened ?? (await this.opened());
      const sameArmor = prevSealed !== null && result.armor === prevSealed.meta.dataKey;
      const ownerKey = knownKey && sameArmor ? knownKey : cache ? await this.ownerKeyOf(result.armor, path) : null;
      if (cache && ownerKey && Buffer.from(ownerKey).equals(Buffer.from(result.dataKey))) record(() => cache.putDataKey(result.armor, result.dataKey));
    }
    const out = Buffer.from(result.text, 'utf8');
    run.sealed = true;
    // Also for a file's first clean: the next racily clean `git status` then costs one HMAC, not a re-seal.
    const oid = blobOid(out, this.objectFormat(previous));
    record(() => cache?.add(path, oid, content, key, out));
    return out;
  }

  /**
   * Whether cleaning `plaintext` at `path` gives back exactly the blob `oid`, as known to the clean cache
   * (clean's first check): what `git update-index --refresh` would find by running the filter.
   */
  cleansBackTo(path: string, plaintext: Buffer, oid: string): boolean {
    const cache = this.cache();
    if (!cache || path === CONFIG_FILE || plaintext.includes(SEALED_MARK)) return false;
    try {
      const settings = this.settingsOf(path);
      return Boolean(settings.profile) && cache.has(path, oid, plaintext, this.cleanSettings(path, null, settings).key);
    } catch {
      return false;
    }
  }

  /**
   * A sealed input's values in clear that plaintext_keys does not list: null when it has none (it passes
   * through), else its data key to seal them with. Without the key they are refused: sealing a value
   * needs the file's data key, which only a recipient can open.
   */
  private async unlockValuesInClear(path: string, sealed: SealedFile, settings: PathSettings): Promise<UnlockedFile | null> {
    const inClear = unsealedValues(sealed, settings.plaintextKeys);
    if (inClear.length === 0) return null;
    const dataKey = sealed.meta.conflict === undefined ? await unwrapFileDataKey(sealed, await this.identities(), path) : null;
    if (dataKey) return { sealed, dataKey };
    throw unsealedValueError(
      path,
      inClear,
      `sealing a value needs the file's data key, which this clone cannot open (git-seal set cannot either): ask a recipient of ${path} to run git-seal set ${path} KEY, list the key in plaintext_keys if it is not secret, or drop the change with git checkout -- ${path}`,
    );
  }

  /** Whether git has the path as unmerged (stages 1-3, no stage 0). */
  private async unmerged(path: string): Promise<boolean> {
    for (const stage of [2, 3]) if (await this.reader().readObject(`:${stage}:${path}`).catch(() => null)) return true;
    return false;
  }

  /**
   * Clean when .gitseal.toml cannot be read: a file whose content is what git already has (sealed on
   * disk, or the plaintext of that blob) keeps its blob, so `git status`, `git diff` and `git stash` work;
   * any other content cannot be sealed, and fails naming the config problem.
   */
  private async cleanWithoutConfig(path: string, content: Buffer, previous: CatFileObject | undefined, configError: GitSealError): Promise<Buffer> {
    if (previous) {
      if (content.equals(previous.content)) return content;
      const sealed = tryParse(previous.content.toString('utf8'), path);
      try {
        const key = sealed && (await unwrapFileDataKey(sealed, await this.identities(), path));
        if (sealed && key && Buffer.from(openWithKey(sealed, key, path), 'utf8').equals(content)) return previous.content;
      } catch {
        /* cannot tell: treat it as changed */
      }
    }
    throw new GitSealError(`cannot seal it: ${configError.message}`, configError.hint);
  }

  /**
   * Repository to working tree: open when an identity can, else leave sealed (and say so once).
   * `meta` is what the process protocol sent; `git archive` gets the sealed form (see archive.ts).
   */
  async smudge(path: string, content: Buffer, blob?: string, meta: Readonly<Record<string, string>> = {}): Promise<Buffer> {
    return (await this.smudgeMany([{ path, content, blob, meta }]))[0];
  }

  /**
   * smudge for many files at once (git's delayed checkout): the data keys of all of them are unwrapped
   * in one unwrapFileDataKeys call, then each file is opened. Results are in the order of `files`.
   */
  async smudgeMany(files: readonly SmudgeInput[]): Promise<Buffer[]> {
    this.stamps.clear();
    return this.open(files, true);
  }

  /**
   * `git diff`'s view of a file (diff.git-seal.textconv): opened as smudge opens it, but it is not a
   * checkout: values in clear are not warned about, and nothing is remembered for the clean cache (git
   * hands textconv temporary copies).
   */
  async textconv(path: string, content: Buffer): Promise<Buffer> {
    this.stamps.clear();
    return (await this.open([{ path, content }], false))[0];
  }

  private async open(files: readonly SmudgeInput[], checkout: boolean): Promise<Buffer[]> {
    const out = files.map((f) => f.content);
    const sealed: { i: number; sealed: SealedFile; file: string }[] = [];
    // A checkout of blobs this clone opened before takes them from the smudge cache (see smudge-cache.ts).
    // Only in the long-running filter (git sends blob ids there): a one-file smudge process would load and rewrite it per file.
    const cache = checkout && files.some((f) => f.blob && f.path !== CONFIG_FILE) ? await this.opened() : null;
    const names = new Map<number, string>();
    files.forEach(({ path, content, meta, blob }, i) => {
      if (path === CONFIG_FILE) return;
      if (isArchiveSmudge(meta ?? {}, () => this.indexFile()) && !this.archivePlaintext()) return;
      if (cache) names.set(i, smudgeInputName(content));
      const known = cache?.get(names.get(i)!);
      if (known && this.takeOpened(path, blob, content, known)) {
        out[i] = known.plaintext;
        return;
      }
      let text: string;
      try {
        text = decodeText(content, path);
      } catch {
        return;
      }
      if (!looksSealed(text)) return;
      try {
        const parsed = parseSealed(text, path);
        if (!parsed) return;
        if (checkout) this.warnValuesInClear(path, parsed);
        sealed.push({ i, sealed: parsed, file: path });
      } catch (err) {
        this.warnLeftSealed(path, err);
      }
    });
    if (sealed.length === 0) return out;
    // With a smudge cache, the owner's key alone first: what it opens may be stored. The rest (other
    // identities, plugins) in one call, as without a cache.
    const keys: (Uint8Array | null | Error)[] = await Promise.all(sealed.map(({ sealed: s, file }) => (cache ? this.ownerKey(s, file) : null)));
    const ownerOpened = keys.map((k) => k !== null);
    const rest = sealed.filter((_, k) => keys[k] === null);
    if (rest.length) {
      let restKeys: (Uint8Array | null | Error)[];
      try {
        restKeys = await unwrapFileDataKeys(rest, await this.identities());
      } catch (err) {
        restKeys = rest.map(() => (err instanceof Error ? err : new Error(String(err))));
      }
      let r = 0;
      keys.forEach((k, j) => {
        if (k === null) keys[j] = restKeys[r++];
      });
    }
    sealed.forEach(({ i, sealed: s, file }, k) => {
      const dataKey = keys[k];
      if (dataKey instanceof Error) return this.warnLeftSealed(file, dataKey);
      if (!dataKey) return this.noteUnopened(file);
      if (ownerOpened[k]) cache?.putDataKey(s.meta.dataKey, dataKey);
      try {
        const plaintext = Buffer.from(openWithKey(s, dataKey, file), 'utf8');
        if (checkout) {
          const canonicalFor = this.rememberCheckout(file, s, plaintext, files[i].blob);
          if (cache && ownerOpened[k] && names.has(i)) cache.put(names.get(i)!, { plaintext, canonicalFor, inClear: unsealedValues(s).map((v) => v.path) });
        }
        out[i] = plaintext;
      } catch (err) {
        this.warnLeftSealed(file, err);
      }
    });
    return out;
  }

  /**
   * Use a cached opening of `blob` at `path`, unless a value in clear there is not in the path's
   * plaintext_keys (then the full open warns about it). Seeds the clean cache as rememberCheckout would.
   */
  private takeOpened(path: string, blob: string | undefined, sealed: Buffer, known: OpenedBlob): boolean {
    let settings: PathSettings;
    try {
      settings = this.settingsOf(path);
    } catch {
      return known.inClear.length === 0; // an unreadable config: open it, as without the cache
    }
    if (known.inClear.some((p) => !settings.plaintextKeys?.(p))) return false;
    if (blob && known.canonicalFor && settings.profile && this.cleanSettings(path, null, settings).key === known.canonicalFor) {
      this.cache()?.add(path, blob, known.plaintext, known.canonicalFor, sealed);
    }
    return true;
  }

  /** A damaged file stays sealed in the working tree; `git-seal decrypt` explains what is wrong. */
  private warnLeftSealed(path: string, err: unknown): void {
    this.warn(`git-seal: ${path}: left sealed: ${err instanceof GitSealError ? err.message : (err as Error).message}`);
  }

  /**
   * A blob with values in clear that plaintext_keys does not list was written without the key (or by an
   * attacker). A key holder's next git add would seal them as if they were theirs: say so on checkout.
   */
  private warnValuesInClear(path: string, sealed: SealedFile): void {
    let inClear;
    try {
      inClear = unsealedValues(sealed, this.settingsOf(path).plaintextKeys);
    } catch {
      return; // an unreadable config is reported where it matters, by clean
    }
    if (inClear.length === 0) return;
    this.warn(
      `git-seal: ${path}: ${keyPathList(inClear)} ${inClear.length === 1 ? 'is' : 'are'} stored in clear in this version and not listed in plaintext_keys (written without the key?); check before git add seals them (git-seal log ${path})`,
    );
  }

  /**
   * After a checkout, cleaning the plaintext reproduces the blob exactly when the blob is canonical
   * (what git-seal itself writes) for the path's current settings; then remember it, so the first
   * `git status` after the checkout does not re-seal every file.
   */
  private rememberCheckout(path: string, sealed: SealedFile, plaintext: Buffer, blob: string | undefined): string {
    try {
      const { meta, doc, text, bodyEnd } = sealed;
      if (meta.conflict !== undefined) return '';
      const settings = this.cleanSettings(path, sealed);
      const want = [...settings.recipients].sort();
      if (want.length !== meta.recipients.length || want.some((r, i) => r !== meta.recipients[i])) return '';
      if (!sealed.headerMatchesRecipients) return '';
      for (const s of doc.scalars) if (s.start < bodyEnd && isSealedScalar(text, s) === Boolean(settings.plaintextKeys?.(s.path))) return '';
      if (assembleSealed(sealedBody(text, bodyEnd), meta, doc.eol) !== text) return '';
      const bytes = Buffer.from(text, 'utf8');
      this.cache()?.add(path, blob ?? blobOid(bytes, 'sha1'), plaintext, settings.key, bytes);
      return settings.key;
    } catch {
      return ''; // not cacheable; clean will do the full work
    }
  }

  private noteUnopened(path: string): void {
    this.unopened.push(path);
    if (this.unopened.length === 1) {
      this.warn(`git-seal: no identity can open ${path}; leaving such files sealed (run git-seal doctor to see your keys)`);
    }
  }

  /** Files left sealed because no identity could open them. */
  get leftSealed(): readonly string[] {
    return this.unopened;
  }

  close(): void {
    this.closed = true;
    this.ahead = undefined;
    this.lastClean = undefined;
    this.cacheStore?.save();
    this.openedLoaded?.save();
    this.objects?.close();
  }
}

const CONFLICT_MARKER = /^<{7,}(?: |\r?$)/m;

function parsesAsToml(text: string): boolean {
  try {
    scanToml(text);
    return true;
  } catch {
    return false;
  }
}

/** Identity of a file's current version (inode, size, times); '' when it is missing. */
function fileStampOf(path: string): string {
  const st = path ? statSync(path, { throwIfNoEntry: false }) : undefined;
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : '';
}

/** The git dir of the work tree at `root` (without spawning git in the common case), or null. */
function gitDirOf(root: string): string | null {
  try {
    return findRepo(root).gitDir;
  } catch {
    return null;
  }
}

/** The bytes of a regular file of at most `max` bytes, else null: never waits on a FIFO or device, nor follows a last symlink. */
function readRegularFile(file: string, max: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > max) return null;
    const bytes = Buffer.allocUnsafe(st.size);
    return readSync(fd, bytes, 0, st.size, 0) === st.size ? bytes : null; // a file that shrank meanwhile: not read ahead
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function tryParse(text: string, path: string): SealedFile | null {
  try {
    return parseSealed(text, path);
  } catch {
    return null; // an unreadable earlier version only means no key reuse
  }
}
