/**
 * age's native X25519 recipient type (C2SP age spec, "X25519 recipient stanza"),
 * implemented synchronously on node:crypto (OpenSSL) instead of typage's
 * WebCrypto/noble path. Wire format is identical:
 *
 *   -> X25519 <base64(ephemeral share)>
 *   <base64(ChaCha20-Poly1305(wrap key, zero nonce, file key))>
 *
 *   wrap key = HKDF-SHA256(ikm = X25519(eph, recipient),
 *                          salt = ephemeral share || recipient,
 *                          info = "age-encryption.org/v1/X25519")
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { Identity, Recipient, Stanza } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { hkdfSha256 } from '../crypto/hkdf.js';
import { decodeBase64NoPad, encodeBase64NoPad } from './base64.js';
import * as bech32 from './bech32.js';

const X25519_RECIPIENT_HRP = 'age';
const X25519_IDENTITY_HRP = 'AGE-SECRET-KEY-';
const X25519_STANZA_TYPE = 'X25519';

const LABEL = 'age-encryption.org/v1/X25519';
const ZERO_NONCE = Buffer.alloc(12);
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const PLACEHOLDER_X = Buffer.alloc(32).toString('base64url');

const CORRUPT_HINT = 'the encrypted file is corrupt or was tampered with; restore it from git history';

// ---------------------------------------------------------------------------
// Raw X25519 on node:crypto KeyObjects.

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function importPrivateDer(scalar: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, scalar]), format: 'der', type: 'pkcs8' });
}

/**
 * Node's JWK import of an OKP private key derives the public key from `d`
 * and ignores `x`; it is ~10x faster than PKCS#8 DER import. We only rely on
 * that after a known-answer self-test (RFC 7748 §6.1) proves it on this Node
 * build; otherwise we use DER.
 */
function importPrivateJwk(scalar: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(scalar), x: PLACEHOLDER_X }, format: 'jwk' });
}

let fastPrivateImport: boolean | undefined;

function jwkImportSelfTest(): boolean {
  try {
    const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    const alicePub = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
    const bobPub = Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    const key = importPrivateJwk(alice);
    if (Buffer.from(rawPublicKey(key)).toString('hex') !== alicePub) return false;
    return diffieHellman({ privateKey: key, publicKey: importPublicKey(bobPub) }).toString('hex') === shared;
  } catch {
    return false;
  }
}

/** A private X25519 KeyObject from a 32-byte scalar. */
export function privateKeyFromScalar(scalar: Uint8Array): KeyObject {
  if (scalar.length !== 32) throw new Error('X25519 scalar must be 32 bytes');
  fastPrivateImport ??= jwkImportSelfTest();
  return fastPrivateImport ? importPrivateJwk(scalar) : importPrivateDer(scalar);
}

/** A public X25519 KeyObject from a 32-byte u-coordinate. */
export function importPublicKey(u: Uint8Array): KeyObject {
  if (u.length !== 32) throw new Error('X25519 public key must be 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(u) }, format: 'jwk' });
}

/** The 32-byte u-coordinate of a public key (or of a private key's public half). */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const x = pub.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('X25519 public key export failed');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

/**
 * X25519(priv, pub), or null if the result is all zeroes (a low-order point),
 * which age requires implementations to reject. OpenSSL itself refuses to
 * derive an all-zero secret; we check both ways.
 */
export function sharedSecret(privateKey: KeyObject, publicKey: KeyObject): Buffer | null {
  let secret: Buffer;
  try {
    secret = diffieHellman({ privateKey, publicKey });
  } catch {
    return null;
  }
  let acc = 0;
  for (const b of secret) acc |= b;
  return acc === 0 ? null : secret;
}

function wrapKey(secret: Uint8Array, share: Uint8Array, recipient: Uint8Array): Buffer {
  return hkdfSha256(secret, Buffer.concat([share, recipient]), LABEL);
}

/** ChaCha20-Poly1305 with a zero nonce, as age wraps file keys. */
export function sealFileKey(key: Buffer, fileKey: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
  return new Uint8Array(Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]));
}

/** Opens {@link sealFileKey}'s output; null if authentication fails. */
export function openFileKey(key: Buffer, body: Uint8Array): Uint8Array | null {
  const d = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
  d.setAuthTag(body.subarray(body.length - 16));
  const pt = d.update(body.subarray(0, body.length - 16));
  try {
    d.final();
  } catch {
    return null;
  }
  return new Uint8Array(pt);
}

// ---------------------------------------------------------------------------
// Key string parsing.

/** Decode `age1…` to its 32 bytes, or null if it isn't a well-formed X25519 recipient. */
export function decodeX25519Recipient(s: string): Uint8Array | null {
  try {
    const { hrp, bytes } = bech32.decode(s);
    // Case-sensitive like Go age: recipients are lowercase.
    return hrp === X25519_RECIPIENT_HRP && bytes.length === 32 ? bytes : null;
  } catch {
    return null;
  }
}

/** Decode `AGE-SECRET-KEY-1…` to its 32-byte scalar, or null if malformed. */
export function decodeX25519Identity(s: string): Uint8Array | null {
  try {
    const { hrp, bytes } = bech32.decode(s);
    // Case-sensitive like Go age: identities are uppercase.
    return hrp === X25519_IDENTITY_HRP && bytes.length === 32 ? bytes : null;
  } catch {
    return null;
  }
}

export function encodeX25519Recipient(publicKey: Uint8Array): string {
  return bech32.encode(X25519_RECIPIENT_HRP, publicKey);
}

