import { createCipheriv, createDecipheriv } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';

/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): the subkey is HChaCha20(key, nonce[0..16]) (from
 * @noble/ciphers), then OpenSSL's ChaCha20-Poly1305 runs with nonce 0^4 || nonce[16..24]. Identical
 * output to @noble/ciphers' xchacha20poly1305, ~2.5x faster for short values.
 */
export const XCHACHA_NONCE_BYTES = 24;
export const XCHACHA_TAG_BYTES = 16;

const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

// The key as HChaCha20 reads it, made once per key rather than once per message.
const keyWords = new WeakMap<Uint8Array, Uint32Array>();

// Scratch space for one message's subkey and IV: createCipheriv/createDecipheriv copy both at once.
const subWords = new Uint32Array(8);
const subkey = Buffer.from(subWords.buffer);
const nonceWords = new Uint32Array(4);
const iv = Buffer.alloc(12);

function params(key: Uint8Array, nonce: Buffer): void {
  let k32 = keyWords.get(key);
  if (!k32) {
    k32 = new Uint32Array(key.buffer.slice(key.byteOffset, key.byteOffset + 32));
    keyWords.set(key, k32);
  }
  for (let i = 0; i < 4; i++) nonceWords[i] = nonce.readUInt32LE(4 * i);
  hchacha(SIGMA, k32, nonceWords, subWords);
  nonce.copy(iv, 4, 16, 24);
}

/** ciphertext || tag. */
export function xchachaSeal(key: Uint8Array, nonce: Buffer, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  params(key, nonce);
  const c = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: XCHACHA_TAG_BYTES });
  subWords.fill(0);
  c.setAAD(aad, { plaintextLength: plaintext.length });
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

/** The plaintext of ciphertext || tag; throws when it does not authenticate. */
export function xchachaOpen(key: Uint8Array, nonce: Buffer, aad: Uint8Array, sealed: Buffer): Buffer {
  if (sealed.length < XCHACHA_TAG_BYTES) throw new Error('sealed message too short');
  params(key, nonce);
  const d = createDecipheriv('chacha20-poly1305', subkey, iv, { authTagLength: XCHACHA_TAG_BYTES });
  subWords.fill(0);
  d.setAAD(aad, { plaintextLength: sealed.length - XCHACHA_TAG_BYTES });
  d.setAuthTag(sealed.subarray(sealed.length - XCHACHA_TAG_BYTES));
  const plaintext = d.update(sealed.subarray(0, sealed.length - XCHACHA_TAG_BYTES));
  d.final(); // checks the tag; a stream cipher has no bytes left
  return plaintext;
}
