import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { git, gitSeal, isolatedEnv, tempDir, type RunOptions } from '../helpers.js';

/** A person with their own HOME (and so their own default key and git config). */
export interface Person {
  name: string;
  home: string;
  env: NodeJS.ProcessEnv;
  recipient: string;
  /** Run git-seal as this person. */
  seal(args: string[], opts?: RunOptions): ReturnType<typeof gitSeal>;
  /** Run git as this person; throws on failure unless allowFail. */
  git(args: string[], cwd: string, opts?: { allowFail?: boolean; input?: string }): string;
}

export function person(name: string, opts: { withKey?: boolean } = {}): Person {
  const home = tempDir(`gitseal-${name}-`);
  const env = isolatedEnv(home);
  writeFileSync(join(home, '.gitconfig'), `[user]\n\tname = ${name}\n\temail = ${name}@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n`);
  let recipient = '';
  if (opts.withKey !== false) {
    const r = gitSeal(['keygen'], { env });
    expect(r.status, r.stderr).toBe(0);
    recipient = r.stdout.trim();
  }
  return {
    name,
    home,
    env,
    recipient,
    seal: (args, o = {}) => gitSeal(args, { env, ...o }),
    git: (args, cwd, o = {}) => git(args, { cwd, env, ...o }),
  };
}

export const SECRETS = `# dlt secrets for the stripe pipeline
[sources.stripe]
api_key = "sk_live_51HxYzStripeSecret" # rotated 2026-01
retries = 3

[destination.postgres.credentials]
database = "analytics"
password = "pg-pass-correct-horse"
host = "db.internal.example"
port = 5432
connect_timeout = 15.5
sslmode_required = true
created = 2026-01-02T03:04:05Z
schemas = ["raw", "staging"]
`;

export const SECRET_STRINGS = ['sk_live_51HxYzStripeSecret', 'pg-pass-correct-horse', 'db.internal.example', 'analytics'];

/** A repository set up by `owner` with git-seal init and the given files committed. */
export function repoWith(owner: Person, files: Record<string, string>, opts: { hook?: boolean } = {}): string {
  const dir = join(tempDir('gitseal-repo-'), 'repo');
  mkdirSync(dir);
  owner.git(['init', '-q'], dir);
  const r = owner.seal(['init', opts.hook ? '--hook' : '--no-hook'], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  owner.git(['add', '-A'], dir);
  owner.git(['commit', '-q', '-m', 'initial secrets'], dir);
  return dir;
}

/** Every object in the repository's object store, as text. */
export function allObjects(p: Person, dir: string): string {
  return p.git(['cat-file', '--batch-all-objects', '--batch'], dir);
}
