/**
 * age's ssh-rsa recipient type (C2SP age spec, "ssh-rsa recipient stanza"), on node:crypto:
 *
 *   -> ssh-rsa <tag>
 *   <base64(RSA-OAEP-SHA256(public key, file key, label "age-encryption.org/v1/ssh-rsa"))>
 *
 *   tag = base64(SHA-256(SSH public key blob)[:4])
 *
 * Keys must have at least 2048 bits (checked when the public key is parsed).
 */
import { constants, createPrivateKey, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import type { Identity, Recipient, Stanza } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { SSH_RSA, sshPublicKeyString, sshTag, type RsaPrivateJwk, type SshRsaPublicKey } from './openssh-key.js';

const OAEP_LABEL = Buffer.from('age-encryption.org/v1/ssh-rsa', 'ascii');
const CORRUPT_HINT = 'the encrypted file is corrupt or was tampered with; restore it from git history';


export class SshRsaRecipient implements Recipient {
  readonly type = SSH_RSA;
  /** `ssh-rsa BASE64`, without comment. */
  readonly recipient: string;
  readonly tag: string;
  readonly #key: KeyObject;

  constructor(key: SshRsaPublicKey) {
    this.#key = key.rsa;
    this.recipient = sshPublicKeyString(key);
    this.tag = sshTag(key.blob);
  }

  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    const body = publicEncrypt({ key: this.#key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: OAEP_LABEL }, fileKey);
    return [{ args: [SSH_RSA, this.tag], body: new Uint8Array(body) } as Stanza];
  }
}

export class SshRsaIdentity implements Identity {
  readonly type = SSH_RSA;
  /** The matching `ssh-rsa BASE64` recipient. */
  readonly recipient: string;
  readonly tag: string;
  readonly #key: KeyObject;

  /** `jwk` is the private key; it must belong to `publicKey` (see decryptOpenSshPrivateKey). */
  constructor(jwk: RsaPrivateJwk, publicKey: SshRsaPublicKey, source = 'SSH key') {
    try {
      this.#key = createPrivateKey({ key: jwk, format: 'jwk' });
    } catch {
      throw new GitSealError(`${source}: invalid RSA private key`, 'check the key file with `ssh-keygen -y -f FILE`');
    }
    this.recipient = sshPublicKeyString(publicKey);
    this.tag = sshTag(publicKey.blob);
  }

  /**
   * The file key, or null if no ssh-rsa stanza carries this key's tag. Like Go age, a malformed
   * ssh-rsa stanza, or one with our tag that does not decrypt, is an error.
   */
  unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
    for (const s of stanzas) {
      if (s.args[0] !== SSH_RSA) continue;
      if (s.args.length !== 2) throw new GitSealError('malformed ssh-rsa stanza in the age header', CORRUPT_HINT);
      if (s.args[1] !== this.tag) continue;
      try {
        const body = Buffer.from(s.body.buffer, s.body.byteOffset, s.body.byteLength);
        return new Uint8Array(privateDecrypt({ key: this.#key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: OAEP_LABEL }, body));
      } catch {
        throw new GitSealError('the ssh-rsa stanza for this key does not decrypt', CORRUPT_HINT);
      }
    }
    return null;
  }
}
