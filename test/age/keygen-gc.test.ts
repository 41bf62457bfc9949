import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

const ROOT = resolve(import.meta.dirname, '../..');

// In Node 20, exporting a key made by generateKeyPairSync can deadlock the whole process: a garbage
// collection during the export destroys the finished key-generation job, which waits for the key's lock
// the export holds (a futex wait forever; it hung `npm run bench` in rekey.bench.mjs). A small `--gc-interval` makes that
// collection happen at once. git-seal makes its ephemeral and new keys from random bytes instead.
describe('key generation survives garbage collection at any allocation', () => {
  it('wraps to X25519 and ssh-ed25519 recipients and makes identities with a collection every few allocations', async () => {
    const dir = tempDir();
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { X25519Recipient, generateX25519 } from ${JSON.stringify(join(ROOT, 'src/age/x25519.ts'))};
import { SshEd25519Recipient } from ${JSON.stringify(join(ROOT, 'src/age/ssh-ed25519.ts'))};
import { parseSshPublicKey } from ${JSON.stringify(join(ROOT, 'src/age/openssh-key.ts'))};
const fileKey = new Uint8Array(16);
const x = new X25519Recipient(generateX25519().recipient);
for (let i = 0; i < 2000; i++) {
  generateX25519();
  x.wrapFileKey(fileKey);
}
const ssh = new SshEd25519Recipient(parseSshPublicKey(process.argv[2]));
for (let i = 0; i < 300; i++) await ssh.wrapFileKey(fileKey);
console.log('done');
`,
    );
    const out = join(dir, 'out.mjs');
    await build({ entryPoints: [entry], outfile: out, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
    const sshKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMMz3sVt88PonGg/8kldEEGqdSah6743Rwrsh45P9a9w test';
    // Before the fix, each of these intervals hung Node 20 within the first iterations.
    for (const interval of [7, 13, 31]) {
      const r = spawnSync(process.execPath, [`--gc-interval=${interval}`, out, sshKey], { encoding: 'utf8', timeout: 60_000, cwd: ROOT });
      expect(r.signal, `--gc-interval=${interval}: the process hung (killed at the timeout)`).toBeNull();
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('done');
    }
  });

  it('src/ never calls generateKeyPairSync', () => {
    const hits: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && /\bgenerateKeyPairSync\s*\(/.test(readFileSync(p, 'utf8'))) hits.push(p);
      }
    };
    walk(join(ROOT, 'src'));
    expect(hits).toEqual([]);
  });
});
