import { positionOf, TomlSyntaxError } from './errors.js';

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 strictly, keeping a BOM in the string so it round-trips. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    const bad = firstInvalidByte(bytes);
    const before = strictDecoder.decode(bytes.subarray(0, bad));
    const { line, col } = positionOf(before, before.length);
    throw new TomlSyntaxError(line, col, `invalid UTF-8 byte 0x${bytes[bad].toString(16).toUpperCase().padStart(2, '0')}`);
  }
}

/** Index of the first byte of the first ill-formed sequence (WHATWG / Unicode rules). */
function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length === 0) return i;
    i += length;
  }
  return bytes.length;
}

/** Length of the well-formed sequence at `i`, or 0. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  let length: number;
  let min = 0x80; // allowed range of the second byte
  let max = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) length = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b === 0xe0) min = 0xa0; // no overlong forms
    if (b === 0xed) max = 0x9f; // no surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b === 0xf0) min = 0x90;
    if (b === 0xf4) max = 0x8f; // nothing above U+10FFFF
  } else return 0;
  if (i + length > bytes.length) return 0;
  if (bytes[i + 1] < min || bytes[i + 1] > max) return 0;
  for (let k = 2; k < length; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return 0;
  return length;
}
