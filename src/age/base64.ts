/** Canonical unpadded standard base64, as age requires in headers (spec: "canonical base64 without padding"). */

const B64_CHARS = /^[A-Za-z0-9+/]*$/;

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function encodeBase64NoPad(bytes: Uint8Array): string {
  const s = asBuffer(bytes).toString('base64');
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61 /* = */) end--;
  return s.slice(0, end);
}

/**
 * Strict decode: no padding, no whitespace, no non-canonical trailing bits.
 * Returns null instead of throwing so callers can choose the error.
 */
export function decodeBase64NoPad(s: string): Uint8Array | null {
  if (s.length % 4 === 1 || !B64_CHARS.test(s)) return null;
  const buf = Buffer.from(s, 'base64');
  if (encodeBase64NoPad(buf) !== s) return null;
  return new Uint8Array(buf);
}
