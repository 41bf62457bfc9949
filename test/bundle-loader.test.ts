import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, ROOT, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

const { loadBundle } = createRequire(import.meta.url)(join(ROOT, 'bin', 'load-bundle.cjs')) as {
  loadBundle: (name: string) => { cacheUsed: boolean };
};

/** A copy of the installed command (bin/, dist/bundle/, package.json) to tamper with. */
function packageCopy(): string {
  const pkg = tempDir();
  cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
  mkdirSync(join(pkg, 'dist'));
  cpSync(join(ROOT, 'dist', 'bundle'), join(pkg, 'dist', 'bundle'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  return pkg;
}

const help = (pkg: string) => spawnSync(process.execPath, [join(pkg, 'bin', 'git-seal.js'), '--help'], { encoding: 'utf8' });

describe('bundles start with their V8 code cache', () => {
  it('the build makes a cache that this Node accepts, for every bundle', () => {
    for (const name of ['cli', 'exec', 'filter']) expect(loadBundle(name).cacheUsed, name).toBe(true);
  });

  it('a bundle edited after the build runs as edited, even at the same length (the cache is for other bytes)', () => {
    const pkg = packageCopy();
    const bundle = join(pkg, 'dist', 'bundle', 'cli.cjs');
    const source = readFileSync(bundle, 'latin1');
    // A string the bundle's top level evaluates, so its bytecode is in the cache. V8 itself checks only
    // the source length: without the digest, the cached bytecode would still print the old text.
    expect(source).toContain('"Same as install"');
    writeFileSync(bundle, source.replace('"Same as install"', '"SAME AS INSTALL"'), 'latin1');
    const r = help(pkg);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('SAME AS INSTALL');
  });

  it('a damaged or missing cache is ignored', () => {
    const pkg = packageCopy();
    const cache = join(pkg, 'dist', 'bundle', 'cli.cjs.v8cache');
    const bytes = readFileSync(cache);
    for (let i = 40; i < bytes.length; i += 97) bytes[i] ^= 0x5a; // the digest still matches, V8's data does not
    writeFileSync(cache, bytes);
    expect(help(pkg).stdout).toContain('git-seal <command>');
    writeFileSync(cache, '');
    expect(help(pkg).stdout).toContain('git-seal <command>');
  });
});
