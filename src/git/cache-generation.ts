import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `lock` deletes the caches in `.git/git-seal/`; a filter process that was already running must not write
 * them back when it ends. lock also writes a new generation here, and a cache saves only while the
 * generation it read when it loaded is still the current one.
 */
const FILE = 'cache-generation';

export function cacheGeneration(gitSealDir: string): string {
  try {
    return readFileSync(join(gitSealDir, FILE), 'latin1');
  } catch {
    return '';
  }
}

/** Start a new generation: caches loaded before now do not save. */
function newCacheGeneration(gitSealDir: string): void {
  try {
    writeFileSync(join(gitSealDir, FILE), randomBytes(16).toString('hex'), { mode: 0o600 });
  } catch {
    /* no git-seal dir: no cache to protect */
  }
}

/**
 * Delete cache files (lock): a new generation first, then the files and the temp files of their writes
 * that were killed before the rename (`.<name>.<pid>-<hex>.tmp`, see atomic-write.ts).
 */
export function forgetCacheFiles(gitSealDir: string, files: readonly string[]): void {
  newCacheGeneration(gitSealDir);
  for (const f of files) rmSync(join(gitSealDir, f), { force: true });
  let names: string[] = [];
  try {
    names = readdirSync(gitSealDir);
  } catch {
    return; // no git-seal dir
  }
  for (const name of names) if (name.endsWith('.tmp') && files.some((f) => name.startsWith(`.${f}.`))) rmSync(join(gitSealDir, name), { force: true });
}
