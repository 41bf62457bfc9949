import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSealed } from '../../src/format/seal.js';
import { BIN, cleanupTempDirs, run } from '../helpers.js';
import { person, repoWith, type Person } from '../e2e/team.js';
import { clone, commitAll, openAs, PROD, seal } from './helpers.js';

const N = 40;
const paths = Array.from({ length: N }, (_, i) => `p${String(i).padStart(2, '0')}/.dlt/prod.secrets.toml`);
const plaintext = (i: number) => PROD.replace('sk_live_prod_51Hx', `sk_live_prod_${i}_51Hx`);

/** Run git until it succeeds: a killed git-seal may leave its git child finishing an index write. */
async function gitRetry(p: Person, args: string[], cwd: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (run('git', args, { cwd, env: p.env }).status === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`git ${args.join(' ')} keeps failing`);
}

function runRekey(dir: string, env: NodeJS.ProcessEnv, killAfterMs: number | null): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'rekey', '--quiet'], { cwd: dir, env, stdio: 'ignore' });
    const timer = killAfterMs === null ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

function workFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('.git/') && f !== '.git' && statSync(join(dir, f)).isFile());
}

describe('a rekey killed at any point', () => {
  afterAll(cleanupTempDirs);

  it('leaves every file (on disk and in the index) fully old or fully new, and openable', async () => {
    const alice = person('alice');
    const bob = person('bob');
    const files = Object.fromEntries(paths.map((p, i) => [p, plaintext(i)]));
    const origin = repoWith(alice, files);
    seal(alice, ['recipients', 'add', 'bob', bob.recipient, '--profile', 'prod'], origin);
    commitAll(alice, origin, 'bob joins prod');

    // A clone without the filter: files sealed on disk, so rekey rewrites them there and stages them.
    const dir = clone(alice, origin);
    seal(alice, ['recipients', 'remove', 'bob', '--no-rekey'], dir);
    const old = paths.map((p) => readFileSync(join(dir, p), 'utf8'));

    const reset = async () => {
      await gitRetry(alice, ['reset', '-q'], dir);
      await gitRetry(alice, ['checkout', '-q', 'HEAD', '--', ...paths], dir);
    };
    const indexBlobs = () => {
      const out = alice.git(['ls-files', '-s', '-z', ...paths], dir).split('\0').filter(Boolean);
      return out.map((rec) => alice.git(['cat-file', 'blob', rec.split(' ')[1]], dir));
    };
    let sawOld = 0;
    let sawNew = 0;
    const verify = async () => {
      const disk = paths.map((p) => readFileSync(join(dir, p), 'utf8'));
      for (const [where, texts] of [
        ['disk', disk],
        ['index', indexBlobs()],
      ] as const) {
        for (let i = 0; i < N; i++) {
          if (texts[i] === old[i]) {
            sawOld++;
            continue;
          }
          sawNew++;
          const sealed = parseSealed(texts[i], paths[i]);
          expect(sealed?.meta.recipients, `${where} ${paths[i]}`).toEqual([alice.recipient]);
          expect(await openAs(alice, texts[i]), `${where} ${paths[i]}`).toBe(plaintext(i));
          expect(await openAs(bob, texts[i]), `${where} ${paths[i]}`).toBeNull();
        }
      }
      // Whatever a kill leaves behind (temporary files included) holds no plaintext.
      for (const f of workFiles(dir)) expect(readFileSync(join(dir, f), 'utf8'), f).not.toMatch(/sk_live_prod_\d+_51Hx|pg-prod-correct-horse/);
    };

    const t0 = Date.now();
    const full = await runRekey(dir, alice.env, null);
    expect(full.code).toBe(0);
    const duration = Date.now() - t0;
    await verify();
    expect(sawNew).toBe(2 * N);

    // Kill at spread-out moments of a run, most of them past start-up (timing only samples kill points;
    // nothing asserts on time).
    const kills = 16;
    for (let k = 1; k <= kills; k++) {
      await reset();
      const r = await runRekey(dir, alice.env, Math.round(duration * (0.3 + (0.75 * k) / kills)));
      expect(r.signal === 'SIGKILL' || r.code === 0).toBe(true);
      await verify();
    }
    expect(sawOld).toBeGreaterThan(0);

    // After a kill, running rekey again finishes the job, with the same version on disk and staged.
    await reset();
    await runRekey(dir, alice.env, Math.round(duration / 2));
    expect((await runRekey(dir, alice.env, null)).code).toBe(0);
    sawNew = 0;
    await verify();
    expect(sawNew).toBe(2 * N);
    expect(alice.git(['status', '--porcelain', ...paths], dir)).toBe(paths.map((p) => `M  ${p}\n`).join(''));
  }, 240_000);
});
