import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SealFilter } from '../../src/git/filter.js';
import { parseSealed } from '../../src/format/seal.js';
import { cleanupTempDirs, git, isolatedEnv, makeKey, tempDir, type TestKey } from '../helpers.js';

afterAll(cleanupTempDirs);

describe('SealFilter.clean', () => {
  let key: TestKey;
  let root: string;
  beforeAll(async () => {
    key = await makeKey();
    root = tempDir();
    git(['init', '-q'], { cwd: root, env: isolatedEnv(root) });
    writeFileSync(join(root, '.gitseal.toml'), `[recipients]\nme = "${key.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["me"]\n`);
    mkdirSync(join(root, '.dlt'));
  });

  it('seals plaintext whose multi-line string contains a [gitseal] line', async () => {
    const plain = 'note = """\n[gitseal]\n"""\npassword = "leak-me-not-123"\n';
    const filter = new SealFilter(root, [key.file], () => {});
    try {
      const out = (await filter.clean('.dlt/secrets.toml', Buffer.from(plain))).toString();
      expect(out).not.toContain('leak-me-not-123');
      expect(parseSealed(out, 'x')).not.toBeNull();
    } finally {
      filter.close();
    }
  });
});
