import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from 'age-encryption';
import { unwrapDataKey, wrapDataKey } from '../age/index.js';
import { hkdfSha256 } from '../crypto/hkdf.js';
import { XCHACHA_NONCE_BYTES, xchachaOpen, xchachaSeal } from '../crypto/xchacha.js';
import type { PathSegment } from '../toml/index.js';
import { writeFileAtomic } from './atomic-write.js';

/** What opening one sealed blob gave, kept so that the next checkout of that blob needs no unwrap or value decryption. */
export interface OpenedBlob {
  /** The working-tree bytes smudge wrote. */
  plaintext: Buffer;
  /** The clean-cache settings key under which the blob is canonical (cleaning `plaintext` reproduces it), else ''. */
  canonicalFor: string;
  /** Key paths of the blob's values stored in clear. */
  inClear: PathSegment[][];
}

/** Whose cache this is: the identities that may open its key, and the recipient a new key is wrapped to. */
export interface CacheOwner {
  identities: readonly Identity[];
  recipient: string;
}

const FILE = 'smudge-cache';
const MAGIC = Buffer.from('git-seal smudge cache v1\n');
const TAG_BYTES = 32;
/** The file is rewritten whole; older entries go first beyond this size. */
const MAX_BYTES = 16 << 20;

interface Keys {
  enc: Buffer;
  tag: Buffer;
}

interface Loaded {
  armor: string;
  keys: Keys;
  /** Records of the file read, by tag (hex): tag || nonce || ciphertext. */
  records: Map<string, Buffer>;
}

/**
 * Opened blobs, by sealed blob id, so that checking out a blob this clone has opened before (a re-checkout,
 * a branch switch back, stash, rebase) costs one AEAD open instead of a data-key unwrap and one value
 * decryption per value.
 *
 * The cache holds plaintext, so it is sealed like a secrets file: `.git/git-seal/smudge-cache` (0600)
 * starts with a random 32-byte cache key wrapped as an age file to the clone owner's own identity; each
 * entry is XChaCha20-Poly1305 under a key derived from it, found by an HMAC of the blob id (which it also
 * authenticates). Reading it needs the identity that could open the blobs themselves. A cache whose key
 * none of the identities opens (another key, a damaged file) is ignored and replaced. `lock` deletes it.
 * Plugin and passphrase identities are never asked: with those only, there is no cache.
 */
export class SmudgeCache {
  private loaded?: Promise<Loaded | null>;
  private state: Loaded | null = null;
  private readonly added = new Map<string, Buffer>();
  private dropped = false;

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
    const parsed = data && parseFile(data);
    if (parsed) {
      const key = await unwrapDataKey(parsed.armor, owner.identities).catch(() => null);
      if (key) return { armor: parsed.armor, keys: deriveKeys(key), records: parsed.records };
    }
    const key = randomBytes(32);
    return { armor: await wrapDataKey(key, [owner.recipient]), keys: deriveKeys(key), records: new Map() };
  }

  /** The opened blob `oid`, if this clone opened it before (call load() first). */
  get(oid: string): OpenedBlob | undefined {
    const body = this.open(oid);
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
      this.dropped = true;
      return undefined;
    }
  }

  private seal(name: string, body: Uint8Array): void {
    const state = this.state;
    if (!state) return;
    const tag = tagOf(state.keys, name);
    if (this.added.has(tag) || state.records.has(tag)) return;
    const tagBytes = Buffer.from(tag, 'hex');
    const nonce = randomBytes(XCHACHA_NONCE_BYTES);
    this.added.set(tag, Buffer.concat([tagBytes, nonce, xchachaSeal(state.keys.enc, nonce, tagBytes, body)]));
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

  /** Remember what opening `oid` gave (call load() first). */
  put(oid: string, entry: OpenedBlob): void {
    this.seal(oid, encodeEntry(entry));
  }

  /** Write new entries (atomically, newest kept up to 16 MiB). Errors are ignored: it is only a cache. */
  save(): void {
    const state = this.state;
    if (!state || (this.added.size === 0 && !this.dropped)) return;
    const records = [...state.records.values(), ...this.added.values()];
    let size = records.reduce((n, r) => n + 4 + r.length, 0);
    let first = 0;
    while (size > MAX_BYTES && first < records.length) size -= 4 + records[first++].length;
    const armor = Buffer.from(state.armor, 'utf8');
    const parts: Buffer[] = [MAGIC, u32(armor.length), armor];
    for (const r of records.slice(first)) parts.push(u32(r.length), r);
    try {
      writeFileAtomic(this.path(), Buffer.concat(parts), 0o600, { tempBeside: true });
      for (const [tag, r] of this.added) state.records.set(tag, r);
      this.added.clear();
      this.dropped = false;
    } catch {
      /* read-only .git */
    }
  }

  /** Delete a clone's cache (lock). */
  static forget(gitDir: string): void {
    rmSync(join(gitDir, 'git-seal', FILE), { force: true });
  }
}

function deriveKeys(key: Uint8Array): Keys {
  return { enc: hkdfSha256(key, new Uint8Array(0), 'git-seal smudge cache v1 entry key'), tag: hkdfSha256(key, new Uint8Array(0), 'git-seal smudge cache v1 tag key') };
}

function tagOf(keys: Keys, oid: string): string {
  return createHmac('sha256', keys.tag).update(oid).digest('hex');
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function parseFile(data: Buffer): { armor: string; records: Map<string, Buffer> } | null {
  if (!data.subarray(0, MAGIC.length).equals(MAGIC) || data.length < MAGIC.length + 4) return null;
  let pos = MAGIC.length;
  const armorLength = data.readUInt32BE(pos);
  pos += 4;
  if (pos + armorLength > data.length) return null;
  const armor = data.toString('utf8', pos, pos + armorLength);
  pos += armorLength;
  const records = new Map<string, Buffer>();
  while (pos + 4 <= data.length) {
    const n = data.readUInt32BE(pos);
    pos += 4;
    if (n < TAG_BYTES + XCHACHA_NONCE_BYTES || pos + n > data.length) break; // a torn tail: keep what is whole
    const record = data.subarray(pos, pos + n);
    records.set(record.toString('hex', 0, TAG_BYTES), record);
    pos += n;
  }
  return { armor, records };
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
