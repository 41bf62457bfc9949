import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp directory; call the returned cleanup in afterEach/afterAll. */
export function tempDir(prefix = 'git-seal-age-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function probe(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

/** The Go age CLI (`age`, `age-keygen`) is on PATH. */
export const hasAgeCli = probe('age', ['--version']) && probe('age-keygen', ['--version']);
/** The installed age-keygen supports `-pq` (age >= 1.3). */
export const ageCliHasPq = hasAgeCli && probe('age-keygen', ['-pq']);

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
