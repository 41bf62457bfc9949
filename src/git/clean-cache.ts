import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { cacheGeneration, forgetCacheFiles } from './cache-generation.js';

/**
 * Remembers which (path, sealed blob, plaintext, recipients) combinations are already in sync, so that
 * cleaning an unchanged file after `touch` or a fresh checkout returns the index blob without
 * unwrapping its data key or re-encrypting its values: `git status` then costs one HMAC per file.
 *
 * Entries are HMAC-SHA256 tags (the first 16 bytes) under a random per-clone key in `.git/git-seal/`
 * (mode 0600), so the cache file says nothing about the plaintext without that key. The cache lives only
 * in clones whose working tree already holds the plaintext. A missing or unreadable cache is simply empty.
 * The tags are stored flat, oldest first, and looked up through a hash table built over the bytes read,
 * so a filter's start costs one read however many tags there are (TagSet).
 *
 * Beside the tags, `clean-blobs` keeps the sealed blobs they name (public bytes, as in .git/objects), so
 * that a hit can answer git without reading the blob back through `git cat-file`; each is checked
 * against its id before use. Past IN_MEMORY_BYTES, where each blob is comes from `clean-blobs.idx`
 * instead of a walk through the whole file.
 */
export class CleanCache {
  private key?: Buffer;
  private tags?: TagSet;
  private generation = '';
  private blobs?: BlobPlaces;
  private blobFd?: number;
  private droppedIndex = false;
  /** Blobs added since the last save. */
  private newBlobs = new Map<string, Buffer>();
  private pendingBytes = 0;

  constructor(private readonly gitDir: string) {}

  private dir(): string {
    return join(this.gitDir, 'git-seal');
  }

