/**
 * Interop of the ssh-ed25519 and ssh-rsa recipient types with the independent references: keys made by
 * OpenSSH's ssh-keygen (with and without a passphrase), data keys decrypted and encrypted by Go age.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { headerStanzas, unwrapDataKey, wrapDataKey } from '../../src/age/index.js';
import { loadSshKeyFile } from '../../src/age/ssh-key-file.js';
import { sshTag, parseSshPublicKey } from '../../src/age/openssh-key.js';
import { hasAgeCli, hex, tempDir } from './helpers.js';

const hasSshKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;
if (!hasAgeCli || !hasSshKeygen) console.warn('[test/age/ssh-interop] SKIPPED: needs Go `age` and `ssh-keygen` on PATH; CI installs them.');

function run(cmd: string, args: string[], input?: Buffer | string): Buffer {
  const r = spawnSync(cmd, args, { input });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
}

describe.skipIf(!hasAgeCli || !hasSshKeygen)('SSH recipients: interop with Go age and ssh-keygen', () => {
  const tmp = tempDir();
  afterAll(tmp.cleanup);

  const cases = [
    { name: 'ed25519', args: ['-t', 'ed25519'], passphrase: '' },
    { name: 'ed25519, passphrase', args: ['-t', 'ed25519'], passphrase: 'correct horse' },
    { name: 'rsa 3072', args: ['-t', 'rsa', '-b', '3072'], passphrase: '' },
    { name: 'rsa 3072, passphrase', args: ['-t', 'rsa', '-b', '3072'], passphrase: 'battery staple' },
  ];

  for (const c of cases) {
    describe(`ssh-keygen ${c.args.join(' ')}${c.passphrase ? ' -N passphrase' : ''}`, () => {
      const keyFile = join(tmp.dir, `id_${c.name.replace(/\W+/g, '_')}`);
      run('ssh-keygen', ['-q', ...c.args, '-N', c.passphrase, '-C', 'alice@laptop', '-f', keyFile]);
      const pub = readFileSync(`${keyFile}.pub`, 'utf8').trim();
      const asked: string[] = [];
      const load = () => loadSshKeyFile(readFileSync(keyFile, 'utf8'), keyFile, async (label) => (asked.push(label), c.passphrase));

      it('a data key we seal to the SSH public key opens with `age -d -i KEY`', async () => {
        const dataKey = randomBytes(32);
        const armored = await wrapDataKey(dataKey, [pub]);
        const [stanza] = headerStanzas(armored);
        const type = pub.split(' ')[0];
        // -> ssh-ed25519 TAG SHARE / -> ssh-rsa TAG, the tag from the key as ssh-keygen wrote it.
        expect(stanza.args[0]).toBe(type);
        expect(stanza.args[1]).toBe(sshTag(parseSshPublicKey(pub).blob));
        expect(stanza.args.length).toBe(type === 'ssh-ed25519' ? 3 : 2);
        expect(stanza.bodyLength).toBe(type === 'ssh-ed25519' ? 32 : 384);
        const sealedFile = join(tmp.dir, `${c.name}.age`);
        writeFileSync(sealedFile, armored);
        if (c.passphrase) return; // Go age reads the passphrase from a terminal only; the pty test covers it.
        expect(hex(run('age', ['-d', '-i', keyFile, sealedFile]))).toBe(hex(dataKey));
      });

      it('a data key Go age encrypts to the SSH public key opens here with the private key file', async () => {
        const dataKey = randomBytes(32);
        const armored = run('age', ['-e', '-a', '-r', pub], dataKey).toString();
        const id = await load();
        asked.length = 0;
        const got = await unwrapDataKey(armored, [id]);
        expect(hex(got!)).toBe(hex(dataKey));
        expect(asked).toEqual(c.passphrase ? [`SSH key ${keyFile}`] : []);
        // The decrypted key is kept: a second file asks no more.
        expect(hex((await unwrapDataKey(run('age', ['-e', '-a', '-r', pub], dataKey).toString(), [id]))!)).toBe(hex(dataKey));
        expect(asked.length).toBe(c.passphrase ? 1 : 0);
      });

      it('our own round trip, and no passphrase asked for a file sealed to someone else', async () => {
        const dataKey = randomBytes(32);
        const id = await load();
        asked.length = 0;
        expect(hex((await unwrapDataKey(await wrapDataKey(dataKey, [pub]), [id]))!)).toBe(hex(dataKey));
        const other = join(tmp.dir, `other_${c.name.replace(/\W+/g, '_')}`);
        run('ssh-keygen', ['-q', ...c.args, '-N', '', '-f', other]);
        const stranger = await load();
        asked.length = 0;
        expect(await unwrapDataKey(await wrapDataKey(dataKey, [readFileSync(`${other}.pub`, 'utf8')]), [stranger])).toBeNull();
        expect(asked).toEqual([]);
      });
    });
  }
});
