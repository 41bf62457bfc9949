import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomPooled } from '../util/random.js';
import type { X25519Identity } from '../age/x25519.js';
import { hkdfSha256 } from '../crypto/hkdf.js';
import { XCHACHA_NONCE_BYTES, xchachaOpen, xchachaSeal } from '../crypto/xchacha.js';
import type { PathSegment } from '../toml/index.js';
import { writeFileAtomic } from './atomic-write.js';
import { cacheGeneration, forgetCacheFiles } from './cache-generation.js';

/** What opening one sealed blob gave, kept so that the next checkout of that blob needs no unwrap or value decryption. */
export interface OpenedBlob {
  /** The working-tree bytes smudge wrote. */
  plaintext: Buffer;
  /** The clean-cache settings key under which the blob is canonical (cleaning `plaintext` reproduces it), else ''. */
  canonicalFor: string;
  /** Key paths of the blob's values stored in clear. */
  inClear: PathSegment[][];
}

/** Whose cache this is: the one plain X25519 identity its key is derived from. */
export interface CacheOwner {
  identity: X25519Identity;
}

const FILE = 'smudge-cache';
const MAGIC = Buffer.from('git-seal smudge cache v2\n');
const SALT_BYTES = 32;
const TAG_BYTES = 32;
/** New records are appended; past this size the file is rewritten with the newest half. */
const MAX_BYTES = 16 << 20;
/** New records held in memory before they are written. */
const FLUSH_BYTES = 4 << 20;

interface Keys {
  enc: Buffer;
  tag: Buffer;
  /** Proves the file was written under this owner's key (an HMAC of a fixed string). */
  check: Buffer;
}

interface Loaded {
  salt: Buffer;
  keys: Keys;
  /** Not on disk yet (no file, or one under another key): the next save writes a new file. */
  fresh: boolean;
  /** Records of the file read, by tag (hex): tag || nonce || ciphertext. */
  records: Map<string, Buffer>;
}

/**
 * Opened blobs, by sealed blob id, so that checking out a blob this clone has opened before (a re-checkout,
 * a branch switch back, stash, rebase) costs one AEAD open instead of a data-key unwrap and one value
 * decryption per value.
 *
 * The cache holds plaintext, so it is sealed to the clone's owner: its key is derived from the owner's
 * X25519 identity (HKDF of X25519(secret key, own public key) and a random salt at the top of the file),
 * which nobody without that secret key can compute, so nobody else can read or forge an entry. Each
 * entry is XChaCha20-Poly1305, found by an HMAC of the SHA-256 of the bytes git sent to smudge (after
 * its own eol and encoding conversions), which it also authenticates. A file written under another key
 * (or damaged) is ignored and replaced. The filter only stores a blob that the owner's key opens by
 * itself (see filter.ts), so no file needing another identity becomes readable with this one. `lock`
 * deletes it.
 */
export class SmudgeCache {
  private loaded?: Promise<Loaded | null>;
  private state: Loaded | null = null;
  private readonly added = new Map<string, Buffer>();
  private addedBytes = 0;
  /** Tags written by this process's earlier saves (their records are no longer held in memory). */
  private readonly written = new Set<string>();
  private dropped = false;
  private readonly droppedTags = new Set<string>();
  private generation = '';

  constructor(
    private readonly gitDir: string,
    private readonly owner: () => Promise<CacheOwner | null>,
  ) {}

  private path(): string {
    return join(this.gitDir, 'git-seal', FILE);
  }

  /** Read the cache (once); null when there is no owner identity to seal it to. */
  async load(): Promise<boolean> {
    this.loaded ??= this.read().catch(() => null);
    this.state = await this.loaded;
    return this.state !== null;
  }