  private load(): void {
    if (this.tags) return;
    this.generation = cacheGeneration(this.dir());
    let stored: Buffer | undefined;
    try {
      this.key = readFileSync(join(this.dir(), 'cache-key'));
      if (this.key.length !== 32) this.key = undefined;
      stored = readFileSync(join(this.dir(), 'clean-cache'));
    } catch {
      /* first use */
    }
    if (!stored || stored.subarray(0, TAGS_MAGIC.length).equals(TAGS_MAGIC)) this.tags = new TagSet(stored?.subarray(TAGS_MAGIC.length) ?? Buffer.alloc(0));
    else this.tags = TagSet.fromHexLines(stored); // an earlier git-seal's file: the same tags, in hex
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

  private tag(key: Buffer, path: string, blobOid: string, plaintext: Buffer, settings: string): Buffer {
    const h = createHmac('sha256', key);
    for (const part of ['git-seal clean cache v1', path, blobOid, settings]) h.update(part).update('\0');
    return h.update(plaintext).digest().subarray(0, TAG_BYTES);
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
    try {
      const kept = this.newBlobs.get(oid) ?? this.loadBlobs().get(oid);
      let bytes: Buffer | undefined;
      if (Buffer.isBuffer(kept)) bytes = kept;
      else if (kept && this.blobFd !== undefined) {
        // Read with the record's header: a place that does not start this id's record (from an index of
        // another file, or one that missed another process's append) means the index is stale.
        const head = 5 + oid.length;
        const record = Buffer.allocUnsafe(head + kept.size);
        const got = kept.at >= head ? readSync(this.blobFd, record, 0, record.length, kept.at - head) : 0;
        if (got !== record.length || !headerNames(record, oid, kept.size)) {
          // Another process changed the file or the index under this one: both are read again on the
          // next lookup, and an index that was used here goes (once: a later one may be a new, good one).
          if (this.blobs instanceof IndexedPlaces && !this.droppedIndex) this.dropIndex();
          this.closeBlobs();
          return undefined;
        }
        bytes = record.subarray(head);
      }
      return bytes && blobOid(bytes, oid.length === 64 ? 'sha256' : 'sha1') === oid ? bytes : undefined;
    } catch {
      return undefined; // only a cache: a miss
    }
  }

  /** Remove a stale index: the next start walks the blob file and writes a new one. */
  private dropIndex(): void {
    this.droppedIndex = true;
    try {
      rmSync(join(this.dir(), 'clean-blobs.idx'), { force: true });
    } catch {
      /* read-only .git */
    }
  }

  /** Record that `plaintext` at `path` cleans to the blob `blobOid` under these settings (and keep the blob's bytes when given). */
  add(path: string, blobOid: string, plaintext: Buffer, settings: string, sealed?: Buffer): void {
    const key = this.ensureKey();
    if (!key) return;
    const t = this.tag(key, path, blobOid, plaintext, settings);
    if (this.tags!.has(t)) return; // recorded before, with its blob
    this.tags!.add(t);
    if (sealed && this.blobs?.get(blobOid) === undefined) {
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
   * bytes: added since, or the whole file is small enough to hold (IN_MEMORY_BYTES). A larger file's
   * places come from its index (`clean-blobs.idx`); without a current one, from a walk through the file,
   * which then writes the index.
   */
  private loadBlobs(): BlobPlaces {
    if (this.blobs) return this.blobs;
    this.load(); // the generation
    let fd: number;
    try {
      fd = openSync(join(this.dir(), 'clean-blobs'), 'r');
    } catch {
      return (this.blobs = new Map()); // none yet
    }
    this.blobFd = fd;
    try {
      return (this.blobs = this.placesIn(fd));
    } catch {
      this.closeBlobs();
      return (this.blobs = new Map()); // unreadable: no kept blobs for this process
    }
  }

  private placesIn(fd: number): BlobPlaces {
    const { size: end, ino } = fstatSync(fd);
    if (end <= IN_MEMORY_BYTES) return walkBlobs(fd, 0, end, true);
    const indexFile = join(this.dir(), 'clean-blobs.idx');
    // Written only while the generation is the one read (else lock deleted the cache meanwhile).
    const writable = () => cacheGeneration(this.dir()) === this.generation;
    const indexed = readBlobIndex(indexFile, ino, end);
    // An index is trusted as far as the record that ends where it says its blobs end really is there.
    if (indexed && (!indexed.last || recordAt(fd, indexed.last.oid, indexed.last.place))) {
      // Blobs appended past what the index covers (by a git-seal that keeps none): walked, then indexed.
      const tail = walkBlobs(fd, indexed.covered, end, false) as Map<string, Place>;
      for (const [oid, place] of tail) indexed.set(oid, place);
      try {
        if (tail.size && writable()) appendBlobIndex(indexFile, ino, tail);
      } catch {
        /* a full disk: walked again next time */
      }
      return indexed;
    }
    const walked = walkBlobs(fd, 0, end, false);
    try {
      if (writable()) writeFileAtomic(indexFile, Buffer.concat([indexHeader(ino), indexRecords(walked as Map<string, Place>)]), 0o600, { tempBeside: true });
    } catch {
      /* read-only .git: walked again next time */
    }
    return walked;
  }

  /** Write new entries (atomically; keeps the newest 50,000 tags, and blobs up to 64 MiB, then the newest quarter). Errors are ignored: it is only a cache. */
  save(): void {
    try {
      // A cache that lock deleted while this process ran stays deleted.
      if (cacheGeneration(this.dir()) !== this.generation) return;
      const tags = this.tags?.toSave(MAX_TAGS);
      if (tags) {
        writeFileAtomic(join(this.dir(), 'clean-cache'), Buffer.concat([TAGS_MAGIC, tags]), 0o600, { tempBeside: true });
        this.tags!.saved();
      }
      this.flushBlobs();
    } catch {
      /* read-only .git */
    } finally {
      this.closeBlobs();
    }
  }

  /**
   * Write the blobs added since the last write: appended in one write (a torn tail is ignored when read),
   * or past the limit the file is rewritten with the newest quarter. An index of the file gets their
   * places the same way. Called by save, and as soon as 4 MiB wait, so memory does not grow with the
   * number of files.
   */
  private flushBlobs(): void {
    if (this.newBlobs.size === 0) return;
    if (cacheGeneration(this.dir()) !== this.generation) return void this.newBlobs.clear();
    const file = join(this.dir(), 'clean-blobs');
    const indexFile = join(this.dir(), 'clean-blobs.idx');
    const entries = [...this.newBlobs];
    this.newBlobs.clear();
    this.pendingBytes = 0;
    const added = blobRecords(entries);
    const base = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (base + added.length <= MAX_BLOB_BYTES) {
      appendFileSync(file, added, { mode: 0o600 });
      const placed = new Map<string, Place>();
      let at = base;
      for (const [oid, bytes] of entries) {
        placed.set(oid, { at: at + 5 + oid.length, size: bytes.length });
        at += 5 + oid.length + bytes.length;
      }
      // The places hold only if this batch landed at `base`: another process may have appended between
      // the `stat` and the write. If not, neither the index nor this process takes them; the next start
      // finds the blobs past what the index covers.
      const fd = openSync(file, 'r');
      let landed: boolean;
      let ino: number;
      try {
        ino = fstatSync(fd).ino;
        landed = recordAt(fd, entries[0][0], placed.get(entries[0][0])!);
      } finally {
        closeSync(fd);
      }
      if (!landed) return this.closeBlobs();
      appendBlobIndex(indexFile, ino, placed);
      // Held bytes give way to where they now are in the file (read back by offset, checked by hash),
      // unless the file this process holds open is no longer this one (another process rewrote it).
      if (this.blobs) {
        if (this.blobFd !== undefined && fstatSync(this.blobFd).ino !== ino) return this.closeBlobs();
        this.blobFd ??= openSync(file, 'r');
        for (const [oid, where] of placed) this.blobs.set(oid, where);
      }
      return;
    }
    // Past the limit: the newest quarter of what the file holds (walked whole) and the new blobs.
    this.closeBlobs(); // read again from the new file when needed
    const fd = openSync(file, 'r');
    try {
      const blobs = walkBlobs(fd, 0, fstatSync(fd).size, false);
      for (const [oid, bytes] of entries) blobs.set(oid, bytes);
      const kept: [string, Buffer][] = [];
      let size = 0;
      for (const [oid, where] of [...blobs].reverse()) {
        const bytes = Buffer.isBuffer(where) ? where : Buffer.allocUnsafe(where.size);
        if (!Buffer.isBuffer(where) && readSync(fd, bytes, 0, where.size, where.at) !== where.size) continue;
        size += 5 + oid.length + bytes.length;
        if (size > MAX_BLOB_BYTES / 4) break;
        kept.push([oid, bytes]);
      }
      writeFileAtomic(file, blobRecords(kept.reverse()), 0o600, { tempBeside: true });
      rmSync(indexFile, { force: true }); // made again by the next walk, when the file is large enough to need one
    } finally {
      closeSync(fd);
    }
  }

  private closeBlobs(): void {
    const fd = this.blobFd;
    this.blobFd = undefined;
    this.blobs = undefined;
    try {
      if (fd !== undefined) closeSync(fd);
    } catch {
      /* already closed */
    }
  }

  /** Delete a clone's clean cache (lock), with the temp files of writes killed before their rename. */
  static forget(gitDir: string): void {
    forgetCacheFiles(join(gitDir, 'git-seal'), ['clean-cache', 'cache-key', 'clean-blobs', 'clean-blobs.idx']);
  }
}

type Place = { at: number; size: number };
type BlobPlace = Buffer | Place;
interface BlobPlaces {
  get(oid: string): BlobPlace | undefined;
  set(oid: string, place: BlobPlace): void;
}

/**
 * A blob file up to this size is read whole when first used (one read, not one `pread` per hit); past it,
 * reading the whole file at every filter start would cost more than a `pread` per hit.
 */
const IN_MEMORY_BYTES = 2 << 20;

/** Blobs held in memory before they are written. */
const FLUSH_BYTES = 4 << 20;

/** The sealed blobs kept for hits: the file grows up to this size, then keeps the newest quarter. */
const MAX_BLOB_BYTES = 64 << 20;

/** Tags kept: the newest. */
const MAX_TAGS = 50_000;
const TAG_BYTES = 16;
const TAGS_MAGIC = Buffer.from('git-seal clean cache v2\n');

/**
 * Fixed-size records found by key (their first `keyBytes` bytes) through an open-addressing hash table
 * built in one pass over the bytes read, without a string or object per record. Keys are uniformly
 * random (HMAC tags, object ids), so their first four bytes are the hash.
 */
class RecordTable {
  private readonly table: Int32Array;

  constructor(
    private readonly data: Buffer,
    private readonly recordBytes: number,
    private readonly keyBytes: number,
  ) {
    const count = Math.floor(data.length / recordBytes);
    let size = 1024;
    while (size < count * 2) size *= 2;
    this.table = new Int32Array(size);
    for (let i = 0; i < count; i++) {
      let slot = firstWord(data, i * recordBytes) & (size - 1);
      let probes = 0;
      while (this.table[slot] !== 0 && ++probes < MAX_PROBES) slot = (slot + 1) & (size - 1);
      if (probes < MAX_PROBES) this.table[slot] = i + 1; // else a run of equal keys (damage): left out
    }
  }

  /** The number of the record whose key is `key`, or -1. */
  find(key: Buffer): number {
    const mask = this.table.length - 1;
    let slot = firstWord(key, 0) & mask;
    for (let probes = 0; this.table[slot] !== 0 && probes < MAX_PROBES; slot = (slot + 1) & mask, probes++) {
      const i = this.table[slot] - 1;
      if (key.compare(this.data, i * this.recordBytes, i * this.recordBytes + this.keyBytes, 0, this.keyBytes) === 0) return i;
    }
    return -1;
  }
}

/** Random keys at half load need a few probes; only damage (a run of equal keys) needs more. */
const MAX_PROBES = 64;

function firstWord(b: Buffer, at: number): number {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24);
}

/** The cache's tags: those read (16 bytes each, oldest first) and those added since. */
class TagSet {
  private readonly table: RecordTable;
  private readonly added = new Set<string>(); // hex
  private unsaved = false;

  constructor(private readonly stored: Buffer) {
    this.stored = stored.subarray(0, stored.length - (stored.length % TAG_BYTES));
    this.table = new RecordTable(this.stored, TAG_BYTES, TAG_BYTES);
  }

  /** The tags of an earlier git-seal's file (full HMACs in hex, a line each), to be written anew. */
  static fromHexLines(text: Buffer): TagSet {
    const tags = text
      .toString('latin1')
      .split('\n')
      .filter((l) => /^[0-9a-f]{64}$/.test(l))
      .map((l) => Buffer.from(l.slice(0, 2 * TAG_BYTES), 'hex'));
    const set = new TagSet(Buffer.concat(tags));
    set.unsaved = tags.length > 0;
    return set;
  }

  has(tag: Buffer): boolean {
    return this.table.find(tag) >= 0 || this.added.has(tag.toString('hex'));
  }

  add(tag: Buffer): void {
    this.added.add(tag.toString('hex'));
    this.unsaved = true;
  }

  /** The newest `max` tags, oldest first, when there is something to write (then call saved()); else undefined. */
  toSave(max: number): Buffer | undefined {
    if (!this.unsaved) return undefined;
    const all = Buffer.concat([this.stored, ...[...this.added].map((h) => Buffer.from(h, 'hex'))]);
    return all.subarray(Math.max(0, all.length - max * TAG_BYTES));
  }

  saved(): void {
    this.unsaved = false;
  }
}

/**
 * Where each blob of the file is, walking its records from `start` (a window at a time unless `whole`,
 * when the file is read once and the blobs are served from memory). Past anything that is not a record
 * (an append cut short, with appends after it) the walk goes on from the next header it finds; a place
 * that is wrong after all is a miss when read (header and hash are checked), never wrong bytes.
 */
function walkBlobs(fd: number, start: number, end: number, whole: boolean): Map<string, BlobPlace> {
  const blobs = new Map<string, BlobPlace>();
  const chunk = Buffer.allocUnsafe(whole ? end - start : Math.min(1 << 20, Math.max(0, end - start)));
  for (let pos = start; pos + 5 <= end; ) {
    const got = readSync(fd, chunk, 0, chunk.length, pos);
    let off = 0;
    while (off + 5 <= got) {
      const idLength = chunk[off];
      if ((idLength === 40 || idLength === 64) && off + 5 + idLength > got) break; // read on from this header
      if (isHeader(chunk, off, got, pos, end)) {
        const size = chunk.readUInt32BE(off + 1);
        const at = pos + off + 5 + idLength;
        blobs.set(chunk.toString('latin1', off + 5, off + 5 + idLength), whole ? chunk.subarray(at, at + size) : { at, size });
        off += 5 + idLength + size;
        continue;
      }
      const next = nextHeader(chunk, off + 1, got, pos, end);
      if (next >= 0) {
        off = next;
        continue;
      }
      if (pos + got >= end) return blobs; // nothing more in the file
      off = Math.max(off + 1, got - MAX_HEADER); // read on, keeping a header the window cut
      break;
    }
    if (off === 0) return blobs;
    pos += off;
  }
  return blobs;
}

const MAX_HEADER = 5 + 64;

/** Whether a whole record header starts at `off` of the window (read from `pos`): id length, size within the file, hex id. */
function isHeader(chunk: Buffer, off: number, got: number, pos: number, end: number): boolean {
  const idLength = chunk[off];
  if ((idLength !== 40 && idLength !== 64) || off + 5 + idLength > got) return false;
  if (pos + off + 5 + idLength + chunk.readUInt32BE(off + 1) > end) return false;
  for (let i = off + 5; i < off + 5 + idLength; i++) {
    const c = chunk[i];
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** The next record header in the window from `from`, or -1. */
function nextHeader(chunk: Buffer, from: number, got: number, pos: number, end: number): number {
  for (let j = from; j + 45 <= got; j++) {
    const a = chunk.indexOf(40, j);
    const b = chunk.indexOf(64, j);
    j = a < 0 ? b : b < 0 ? a : Math.min(a, b);
    if (j < 0 || j + 45 > got) return -1;
    if (isHeader(chunk, j, got, pos, end)) return j;
  }
  return -1;
}

/**
 * `clean-blobs.idx`: a line naming the blob file's inode (a rewritten file is a new one, so an index of
 * the old one is never used for it), then a 40-byte record per blob: its id (32 bytes, a SHA-1 id
 * zero-padded), u32be place, u32be size. Every blob read is checked against its id all the same.
 */
const INDEX_MAGIC = 'git-seal clean blobs index v1 ';
const ID_FIELD = 32;
const INDEX_RECORD = ID_FIELD + 8;

function indexHeader(ino: number): Buffer {
  return Buffer.from(`${INDEX_MAGIC}${ino}\n`, 'latin1');
}

function idKey(oid: string): Buffer {
  const key = Buffer.alloc(ID_FIELD);
  key.write(oid, 'hex');
  return key;
}

/** The hex id an index record's id field holds (a SHA-1 id is zero-padded). */
function idHex(field: Buffer): string {
  return (field.subarray(20).every((b) => b === 0) ? field.subarray(0, 20) : field).toString('hex');
}

/** Whether `bytes` start with the record header of `oid` holding `size` bytes. */
function headerNames(bytes: Buffer, oid: string, size: number): boolean {
  return bytes[0] === oid.length && bytes.readUInt32BE(1) === size && bytes.toString('latin1', 5, 5 + oid.length) === oid;
}

/** Whether the blob file holds the record of `oid` with its bytes at `place`. */
function recordAt(fd: number, oid: string, place: Place | undefined): boolean {
  const head = 5 + oid.length;
  if (!place || place.at < head) return false;
  const bytes = Buffer.alloc(head);
  return readSync(fd, bytes, 0, head, place.at - head) === head && headerNames(bytes, oid, place.size);
}

function indexRecords(places: Map<string, Place>): Buffer {
  const out = Buffer.alloc(places.size * INDEX_RECORD);
  let off = 0;
  for (const [oid, { at, size }] of places) {
    out.write(oid, off, 'hex');
    out.writeUInt32BE(at, off + ID_FIELD);
    out.writeUInt32BE(size, off + ID_FIELD + 4);
    off += INDEX_RECORD;
  }
  return out;
}

/** Blob places read from an index, and those placed since. */
class IndexedPlaces implements BlobPlaces {
  private readonly table: RecordTable;
  private readonly since = new Map<string, BlobPlace>();
  /** Where the blobs the index names end (records past it were appended without it), and the blob that ends there. */
  readonly covered: number = 0;
  readonly last?: { oid: string; place: Place };

  constructor(
    private readonly records: Buffer,
    private readonly end: number,
  ) {
    this.table = new RecordTable(records, INDEX_RECORD, ID_FIELD);
    let last = -1;
    for (let off = 0; off < records.length; off += INDEX_RECORD) {
      const stop = records.readUInt32BE(off + ID_FIELD) + records.readUInt32BE(off + ID_FIELD + 4);
      if (stop <= end && stop > this.covered) [this.covered, last] = [stop, off];
    }
    if (last >= 0) {
      const place = { at: records.readUInt32BE(last + ID_FIELD), size: records.readUInt32BE(last + ID_FIELD + 4) };
      this.last = { oid: idHex(records.subarray(last, last + ID_FIELD)), place };
    }
  }

  get(oid: string): BlobPlace | undefined {
    const placed = this.since.get(oid);
    if (placed) return placed;
    const i = this.table.find(idKey(oid));
    if (i < 0) return undefined;
    const at = this.records.readUInt32BE(i * INDEX_RECORD + ID_FIELD);
    const size = this.records.readUInt32BE(i * INDEX_RECORD + ID_FIELD + 4);
    return at + size <= this.end ? { at, size } : undefined;
  }

  set(oid: string, place: BlobPlace): void {
    this.since.set(oid, place);
  }
}

/** The index of the blob file `ino` of `end` bytes; null when there is no current one. */
function readBlobIndex(file: string, ino: number, end: number): IndexedPlaces | null {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return null;
  }
  const header = indexHeader(ino);
  if (!data.subarray(0, header.length).equals(header)) return null;
  const records = data.subarray(header.length);
  return new IndexedPlaces(records.subarray(0, records.length - (records.length % INDEX_RECORD)), end); // less a torn tail
}

/**
 * Append places to the index of the blob file `ino`, if there is one of that file (else the next walk makes
 * one); an index of another file, or one whose records a torn write left misaligned, is removed.
 */
function appendBlobIndex(file: string, ino: number, places: Map<string, Place>): void {
  const header = indexHeader(ino);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | constants.O_APPEND); // never created here: a new index is written whole
  } catch {
    return;
  }
  let current = false;
  try {
    const head = Buffer.alloc(header.length);
    const size = fstatSync(fd).size;
    current = size >= header.length && (size - header.length) % INDEX_RECORD === 0 && readSync(fd, head, 0, head.length, 0) === head.length && head.equals(header);
    if (current) writeSync(fd, indexRecords(places));
  } finally {
    closeSync(fd);
  }
  if (!current) rmSync(file, { force: true });
}

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
