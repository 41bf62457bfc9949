import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PathSegment } from '../toml/index.js';
import { hkdfSha256 } from './hkdf.js';
import { xchachaOpen, xchachaSeal } from './xchacha.js';

/**
 * Per-value deterministic AEAD (docs/FORMAT.md, "Value encryption"):
 *   K_enc   = HKDF-SHA256(data key, salt = "", info = "git-seal v1 value key")
 *   K_nonce = HKDF-SHA256(data key, salt = "", info = "git-seal v1 nonce key")
 *   P       = encodePath(key path)
 *   N       = HMAC-SHA256(K_nonce, u32be(len P) || P || plaintext)[0..24]
 *   C       = XChaCha20-Poly1305(K_enc, N, plaintext, aad = P)
 *   token   = "ENC[gitseal.v1," || base64(N || C) || "]"
 */
export const FORMAT_VERSION = 1;
export const TOKEN_PREFIX = 'ENC[gitseal.v';
const TOKEN_V1 = 'ENC[gitseal.v1,';
const NONCE_LEN = 24;
const TAG_LEN = 16;
const TOKEN_RE = /^ENC\[gitseal\.v(\d+),([A-Za-z0-9+/]*={0,2})\]$/;

export interface ValueKeys {
  readonly enc: Uint8Array;
  readonly nonce: Buffer;
}

export class ValueAuthError extends Error {
  constructor(readonly path: PathSegment[]) {
    super('value failed authentication');
    this.name = 'ValueAuthError';
  }
}

export class UnknownVersionError extends Error {
  constructor(readonly version: number) {
    super(`unknown format version ${version}`);
    this.name = 'UnknownVersionError';
  }
}

export function deriveValueKeys(dataKey: Uint8Array): ValueKeys {
  if (dataKey.length !== 32) throw new Error('data key must be 32 bytes');
  const derive = (info: string) => hkdfSha256(dataKey, new Uint8Array(0), info);
  return { enc: new Uint8Array(derive('git-seal v1 value key')), nonce: derive('git-seal v1 nonce key') };
}

/** Unambiguous binary encoding of a key path: 0x01 u32be(len) utf8 for keys, 0x02 u32be(i) for array indices. */
export function encodePath(path: readonly PathSegment[]): Buffer {
  let size = 0;
  for (const seg of path) size += 5 + (typeof seg === 'number' ? 0 : Buffer.byteLength(seg, 'utf8'));
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const seg of path) {
    if (typeof seg === 'number') {
      out[pos] = 0x02;
      out.writeUInt32BE(seg, pos + 1);
      pos += 5;
    } else {
      const n = out.write(seg, pos + 5, 'utf8');
      out[pos] = 0x01;
      out.writeUInt32BE(n, pos + 1);
      pos += 5 + n;
    }
  }
  return out;
}

// update() copies its input, so one scratch buffer serves every call.
const pathLength = Buffer.alloc(4);

function syntheticNonce(keys: ValueKeys, p: Buffer, plaintext: Buffer): Buffer {
  pathLength.writeUInt32BE(p.length);
  return createHmac('sha256', keys.nonce).update(pathLength).update(p).update(plaintext).digest().subarray(0, NONCE_LEN);
}

/** Encrypt one value's raw source text; returns the token to be stored inside a TOML basic string. */
export function encryptValue(keys: ValueKeys, path: readonly PathSegment[], plaintext: string): string {
  const p = encodePath(path);
  const pt = Buffer.from(plaintext, 'utf8');
  const nonce = syntheticNonce(keys, p, pt);
  const ct = xchachaSeal(keys.enc, nonce, p, pt);
  return TOKEN_V1 + Buffer.concat([nonce, ct]).toString('base64') + ']';
}

/** Decrypt a token made by encryptValue for the same path; throws ValueAuthError on any mismatch. */
export function decryptValue(keys: ValueKeys, path: readonly PathSegment[], token: string): string {
  // The common form is checked without the regular expression; its payload's alphabet is checked below.
  let body: string;
  if (token.startsWith(TOKEN_V1) && token.endsWith(']')) body = token.slice(TOKEN_V1.length, -1);
  else {
    const m = TOKEN_RE.exec(token);
    if (!m) throw new ValueAuthError([...path]);
    const version = Number(m[1]);
    if (version !== FORMAT_VERSION) throw new UnknownVersionError(version);
    body = m[2];
  }
  const raw = Buffer.from(body, 'base64');
  // Only canonical base64 is accepted, so that no altered character (or one outside the alphabet, which
  // the decoder skips) decodes to the same bytes.
  if (raw.length < NONCE_LEN + TAG_LEN || raw.toString('base64') !== body) throw new ValueAuthError([...path]);
  const nonce = raw.subarray(0, NONCE_LEN);
  const p = encodePath(path);
  let ptBuf: Buffer;
  try {
    ptBuf = xchachaOpen(keys.enc, nonce, p, raw.subarray(NONCE_LEN));
  } catch {
    throw new ValueAuthError([...path]);
  }
  if (!timingSafeEqual(syntheticNonce(keys, p, ptBuf), nonce)) throw new ValueAuthError([...path]);
  return ptBuf.toString('utf8');
}