export function encodeX25519Identity(scalar: Uint8Array): string {
  return bech32.encode(X25519_IDENTITY_HRP, scalar).toUpperCase();
}

/** `AGE-SECRET-KEY-1…` → `age1…`, synchronously (~40 µs). Throws GitSealError without echoing the key. */
export function x25519IdentityToRecipient(identity: string): string {
  return new X25519Identity(identity).recipient;
}

/**
 * A fresh X25519 key pair: a random scalar (as age-keygen makes one) and its public share.
 *
 * Not `generateKeyPairSync`: in Node 20, exporting such a key as JWK can deadlock the process for good
 * when a garbage collection during the export destroys a finished key-generation job that holds the
 * same key's lock (seen as a hang in a futex wait; `node --gc-interval=31` reproduces it at once).
 * Keys imported from bytes have no such job.
 */
export function generateKeyPair(): { scalar: Buffer; privateKey: KeyObject; share: Uint8Array } {
  const scalar = randomBytes(32);
  const privateKey = privateKeyFromScalar(scalar);
  return { scalar, privateKey, share: rawPublicKey(privateKey) };
}

/** A fresh X25519 key pair as age strings. */
export function generateX25519(): { identity: string; recipient: string } {
  const { scalar, share } = generateKeyPair();
  try {
    return { identity: encodeX25519Identity(scalar), recipient: encodeX25519Recipient(share) };
  } finally {
    scalar.fill(0);
  }
}

// ---------------------------------------------------------------------------
// Recipient / Identity.

export class X25519Recipient implements Recipient {
  readonly type = X25519_STANZA_TYPE;
  /** The `age1…` string. */
  readonly recipient: string;
  readonly #raw: Uint8Array;
  readonly #key: KeyObject;

  constructor(recipient: string) {
    const raw = decodeX25519Recipient(recipient);
    if (raw === null) {
      throw new GitSealError(
        `invalid age X25519 recipient "${abbreviate(recipient)}"`,
        'expected an age1… public key as printed by `age-keygen -y` or `git-seal keygen`',
      );
    }
    this.recipient = recipient;
    this.#raw = raw;
    this.#key = importPublicKey(raw);
  }

  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    const { scalar, privateKey, share } = generateKeyPair();
    scalar.fill(0);
    const secret = sharedSecret(privateKey, this.#key);
    if (secret === null) {
      throw new GitSealError(
        `age recipient ${abbreviate(this.recipient)} is not a usable X25519 public key (low-order point)`,
        'remove it from the recipients list and ask its owner for their real age1… key',
      );
    }
    const body = sealFileKey(wrapKey(secret, share, this.#raw), fileKey);
    secret.fill(0);
    return [{ args: [X25519_STANZA_TYPE, encodeBase64NoPad(share)], body } as Stanza];
  }
}

export class X25519Identity implements Identity {
  readonly type = X25519_STANZA_TYPE;
  /** The matching `age1…` public key. */
  readonly recipient: string;
  readonly #raw: Uint8Array;
  readonly #key: KeyObject;

  constructor(identity: string) {
    const scalar = decodeX25519Identity(identity);
    if (scalar === null) {
      throw new GitSealError(
        'invalid age X25519 identity (expected AGE-SECRET-KEY-1… with a valid checksum)',
        'check that the key was copied whole, in uppercase, e.g. from a file written by `age-keygen`',
      );
    }
    this.#key = privateKeyFromScalar(scalar);
    scalar.fill(0);
    this.#raw = rawPublicKey(this.#key);
    this.recipient = encodeX25519Recipient(this.#raw);
  }

  /** Returns the file key, or null if no X25519 stanza is for this identity. Throws on a malformed X25519 stanza. */
  unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
    for (const s of stanzas) {
      if (s.args.length < 1 || s.args[0] !== X25519_STANZA_TYPE) continue;
      const share = s.args.length === 2 ? decodeBase64NoPad(s.args[1]) : null;
      if (share === null || share.length !== 32 || s.body.length !== 32) {
        throw new GitSealError('malformed X25519 stanza in the age header', CORRUPT_HINT);
      }
      const secret = sharedSecret(this.#key, importPublicKey(share));
      if (secret === null) {
        throw new GitSealError('invalid X25519 stanza in the age header (low-order ephemeral share)', CORRUPT_HINT);
      }
      const fileKey = openFileKey(wrapKey(secret, share, this.#raw), s.body);
      secret.fill(0);
      if (fileKey !== null) return fileKey;
    }
    return null;
  }

  /**
   * A 32-byte key for this clone's own use (the smudge cache), that only the holder of this identity can
   * compute: HKDF-SHA256 of X25519(secret key, own public key), with `salt`, for `info`. Unlike a key
   * wrapped to the public key, nobody else can make one that this identity accepts.
   */
  localKey(salt: Uint8Array, info: string): Buffer {
    const secret = sharedSecret(this.#key, importPublicKey(this.#raw));
    if (secret === null) throw new GitSealError('invalid X25519 identity (low-order public key)', 'generate a new key with git-seal keygen');
    try {
      return hkdfSha256(secret, salt, info);
    } finally {
      secret.fill(0);
    }
  }
}

/**
 * Shorten a recipient for messages. Only values that look like public keys
 * (`age1…`, `ssh-…`) are echoed at all, so a secret key pasted in the wrong
 * place never ends up in an error.
 */
export function abbreviate(s: string): string {
  const t = s.trim();
  if (!/^(age1[0-9a-z]*|ssh-[a-z0-9-]+( .*)?)$/.test(t)) return '<value not shown>';
  return t.length > 24 ? `${t.slice(0, 14)}…${t.slice(-6)}` : t;
}
