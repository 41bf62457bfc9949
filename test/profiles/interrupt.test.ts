import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSealed } from '../../src/format/seal.js';
import { BIN, cleanupTempDirs, commitAll, compileModule, openAs, person, type Person, PROD, repoWith, ROOT, run, seal, sealedClone, tempDir } from '../helpers.js';

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

/**
 * A rekey that kills itself (SIGKILL) at an exact point: just before its `killAtRename`-th rename
 * (the atomic write of a file: temp file written, target not yet replaced), or right after its
 * `killAfterFiles`-th file (every work-tree file written, the index not yet staged). Deterministic,
 * unlike a kill after a measured delay; 0 means no kill.
 */
const KILLER = `
import { createRequire, syncBuiltinESMExports } from 'node:module';
const require = createRequire(import.meta.url);
const fs = require('node:fs');
const killAtRename = Number(process.env.KILL_AT_RENAME);
const killAfterFiles = Number(process.env.KILL_AFTER_FILES);
let renames = 0;
const rename = fs.renameSync;
fs.renameSync = function (...args) {
  if (++renames === killAtRename) process.kill(process.pid, 'SIGKILL');
  return rename.apply(this, args);
};
syncBuiltinESMExports();
const out = process.env.REKEY_OUT;
const { rekey } = await import(out + '/api/rekey.js');
const { findRepo } = await import(out + '/git/repo.js');
const { loadIdentities } = await import(out + '/age/index.js');
const { identities } = await loadIdentities({ identityFiles: [], env: process.env });
await rekey(findRepo(), { identities, onFile: (done) => { if (done === killAfterFiles) process.kill(process.pid, 'SIGKILL'); } });
`;

let killer = '';
let compiled = '';

interface KillPoint {
  atRename?: number;
  afterFiles?: number;
}

function runRekey(dir: string, env: NodeJS.ProcessEnv, kill: KillPoint | null): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child =
      kill === null
        ? spawn(process.execPath, [BIN, 'rekey', '--quiet'], { cwd: dir, env, stdio: 'ignore' })
        : spawn(process.execPath, [killer], {
            cwd: dir,
            env: { ...env, REKEY_OUT: compiled, KILL_AT_RENAME: String(kill.atRename ?? 0), KILL_AFTER_FILES: String(kill.afterFiles ?? 0) },
            stdio: 'ignore',
          });
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

function workFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('.git/') && f !== '.git' && statSync(join(dir, f)).isFile());
}

describe('a rekey killed at any point', () => {
  afterAll(cleanupTempDirs);
  beforeAll(() => {
    const out = tempDir('gitseal-rekey-dist-');
    compileModule('api/rekey.ts', out); // with git/repo.js and age/index.js, which it imports
    symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules')); // for picomatch, age-encryption, …
    compiled = out;
    killer = join(out, 'killer.mjs');
    writeFileSync(killer, KILLER);
  }, 240_000);

  it('leaves every file (on disk and in the index) fully old or fully new, and openable', async () => {
    const alice = person('alice');
    const bob = person('bob');
    const files = Object.fromEntries(paths.map((p, i) => [p, plaintext(i)]));
    const origin = repoWith(alice, files);
    seal(alice, ['recipients', 'add', 'bob', bob.recipient, '--profile', 'prod'], origin);
    commitAll(alice, origin, 'bob joins prod');

    // A clone without the filter: files sealed on disk, so rekey rewrites them there and stages them.
    const dir = sealedClone(alice, origin);
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

    const full = await runRekey(dir, alice.env, null);
    expect(full.code).toBe(0);
    await verify();
    expect(sawNew).toBe(2 * N);

    // Kill just before the first, a middle and the last file's rename, at points in between, and
    // after every file is written but before the index is staged.
    const points: KillPoint[] = [1, 2, 7, 14, 20, 27, 33, N].map((atRename) => ({ atRename }));
    points.push({ afterFiles: N });
    for (const point of points) {
      await reset();
      sawOld = 0;
      sawNew = 0;
      const r = await runRekey(dir, alice.env, point);
      expect(r.signal, JSON.stringify(point)).toBe('SIGKILL');
      await verify();
      // Files renamed before the kill are new on disk, the others old; the index is never staged.
      const newOnDisk = point.atRename !== undefined ? point.atRename - 1 : N;
      expect(sawNew, JSON.stringify(point)).toBe(newOnDisk);
      expect(sawOld, JSON.stringify(point)).toBe(2 * N - newOnDisk);
    }

    // After a kill, running rekey again finishes the job, with the same version on disk and staged.
    await reset();
    expect((await runRekey(dir, alice.env, { atRename: N / 2 })).signal).toBe('SIGKILL');
    expect((await runRekey(dir, alice.env, null)).code).toBe(0);
    sawNew = 0;
    await verify();
    expect(sawNew).toBe(2 * N);
    expect(alice.git(['status', '--porcelain', ...paths], dir)).toBe(paths.map((p) => `M  ${p}\n`).join(''));
  }, 240_000);
});
