import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { cacheGeneration, forgetCacheFiles } from './cache-generation.js';

/**
 * Remembers which (path, sealed blob, plaintext, recipients) combinations are already in sync, so that
 * cleaning an unchanged file after `touch` or a fresh checkout returns the index blob without
 * unwrapping its data key or re-encrypting its values: `git status` then costs one HMAC per file.
 *
 * Entries are HMAC-SHA256 tags under a random per-clone key in `.git/git-seal/` (mode 0600), so the
 * cache file says nothing about the plaintext without that key. The cache lives only in clones whose
 * working tree already holds the plaintext. A missing or unreadable cache is simply empty.
 *
 * Beside the tags, `clean-blobs` keeps the sealed blobs they name (public bytes, as in .git/objects), so
 * that a hit can answer git without reading the blob back through `git cat-file`; each is checked
 * against its id before use.
 */
export class CleanCache {
  private key?: Buffer;
  private tags?: Set<string>;
  private added: string[] = [];
  private generation = '';
  private blobs?: Map<string, Buffer | { at: number; size: number }>;
  private blobFd?: number;
  /** Blobs added since the last save. */
  private newBlobs = new Map<string, Buffer>();
  private pendingBytes = 0;

  constructor(private readonly gitDir: string) {}

  private dir(): string {
    return join(this.gitDir, 'git-seal');
  }

  private load(): void {
    if (this.tags) return;
    this.tags = new Set();
    this.generation = cacheGeneration(this.dir());
    try {
      this.key = readFileSync(join(this.dir(), 'cache-key'));
      if (this.key.length !== 32) this.key = undefined;
      for (const line of readFileSync(join(this.dir(), 'clean-cache'), 'latin1').split('\n')) if (line) this.tags.add(line);
    } catch {
      /* first use */
    }
  }

  private ensureKey(): Buffer | undefined {
    this.load();
    if (this.key) return this.key;
    if (cacheGeneration(this.dir()) !== this.generation) return undefined; // lock ran meanwhile
    try {
      mkdirSync(this.dir(), { recursive: true, mode: 0o700 });
      const key = randomBytes(32);
      const fd = openSync(join(this.dir(), 'cache-key'), 'wx', 0o600);
      try {
        writeSync(fd, key);
      } finally {
        closeSync(fd);
      }
      this.key = key;
    } catch {
      return undefined; // another process made one first, or .git is read-only: no caching this time
    }
    return this.key;
  }

  private tag(key: Buffer, path: string, blobOid: string, plaintext: Buffer, settings: string): string {
    const h = createHmac('sha256', key);
    for (const part of ['git-seal clean cache v1', path, blobOid, settings]) h.update(part).update('\0');
    return h.update(plaintext).digest('hex');
  }

  /** Whether cleaning `plaintext` at `path` with these settings reproduces the blob `blobOid`. */
  has(path: string, blobOid: string, plaintext: Buffer, settings: string): boolean {
    this.load();
    return this.key !== undefined && this.tags!.has(this.tag(this.key, path, blobOid, plaintext, settings));
  }

  /**
   * The sealed blob `oid` when cleaning `plaintext` at `path` with these settings reproduces it and its
   * bytes are kept here; undefined otherwise (read the blob from git, then ask has()).
   */
  sealedBlob(path: string, oid: string, plaintext: Buffer, settings: string): Buffer | undefined {
    return this.has(path, oid, plaintext, settings) ? this.keptBlob(oid) : undefined;
  }

  /** The bytes of the sealed blob `oid` when kept here (checked against the id), else undefined. */
  keptBlob(oid: string): Buffer | undefined {
    const kept = this.newBlobs.get(oid) ?? this.loadBlobs().get(oid);
    let bytes: Buffer | undefined;
    if (Buffer.isBuffer(kept)) bytes = kept;
    else if (kept && this.blobFd !== undefined) {
      bytes = Buffer.allocUnsafe(kept.size);
      if (readSync(this.blobFd, bytes, 0, kept.size, kept.at) !== kept.size) return undefined;
    }
    return bytes && blobOid(bytes, oid.length === 64 ? 'sha256' : 'sha1') === oid ? bytes : undefined;
  }

  /** Record that `plaintext` at `path` cleans to the blob `blobOid` under these settings (and keep the blob's bytes when given). */
  add(path: string, blobOid: string, plaintext: Buffer, settings: string, sealed?: Buffer): void {
    const key = this.ensureKey();
    if (!key) return;
    const t = this.tag(key, path, blobOid, plaintext, settings);
    if (this.tags!.has(t)) return; // recorded before, with its blob
    this.tags!.add(t);
    this.added.push(t);
    if (sealed && !this.blobs?.has(blobOid)) {
      this.blobs?.set(blobOid, sealed);
      this.newBlobs.set(blobOid, sealed);
      this.pendingBytes += sealed.length;
      if (this.pendingBytes > FLUSH_BYTES) {
        try {
          this.flushBlobs();
        } catch {
          /* read-only .git: kept in memory until save gives up too */
        }
      }
    }
  }

