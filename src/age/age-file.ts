/**
 * Small age files (C2SP age v1, one STREAM chunk: at most 64 KiB of plaintext), read and written on
 * node:crypto. The data key of a sealed file is such a file; typage's Encrypter/Decrypter go through
 * web streams and cost ~0.8 ms a file, this path ~0.1 ms (bench/age-wrap.bench.mjs). The wire format
 * is exactly age's: files from here open with `age -d`, and files from `age` open here (tests).
 *
 *   header  = "age-encryption.org/v1\n" *stanza "---" SP base64(MAC) "\n"
 *   stanza  = "-> " args "\n" base64(body) wrapped at 64 columns, last line shorter than 64
 *   MAC     = HMAC-SHA256(HKDF-SHA256(file key, salt "", "header"), header up to "---")
 *   payload = nonce(16) || ChaCha20-Poly1305(HKDF-SHA256(file key, nonce, "payload"), 0^11 || 0x01, pt)
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity, Recipient, Stanza } from 'age-encryption';
import { hkdfSha256 } from '../crypto/hkdf.js';
import { decodeBase64NoPad, encodeBase64NoPad } from './base64.js';

const VERSION_LINE = 'age-encryption.org/v1';
const CHUNK = 64 * 1024;
const LAST_CHUNK_NONCE = Buffer.concat([Buffer.alloc(11), Buffer.from([1])]);
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const ARMOR_END = '-----END AGE ENCRYPTED FILE-----';

export class AgeFormatError extends Error {}

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return hkdfSha256(ikm, salt, info);
}

function headerMac(fileKey: Uint8Array, headerNoMac: Buffer): Buffer {
  return createHmac('sha256', hkdf(fileKey, new Uint8Array(0), 'header')).update(headerNoMac).digest();
}

function encodeStanza(s: Stanza): string {
  const b64 = encodeBase64NoPad(s.body);
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + '\n';
  if (b64.length % 64 === 0) body += '\n';
  return `-> ${s.args.join(' ')}\n${body}`;
}

/** Encrypt a small plaintext to recipients; returns the binary age file. */
export async function encryptAgeFile(plaintext: Uint8Array, recipients: readonly Recipient[]): Promise<Uint8Array> {
  if (plaintext.length > CHUNK) throw new RangeError('encryptAgeFile handles one STREAM chunk (64 KiB) at most');
  const fileKey = randomBytes(16);
  try {
    const stanzas: Stanza[] = [];
    for (const r of recipients) stanzas.push(...(await r.wrapFileKey(fileKey)));
    const headerNoMac = Buffer.from(`${VERSION_LINE}\n${stanzas.map(encodeStanza).join('')}---`, 'latin1');
    const mac = headerMac(fileKey, headerNoMac);
    const nonce = randomBytes(16);
    const cipher = createCipheriv('chacha20-poly1305', hkdf(fileKey, nonce, 'payload'), LAST_CHUNK_NONCE, { authTagLength: 16 });
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return Buffer.concat([headerNoMac, Buffer.from(` ${encodeBase64NoPad(mac)}\n`, 'latin1'), nonce, body]);
  } finally {
    fileKey.fill(0);
  }
}

export interface ParsedFile {
  stanzas: Stanza[];
  headerNoMac: Buffer;
  mac: Uint8Array;
  payload: Buffer;
}

const PRINTABLE = /^[\x20-\x7e]*$/;

/** Parse an age file strictly; throws AgeFormatError with a short reason. */
export function parseAgeFile(file: Uint8Array): ParsedFile {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  let pos = 0;
  const line = (): string => {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) throw new AgeFormatError('truncated header');
    const s = buf.toString('latin1', pos, nl);
    if (!PRINTABLE.test(s)) throw new AgeFormatError('non-printable header');
    pos = nl + 1;
    return s;
  };
  if (line() !== VERSION_LINE) throw new AgeFormatError('unknown age version');
  const stanzas: Stanza[] = [];
  for (;;) {
    const start = pos;
    const l = line();
    if (l.startsWith('--- ')) {
      const mac = decodeBase64NoPad(l.slice(4));
      if (!mac || mac.length !== 32) throw new AgeFormatError('malformed MAC');
      return { stanzas, headerNoMac: buf.subarray(0, start + 3), mac, payload: buf.subarray(pos) };
    }
    if (!l.startsWith('-> ')) throw new AgeFormatError('malformed stanza');
    const args = l.slice(3).split(' ');
    if (args.some((a) => a === '')) throw new AgeFormatError('malformed stanza');
    const parts: Uint8Array[] = [];
    for (;;) {
      const b = line();
      const bytes = b.length <= 64 ? decodeBase64NoPad(b) : null;
      if (!bytes) throw new AgeFormatError('malformed stanza body');
      parts.push(bytes);
      if (b.length < 64) break;
    }
    stanzas.push({ args, body: Buffer.concat(parts) } as Stanza);
  }
}

