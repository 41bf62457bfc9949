import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { GitSealError } from '../errors.js';
import { defaultKeyFile } from './discovery.js';
import { formatIdentityFile } from './identity-file.js';
import { generateIdentity } from './keys.js';
import { storeInKeyring } from './keyring.js';
import { protectIdentityText } from './scrypt-identity-file.js';

export interface CreatedIdentity {
  recipient: string;
  identity: string;
  /** Where it was written; undefined when printed to stdout. */
  path?: string;
}

/**
 * Make a new identity and write it in age-keygen's format (0600, never overwriting), or print it for
 * `-`. With `passphrase`, the file is what `age-keygen | age -p -a` writes.
 */
export async function createIdentityFile(opts: { output?: string; pq?: boolean; env?: NodeJS.ProcessEnv; passphrase?: string }): Promise<CreatedIdentity> {
  const { identity, recipient } = await generateIdentity({ pq: opts.pq ?? false });
  const plain = formatIdentityFile(identity, recipient);
  const text = opts.passphrase === undefined ? plain : await protectIdentityText(plain, opts.passphrase);
  if (opts.output === '-') {
    process.stdout.write(text);
    return { identity, recipient };
  }
  const path = opts.output ?? defaultKeyFile(opts.env ?? process.env, homedir());
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new GitSealError(`${path}: already exists; refusing to overwrite an identity`, 'choose another --output, or remove the file if you are sure it is unused');
    }
    throw new GitSealError(`${path}: cannot be created (${(err as NodeJS.ErrnoException).code})`, 'check the directory permissions');
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return { identity, recipient, path };
}

/** Make a new identity and store it in the OS keyring (refusing to replace one already there). */
export async function createKeyringIdentity(opts: { pq?: boolean }): Promise<CreatedIdentity> {
  const { identity, recipient } = await generateIdentity({ pq: opts.pq ?? false });
  await storeInKeyring(formatIdentityFile(identity, recipient));
  return { identity, recipient };
}
