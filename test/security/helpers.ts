import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from 'age-encryption';
import { parseIdentityFile } from '../../src/age/index.js';
import { openText } from '../../src/format/seal.js';
import type { Person } from '../e2e/team.js';

/** A person's default identities (their keys.txt), for decrypting in-process. */
export function identitiesOf(p: Person): Identity[] {
  const file = join(p.home, '.config', 'git-seal', 'keys.txt');
  return parseIdentityFile(readFileSync(file, "utf8"), file);
}

/** The plaintext of a sealed text for these identities, or null when they cannot open it. */
export async function tryOpen(sealed: string, identities: Identity[]): Promise<string | null> {
  try {
    return await openText(sealed, identities);
  } catch {
    return null;
  }
}

export interface StoredObject {
  oid: string;
  type: string;
  content: Buffer;
}

/** Every object in a repository (loose and packed, reachable or not), from one cat-file call. */
export function allObjectsOf(dir: string, env: NodeJS.ProcessEnv): StoredObject[] {
  const r = spawnSync('git', ['cat-file', '--batch-all-objects', '--batch'], { cwd: dir, env, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git cat-file failed: ${r.stderr}`);
  const out = r.stdout;
  const objects: StoredObject[] = [];
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    const [oid, type, size] = out.subarray(pos, nl).toString('latin1').split(' ');
    const start = nl + 1;
    const end = start + Number(size);
    objects.push({ oid, type, content: out.subarray(start, end) });
    pos = end + 1;
  }
  return objects;
}
