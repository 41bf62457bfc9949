import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, person, repoWith, SECRETS } from '../helpers.js';

afterAll(cleanupTempDirs);

// After a few cleans the filter reads the staged blobs of the next files ahead of git (in index order).
// Each file must still be compared with its own blob: a mix-up shows as a wrong status or a changed blob.
describe('status and add over many secrets files', () => {
  const alice = person('alice');
  const paths = Array.from({ length: 40 }, (_, i) => `p${String(i).padStart(2, '0')}/.dlt/secrets.toml`);
  const files = Object.fromEntries(paths.map((p, i) => [p, SECRETS.replace('retries = 3', `retries = ${i}`)]));
  const dir = repoWith(alice, files);
  const blobs = () => alice.git(['ls-tree', '-r', 'HEAD'], dir);

  it('after touching every file, reports exactly the edited ones; add re-seals only those', () => {
    const later = new Date(Date.now() + 10_000);
    for (const p of paths) utimesSync(join(dir, p), later, later);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
    const edited = [paths[3], paths[21], paths[39]];
    for (const p of edited) writeFileSync(join(dir, p), readFileSync(join(dir, p), 'utf8').replace(/retries = \d+/, 'retries = 99'));
    const later2 = new Date(Date.now() + 20_000);
    for (const p of paths) utimesSync(join(dir, p), later2, later2);
    expect(alice.git(['status', '--porcelain'], dir).split('\n').filter(Boolean).sort()).toEqual(edited.map((p) => ` M ${p}`));
    const before = blobs();
    alice.git(['add', '-A'], dir);
    alice.git(['commit', '-q', '-m', 'edit three'], dir);
    const changed = alice.git(['diff', '--name-only', 'HEAD~', 'HEAD'], dir).split('\n').filter(Boolean);
    expect(changed.sort()).toEqual(edited);
    expect(blobs()).not.toBe(before);
    for (const [i, p] of paths.entries()) {
      expect(alice.git(['show', `HEAD:${p}`], dir)).not.toContain('sk_live');
      expect(readFileSync(join(dir, p), 'utf8')).toContain(`retries = ${edited.includes(p) ? 99 : i}`);
    }
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('files whose names are not UTF-8 never take another file\'s data key, and lock refuses them', () => {
    const repo = repoWith(alice, Object.fromEntries(['a0', 'a1', 'a2', 'a3'].map((d) => [`${d}/.dlt/secrets.toml`, 'password = "same"\n'])));
    // \xfe and \xff both decode to U+FFFD: the same name once decoded as UTF-8.
    const odd = [0xfe, 0xff].map((b) => Buffer.concat([Buffer.from(repo + '/'), Buffer.from([b])]));
    for (const d of odd) {
      mkdirSync(Buffer.concat([d, Buffer.from('/.dlt')]), { recursive: true });
      writeFileSync(Buffer.concat([d, Buffer.from('/.dlt/secrets.toml')]), 'password = "same"\nuser = "u"\n');
    }
    alice.git(['add', '-A'], repo);
    alice.git(['commit', '-q', '-m', 'odd names'], repo);
    writeFileSync(Buffer.concat([odd[0], Buffer.from('/.dlt/secrets.toml')]), 'password = "same"\nuser = "u"\nextra = "x"\n');
    alice.git(['add', '--renormalize', '.'], repo); // cleans all six in one filter process
    const staged = execFileSync('git', ['ls-files', '-s', '-z'], { cwd: repo, env: alice.env });
    const blobOf = (byte: number): string => {
      const rec = staged.toString('latin1').split('\0').find((r) => r.endsWith(`\t${String.fromCharCode(byte)}/.dlt/secrets.toml`))!;
      return alice.git(['cat-file', 'blob', rec.split(' ')[1]], repo);
    };
    const [fe, ff] = [blobOf(0xfe), blobOf(0xff)];
    expect(fe).toContain('extra = "ENC[');
    const token = (blob: string) => /^password = "(ENC\[[^"]*)"/m.exec(blob)![1];
    expect(token(fe)).not.toBe(token(ff)); // a shared data key would make equal values' tokens equal
    const locked = alice.seal(['lock'], { cwd: repo });
    expect(locked.status).not.toBe(0);
    expect(locked.stderr).toContain('not UTF-8; nothing was changed');
  });
});
