import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseIdentityFile } from '../../src/age/index.js';
import { openSealed, parseSealed } from '../../src/format/seal.js';
import { tempDir } from '../helpers.js';
import type { Person } from '../e2e/team.js';

export const PROD = `# prod credentials for the stripe pipeline
[sources.stripe]
api_key = "sk_live_prod_51Hx" # rotated 2026-01
retries = 3

[destination.postgres.credentials]
password = "pg-prod-correct-horse"
host = "db.prod.internal"
port = 5432
schemas = ["raw", "staging"]
`;

export const ACCESS = `# read-only credentials for notebooks
[destination.postgres.credentials]
password = "pg-readonly-battery"
host = "db.prod.internal"
`;

export const PROD_PATH = '.dlt/prod.secrets.toml';
export const ACCESS_PATH = '.dlt/secrets.access.toml';

/** Clone `from` as `p` (without git-seal install). */
export function clone(p: Person, from: string): string {
  const dir = join(tempDir(`gitseal-${p.name}-clone-`), 'repo');
  p.git(['clone', '-q', from, dir], process.cwd());
  return dir;
}

/** Run git-seal as `p`, expecting success. */
export function seal(p: Person, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { stdout: string; stderr: string } {
  const r = p.seal(args, { cwd, env: { ...p.env, ...env } });
  expect(r.status, `git-seal ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr };
}

export function commitAll(p: Person, dir: string, message: string): string {
  p.git(['add', '-A'], dir);
  p.git(['commit', '-q', '-m', message], dir);
  return p.git(['rev-parse', 'HEAD'], dir).trim();
}

export function blob(p: Person, dir: string, spec: string): string {
  return p.git(['cat-file', 'blob', spec], dir);
}

/** `env` output as a map. */
export function envMap(stdout: string): Record<string, string> {
  const m: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) m[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return m;
}

/** The default identity of a person (their ~/.config/git-seal/keys.txt). */
export function identitiesOf(p: Person) {
  return parseIdentityFile(readFileSync(join(p.home, '.config', 'git-seal', 'keys.txt'), 'utf8'), p.name);
}

/** The plaintext of sealed text if `p` can open it, else null. */
export async function openAs(p: Person, text: string): Promise<string | null> {
  const sealed = parseSealed(text, 'file');
  if (!sealed) throw new Error('not sealed');
  try {
    return (await openSealed(sealed, identitiesOf(p), 'file')).plaintext;
  } catch {
    return null;
  }
}

/** Lines of a unified diff that were added or removed (headers excluded). */
export function changedLines(diff: string): string[] {
  return diff.split('\n').filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---) /.test(l));
}