  private async read(): Promise<Loaded | null> {
    const owner = await this.owner();
    if (!owner) return null;
    let data: Buffer | null = null;
    try {
      data = readFileSync(this.path());
    } catch {
      /* no cache yet */
    }
    this.generation = cacheGeneration(join(this.gitDir, 'git-seal'));
    const parsed = data && parseFile(data);
    if (parsed) {
      const keys = deriveKeys(owner.identity, parsed.salt);
      if (timingSafeEqual(keys.check, parsed.check)) return { salt: parsed.salt, keys, fresh: false, records: parsed.records };
    }
    const salt = randomBytes(SALT_BYTES);
    return { salt, keys: deriveKeys(owner.identity, salt), fresh: true, records: new Map() };
  }

  /** What smudge gave for this input (named by smudgeInputName), if this clone opened it before (call load() first). */
  get(input: string): OpenedBlob | undefined {
    const body = this.open(input);
    try {
      return body && decodeEntry(body);
    } catch {
      return undefined;
    }
  }

  private open(name: string): Buffer | undefined {
    const state = this.state;
    if (!state) return undefined;
    const tag = tagOf(state.keys, name);
    const record = this.added.get(tag) ?? state.records.get(tag);
    if (!record) return undefined;
    try {
      const nonce = record.subarray(TAG_BYTES, TAG_BYTES + XCHACHA_NONCE_BYTES);
      return xchachaOpen(state.keys.enc, nonce, record.subarray(0, TAG_BYTES), record.subarray(TAG_BYTES + XCHACHA_NONCE_BYTES));
    } catch {
      state.records.delete(tag); // damaged or forged: open the blob instead, and let a put replace it
      this.droppedTags.add(tag);
      this.dropped = true;
      return undefined;
    }
  }

  private seal(name: string, body: Uint8Array): void {
    const state = this.state;
    if (!state) return;
    const tag = tagOf(state.keys, name);
    if (this.added.has(tag) || state.records.has(tag) || this.written.has(tag)) return;
    const tagBytes = Buffer.from(tag, 'hex');
    const nonce = randomPooled(XCHACHA_NONCE_BYTES);
    const record = Buffer.concat([tagBytes, nonce, xchachaSeal(state.keys.enc, nonce, tagBytes, body)]);
    this.added.set(tag, record);
    this.addedBytes += record.length;
    if (this.addedBytes > FLUSH_BYTES) this.save(); // memory stays flat however many files a checkout has
  }

  /** A data key this clone unwrapped before, by its armored age file (call load() first). */
  dataKey(armor: string): Uint8Array | undefined {
    const body = this.open(`data key\0${armor}`);
    return body?.length === 32 ? new Uint8Array(body) : undefined;
  }

  /** Remember the data key an armored age file wraps (call load() first). */
  putDataKey(armor: string, dataKey: Uint8Array): void {
    this.seal(`data key\0${armor}`, dataKey);
  }

  /** Remember what smudge gave for an input (named by smudgeInputName; call load() first). */
  put(input: string, entry: OpenedBlob): void {
    this.seal(input, encodeEntry(entry));
  }

  /** Write new entries: appended, or the file rewritten atomically when new, damaged or past 16 MiB. Errors are ignored: it is only a cache. */
  save(): void {
    const state = this.state;
    if (!state || (this.added.size === 0 && !this.dropped)) return;
    if (cacheGeneration(join(this.gitDir, 'git-seal')) !== this.generation) return; // lock deleted it while this process ran
    const added = [...this.added.values()];
    try {
      const onDisk = state.fresh ? 0 : (statSync(this.path(), { throwIfNoEntry: false })?.size ?? 0);
      if (!state.fresh && !this.dropped && onDisk > 0 && onDisk + added.reduce((n, r) => n + 4 + r.length, 0) <= MAX_BYTES) {
        // New records appended in one write; the file format is a header, then records.
        appendFileSync(this.path(), Buffer.concat(added.flatMap((r) => [u32(r.length), r])));
      } else {
        // A new file, one with a damaged record, or past the limit: rewritten with the newest that fit half of it.
        const records = [...(state.fresh ? [] : readRecords(this.path(), state, this.droppedTags)), ...added];
        let size = records.reduce((n, r) => n + 4 + r.length, 0);
        const limit = size > MAX_BYTES ? MAX_BYTES / 2 : MAX_BYTES;
        let first = 0;
        while (size > limit && first < records.length) size -= 4 + records[first++].length;
        const parts: Buffer[] = [MAGIC, state.salt, state.keys.check];
        for (const r of records.slice(first)) parts.push(u32(r.length), r);
        writeFileAtomic(this.path(), Buffer.concat(parts), 0o600, { tempBeside: true });
        state.fresh = false;
      }
      for (const tag of this.added.keys()) this.written.add(tag);
      this.added.clear();
      this.addedBytes = 0;
      this.dropped = false;
      this.droppedTags.clear();
    } catch {
      /* read-only .git */
    }
  }

