import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, gitSeal, isolatedEnv, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

describe('git-seal demo (the README main job)', () => {
  it('runs offline end to end, shows sealed blobs and masked CI values, and says where the repository is', () => {
    const home = tempDir();
    const tmp = tempDir();
    const r = gitSeal(['demo'], { env: isolatedEnv(home, { TMPDIR: tmp }) });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('ENC[gitseal.v1,');
    expect(r.stdout).toMatch(/SOURCES__STRIPE__API_KEY=sk_l\*\*\*\*/);
    const demoDir = readdirSync(tmp).find((d) => d.startsWith('git-seal-demo-'));
    expect(demoDir).toBeDefined();
    expect(r.stdout).toContain(`The demo repository is ${join(tmp, demoDir!, 'analytics')}`);
  });
});
