/**
 * age's ssh-ed25519 recipient type (C2SP age spec, "ssh-ed25519 recipient stanza"), on node:crypto;
 * @noble/curves converts the recipient's Ed25519 point to its X25519 u-coordinate.
 *
 *   -> ssh-ed25519 <tag> <base64(ephemeral share)>
 *   <base64(ChaCha20-Poly1305(wrap key, zero nonce, file key))>
 *
 *   tag      = base64(SHA-256(SSH public key blob)[:4])
 *   tweak    = HKDF-SHA256(ikm = "", salt = SSH public key blob, info = label)
 *   secret   = X25519(tweak, X25519(ephemeral, u(recipient)))
 *   wrap key = HKDF-SHA256(ikm = secret, salt = share || u(recipient), info = label)
 *   label    = "age-encryption.org/v1/ssh-ed25519"
 *
 * The identity's X25519 scalar is SHA-512(Ed25519 seed)[:32], as Go age derives it.
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import type { Identity, Recipient, Stanza } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { decodeBase64NoPad, encodeBase64NoPad } from './base64.js';
import { SSH_ED25519, sshPublicKeyString, sshTag, type SshEd25519PublicKey } from './openssh-key.js';
import { generateKeyPair, importPublicKey, openFileKey, privateKeyFromScalar, rawPublicKey, sealFileKey, sharedSecret } from './x25519.js';

const LABEL = Buffer.from('age-encryption.org/v1/ssh-ed25519', 'ascii');
const CORRUPT_HINT = 'the encrypted file is corrupt or was tampered with; restore it from git history';


/** The X25519 private key OpenSSL multiplies by to apply the key's tweak. */
function tweakKey(blob: Uint8Array): KeyObject {
  return privateKeyFromScalar(new Uint8Array(hkdfSync('sha256', new Uint8Array(0), blob, LABEL, 32)));
}

function wrapKey(secret: Uint8Array, share: Uint8Array, recipient: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.concat([share, recipient]), LABEL, 32));
}

function tweaked(secret: Buffer, tweak: KeyObject): Buffer {
  const out = sharedSecret(tweak, importPublicKey(secret));
  secret.fill(0);
  if (out === null) throw new GitSealError('ssh-ed25519: tweaked shared secret is zero', CORRUPT_HINT);
  return out;
}

export class SshEd25519Recipient implements Recipient {
  readonly type = SSH_ED25519;
  /** `ssh-ed25519 BASE64`, without comment. */
  readonly recipient: string;
  readonly tag: string;
  readonly #key: SshEd25519PublicKey;
  #montgomery: Promise<{ u: Uint8Array; key: KeyObject; tweak: KeyObject }> | undefined;

  constructor(key: SshEd25519PublicKey) {
    this.#key = key;
    this.recipient = sshPublicKeyString(key);
    this.tag = sshTag(key.blob);
  }

  #convert(): Promise<{ u: Uint8Array; key: KeyObject; tweak: KeyObject }> {
    // noble is loaded only when someone encrypts to an SSH key.
    this.#montgomery ??= import('@noble/curves/ed25519.js').then(({ ed25519 }) => {
      let u: Uint8Array;
      try {
        u = ed25519.utils.toMontgomery(this.#key.ed25519);
      } catch {
        throw new GitSealError(`SSH recipient ${this.recipient.slice(0, 30)}… is not a valid Ed25519 public key`, 'ask its owner for the key in ~/.ssh/id_ed25519.pub again');
      }
      return { u, key: importPublicKey(u), tweak: tweakKey(this.#key.blob) };
    });
    return this.#montgomery;
  }

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    const { u, key, tweak } = await this.#convert();
    const { scalar, privateKey, share } = generateKeyPair();
    scalar.fill(0);
    const shared = sharedSecret(privateKey, key);
    if (shared === null) {
      throw new GitSealError(`SSH recipient ${this.recipient.slice(0, 30)}… is not a usable Ed25519 key (low-order point)`, 'remove it from the recipients and ask its owner for their real key');
    }
    const secret = tweaked(shared, tweak);
    const body = sealFileKey(wrapKey(secret, share, u), fileKey);
    secret.fill(0);
    return [{ args: [SSH_ED25519, this.tag, encodeBase64NoPad(share)], body } as Stanza];
  }
}

/** The Ed25519 public key (32 bytes) of a seed, on node:crypto. */
function ed25519PublicOfSeed(seed: Uint8Array): Buffer {
  const k = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(seed).toString('base64url'), x: '' }, format: 'jwk' });
  return Buffer.from(createPublicKey(k).export({ format: 'jwk' }).x as string, 'base64url');
}

export class SshEd25519Identity implements Identity {
  readonly type = SSH_ED25519;
  /** The matching `ssh-ed25519 BASE64` recipient. */
  readonly recipient: string;
  readonly tag: string;
  readonly #x25519: KeyObject;
  readonly #u: Uint8Array;
  readonly #tweak: KeyObject;

  /** `seed` is the 32-byte Ed25519 private seed; it must belong to `publicKey`. */
  constructor(seed: Uint8Array, publicKey: SshEd25519PublicKey, source = 'SSH key') {
    if (seed.length !== 32 || !ed25519PublicOfSeed(seed).equals(publicKey.ed25519)) {
      throw new GitSealError(`${source}: Ed25519 private key does not match its public key`, 'check the key file with `ssh-keygen -y -f FILE`');
    }
    const scalar = createHash('sha512').update(seed).digest().subarray(0, 32);
    this.#x25519 = privateKeyFromScalar(scalar);
    scalar.fill(0);
    this.#u = rawPublicKey(this.#x25519);
    this.#tweak = tweakKey(publicKey.blob);
    this.recipient = sshPublicKeyString(publicKey);
    this.tag = sshTag(publicKey.blob);
  }

  /**
   * The file key, or null if no ssh-ed25519 stanza carries this key's tag. Like Go age, a malformed
   * ssh-ed25519 stanza, or one with our tag that does not decrypt, is an error.
   */
  unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
    for (const s of stanzas) {
      if (s.args[0] !== SSH_ED25519) continue;
      const share = s.args.length === 3 ? decodeBase64NoPad(s.args[2]) : null;
      if (share === null || share.length !== 32) throw new GitSealError('malformed ssh-ed25519 stanza in the age header', CORRUPT_HINT);
      if (s.args[1] !== this.tag) continue;
      if (s.body.length !== 32) throw new GitSealError('malformed ssh-ed25519 stanza in the age header', CORRUPT_HINT);
      const shared = sharedSecret(this.#x25519, importPublicKey(share));
      if (shared === null) throw new GitSealError('invalid ssh-ed25519 stanza in the age header (low-order ephemeral share)', CORRUPT_HINT);
      const secret = tweaked(shared, this.#tweak);
      const fileKey = openFileKey(wrapKey(secret, share, this.#u), s.body);
      secret.fill(0);
      if (fileKey === null) throw new GitSealError('the ssh-ed25519 stanza for this key does not decrypt', CORRUPT_HINT);
      return fileKey;
    }
    return null;
  }
}