  /** Delete a clone's cache (lock), with the temp files of writes that were killed before their rename. */
  static forget(gitDir: string): void {
    forgetCacheFiles(join(gitDir, 'git-seal'), [FILE]);
  }
}

/** The name of what smudge was given: the SHA-256 of the bytes (git converts before the filter, so one blob id can arrive as different bytes). */
export function smudgeInputName(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

function deriveKeys(owner: X25519Identity, salt: Uint8Array): Keys {
  const key = owner.localKey(salt, 'git-seal smudge cache v2');
  try {
    return {
      enc: hkdfSha256(key, new Uint8Array(0), 'git-seal smudge cache v2 entry key'),
      tag: hkdfSha256(key, new Uint8Array(0), 'git-seal smudge cache v2 tag key'),
      check: hkdfSha256(key, new Uint8Array(0), 'git-seal smudge cache v2 owner check'),
    };
  } finally {
    key.fill(0);
  }
}

function tagOf(keys: Keys, name: string): string {
  return createHmac('sha256', keys.tag).update(name).digest('hex');
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The records of the file on disk that are still under `state`'s key (another process may have appended). */
function readRecords(path: string, state: Loaded, dropped: ReadonlySet<string>): Buffer[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    return [];
  }
  const parsed = parseFile(data);
  if (!parsed || !parsed.salt.equals(state.salt)) return [];
  return [...parsed.records].filter(([tag]) => !dropped.has(tag)).map(([, r]) => r);
}

function parseFile(data: Buffer): { salt: Buffer; check: Buffer; records: Map<string, Buffer> } | null {
  if (!data.subarray(0, MAGIC.length).equals(MAGIC) || data.length < MAGIC.length + SALT_BYTES + 32) return null;
  let pos = MAGIC.length;
  const salt = Buffer.from(data.subarray(pos, pos + SALT_BYTES));
  pos += SALT_BYTES;
  const check = Buffer.from(data.subarray(pos, pos + 32));
  pos += 32;
  const records = new Map<string, Buffer>();
  while (pos + 4 <= data.length) {
    const n = data.readUInt32BE(pos);
    pos += 4;
    if (n < TAG_BYTES + XCHACHA_NONCE_BYTES || pos + n > data.length) break; // a torn tail: keep what is whole
    const record = data.subarray(pos, pos + n);
    records.set(record.toString('hex', 0, TAG_BYTES), record);
    pos += n;
  }
  return { salt, check, records };
}

// An entry: u32be length of a JSON header ({c: canonicalFor, i: inClear}), the header, then the plaintext.
function encodeEntry(e: OpenedBlob): Buffer {
  const head = Buffer.from(JSON.stringify({ c: e.canonicalFor, i: e.inClear }), 'utf8');
  return Buffer.concat([u32(head.length), head, e.plaintext]);
}

function decodeEntry(body: Buffer): OpenedBlob {
  const n = body.readUInt32BE(0);
  const head = JSON.parse(body.toString('utf8', 4, 4 + n)) as { c: string; i: PathSegment[][] };
  return { canonicalFor: head.c, inClear: head.i, plaintext: body.subarray(4 + n) };
}
