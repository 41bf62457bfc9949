import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, person, repoWith, SECRETS, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

// install opens most files itself (one batch, written flat under .git) and leaves files git would convert
// on checkout (eol, ident, encoding) to `git checkout-index`: either way the result is byte for byte
// what `git checkout` through the filter writes.
describe('install writes exactly what git checkout writes', () => {
  const alice = person('alice');
  const files = {
    plain: '.dlt/secrets.toml',
    crlf: 'crlf/.dlt/secrets.toml',
    exec: 'tools/.dlt/secrets.toml',
    auto: 'auto/.dlt/secrets.toml',
  };
  const origin = repoWith(alice, { [files.plain]: SECRETS, [files.crlf]: SECRETS, [files.exec]: SECRETS, [files.auto]: SECRETS });
  writeFileSync(join(origin, '.gitattributes'), readFileSync(join(origin, '.gitattributes'), 'utf8') + 'crlf/** eol=crlf\nauto/** text=auto\n');
  chmodSync(join(origin, files.exec), 0o755);
  alice.git(['add', '-A'], origin);
  alice.git(['commit', '-q', '-m', 'eol and mode'], origin);

  it('opens every file, with git’s eol conversion and mode, and leaves status clean', () => {
    const dir = join(tempDir(), 'clone');
    alice.git(['clone', '-q', origin, dir], tempDir());
    expect(readFileSync(join(dir, files.plain), 'utf8')).not.toBe(SECRETS); // sealed before install
    const r = alice.seal(['install', '--quiet'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const installed = Object.fromEntries(Object.values(files).map((f) => [f, readFileSync(join(dir, f))]));
    expect(installed[files.plain].toString('utf8')).toBe(SECRETS);
    expect(installed[files.crlf].toString('utf8')).toBe(SECRETS.replace(/\n/g, '\r\n'));
    expect(installed[files.auto].toString('utf8')).toBe(SECRETS); // text=auto, core.eol=lf: no conversion
    expect(statSync(join(dir, files.exec)).mode & 0o111).not.toBe(0);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
    expect(tempFilesLeft(dir)).toEqual([]);
    for (const f of Object.values(files)) {
      rmSync(join(dir, f));
      alice.git(['checkout', '--', f], dir);
      expect(readFileSync(join(dir, f)).equals(installed[f]), f).toBe(true);
    }
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
    // lock sees the CRLF plaintext as unmodified too, and seals every file back.
    const locked = alice.seal(['lock', '--quiet'], { cwd: dir });
    expect(locked.status, locked.stderr).toBe(0);
    for (const f of Object.values(files)) expect(readFileSync(join(dir, f), 'utf8'), f).toContain('ENC[gitseal.v1,');
    expect(readFileSync(join(dir, files.crlf), 'utf8')).toContain('\r\n[gitseal]\r\n');
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('with core.eol=crlf, a text=auto file is opened with CRLF line ends, as git writes it', () => {
    const dir = join(tempDir(), 'clone');
    alice.git(['clone', '-q', origin, dir], tempDir());
    alice.git(['config', 'core.eol', 'crlf'], dir);
    rmSync(join(dir, files.auto));
    alice.git(['checkout', '--', files.auto], dir); // git's own (sealed) checkout with this config
    const r = alice.seal(['install', '--quiet'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const installed = readFileSync(join(dir, files.auto));
    expect(installed.toString('utf8')).toBe(SECRETS.replace(/\n/g, '\r\n'));
    expect(readFileSync(join(dir, files.plain), 'utf8')).toBe(SECRETS);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
    rmSync(join(dir, files.auto));
    alice.git(['checkout', '--', files.auto], dir);
    expect(readFileSync(join(dir, files.auto)).equals(installed)).toBe(true);
  });

  it('with core.autocrlf=yes (any of git\'s spellings of true), text=auto files get CRLF as git writes them', () => {
    const dir = join(tempDir(), 'clone');
    alice.git(['clone', '-q', origin, dir], tempDir());
    alice.git(['config', 'core.autocrlf', 'Yes'], dir);
    rmSync(join(dir, files.auto));
    alice.git(['checkout', '--', files.auto], dir);
    const r = alice.seal(['install', '--quiet'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, files.auto), 'utf8')).toBe(SECRETS.replace(/\n/g, '\r\n'));
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('a path that starts with a quote is compared with its own blob: lock refuses its uncommitted edit', () => {
    const quoted = '"s"/.dlt/secrets.toml';
    const repo = repoWith(alice, { [quoted]: SECRETS });
    // A file named s holding that path's sealed blob: read unquoted, `"s"/...` would name it.
    writeFileSync(join(repo, 's'), alice.git(['cat-file', 'blob', `:${quoted}`], repo));
    alice.git(['add', 's'], repo);
    alice.git(['commit', '-q', '-m', 'decoy'], repo);
    const edited = readFileSync(join(repo, quoted), 'utf8').replace('retries = 3', 'retries = 4');
    writeFileSync(join(repo, quoted), edited);
    const r = alice.seal(['lock'], { cwd: repo });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('nothing was changed');
    expect(readFileSync(join(repo, quoted), 'utf8')).toBe(edited);
  });
});

/** Temp files left under .git/git-seal/tmp. */
function tempFilesLeft(dir: string): string[] {
  try {
    return readdirSync(join(dir, '.git', 'git-seal', 'tmp'));
  } catch {
    return [];
  }
}