  /**
   * Where each kept blob is in the file (read on use, so memory does not grow with the file), or its
   * bytes: added since, or the whole file is small enough to hold (IN_MEMORY_BYTES).
   */
  private loadBlobs(): Map<string, Buffer | { at: number; size: number }> {
    if (this.blobs) return this.blobs;
    this.blobs = new Map();
    let fd: number;
    try {
      fd = openSync(join(this.dir(), 'clean-blobs'), 'r');
    } catch {
      return this.blobs; // none yet
    }
    this.blobFd = fd;
    const end = fstatSync(fd).size;
    // A small file is read whole and its blobs served from memory; a larger one a window at a time,
    // keeping only where each blob is.
    const whole = end <= IN_MEMORY_BYTES;
    const chunk = Buffer.allocUnsafe(whole ? end : 1 << 20);
    // Record headers, read a window at a time from the next header on.
    for (let pos = 0; pos + 5 <= end; ) {
      const got = readSync(fd, chunk, 0, chunk.length, pos);
      let off = 0;
      while (off + 5 <= got) {
        const idLength = chunk[off];
        if (idLength !== 40 && idLength !== 64) return this.blobs; // not a record: stop here
        if (off + 5 + idLength > got) break;
        const size = chunk.readUInt32BE(off + 1);
        const at = pos + off + 5 + idLength;
        if (at + size > end) return this.blobs; // a torn tail
        const oid = chunk.toString('latin1', off + 5, off + 5 + idLength);
        this.blobs.set(oid, whole ? chunk.subarray(at, at + size) : { at, size });
        off += 5 + idLength + size;
      }
      if (off === 0) return this.blobs;
      pos += off;
    }
    return this.blobs;
  }

  /** Write new entries (atomically; keeps the newest 50,000 tags and 16 MiB of blobs). Errors are ignored: it is only a cache. */
  save(): void {
    try {
      // A cache that lock deleted while this process ran stays deleted.
      if (cacheGeneration(this.dir()) !== this.generation) return;
      if (this.added.length && this.tags) {
        const all = [...this.tags].slice(-50_000);
        writeFileAtomic(join(this.dir(), 'clean-cache'), all.join('\n') + '\n', 0o600, { tempBeside: true });
        this.added = [];
      }
      this.flushBlobs();
    } catch {
      /* read-only .git */
    } finally {
      if (this.blobFd !== undefined) closeSync(this.blobFd);
      this.blobFd = undefined;
      this.blobs = undefined;
    }
  }

  /**
   * Write the blobs added since the last write: appended in one write (a torn tail is ignored when read),
   * or past the limit the file is rewritten with the newest quarter. Called by save, and as soon as 4 MiB
   * wait, so memory does not grow with the number of files.
   */
  private flushBlobs(): void {
    if (this.newBlobs.size === 0) return;
    if (cacheGeneration(this.dir()) !== this.generation) return void this.newBlobs.clear();
    const file = join(this.dir(), 'clean-blobs');
    const entries = [...this.newBlobs];
    this.newBlobs.clear();
    this.pendingBytes = 0;
    const added = blobRecords(entries);
    const base = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (base + added.length <= MAX_BLOB_BYTES) {
      appendFileSync(file, added, { mode: 0o600 });
      // Held bytes give way to where they now are in the file (read back by offset, checked by hash).
      if (this.blobs) {
        this.blobFd ??= openSync(file, 'r');
        let at = base;
        for (const [oid, bytes] of entries) {
          this.blobs.set(oid, { at: at + 5 + oid.length, size: bytes.length });
          at += 5 + oid.length + bytes.length;
        }
      }
      return;
    }
    const blobs = this.loadBlobs();
    for (const [oid, bytes] of entries) blobs.set(oid, bytes);
    const kept: [string, Buffer][] = [];
    let size = 0;
    for (const [oid, where] of [...blobs].reverse()) {
      const bytes = Buffer.isBuffer(where) ? where : Buffer.allocUnsafe(where.size);
      if (!Buffer.isBuffer(where) && readSync(this.blobFd!, bytes, 0, where.size, where.at) !== where.size) continue;
      size += 5 + oid.length + bytes.length;
      if (size > MAX_BLOB_BYTES / 4) break;
      kept.push([oid, bytes]);
    }
    writeFileAtomic(file, blobRecords(kept.reverse()), 0o600, { tempBeside: true });
    if (this.blobFd !== undefined) closeSync(this.blobFd);
    this.blobFd = undefined;
    this.blobs = undefined; // read again from the new file when needed
  }


  /** Delete a clone's clean cache (lock), with the temp files of writes killed before their rename. */
  static forget(gitDir: string): void {
    forgetCacheFiles(join(gitDir, 'git-seal'), ['clean-cache', 'cache-key', 'clean-blobs']);
  }
}

/** A blob file up to this size is read whole when first used (one read, not one per blob). */
const IN_MEMORY_BYTES = 8 << 20;

/** Blobs held in memory before they are written. */
const FLUSH_BYTES = 4 << 20;

/** The sealed blobs kept for hits: the file grows up to this size, then keeps the newest quarter. */
const MAX_BLOB_BYTES = 64 << 20;

/** Records of the blob file: u8 id length, u32be size, the id (hex), the bytes. */
function blobRecords(entries: readonly [string, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [oid, bytes] of entries) {
    const head = Buffer.alloc(5);
    head[0] = oid.length;
    head.writeUInt32BE(bytes.length, 1);
    parts.push(head, Buffer.from(oid, 'latin1'), bytes);
  }
  return Buffer.concat(parts);
}

/** The object id git gives `content` as a blob (SHA-1, or SHA-256 in a sha256 repository). */
export function blobOid(content: Buffer, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(`blob ${content.length}\0`).update(content).digest('hex');
}
