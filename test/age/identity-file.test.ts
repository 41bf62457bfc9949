import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import {
  X25519Identity,
  HybridIdentity,
  formatIdentityFile,
  formatRfc3339,
  generateIdentity,
  generateX25519Identity,
  parseIdentityFile,
  parseIdentityText,
  recipientOf,
} from '../../src/age/index.js';
import { hasAgeCli, tempDir } from './helpers.js';

const AGE_KEYGEN_LAYOUT =
  /^# created: \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})\n# public key: (age1[0-9a-z]+)\n(AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+)\n$/;

describe('parseIdentityText / parseIdentityFile', () => {
  const a = generateX25519Identity();
  const b = generateX25519Identity();

  it('reads age-keygen files with comments, blank lines, CRLF, BOM and surrounding spaces', () => {
    const text =
      '\uFEFF# created: 2024-01-02T03:04:05Z\r\n# public key: ' + a.recipient + '\r\n' + a.identity + '\r\n\r\n' +
      '   # indented comment\n\t' + b.identity + '  \n\n';
    expect(parseIdentityText(text, 'keys.txt')).toEqual([a.identity, b.identity]);
    const ids = parseIdentityFile(text, 'keys.txt');
    expect(ids).toHaveLength(2);
    expect((ids[0] as X25519Identity).recipient).toBe(a.recipient);
    expect((ids[1] as X25519Identity).recipient).toBe(b.recipient);
  });

  it('accepts several keys on one line and ignores text after a # token', () => {
    expect(parseIdentityText(`${a.identity} ${b.identity}`, '$X')).toEqual([a.identity, b.identity]);
    expect(parseIdentityText(`${a.identity}\t# laptop key`, '$X')).toEqual([a.identity]);
    expect(parseIdentityText('', '$X')).toEqual([]);
  });

  it('reports the source and line number of a bad line without echoing it', () => {
    const broken = a.identity.slice(0, 30) + (a.identity[30] === 'Q' ? 'P' : 'Q') + a.identity.slice(31);
    const cases: [string, RegExp][] = [
      [`# ok\n${a.identity}\n${broken}\n`, /^keys\.txt, line 3: invalid age identity/],
      [`\n\n${a.identity.toLowerCase()}`, /^keys\.txt, line 3: invalid age identity/],
      [`${a.recipient}\n`, /^keys\.txt, line 1: holds a public key/],
      ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n', /^keys\.txt, line 1: an SSH private key must be a file of its own/],
      ['# c\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx\n', /^keys\.txt, line 2: holds an SSH public key/],
      [`# c\r\nAGE-PLUGIN-YUBIKEY-1ABCDEF\r\n`, /^keys\.txt, line 2: invalid age plugin identity/],
      [`${a.identity}\npassword=hunter2\n`, /^keys\.txt, line 2: not an age identity/],
    ];
    for (const [text, re] of cases) {
      try {
        parseIdentityText(text, 'keys.txt');
        expect.fail('should throw');
      } catch (e) {
        expect(e).toBeInstanceOf(GitSealError);
        const all = (e as GitSealError).message + ' ' + (e as GitSealError).hint;
        expect((e as GitSealError).message).toMatch(re);
        expect(all.toUpperCase()).not.toContain(a.identity.slice(16, 46));
        expect(all).not.toContain('hunter2');
      }
    }
  });
});

describe('formatIdentityFile', () => {
  const savedTz = process.env.TZ;
  afterEach(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it('produces age-keygen\'s exact layout and parses back', async () => {
    for (const pq of [false, true]) {
      const { identity, recipient } = await generateIdentity({ pq });
      const text = formatIdentityFile(identity, recipient);
      const m = AGE_KEYGEN_LAYOUT.exec(text);
      expect(m, text.split('\n')[0]).not.toBeNull();
      expect(m![2]).toBe(recipient);
      expect(m![3]).toBe(identity);
      const [id] = parseIdentityFile(text, 'k');
      expect(id).toBeInstanceOf(pq ? HybridIdentity : X25519Identity);
      expect(await recipientOf(id)).toBe(recipient);
    }
  });

  it('formats the timestamp like Go\'s time.RFC3339 in local time', () => {
    const t = new Date('2006-01-02T22:04:05.987Z');
    process.env.TZ = 'UTC';
    expect(formatRfc3339(t)).toBe('2006-01-02T22:04:05Z');
    process.env.TZ = 'America/New_York';
    expect(formatRfc3339(t)).toBe('2006-01-02T17:04:05-05:00');
    process.env.TZ = 'Asia/Kolkata';
    expect(formatRfc3339(t)).toBe('2006-01-03T03:34:05+05:30');
    process.env.TZ = 'UTC';
    const { identity, recipient } = generateX25519Identity();
    expect(formatIdentityFile(identity, recipient, t)).toBe(`# created: 2006-01-02T22:04:05Z\n# public key: ${recipient}\n${identity}\n`);
  });

  it('refuses to write garbage', () => {
    const { identity, recipient } = generateX25519Identity();
    expect(() => formatIdentityFile(recipient, recipient)).toThrow(GitSealError);
    expect(() => formatIdentityFile(identity, identity)).toThrow(GitSealError);
    expect(() => formatIdentityFile(identity + '\nAGE', recipient)).toThrow(GitSealError);
  });

  const tmp = tempDir();
  afterAll(tmp.cleanup);
  it.skipIf(!hasAgeCli)('matches a file written by Go age-keygen' + (hasAgeCli ? '' : ' [SKIPPED: age-keygen not on PATH]'), () => {
    const file = join(tmp.dir, 'go-keys.txt');
    const r = spawnSync('age-keygen', ['-o', file], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const goText = readFileSync(file, 'utf8');
    const m = AGE_KEYGEN_LAYOUT.exec(goText);
    expect(m).not.toBeNull();
    const ours = formatIdentityFile(m![3], m![2]);
    expect(ours.replace(/^# created: .*\n/, '')).toBe(goText.replace(/^# created: .*\n/, ''));
    const [id] = parseIdentityFile(goText, file);
    expect((id as X25519Identity).recipient).toBe(m![2]);
  });
});
