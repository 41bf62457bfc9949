/**
 * OpenSSH key formats, as far as age's SSH recipient types need them:
 *
 *   - public keys as in authorized_keys and https://github.com/USER.keys:
 *     `[options] ssh-ed25519|ssh-rsa BASE64 [comment]` (RFC 4253 §6.6 wire blob);
 *   - private keys in OpenSSH's own format (`-----BEGIN OPENSSH PRIVATE KEY-----`,
 *     openssh PROTOCOL.key), unencrypted or passphrase-protected with the bcrypt KDF
 *     and aes{128,192,256}-{ctr,cbc} or aes{128,256}-gcm@openssh.com.
 *
 * The public part of a private key file is not encrypted, so the stanza tag is known
 * before any passphrase is needed. Errors name the file, never key material.
 */
import { createDecipheriv, createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { GitSealError } from '../errors.js';
import { encodeBase64NoPad } from './base64.js';

export const SSH_ED25519 = 'ssh-ed25519';
export const SSH_RSA = 'ssh-rsa';
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;

const SUPPORTED_HINT = 'age supports ssh-ed25519 and ssh-rsa (2048 bits or more) keys; make one with `ssh-keygen -t ed25519`, or use an age1… key';

/** Key types OpenSSH knows that age cannot encrypt to (ECDSA, DSA, FIDO security keys). */
function isUnsupportedSshKeyType(t: string): boolean {
  return /^(ecdsa-sha2-[a-z0-9]+|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-[a-z0-9]+@openssh\.com|ssh-dss)$/.test(t);
}

/** A short human name for an SSH key type, for messages. */
function describeSshKeyType(t: string): string {
  if (t.startsWith('sk-')) return `security-key (${t})`;
  if (t.startsWith('ecdsa-')) return `ECDSA (${t})`;
  if (t === 'ssh-dss') return 'DSA (ssh-dss)';
  return t;
}

function unsupportedKeyTypeError(t: string, where: string): GitSealError {
  return new GitSealError(`${where}${describeSshKeyType(t)} SSH keys cannot be used with age`, SUPPORTED_HINT);
}

// ---------------------------------------------------------------------------
// SSH wire format (RFC 4251 §5).

class WireError extends Error {}

class WireReader {
  #pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.#pos === this.buf.length;
  }
  get rest(): Buffer {
    return this.buf.subarray(this.#pos);
  }
  take(n: number): Buffer {
    if (n < 0 || this.#pos + n > this.buf.length) throw new WireError('truncated');
    const out = this.buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
  uint32(): number {
    return this.take(4).readUInt32BE(0);
  }
  string(): Buffer {
    return this.take(this.uint32());
  }
  text(): string {
    return this.string().toString('latin1');
  }
  /** An mpint that must be positive; returned as unsigned big-endian bytes without leading zeros. */
  positiveMpint(): Buffer {
    const b = this.string();
    if (b.length === 0 || b[0] & 0x80) throw new WireError('negative or zero integer');
    if (b.length > 1 && b[0] === 0 && !(b[1] & 0x80)) throw new WireError('non-canonical integer');
    const out = b[0] === 0 ? b.subarray(1) : b;
    if (out.length === 0) throw new WireError('zero integer');
    return out;
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function wireString(b: Buffer | string): Buffer {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  return Buffer.concat([u32(bytes.length), bytes]);
}

function wireMpint(unsigned: Buffer): Buffer {
  return wireString(unsigned[0] & 0x80 ? Buffer.concat([Buffer.alloc(1), unsigned]) : unsigned);
}

// ---------------------------------------------------------------------------
// Public keys.

export type SshPublicKey =
  | { type: typeof SSH_ED25519; blob: Buffer; ed25519: Buffer }
  | { type: typeof SSH_RSA; blob: Buffer; rsa: KeyObject; bits: number };

/** age's stanza tag: the first 4 bytes of SHA-256 of the public key blob, unpadded base64. */
export function sshTag(blob: Uint8Array): string {
  return encodeBase64NoPad(createHash('sha256').update(blob).digest().subarray(0, 4));
}

/** `SHA256:…` as `ssh-keygen -l` prints it, for people to compare keys. */
export function sshFingerprint(blob: Uint8Array): string {
  return `SHA256:${encodeBase64NoPad(createHash('sha256').update(blob).digest())}`;
}

/** The canonical `type BASE64` form (no comment) git-seal stores and compares. */
export function sshPublicKeyString(key: SshPublicKey): string {
  return `${key.type} ${key.blob.toString('base64')}`;
}

function bitLength(unsigned: Buffer): number {
  return (unsigned.length - 1) * 8 + (32 - Math.clz32(unsigned[0]));
}

/**
 * Decode a public key blob. RSA keys are re-encoded canonically (as Go's ssh package
 * does before hashing), checked like Go (odd exponent from 3 to 2^24) and must have
 * at least 2048 bits.
 */
function decodeSshPublicKeyBlob(blob: Buffer, where: string): SshPublicKey {
  const bad = (why: string): never => {
    throw new GitSealError(`${where}malformed SSH public key (${why})`, 'copy the whole key line, e.g. from ~/.ssh/id_ed25519.pub');
  };
  try {
    const r = new WireReader(blob);
    const type = r.text();
    if (isUnsupportedSshKeyType(type)) throw unsupportedKeyTypeError(type, where);
    if (type === SSH_ED25519) {
      const pk = r.string();
      if (pk.length !== 32 || !r.done) bad('wrong length');
      return { type, blob: Buffer.from(blob), ed25519: Buffer.from(pk) };
    }
    if (type === SSH_RSA) {
      const e = r.positiveMpint();
      const n = r.positiveMpint();
      if (!r.done) bad('trailing data');
      if (bitLength(e) > 24 || e.length > 3) bad('RSA exponent too large');
      const eNum = e.readUIntBE(0, e.length);
      if (eNum < 3 || eNum % 2 === 0) bad('bad RSA exponent');
      const bits = bitLength(n);
      if (bits < MIN_RSA_BITS) {
        throw new GitSealError(`${where}ssh-rsa key has ${bits} bits; age needs at least ${MIN_RSA_BITS}`, 'make a new key: ssh-keygen -t ed25519 (or -t rsa -b 4096)', 1, 'rsa-key-too-small');
      }
      // As Go's crypto/rsa: larger keys only make every wrap slow (a hostile config could list one).
      if (bits > MAX_RSA_BITS) bad(`ssh-rsa key has ${bits} bits, more than ${MAX_RSA_BITS}`);
      const rsa = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
      return { type, blob: Buffer.concat([wireString(SSH_RSA), wireMpint(e), wireMpint(n)]), rsa, bits };
    }
    return bad(`unknown key type "${type.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)}"`);
  } catch (err) {
    if (err instanceof WireError) return bad(err.message);
    throw err;
  }
}

const KEY_LINE = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/;

/** True if `s` starts like an OpenSSH public key line of any type (supported or not). */
export function looksLikeSshPublicKey(s: string): boolean {
  const t = s.trim().split(/\s+/)[0];
  return t === SSH_ED25519 || t === SSH_RSA || isUnsupportedSshKeyType(t);
}

/** Parse `ssh-ed25519 AAAA… [comment]` or `ssh-rsa AAAA… [comment]`. */
export function parseSshPublicKey(line: string, where = ''): SshPublicKey {
  const m = KEY_LINE.exec(line.trim());
  if (!m) throw new GitSealError(`${where}malformed SSH public key line`, 'expected "ssh-ed25519 AAAA… [comment]", as in ~/.ssh/id_ed25519.pub');
  const [, type, b64] = m;
  if (isUnsupportedSshKeyType(type)) throw unsupportedKeyTypeError(type, where);
  if (type !== SSH_ED25519 && type !== SSH_RSA) throw new GitSealError(`${where}unknown SSH key type`, SUPPORTED_HINT);
  const blob = Buffer.from(b64, 'base64');
  if (blob.toString('base64') !== b64) throw new GitSealError(`${where}malformed SSH public key (bad base64)`, 'copy the whole key line');
  const key = decodeSshPublicKeyBlob(blob, where);
  if (key.type !== type) throw new GitSealError(`${where}malformed SSH public key (type ${type} does not match the key)`, 'copy the whole key line');
  return key;
}

export interface AuthorizedKeys {
  keys: SshPublicKey[];
  /** Lines skipped because age cannot use their key type or size: `line N: why`. */
  skipped: string[];
}

/**
 * Read authorized_keys lines (also the format of https://github.com/USER.keys). Blank lines and `#`
 * comments are ignored; options before the key type are allowed. Keys age cannot use (ECDSA, DSA,
 * sk-*, RSA under 2048 bits) are skipped and listed; a line that is not a key at all is an error.
 */
export function parseAuthorizedKeys(text: string, source: string): AuthorizedKeys {
  const out: AuthorizedKeys = { keys: [], skipped: [] };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    // Options (`command="…",no-pty …`) may precede the key type; find the first type token.
    const tokens = line.split(/\s+/);
    const at = tokens.findIndex((t) => t === SSH_ED25519 || t === SSH_RSA || isUnsupportedSshKeyType(t));
    if (at < 0) throw new GitSealError(`${source}, line ${i + 1}: not an SSH public key`, 'expected authorized_keys lines such as "ssh-ed25519 AAAA… comment"');
    const type = tokens[at];
    if (isUnsupportedSshKeyType(type)) {
      out.skipped.push(`line ${i + 1}: ${describeSshKeyType(type)} key`);
      continue;
    }
    const where = `${source}, line ${i + 1}: `;
    try {
      out.keys.push(parseSshPublicKey(tokens.slice(at).join(' '), where));
    } catch (err) {
      if (err instanceof GitSealError && err.code === 'rsa-key-too-small') {
        out.skipped.push(`line ${i + 1}: ${err.message.slice(where.length)}`);
        continue;
      }
      throw err;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Private keys (openssh PROTOCOL.key).

const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** True if the text is (or starts like) an OpenSSH private key file. */
export function isOpenSshPrivateKey(text: string): boolean {
  return text.trimStart().startsWith(BEGIN);
}

/** True if the text is a PEM private key that is not in OpenSSH's format (PKCS#1, SEC1, PKCS#8). */
export function isOtherPemPrivateKey(text: string): boolean {
  return /^-----BEGIN (RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----/.test(text.trimStart());
}

interface CipherSpec {
  name: string;
  keyLen: number;
  ivLen: number;
  block: number;
  tagLen: number;
}

const CIPHERS: Record<string, CipherSpec> = {
  'aes128-ctr': { name: 'aes-128-ctr', keyLen: 16, ivLen: 16, block: 16, tagLen: 0 },
  'aes192-ctr': { name: 'aes-192-ctr', keyLen: 24, ivLen: 16, block: 16, tagLen: 0 },
  'aes256-ctr': { name: 'aes-256-ctr', keyLen: 32, ivLen: 16, block: 16, tagLen: 0 },
  'aes128-cbc': { name: 'aes-128-cbc', keyLen: 16, ivLen: 16, block: 16, tagLen: 0 },
  'aes192-cbc': { name: 'aes-192-cbc', keyLen: 24, ivLen: 16, block: 16, tagLen: 0 },
  'aes256-cbc': { name: 'aes-256-cbc', keyLen: 32, ivLen: 16, block: 16, tagLen: 0 },
  'aes128-gcm@openssh.com': { name: 'aes-128-gcm', keyLen: 16, ivLen: 12, block: 16, tagLen: 16 },
  'aes256-gcm@openssh.com': { name: 'aes-256-gcm', keyLen: 32, ivLen: 12, block: 16, tagLen: 16 },
};

export interface OpenSshKeyFile {
  /** The public key, from the file's unencrypted part. */
  publicKey: SshPublicKey;
  /** True when a passphrase is needed to read the private key. */
  encrypted: boolean;
  /** Names the file in messages. */
  source: string;
  /** Opaque: what {@link decryptOpenSshPrivateKey} needs. */
  readonly sealed: { cipher: string; salt: Buffer; rounds: number; body: Buffer; tag: Buffer };
}

export type SshEd25519PublicKey = Extract<SshPublicKey, { type: typeof SSH_ED25519 }>;
export type SshRsaPublicKey = Extract<SshPublicKey, { type: typeof SSH_RSA }>;

export type SshPrivateKey =
  | { type: typeof SSH_ED25519; seed: Buffer; publicKey: SshEd25519PublicKey }
  | { type: typeof SSH_RSA; jwk: RsaPrivateJwk; publicKey: SshRsaPublicKey };

// A type alias (not an interface) so it is assignable to node:crypto's JsonWebKey.
export type RsaPrivateJwk = {
  kty: 'RSA';
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
};

function keyFileError(source: string, what: string, hint = 'check the file; `ssh-keygen -y -f FILE` should print its public key'): GitSealError {
  return new GitSealError(`${source}: ${what}`, hint);
}

/** Parse the outer, unencrypted structure of an OpenSSH private key file. */
export function parseOpenSshPrivateKey(text: string, source: string): OpenSshKeyFile {
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== BEGIN || lines[lines.length - 1] !== END) throw keyFileError(source, 'malformed OpenSSH private key (missing BEGIN/END lines)');
  const b64 = lines.slice(1, -1).join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw keyFileError(source, 'malformed OpenSSH private key (bad base64)');
  const raw = Buffer.from(b64, 'base64');
  try {
    if (!raw.subarray(0, MAGIC.length).equals(MAGIC)) throw keyFileError(source, 'not an OpenSSH private key (bad magic)');
    const r = new WireReader(raw.subarray(MAGIC.length));
    const cipher = r.text();
    const kdf = r.text();
    const kdfOptions = r.string();
    const count = r.uint32();
    if (count !== 1) throw keyFileError(source, `holds ${count} keys; git-seal reads files with exactly one`);
    const publicBlob = r.string();
    const body = r.string();
    const spec = CIPHERS[cipher];
    const tag = spec ? r.take(spec.tagLen) : Buffer.alloc(0);
    if (!r.done) throw keyFileError(source, 'malformed OpenSSH private key (trailing data)');
    const publicKey = decodeSshPublicKeyBlob(publicBlob, `${source}: `);
    if (cipher === 'none') {
      if (kdf !== 'none' || kdfOptions.length !== 0) throw keyFileError(source, 'malformed OpenSSH private key (KDF without cipher)');
      return { publicKey, encrypted: false, source, sealed: { cipher, salt: Buffer.alloc(0), rounds: 0, body, tag } };
    }
    if (!spec) {
      throw keyFileError(source, `SSH key is encrypted with ${cipher.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)}, which git-seal cannot read`, `re-encrypt it with OpenSSH's default cipher: ssh-keygen -p -Z aes256-ctr -f FILE`);
    }
    if (kdf !== 'bcrypt') throw keyFileError(source, 'SSH key uses an unknown passphrase KDF', `re-encrypt it: ssh-keygen -p -f FILE`);
    const o = new WireReader(kdfOptions);
    const salt = Buffer.from(o.string());
    const rounds = o.uint32();
    if (!o.done || rounds < 1 || salt.length === 0) throw keyFileError(source, 'malformed OpenSSH private key (bad bcrypt parameters)');
    return { publicKey, encrypted: true, source, sealed: { cipher, salt, rounds, body: Buffer.from(body), tag: Buffer.from(tag) } };
  } catch (err) {
    if (err instanceof WireError) throw keyFileError(source, `malformed OpenSSH private key (${err.message})`);
    throw err;
  }
}

/** Thrown by {@link decryptOpenSshPrivateKey} when the passphrase does not open the key. */
class WrongPassphraseError extends GitSealError {}

async function bcryptPbkdf(passphrase: Buffer, salt: Buffer, rounds: number, length: number): Promise<Buffer> {
  const { pbkdf } = (await import('bcrypt-pbkdf')).default;
  const out = Buffer.alloc(length);
  if (pbkdf(passphrase, passphrase.length, salt, salt.length, out, length, rounds) !== 0) throw new Error('bcrypt_pbkdf failed');
  return out;
}

/**
 * Read the private key of a parsed file. `passphrase` is needed only when the file is encrypted.
 * Checks that the private key matches the file's public key.
 */
export async function decryptOpenSshPrivateKey(file: OpenSshKeyFile, passphrase?: string): Promise<SshPrivateKey> {
  const { source, sealed } = file;
  let plain: Buffer;
  if (!file.encrypted) {
    plain = Buffer.from(sealed.body);
    if (plain.length % 8 !== 0) throw keyFileError(source, 'malformed OpenSSH private key (bad padding)');
  } else {
    if (passphrase === undefined) throw keyFileError(source, 'SSH key is passphrase-protected', 'a passphrase is needed');
    const spec = CIPHERS[sealed.cipher];
    if (sealed.body.length % spec.block !== 0) throw keyFileError(source, 'malformed OpenSSH private key (bad length)');
    const pass = Buffer.from(passphrase, 'utf8');
    const km = await bcryptPbkdf(pass, sealed.salt, sealed.rounds, spec.keyLen + spec.ivLen);
    pass.fill(0);
    try {
      const d = createDecipheriv(spec.name, km.subarray(0, spec.keyLen), km.subarray(spec.keyLen));
      if (spec.tagLen) (d as ReturnType<typeof createDecipheriv> & { setAuthTag(t: Buffer): void }).setAuthTag(sealed.tag);
      d.setAutoPadding(false);
      try {
        plain = Buffer.concat([d.update(sealed.body), d.final()]);
      } catch {
        throw new WrongPassphraseError(`${source}: wrong passphrase for this SSH key`, 'try again; `ssh-keygen -y -f FILE` checks a passphrase');
      }
    } finally {
      km.fill(0);
    }
  }
  try {
    return readPrivateSection(plain, file);
  } catch (err) {
    if (err instanceof WireError) throw keyFileError(source, `malformed OpenSSH private key (${err.message})`);
    throw err;
  } finally {
    plain.fill(0);
  }
}

function readPrivateSection(plain: Buffer, file: OpenSshKeyFile): SshPrivateKey {
  const { source, publicKey } = file;
  const r = new WireReader(plain);
  const check1 = r.uint32();
  const check2 = r.uint32();
  if (check1 !== check2) {
    if (file.encrypted) throw new WrongPassphraseError(`${source}: wrong passphrase for this SSH key`, 'try again; `ssh-keygen -y -f FILE` checks a passphrase');
    throw keyFileError(source, 'malformed OpenSSH private key (check bytes differ)');
  }
  const type = r.text();
  if (type !== publicKey.type) throw keyFileError(source, `private key type ${type.slice(0, 40)} does not match its public key (${publicKey.type})`);
  let key: SshPrivateKey;
  if (publicKey.type === SSH_ED25519) {
    const pk = r.string();
    const sk = r.string();
    if (pk.length !== 32 || sk.length !== 64 || !sk.subarray(32).equals(pk) || !pk.equals(publicKey.ed25519)) {
      throw keyFileError(source, 'Ed25519 private key does not match its public key');
    }
    key = { type: SSH_ED25519, seed: Buffer.from(sk.subarray(0, 32)), publicKey };
  } else {
    const n = r.positiveMpint();
    const e = r.positiveMpint();
    const d = r.positiveMpint();
    const qi = r.positiveMpint();
    const p = r.positiveMpint();
    const q = r.positiveMpint();
    const pub = publicKey.rsa.export({ format: 'jwk' });
    if (pub.n !== n.toString('base64url') || pub.e !== e.toString('base64url')) throw keyFileError(source, 'RSA private key does not match its public key');
    const big = (b: Buffer): bigint => BigInt('0x' + b.toString('hex'));
    const bytes = (x: bigint): string => {
      const h = x.toString(16);
      return Buffer.from(h.length % 2 ? '0' + h : h, 'hex').toString('base64url');
    };
    const dBig = big(d);
    const b64 = (x: Buffer): string => x.toString('base64url');
    key = {
      type: SSH_RSA,
      jwk: { kty: 'RSA', n: b64(n), e: b64(e), d: b64(d), p: b64(p), q: b64(q), dp: bytes(dBig % (big(p) - 1n)), dq: bytes(dBig % (big(q) - 1n)), qi: b64(qi) },
      publicKey,
    };
  }
  r.string(); // comment
  const pad = r.rest;
  for (let i = 0; i < pad.length; i++) if (pad[i] !== i + 1) throw keyFileError(source, 'malformed OpenSSH private key (bad padding)');
  return key;
}