/**
 * The stanzas in the order to try them for `identity`: the one at the identity's position in
 * `claimed` (the file's recipients list, in the order git-seal wraps them) first, then the others.
 * Stanzas are anonymous, so without this an identity tries half of them on average, one X25519 each;
 * with it, one. Only the order changes: any stanza may still yield the key, and the header MAC decides.
 */
function stanzaOrder(stanzas: Stanza[], identity: Identity, claimed: readonly string[] | undefined): Stanza[] {
  const own = (identity as { recipient?: unknown }).recipient;
  const k = claimed && typeof own === 'string' ? claimed.indexOf(own) : -1;
  if (k <= 0 || k >= stanzas.length) return stanzas;
  return [stanzas[k], ...stanzas.slice(0, k), ...stanzas.slice(k + 1)];
}

/**
 * Decrypt a small age file (bytes, or already parsed). Returns null when no identity matches. Throws
 * AgeFormatError when the file is malformed, its header MAC is wrong or its payload fails authentication.
 * `claimedRecipients` (optional) is the recipient list the file claims, used only to pick which stanza
 * each identity tries first.
 */
export async function decryptAgeFile(
  file: Uint8Array | ParsedFile,
  identities: readonly Identity[],
  claimedRecipients?: readonly string[],
): Promise<Uint8Array | null> {
  const parsed = file instanceof Uint8Array ? parseAgeFile(file) : file;
  let fileKey: Uint8Array | null = null;
  for (const id of identities) {
    fileKey = await id.unwrapFileKey(stanzaOrder(parsed.stanzas, id, claimedRecipients));
    if (fileKey) break;
  }
  if (!fileKey) return null;
  if (fileKey.length !== 16) throw new AgeFormatError('bad file key');
  const mac = headerMac(fileKey, parsed.headerNoMac);
  if (!timingSafeEqual(mac, parsed.mac)) throw new AgeFormatError('header MAC mismatch');
  const { payload } = parsed;
  if (payload.length < 16 + 16 || payload.length > 16 + CHUNK + 16) throw new AgeFormatError('payload is not one chunk');
  const decipher = createDecipheriv('chacha20-poly1305', hkdf(fileKey, payload.subarray(0, 16), 'payload'), LAST_CHUNK_NONCE, { authTagLength: 16 });
  decipher.setAuthTag(payload.subarray(payload.length - 16));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(payload.subarray(16, payload.length - 16)), decipher.final()]));
  } catch {
    throw new AgeFormatError('payload authentication failed');
  } finally {
    fileKey.fill(0);
  }
}

/** age's ASCII armor: PEM-like, standard base64 in 64-column lines. */
export function armorEncode(file: Uint8Array): string {
  const b64 = Buffer.from(file.buffer, file.byteOffset, file.byteLength).toString('base64');
  const lines = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `${ARMOR_BEGIN}\n${lines.join('\n')}\n${ARMOR_END}\n`;
}

/** Strict armor decoding (surrounding whitespace and CRLF tolerated, as age does). */
export function armorDecode(text: string): Uint8Array {
  const lines = text.trim().split(/\r?\n/);
  if (lines[0] !== ARMOR_BEGIN || lines[lines.length - 1] !== ARMOR_END) throw new AgeFormatError('not an armored age file');
  const body = lines.slice(1, -1);
  if (body.length === 0 || body.some((l, i) => (i < body.length - 1 ? l.length !== 64 : l.length === 0 || l.length > 64))) {
    throw new AgeFormatError('malformed armor lines');
  }
  const b64 = body.join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new AgeFormatError('malformed armor base64');
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.toString('base64') !== b64) throw new AgeFormatError('non-canonical armor base64');
  return new Uint8Array(bytes);
}
