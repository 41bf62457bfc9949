import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { GitSealError } from '../errors.js';
import { defaultKeyFile } from './discovery.js';
import { formatIdentityFile } from './identity-file.js';
import { generateIdentity } from './keys.js';

export interface CreatedIdentity {
  recipient: string;
  identity: string;
  /** Where it was written; undefined when printed to stdout. */
  path?: string;
}

/** Make a new identity and write it in age-keygen's format (0600, never overwriting), or print it for `-`. */
export async function createIdentityFile(opts: { output?: string; pq?: boolean; env?: NodeJS.ProcessEnv }): Promise<CreatedIdentity> {
  const { identity, recipient } = await generateIdentity({ pq: opts.pq ?? false });
  const text = formatIdentityFile(identity, recipient);
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
