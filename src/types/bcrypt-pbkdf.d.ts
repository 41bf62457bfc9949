/** bcrypt-pbkdf (OpenBSD's bcrypt_pbkdf ported to JS; used by ssh2 and sshpk) ships no types. */
declare module 'bcrypt-pbkdf' {
  /** Fills `key` (keylen bytes); returns 0 on success, -1 on bad arguments. */
  export function pbkdf(pass: Uint8Array, passlen: number, salt: Uint8Array, saltlen: number, key: Uint8Array, keylen: number, rounds: number): number;
  const _default: { pbkdf: typeof pbkdf };
  export default _default;
}
