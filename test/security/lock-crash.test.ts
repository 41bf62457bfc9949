import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allObjects, cleanupTempDirs, person, repoWith, SECRET_STRINGS, SECRETS, startSeal } from '../helpers.js';
import { stopped } from './proc.js';

afterAll(cleanupTempDirs);

const FILES = ['.dlt/secrets.toml', 'other/.dlt/secrets.toml'];

// lock seals the working copies and removes the filter config. Killed in between, it must never leave
// plaintext copies behind with the filter gone: then `git add -A` would commit them as they are.
describe('lock killed right after it removes the filter config', () => {
  it('has already sealed every copy it writes itself: nothing git can commit holds plaintext', async () => {
    const alice = person('alice');
    const dir = repoWith(alice, Object.fromEntries(FILES.map((f) => [f, SECRETS])));
    for (const f of FILES) expect(readFileSync(join(dir, f), 'utf8')).toBe(SECRETS);
    const run = startSeal(['lock'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'lock-filter-removed' } });
    await stopped(run);
    process.kill(run.pid, 'SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    expect(alice.git(['config', '--get', 'filter.git-seal.process'], dir, { allowFail: true })).toBe('');
    for (const f of FILES) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text).toContain('ENC[gitseal.v1,');
      for (const s of SECRET_STRINGS) expect(text, `${f} holds ${s}`).not.toContain(s);
    }
    alice.git(['add', '-A'], dir);
    alice.git(['commit', '-q', '--allow-empty', '-m', 'after the crash'], dir);
    for (const s of SECRET_STRINGS) expect(allObjects(alice, dir)).not.toContain(s);
  });
});
