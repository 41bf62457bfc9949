/**
 * Passphrase-protected identity files, as `age-keygen | age -p -a > keys.txt.age` makes them: an age
 * file (armored or binary) with one scrypt stanza whose plaintext is an ordinary identity file.
 * Recognised by content, like Go age does, wherever an identity file is read. The passphrase is asked
 * on the terminal only when a file has to be opened that no plain identity could, and scrypt runs
 * once per process (typage's Decrypter.addPassphrase; age -p's work factor 2^18 takes about a second).
 * typage is imported only then, so the filter's cold start does not pay for it.
 */
import { createHash } from 'node:crypto';
import { GitSealError } from '../errors.js';
import { DeferredIdentity } from './deferred.js';
import { askPassphrase } from './prompt.js';

const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const BINARY_BEGIN = 'age-encryption.org/v1\n';
/** Wrong passphrases tolerated before giving up, as ssh does. */
const ATTEMPTS = 3;

/** True when `bytes` is an age-encrypted file rather than plain identity text. */
export function isPassphraseProtected(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 64)).toString('latin1');
  return head.trimStart().startsWith(ARMOR_BEGIN) || head.startsWith(BINARY_BEGIN);
}

async function binaryOf(bytes: Uint8Array, source: string): Promise<Uint8Array> {
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.trimStart().startsWith(ARMOR_BEGIN)) return bytes;
  const { armor } = await import('age-encryption');
  try {
    return armor.decode(text.trim());
  } catch {
    throw new GitSealError(`${source}: damaged passphrase-protected identity file (bad armor)`, 'restore it from your backup');
  }
}

/** One attempt: the identity text, or null when the passphrase is wrong. */
async function decryptWith(file: Uint8Array, passphrase: string, source: string): Promise<string | null> {
  const { Decrypter } = await import('age-encryption');
  const d = new Decrypter();
  d.addPassphrase(passphrase);
  try {
    return await d.decrypt(file, 'text');
  } catch (err) {
    const why = (err as Error).message;
    if (/no identity matched/.test(why)) return null;
    if (/not the only one/.test(why)) throw new GitSealError(`${source}: not a passphrase-protected identity file (it is encrypted to recipients, not with a passphrase)`, 'decrypt it with `age -d` and use the result');
    if (/work factor/.test(why)) throw new GitSealError(`${source}: scrypt work factor above 2^20 is not supported`, 're-encrypt it with `age -p` (work factor 2^18)');
    throw new GitSealError(`${source}: damaged passphrase-protected identity file (${why})`, 'restore it from your backup');
  }
}

/** The identity of a passphrase-protected file at `source`; nothing is asked until it is needed. */
export function passphraseIdentityFile(bytes: Uint8Array, source: string): DeferredIdentity {
  const digest = createHash('sha256').update(bytes).digest('hex');
  return new DeferredIdentity(source, `scrypt:${digest}`, async () => {
    const file = await binaryOf(bytes, source);
    for (let attempt = 1; ; attempt++) {
      const text = await decryptWith(file, await askPassphrase(source), source);
      if (text !== null) return text;
      if (attempt === ATTEMPTS) throw new GitSealError(`${source}: wrong passphrase (${ATTEMPTS} attempts)`, 'run the command again; if the passphrase is lost, so is this identity');
      process.stderr.write(`git-seal: wrong passphrase for ${source}, try again\n`);
    }
  });
}

/** Encrypt identity text with a passphrase: armored, one scrypt stanza, exactly what `age -p -a` writes. */
export async function protectIdentityText(text: string, passphrase: string): Promise<string> {
  const { armor, Encrypter } = await import('age-encryption');
  const e = new Encrypter();
  e.setPassphrase(passphrase);
  return armor.encode(await e.encrypt(text));
}
