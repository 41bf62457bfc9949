/**
 * SSH keys as age recipients and identities: parsing, refusals, tampering, discovery of ~/.ssh keys,
 * and the lazy passphrase (asked only for a matching stanza, once).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import {
  canonicalRecipient,
  SshKeyFileIdentity,
  formatIdentityFile,
  generateX25519Identity,
  headerStanzas,
  isRecipientString,
  loadIdentities,
  loadSshKeyFile,
  parseAuthorizedKeys,
  parseRecipient,
  SshEd25519Recipient,
  SshRsaRecipient,
  unwrapDataKey,
  wrapDataKey,
} from '../../src/age/index.js';
import { armorDecode, armorEncode } from '../../src/age/age-file.js';
import { hex, tempDir } from './helpers.js';

const hasSshKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;
if (!hasSshKeygen) console.warn('[test/age/ssh] SKIPPED: ssh-keygen is not on PATH; CI installs OpenSSH.');

function keygen(file: string, args: string[], passphrase = ''): { file: string; pub: string } {
  mkdirSync(join(file, '..'), { recursive: true });
  const r = spawnSync('ssh-keygen', ['-q', ...args, '-N', passphrase, '-C', 'me@host', '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { file, pub: readFileSync(`${file}.pub`, 'utf8').trim() };
}

async function caught(p: Promise<unknown> | (() => unknown)): Promise<GitSealError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(GitSealError);
    return e as GitSealError;
  }
  throw new Error('expected a GitSealError');
}

/** Replace the stanza lines of an armored age file (re-armored; the MAC no longer matters for these checks). */
function editHeader(armored: string, edit: (header: string) => string): string {
  const bin = Buffer.from(armorDecode(armored));
  const end = bin.indexOf('\n---') + 1;
  return armorEncode(Buffer.concat([Buffer.from(edit(bin.subarray(0, end).toString('latin1')), 'latin1'), bin.subarray(end)]));
}

