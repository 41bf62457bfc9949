// The pre-commit framework hook (.pre-commit-hooks.yaml, id git-seal-check), run by the real `pre-commit`
// tool, offline: a repository whose .pre-commit-config.yaml points at a git repository holding this
// repository's hook definition refuses a staged plaintext .dlt/secrets.toml and passes once it is sealed.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanupTempDirs, hasBinary, person, repoWith, ROOT, run, sealedClone, SECRET_STRINGS, SECRETS, tempDir } from '../helpers.js';

const FILE = '.dlt/secrets.toml';
afterAll(cleanupTempDirs);

describe.skipIf(!hasBinary('pre-commit'))('pre-commit framework: git-seal-check', () => {
  const alice = person('alice');

  /** A git repository with this working tree's hook definition and script, committed; returns its path and commit. */
  function hookRepo(): { path: string; rev: string } {
    const path = join(tempDir('gitseal-hookrepo-'), 'git-seal');
    mkdirSync(join(path, 'scripts'), { recursive: true });
    copyFileSync(join(ROOT, '.pre-commit-hooks.yaml'), join(path, '.pre-commit-hooks.yaml'));
    copyFileSync(join(ROOT, 'scripts', 'pre-commit-check'), join(path, 'scripts', 'pre-commit-check'));
    chmodSync(join(path, 'scripts', 'pre-commit-check'), 0o755);
    alice.git(['init', '-q'], path);
    alice.git(['add', '-A'], path);
    alice.git(['commit', '-q', '-m', 'hooks'], path);
    return { path, rev: alice.git(['rev-parse', 'HEAD'], path).trim() };
  }

  it('the hook is declared with the id git-seal-check', () => {
    const r = run('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', join(ROOT, '.pre-commit-hooks.yaml')]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ id: 'git-seal-check', entry: 'scripts/pre-commit-check', language: 'script', pass_filenames: false, always_run: true })]);
  });

  it('refuses a commit staging a plaintext .dlt/secrets.toml, and passes once it is sealed', () => {
    const hooks = hookRepo();
    // git-seal on PATH, as after `npm install -g git-seal`.
    const bin = tempDir('gitseal-path-');
    symlinkSync(BIN, join(bin, 'git-seal'));
    const env = { ...alice.env, PATH: [bin, dirname(process.execPath), process.env.PATH].join(delimiter), PRE_COMMIT_HOME: tempDir('gitseal-pre-commit-home-') };
    const sh = (cmd: string, args: string[]) => run(cmd, args, { cwd: clone, env });

    // A checkout without `git-seal install`: git add stores the file as it is.
    const origin = repoWith(alice, { 'README.md': 'pipeline\n' });
    const clone = sealedClone(alice, origin);
    writeFileSync(join(clone, '.pre-commit-config.yaml'), `repos:\n  - repo: ${hooks.path}\n    rev: ${hooks.rev}\n    hooks:\n      - id: git-seal-check\n`);
    mkdirSync(join(clone, '.dlt'));
    writeFileSync(join(clone, FILE), SECRETS);
    expect(sh('pre-commit', ['install']).status).toBe(0);
    alice.git(['add', '.pre-commit-config.yaml', FILE], clone);
    expect(alice.git(['show', `:${FILE}`], clone)).toBe(SECRETS); // the attack: plaintext staged

    const refused = sh('git', ['commit', '-m', 'add secrets']);
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/git-seal check --staged\.+Failed/);
    expect(refused.stdout + refused.stderr).toContain(FILE);
    for (const s of SECRET_STRINGS) expect(refused.stdout + refused.stderr).not.toContain(s);
    expect(alice.git(['log', '--format=%s', '-1'], clone).trim()).toBe('initial secrets');

    // Sealed by the filter once git-seal is installed in the checkout.
    expect(alice.seal(['install'], { cwd: clone, env }).status).toBe(0);
    expect(sh('git', ['add', FILE]).status).toBe(0);
    expect(sh('git', ['show', `:${FILE}`]).stdout).toContain('ENC[gitseal.v1,');
    const passed = sh('git', ['commit', '-m', 'add secrets']);
    expect(passed.status, passed.stdout + passed.stderr).toBe(0);
    expect(passed.stdout + passed.stderr).toMatch(/git-seal check --staged\.+Passed/);
    expect(readFileSync(join(clone, FILE), 'utf8')).toBe(SECRETS);
  });
});
