/**
 * Interop with the reference Go implementation (the `age` / `age-keygen` CLI).
 * CI installs it; locally the tests are skipped with a message if it's missing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatIdentityFile,
  generateIdentity,
  generateX25519Identity,
  parseIdentityFile,
  unwrapDataKey,
  wrapDataKey,
  X25519Recipient,
  X25519Identity,
} from '../../src/age/index.js';
import { ageCliHasPq, hasAgeCli, hex, tempDir } from './helpers.js';

if (!hasAgeCli) {
  console.warn('[test/age/age-cli] SKIPPED: the Go `age` CLI is not on PATH (apt-get install -y age); CI installs it.');
} else if (!ageCliHasPq) {
  console.warn('[test/age/age-cli] post-quantum CLI case SKIPPED: this age-keygen has no -pq flag (needs age >= 1.3).');
}

function run(cmd: string, args: string[], input?: Buffer | string): Buffer {
  const r = spawnSync(cmd, args, { input });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
}

describe.skipIf(!hasAgeCli)(hasAgeCli ? 'Go age CLI interop' : 'Go age CLI interop [SKIPPED: `age` not on PATH]', () => {
  const tmp = tempDir();
  afterAll(tmp.cleanup);

  it('age -d decrypts a data key we wrapped for a key we generated', async () => {
    const k = generateX25519Identity();
    const keyFile = join(tmp.dir, 'ours.txt');
    writeFileSync(keyFile, formatIdentityFile(k.identity, k.recipient), { mode: 0o600 });
    // age-keygen -y agrees on the public key.
    expect(run('age-keygen', ['-y', keyFile]).toString().trim()).toBe(k.recipient);
    const key = randomBytes(32);
    const armoredFile = join(tmp.dir, 'dk.age');
    writeFileSync(armoredFile, await wrapDataKey(key, [generateX25519Identity().recipient, k.recipient]));
    const out = run('age', ['-d', '-i', keyFile, armoredFile]);
    expect(hex(out)).toBe(hex(key));
  });

  it('a key made by age-keygen unwraps a data key we wrapped', async () => {
    const keyFile = join(tmp.dir, 'go.txt');
    run('age-keygen', ['-o', keyFile]);
    const text = readFileSync(keyFile, 'utf8');
    const [id] = parseIdentityFile(text, keyFile);
    const recipient = (id as X25519Identity).recipient;
    expect(text).toContain(`# public key: ${recipient}\n`);
    const key = randomBytes(32);
    const armored = await wrapDataKey(key, [recipient]);
    expect(hex((await unwrapDataKey(armored, [id]))!)).toBe(hex(key));
    expect(hex(run('age', ['-d', '-i', keyFile], armored))).toBe(hex(key));
  });

  it('files encrypted by `age -r … -a` unwrap with our identity', async () => {
    const k = generateX25519Identity();
    const other = generateX25519Identity();
    for (let i = 0; i < 5; i++) {
      const key = randomBytes(32);
      const armored = run('age', ['-r', other.recipient, '-r', k.recipient, '-a'], key).toString();
      expect(armored.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')).toBe(true);
      expect(hex((await unwrapDataKey(armored, [new X25519Identity(k.identity)]))!)).toBe(hex(key));
      expect(await unwrapDataKey(armored, [new X25519Identity(generateX25519Identity().identity)])).toBeNull();
    }
  });

  it('age -d accepts a bare stanza from our X25519Recipient inside a typage file', async () => {
    // Guards the exact wire format of our stanza against the reference parser.
    const k = generateX25519Identity();
    const keyFile = join(tmp.dir, 'stanza.txt');
    writeFileSync(keyFile, formatIdentityFile(k.identity, k.recipient));
    const { Encrypter, armor } = await import('age-encryption');
    const e = new Encrypter();
    e.addRecipient(new X25519Recipient(k.recipient));
    const file = armor.encode(await e.encrypt('interop'));
    expect(run('age', ['-d', '-i', keyFile], file).toString()).toBe('interop');
  });

  it.skipIf(!ageCliHasPq)(
    'post-quantum: age -d decrypts our age1pq1 wrap, and we unwrap age -r age1pq1' + (ageCliHasPq ? '' : ' [SKIPPED: age-keygen has no -pq, needs age >= 1.3]'),
    async () => {
      const pq = await generateIdentity({ pq: true });
      const keyFile = join(tmp.dir, 'pq.txt');
      writeFileSync(keyFile, formatIdentityFile(pq.identity, pq.recipient));
      const key = randomBytes(32);
      expect(hex(run('age', ['-d', '-i', keyFile], await wrapDataKey(key, [pq.recipient])))).toBe(hex(key));
      const armored = run('age', ['-r', pq.recipient, '-a'], key).toString();
      const [id] = parseIdentityFile(readFileSync(keyFile, 'utf8'), keyFile);
      expect(hex((await unwrapDataKey(armored, [id]))!)).toBe(hex(key));
    },
  );
});
