import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIdentityFile } from '../src/age/index.js';
import { cleanupTempDirs, gitSeal, isolatedEnv, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

describe('git-seal keygen', () => {
  it('writes an age-keygen style identity (0600) to the default location and prints the public key', async () => {
    const home = tempDir();
    const env = isolatedEnv(home);
    const r = gitSeal(['keygen'], { env });
    expect(r.status, r.stderr).toBe(0);
    const file = join(home, '.config', 'git-seal', 'keys.txt');
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\n# public key: age1[0-9a-z]+\nAGE-SECRET-KEY-1[0-9A-Z]+\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(text).toContain(`# public key: ${r.stdout.trim()}`);
    expect(r.stdout).not.toContain('AGE-SECRET-KEY');
    expect(parseIdentityFile(text, file)).toHaveLength(1);
  });

  it('never overwrites an existing identity', () => {
    const home = tempDir();
    const out = join(home, 'k.txt');
    expect(gitSeal(['keygen', '-o', out], { env: isolatedEnv(home) }).status).toBe(0);
    const before = readFileSync(out, 'utf8');
    const again = gitSeal(['keygen', '-o', out], { env: isolatedEnv(home) });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/k\.txt: already exists; refusing to overwrite/);
    expect(readFileSync(out, 'utf8')).toBe(before);
  });

  it('--output - prints the identity for a deploy key; --pq makes a post-quantum one', () => {
    const home = tempDir();
    const r = gitSeal(['keygen', '--output', '-', '--pq'], { env: isolatedEnv(home) });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/# public key: age1pq1[0-9a-z]+\nAGE-SECRET-KEY-PQ-1[0-9A-Z]+\n$/);
    expect(r.stderr).toMatch(/^Public key: age1pq1/);
  });
});
