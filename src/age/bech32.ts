/**
 * BIP 173 Bech32 (not Bech32m), as age uses for keys, on @scure/base (audited; already a dependency of
 * typage). Two things are added around the library:
 *   - no 90-character length limit (post-quantum recipients are ~1,960 characters), as in age;
 *   - errors with fixed messages that never contain the input, which may be a secret key (the library's
 *     own messages quote it). Callers turn them into GitSealErrors.
 * Mixed case is rejected; the hrp comes back in its original case, and the caller checks it (age
 * recipients are lowercase, identities uppercase).
 */
import { bech32 } from '@scure/base';

function fixed<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch {
    throw new Error(`bech32: ${what}`);
  }
}

/** 8-bit bytes to 5-bit words, zero-padding the last word. */
export function toWords(bytes: Uint8Array): number[] {
  return bech32.toWords(bytes);
}

/** 5-bit words to 8-bit bytes; the padding must be shorter than 5 bits and all zero. */
export function fromWords(words: ArrayLike<number>): Uint8Array {
  return fixed('invalid padding', () => bech32.fromWords(Array.from(words)));
}

/** Encode 5-bit words; the result is lowercase (uppercase it for age identities). */
export function encodeWords(hrp: string, words: ArrayLike<number>): string {
  return fixed('invalid human-readable part', () => bech32.encode(hrp.toLowerCase(), Array.from(words), false));
}

/** Encode bytes; the result is lowercase. */
export function encode(hrp: string, bytes: Uint8Array): string {
  return encodeWords(hrp, toWords(bytes));
}

/** Decode to 5-bit words. `hrp` is returned exactly as written (original case). */
export function decodeWords(s: string): { hrp: string; words: number[] } {
  const { words } = fixed('invalid string (case, separator, characters or checksum)', () => bech32.decode(s as `${string}1${string}`, false));
  return { hrp: s.slice(0, s.lastIndexOf('1')), words: Array.from(words) };
}

/** Decode to bytes. `hrp` is returned exactly as written (original case). */
export function decode(s: string): { hrp: string; bytes: Uint8Array } {
  const { hrp, words } = decodeWords(s);
  return { hrp, bytes: fromWords(words) };
}
