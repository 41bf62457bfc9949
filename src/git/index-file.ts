import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One entry of the index: what `git ls-files -s` prints. */
export interface IndexEntry {
  path: string;
  oid: string;
  /** 0 for a merged entry, 1-3 for the sides of a conflict. */
  stage: number;
}

/** Larger indexes are left to `git ls-files`, whose pathspec filter is faster than a JS pass over every entry. */
export const MAX_ENTRIES = 50_000;
/** Longer paths are left to git too: version 4 builds each path from the previous one, so without a bound a small crafted index decodes to gigabytes. */
export const MAX_PATH_BYTES = 4096;
/** All paths together (a real index of MAX_ENTRIES paths holds a few MiB). */
export const MAX_TOTAL_PATH_BYTES = 16 << 20;

const SIGNATURE = 0x44495243; // "DIRC"
const FLAG_EXTENDED = 0x4000;
const MODE_SPARSE_DIRECTORY = 0o040000;
/**
 * Extensions a reader must understand: any whose signature does not start with 'A'-'Z' (git's
 * read-cache.c), such as a split index ("link") or a sparse index ("sdir"). This reader handles none.
 */
const isRequiredExtension = (signature: string): boolean => !(signature.charCodeAt(0) >= 0x41 && signature.charCodeAt(0) <= 0x5a);

/** An entry with where it sits in the index file, for an in-place update of its stat data. */
export interface PlacedIndexEntry extends IndexEntry {
  /** Offset of the entry's first byte (its ctime). */
  at: number;
  /** The entry's mode field (0o100644, 0o100755, 0o120000, 0o160000). */
  mode: number;
  /** The 16-bit flags: assume-valid is 0x8000. */
  flags: number;
  /** The version 3+ extended flags (skip-worktree 0x4000, intent-to-add 0x2000), else 0. */
  extendedFlags: number;
}

/** A parsed index: its entries, its extensions' signatures, and its trailing hash's length. */
export interface ParsedIndex {
  entries: PlacedIndexEntry[];
  extensions: string[];
  hashLength: 20 | 32;
}

/**
 * The entries of a git index file (gitformat-index(5), versions 2 to 4), in index order, read without
 * starting git: a `git ls-files` process costs 10-20 ms, which `exec` and the filter pay at every start.
 * Returns null for anything it does not handle: another version, a split or sparse index, an index
 * without its checksum (`index.skipHash`), more than MAX_ENTRIES entries, a path longer than
 * MAX_PATH_BYTES or more than MAX_TOTAL_PATH_BYTES of paths, or bytes that do not parse.
 * Callers then run `git ls-files`. The trailing checksum is checked, and tells SHA-1 from SHA-256.
 */
export function readIndexFile(file: string): IndexEntry[] | null {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return null;
  }
  return parse(data, false)?.entries ?? null;
}

/** readIndexFile's reading of index bytes, with each entry's place, flags and mode. */
export function parseIndex(data: Buffer): ParsedIndex | null {
  return parse(data, true) as ParsedIndex | null;
}

function parse(data: Buffer, placed: boolean): { entries: IndexEntry[]; extensions: string[]; hashLength: 20 | 32 } | null {
  if (data.length < 12 || data.readUInt32BE(0) !== SIGNATURE) return null;
  const version = data.readUInt32BE(4);
  const count = data.readUInt32BE(8);
  if (version < 2 || version > 4 || count > MAX_ENTRIES) return null;
  const hashLength = checksumLength(data);
  if (hashLength === null) return null;
  const end = data.length - hashLength;
  const entries: IndexEntry[] = [];
  const decoder = new TextDecoder();
  let previous: Buffer = Buffer.alloc(0);
  let pathBytes = 0;
  let at = 12;
  for (let i = 0; i < count; i++) {
    const start = at;
    const fixed = 40 + hashLength + 2; // times, dev, ino, mode, uid, gid, size; the id; flags
    if (at + fixed > end) return null;
    const mode = data.readUInt32BE(at + 24);
    if (mode === MODE_SPARSE_DIRECTORY) return null;
    const oid = data.toString('hex', at + 40, at + 40 + hashLength);
    const flags = data.readUInt16BE(at + 40 + hashLength);
    at += fixed;
    let extendedFlags = 0;
    if (flags & FLAG_EXTENDED) {
      if (version < 3 || at + 2 > end) return null;
      extendedFlags = data.readUInt16BE(at);
      at += 2;
    }
    let name: Buffer;
    if (version === 4) {
      // The path is the previous one minus N trailing bytes, plus a NUL-terminated suffix; no padding.
      const strip = readVarint(data, at, end);
      if (!strip || strip.value > previous.length) return null;
      at = strip.next;
      const nul = data.indexOf(0, at);
      if (nul < 0 || nul >= end) return null;
      if (previous.length - strip.value + (nul - at) > MAX_PATH_BYTES) return null;
      name = Buffer.concat([previous.subarray(0, previous.length - strip.value), data.subarray(at, nul)]);
      at = nul + 1;
    } else {
      const nul = data.indexOf(0, at);
      if (nul < 0 || nul >= end) return null;
      name = data.subarray(at, nul);
      if (name.length > MAX_PATH_BYTES) return null;
      // NUL padding to a multiple of eight bytes from the entry's start, at least one NUL.
      at = start + ((nul - start + 8) & ~7);
      if (at > end) return null;
    }
    pathBytes += name.length;
    if (pathBytes > MAX_TOTAL_PATH_BYTES) return null;
    previous = name;
    const path = decoder.decode(name);
    const stage = (flags >> 12) & 3;
    const entry: IndexEntry | PlacedIndexEntry = placed ? { path, oid, stage, at: start, mode, flags, extendedFlags } : { path, oid, stage };
    entries.push(entry);
  }
  // Extensions: a 4-byte signature and a 32-bit size each, up to the checksum.
  const extensions: string[] = [];
  while (at < end) {
    if (at + 8 > end) return null;
    const signature = data.toString('latin1', at, at + 4);
    if (isRequiredExtension(signature)) return null;
    extensions.push(signature);
    at += 8 + data.readUInt32BE(at + 4);
  }
  return at === end ? { entries, extensions, hashLength } : null;
}

/** The length of the index's trailing hash that matches its content (20: SHA-1, 32: SHA-256), else null. */
function checksumLength(data: Buffer): 20 | 32 | null {
  for (const [algorithm, length] of [['sha1', 20], ['sha256', 32]] as const) {
    if (data.length < 12 + length) continue;
    const body = data.subarray(0, data.length - length);
    if (createHash(algorithm).update(body).digest().equals(data.subarray(data.length - length))) return length;
  }
  return null;
}

/** gitformat-index(5)'s offset varint (as in pack files' OFS_DELTA): 7 bits a byte, +1 per continuation. */
function readVarint(data: Buffer, at: number, end: number): { value: number; next: number } | null {
  if (at >= end) return null;
  let byte = data[at++];
  let value = byte & 0x7f;
  while (byte & 0x80) {
    if (at >= end || value > 0xffffff) return null;
    byte = data[at++];
    value = ((value + 1) << 7) | (byte & 0x7f);
  }
  return { value, next: at };
}