describe.skipIf(!hasSshKeygen)('SSH keys', () => {
  const tmp = tempDir();
  afterAll(tmp.cleanup);
  const ed = keygen(join(tmp.dir, 'keys', 'ed'), ['-t', 'ed25519']);
  const rsa = keygen(join(tmp.dir, 'keys', 'rsa'), ['-t', 'rsa', '-b', '2048']);
  const edLocked = keygen(join(tmp.dir, 'keys', 'ed-locked'), ['-t', 'ed25519'], 'secret words');

  describe('recipients', () => {
    it('parse with or without a comment, into one canonical form', () => {
      const [type, b64] = ed.pub.split(' ');
      expect(parseRecipient(ed.pub)).toBeInstanceOf(SshEd25519Recipient);
      expect(parseRecipient(rsa.pub)).toBeInstanceOf(SshRsaRecipient);
      expect(isRecipientString(ed.pub)).toBe(true);
      expect(isRecipientString(`${type} ${b64}`)).toBe(true);
      expect(canonicalRecipient(`  ${ed.pub}  `)).toBe(`${type} ${b64}`);
      expect((parseRecipient(ed.pub) as SshEd25519Recipient).recipient).toBe(`${type} ${b64}`);
    });

    it('the same key with two comments is wrapped once', async () => {
      const [type, b64] = ed.pub.split(' ');
      const armored = await wrapDataKey(randomBytes(32), [`${type} ${b64} laptop`, `${type} ${b64} desktop`]);
      expect(headerStanzas(armored).length).toBe(1);
    });

    it('refuse RSA keys under 2048 bits, ECDSA, DSA and security keys by name', async () => {
      const small = keygen(join(tmp.dir, 'keys', 'small'), ['-t', 'rsa', '-b', '1024']);
      expect((await caught(() => parseRecipient(small.pub))).message).toMatch(/ssh-rsa key has 1024 bits; age needs at least 2048/);
      const ec = keygen(join(tmp.dir, 'keys', 'ec'), ['-t', 'ecdsa']);
      expect((await caught(() => parseRecipient(ec.pub))).message).toMatch(/ECDSA \(ecdsa-sha2-nistp256\) SSH keys cannot be used with age/);
      expect(isRecipientString(ec.pub)).toBe(false);
      // A key line whose type does not match its blob.
      expect((await caught(() => parseRecipient(`ssh-rsa ${ed.pub.split(' ')[1]}`))).message).toMatch(/malformed SSH public key/);
    });
  });

  describe('stanzas', () => {
    it('a tampered body or malformed stanza for our key is an error, not "not a recipient"', async () => {
      const id = await loadSshKeyFile(readFileSync(ed.file, 'utf8'), ed.file, async () => '');
      const armored = await wrapDataKey(randomBytes(32), [ed.pub]);
      const flipped = editHeader(armored, (h) => {
        const lines = h.split('\n');
        const body = Buffer.from(lines[2], 'base64');
        body[0] ^= 1;
        lines[2] = body.toString('base64').replace(/=+$/, '');
        return lines.join('\n');
      });
      expect((await caught(unwrapDataKey(flipped, [id]))).message).toMatch(/ssh-ed25519 stanza for this key does not decrypt/);
      const noShare = editHeader(armored, (h) => h.replace(/^(-> ssh-ed25519 \S+) \S+$/m, '$1'));
      expect((await caught(unwrapDataKey(noShare, [id]))).message).toMatch(/malformed ssh-ed25519 stanza/);
      const rsaId = await loadSshKeyFile(readFileSync(rsa.file, 'utf8'), rsa.file, async () => '');
      const rsaArmored = await wrapDataKey(randomBytes(32), [rsa.pub]);
      const extraArg = editHeader(rsaArmored, (h) => h.replace(/^(-> ssh-rsa \S+)$/m, '$1 extra'));
      expect((await caught(unwrapDataKey(extraArg, [rsaId]))).message).toMatch(/malformed ssh-rsa stanza/);
    });

    it('a stanza for another SSH key is skipped (by its tag)', async () => {
      const id = await loadSshKeyFile(readFileSync(ed.file, 'utf8'), ed.file, async () => '');
      const other = keygen(join(tmp.dir, 'keys', 'other'), ['-t', 'ed25519']);
      const x = generateX25519Identity();
      const dataKey = randomBytes(32);
      const armored = await wrapDataKey(dataKey, [other.pub, x.recipient, ed.pub]);
      expect(hex((await unwrapDataKey(armored, [id]))!)).toBe(hex(dataKey));
      expect(await unwrapDataKey(await wrapDataKey(dataKey, [other.pub, x.recipient]), [id])).toBeNull();
    });
  });

  describe('private key files', () => {
    it('refuse ECDSA and old PEM keys with a message naming the file and the fix', async () => {
      const ec = keygen(join(tmp.dir, 'keys', 'ec-id'), ['-t', 'ecdsa']);
      const e1 = await caught(() => loadSshKeyFile(readFileSync(ec.file, 'utf8'), ec.file, async () => ''));
      expect(e1.message).toBe(`${ec.file}: ECDSA (ecdsa-sha2-nistp256) SSH keys cannot be used with age`);
      const pem = keygen(join(tmp.dir, 'keys', 'pem'), ['-t', 'rsa', '-b', '2048', '-m', 'PEM']);
      const e2 = await caught(() => loadSshKeyFile(readFileSync(pem.file, 'utf8'), pem.file, async () => ''));
      expect(e2.message).toMatch(/old PEM format/);
      expect(e2.hint).toMatch(/ssh-keygen -p -f FILE/);
    });

    it('a protected key asks nothing until a header holds its tag, then once for many files', async () => {
      const asked: string[] = [];
      const id = await loadSshKeyFile(readFileSync(edLocked.file, 'utf8'), edLocked.file, async (label) => {
        asked.push(label);
        return 'secret words';
      });
      expect(id).toBeInstanceOf(SshKeyFileIdentity);
      expect(id.encrypted).toBe(true);
      expect(id.recipient).toBe(canonicalRecipient(edLocked.pub));
      // Sealed to someone else (another SSH key and an age key): no prompt.
      expect(await unwrapDataKey(await wrapDataKey(randomBytes(32), [ed.pub, generateX25519Identity().recipient]), [id])).toBeNull();
      expect(asked).toEqual([]);
      // Ten files opened at once: one prompt.
      const keys = Array.from({ length: 10 }, () => randomBytes(32));
      const files = await Promise.all(keys.map((k) => wrapDataKey(k, [edLocked.pub])));
      const opened = await Promise.all(files.map((f) => unwrapDataKey(f, [id])));
      expect(opened.map((k) => hex(k!))).toEqual(keys.map(hex));
      expect(asked).toEqual([`SSH key ${edLocked.file}`]);
    });

    it('a wrong passphrase, or none available, is a one-line error naming the key', async () => {
      const wrongKey = keygen(join(tmp.dir, 'keys', 'wrong'), ['-t', 'rsa', '-b', '2048'], 'right');
      const wrong = await loadSshKeyFile(readFileSync(wrongKey.file, 'utf8'), wrongKey.file, async () => 'wrong');
      const e1 = await caught(unwrapDataKey(await wrapDataKey(randomBytes(32), [wrongKey.pub]), [wrong]));
      expect(e1.message).toMatch(new RegExp(`${wrongKey.file}: wrong passphrase for this SSH key`));
      const noTtyKey = keygen(join(tmp.dir, 'keys', 'notty'), ['-t', 'ed25519'], 'pw');
      const noTty = await loadSshKeyFile(readFileSync(noTtyKey.file, 'utf8'), noTtyKey.file, async () => {
        throw new Error('ENXIO');
      });
      const e2 = await caught(unwrapDataKey(await wrapDataKey(randomBytes(32), [noTtyKey.pub]), [noTty]));
      expect(e2.message).toMatch(new RegExp(`SSH key ${noTtyKey.file} needs a passphrase`));
      expect(e2.hint).toMatch(/GITSEAL_AGE_KEY/);
    });
  });

  describe('discovery', () => {
    it('finds ~/.ssh/id_ed25519 and ~/.ssh/id_rsa after the age key files', async () => {
      const home = join(tmp.dir, 'home1');
      const e = keygen(join(home, '.ssh', 'id_ed25519'), ['-t', 'ed25519']);
      const r = keygen(join(home, '.ssh', 'id_rsa'), ['-t', 'rsa', '-b', '2048']);
      const x = generateX25519Identity();
      mkdirSync(join(home, '.config', 'git-seal'), { recursive: true });
      writeFileSync(join(home, '.config', 'git-seal', 'keys.txt'), formatIdentityFile(x.identity, x.recipient));
      const loaded = await loadIdentities({ env: {}, home });
      expect(loaded.recipients).toEqual([x.recipient, canonicalRecipient(e.pub), canonicalRecipient(r.pub)]);
      expect(loaded.sources.map((s) => s.source)).toEqual([join(home, '.config', 'git-seal', 'keys.txt'), e.file, r.file]);
      const dataKey = randomBytes(32);
      expect(hex((await unwrapDataKey(await wrapDataKey(dataKey, [r.pub]), loaded.identities))!)).toBe(hex(dataKey));
    });

    it('--identity, GITSEAL_AGE_KEY_FILE and SOPS_AGE_SSH_PRIVATE_KEY_FILE read SSH keys; an unusable default one is skipped with a warning', async () => {
      const home = join(tmp.dir, 'home2');
      keygen(join(home, '.ssh', 'id_rsa'), ['-t', 'rsa', '-b', '2048', '-m', 'PEM']);
      const warnings: string[] = [];
      const viaFlag = await loadIdentities({ env: {}, home, identityFiles: [ed.file], warn: (m) => warnings.push(m) });
      expect(viaFlag.recipients).toEqual([canonicalRecipient(ed.pub)]);
      expect(warnings).toEqual([expect.stringMatching(/^git-seal: skipping .*id_rsa: this private key is in the old PEM format/)]);
      const viaEnv = await loadIdentities({ env: { GITSEAL_AGE_KEY_FILE: rsa.file, SOPS_AGE_SSH_PRIVATE_KEY_FILE: edLocked.file }, home, warn: () => {} });
      expect(viaEnv.recipients).toEqual([canonicalRecipient(rsa.pub), canonicalRecipient(edLocked.pub)]);
      // Named explicitly, the same PEM key is an error.
      const e = await caught(loadIdentities({ env: {}, home, identityFiles: [join(home, '.ssh', 'id_rsa')] }));
      expect(e.message).toMatch(/^--identity .*id_rsa: this private key is in the old PEM format/);
    });

    it('a protected default key does not ask when the file opens with another key', async () => {
      const home = join(tmp.dir, 'home3');
      const locked = keygen(join(home, '.ssh', 'id_ed25519'), ['-t', 'ed25519'], 'pw');
      const x = generateX25519Identity();
      const asked: string[] = [];
      const loaded = await loadIdentities({ env: { GITSEAL_AGE_KEY: x.identity }, home, askPassphrase: async (l) => (asked.push(l), 'pw') });
      const dataKey = randomBytes(32);
      expect(hex((await unwrapDataKey(await wrapDataKey(dataKey, [x.recipient, locked.pub]), loaded.identities))!)).toBe(hex(dataKey));
      expect(asked).toEqual([]);
      expect(hex((await unwrapDataKey(await wrapDataKey(dataKey, [locked.pub]), loaded.identities))!)).toBe(hex(dataKey));
      expect(asked).toEqual([`SSH key ${locked.file}`]);
    });
  });

  describe('authorized_keys', () => {
    it('reads keys (options allowed) and lists the ones age cannot use', () => {
      const ec = keygen(join(tmp.dir, 'keys', 'ec2'), ['-t', 'ecdsa']);
      const text = `# team keys\n${ed.pub}\ncommand="echo hi",no-pty ${rsa.pub}\n\n${ec.pub}\nsk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t x\n`;
      const got = parseAuthorizedKeys(text, 'keys');
      expect(got.keys.map((k) => k.type)).toEqual(['ssh-ed25519', 'ssh-rsa']);
      expect(got.skipped).toEqual(['line 5: ECDSA (ecdsa-sha2-nistp256) key', 'line 6: security-key (sk-ssh-ed25519@openssh.com) key']);
      expect(() => parseAuthorizedKeys('hello world\n', 'keys')).toThrow(/keys, line 1: not an SSH public key/);
    });
  });
});
