/**
 * Minimal BIP 173 Bech32 (not Bech32m), as used by age for keys.
 *
 * Like age's own copy, there is no 90-character length limit: post-quantum
 * recipients are ~1,960 characters long. Mixed case is rejected; the caller
 * checks the human-readable part and its case (age recipients are lowercase,
 * identities uppercase).
 *
 * Errors are plain `Error`s with fixed messages that never contain the input,
 * because the input may be a secret key. Callers turn them into GitSealErrors.
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

const CHARSET_REV: Int8Array = (() => {
  const rev = new Int8Array(128).fill(-1);
  for (let i = 0; i < CHARSET.length; i++) rev[CHARSET.charCodeAt(i)] = i;
  return rev;
})();

function polymodStep(chk: number, value: number): number {
  const top = chk >>> 25;
  let c = ((chk & 0x1ffffff) << 5) ^ value;
  for (let i = 0; i < 5; i++) {
    if ((top >>> i) & 1) c ^= GENERATOR[i];
  }
  return c >>> 0;
}

/** Polymod over the expanded (lowercase) HRP followed by `words`. */
function polymod(hrp: string, words: ArrayLike<number>): number {
  let chk = 1;
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk, hrp.charCodeAt(i) >> 5);
  chk = polymodStep(chk, 0);
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk, hrp.charCodeAt(i) & 31);
  for (let i = 0; i < words.length; i++) chk = polymodStep(chk, words[i]);
  return chk;
}

/** 8-bit bytes to 5-bit words, zero-padding the last word. */
export function toWords(bytes: Uint8Array): number[] {
  const words: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0x1fff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      words.push((acc >>> bits) & 31);
    }
  }
  if (bits > 0) words.push((acc << (5 - bits)) & 31);
  return words;
}

/** 5-bit words to 8-bit bytes; the padding must be shorter than 5 bits and all zero. */
export function fromWords(words: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.floor((words.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w < 0 || w > 31) throw new Error('bech32: invalid word');
    acc = ((acc << 5) | w) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >>> bits) & 0xff;
    }
  }
  if (bits >= 5 || ((acc << (8 - bits)) & 0xff) !== 0) throw new Error('bech32: invalid padding');
  return out;
}

/** Encode 5-bit words; the result is lowercase (uppercase it for age identities). */
export function encodeWords(hrp: string, words: ArrayLike<number>): string {
  const lower = hrp.toLowerCase();
  if (lower.length === 0) throw new Error('bech32: empty human-readable part');
  for (let i = 0; i < lower.length; i++) {
    const c = lower.charCodeAt(i);
    if (c < 33 || c > 126) throw new Error('bech32: invalid human-readable part');
  }
  const chk = polymod(lower, [...Array.from(words), 0, 0, 0, 0, 0, 0]) ^ 1;
  let out = lower + '1';
  for (let i = 0; i < words.length; i++) out += CHARSET[words[i]];
  for (let i = 0; i < 6; i++) out += CHARSET[(chk >>> (5 * (5 - i))) & 31];
  return out;
}

/** Encode bytes; the result is lowercase. */
export function encode(hrp: string, bytes: Uint8Array): string {
  return encodeWords(hrp, toWords(bytes));
}

/** Decode to 5-bit words. `hrp` is returned exactly as written (original case). */
export function decodeWords(s: string): { hrp: string; words: number[] } {
  let hasLower = false;
  let hasUpper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) throw new Error('bech32: invalid character');
    if (c >= 97 && c <= 122) hasLower = true;
    else if (c >= 65 && c <= 90) hasUpper = true;
  }
  if (hasLower && hasUpper) throw new Error('bech32: mixed case');
  const lower = s.toLowerCase();
  const pos = lower.lastIndexOf('1');
  if (pos < 1 || pos + 7 > lower.length) throw new Error('bech32: invalid separator position');
  const hrp = lower.slice(0, pos);
  const words: number[] = [];
  for (let i = pos + 1; i < lower.length; i++) {
    const c = lower.charCodeAt(i);
    const w = c < 128 ? CHARSET_REV[c] : -1;
    if (w < 0) throw new Error('bech32: invalid data character');
    words.push(w);
  }
  if (polymod(hrp, words) !== 1) throw new Error('bech32: invalid checksum');
  return { hrp: s.slice(0, pos), words: words.slice(0, -6) };
}

/** Decode to bytes. `hrp` is returned exactly as written (original case). */
export function decode(s: string): { hrp: string; bytes: Uint8Array } {
  const { hrp, words } = decodeWords(s);
  return { hrp, bytes: fromWords(words) };
}
