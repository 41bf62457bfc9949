import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tempDir } from '../helpers.js';
import { person, type Person } from '../e2e/team.js';

/** Someone with their own HOME (default identity and git config): the shared test person. */
export type User = Person;
export const user = person;

export const SECRETS = `# dlt secrets
[sources.stripe]
api_key = "sk_live_51HxYzStripeSecret" # rotated 2026-01
retries = 3

[destination.postgres.credentials]
database = "analytics"
password = "pg-pass-correct-horse"
port = 5432
`;

export const SECRET_STRINGS = ['sk_live_51HxYzStripeSecret', 'pg-pass-correct-horse', 'analytics'];

/** A repository set up by `owner` (git-seal init, filter installed) with `files` committed. */
export function repoWith(owner: User, files: Record<string, string> = { '.dlt/secrets.toml': SECRETS }): string {
  const dir = join(tempDir('gitseal-repo-'), 'repo');
  mkdirSync(dir);
  owner.git(['init', '-q'], dir);
  const r = owner.seal(['init', '--no-hook'], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  writeFiles(dir, files);
  owner.git(['add', '-A'], dir);
  owner.git(['commit', '-q', '-m', 'initial secrets'], dir);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
}

/** A clone without the filter: secrets files are sealed on disk. */
export function sealedClone(who: User, origin: string): string {
  const dir = join(tempDir('gitseal-clone-'), 'clone');
  who.git(['clone', '-q', origin, dir], origin);
  return dir;
}

export function read(dir: string, path: string): string {
  return readFileSync(join(dir, path), 'utf8');
}

/** Lines that differ between two versions of a file, as [removed, added]. */
export function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  const count = (lines: string[]) => lines.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const ca = count(a);
  const cb = count(b);
  const removed = a.filter((l) => {
    const n = cb.get(l) ?? 0;
    if (n > 0) {
      cb.set(l, n - 1);
      return false;
    }
    return true;
  });
  const added = b.filter((l) => {
    const n = ca.get(l) ?? 0;
    if (n > 0) {
      ca.set(l, n - 1);
      return false;
    }
    return true;
  });
  return { removed, added };
}
