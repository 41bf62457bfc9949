import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { attributeLinePattern, attributePattern, gitPatterns, patternMatcher, PatternError } from '../../src/util/wildmatch.js';
import { cleanupTempDirs, git, newRepo, person, type Person, run, tempDir, writeFiles } from '../helpers.js';

afterAll(cleanupTempDirs);

/** For each path, the indexes of the patterns git itself (check-attr on a .gitattributes of them) says match. */
function gitMatches(patterns: readonly string[], paths: readonly string[]): Map<string, Set<number>> {
  const dir = tempDir('gitseal-attr-');
  git(['init', '-q', dir]);
  writeFileSync(join(dir, '.gitattributes'), patterns.map((p, i) => `${attributePattern(p)} gs${i}\n`).join(''));
  const out = git(['check-attr', '-z', '--stdin', '-a'], { cwd: dir, input: paths.map((p) => p + '\0').join(''), env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
  const hits = new Map(paths.map((p) => [p, new Set<number>()]));
  const f = out.split('\0');
  for (let i = 0; i + 2 < f.length; i += 3) {
    const m = /^gs(\d+)$/.exec(f[i + 1]);
    if (m && f[i + 2] === 'set') hits.get(f[i])!.add(Number(m[1]));
  }
  return hits;
}

/** Returns how many (pattern, path) pairs match, so a test can show it compared more than misses. */
function expectAgreement(patterns: readonly string[], paths: readonly string[]): number {
  const byGit = gitMatches(patterns, paths);
  const ours = patterns.map((p) => patternMatcher([p]));
  const disagreements: string[] = [];
  for (const path of paths) {
    for (const [i, p] of patterns.entries()) {
      const g = byGit.get(path)!.has(i);
      if (ours[i](path) !== g) disagreements.push(`${JSON.stringify(p)} vs ${JSON.stringify(path)}: git ${g ? 'matches' : 'does not match'}`);
    }
  }
  expect(disagreements).toEqual([]);
  return [...byGit.values()].reduce((n, hits) => n + hits.size, 0);
}

const PATHS = [
  'secrets.toml', 'sub/secrets.toml', 'a/b/secrets.toml', '.dlt/secrets.toml', 'x/.dlt/secrets.toml', 'x/y/.dlt/secrets.toml',
  '.dlt/prod.secrets.toml', '.dlt/secrets.prod.toml', 'config/prod.toml', 'config/staging.toml', 'config/dev.toml',
  'config/sub/prod.toml', 'config', 'config/.hidden.toml', 'my secrets/prod.toml', 'my secrets/a b.toml', '-x/.dlt/secrets.toml',
  'x\ny/.dlt/secrets.toml', 'weird[1].toml', 'a*b.toml', 'a?b.toml', 'ab.toml', 'a\\b.toml', '#x.toml', 'x/#y.toml', '!x.toml',
  'é.toml', 'e.toml', 'café/secrets.toml', 'a-c.toml', 'b.toml', '].toml', '^.toml', 'z.toml', 'a/x/y/b.toml', 'a/b.toml',
  'a/.b/c.toml', 'deep/a/b/c/d.toml', '"q".toml',
];

const PATTERNS = [
  'secrets.toml', '/secrets.toml', '**/secrets.toml', '**/.dlt/secrets.toml', '**/.dlt/*.secrets.toml', '**/.dlt/secrets.*.toml',
  'config/*.toml', 'config/**', 'config/**/prod.toml', '*.toml', '*', '**', '?.toml', 'a?b.toml', 'a\\*b.toml', 'a\\?b.toml',
  'weird\\[1\\].toml', 'weird[[]1].toml', '[abc].toml', '[!abc].toml', '[^abc].toml', '[a-c].toml', '[]].toml', '[!]].toml',
  '[a-].toml', '[-a].toml', '[\\]].toml', 'my secrets/*.toml', 'my secrets/a b.toml', '\\#x.toml', '#x.toml', 'x/#y.toml',
  '\\!x.toml', 'é.toml', '?.toml', '[é].toml', 'caf?/secrets.toml', 'a/**/b.toml', 'a/**', 'deep/**/d.toml', '**/b.toml',
  '-x/**', 'x?y/**', '*/.dlt/secrets.toml', 'a\\\\b.toml', '"q".toml', '[a-c-e].toml', '[z-a].toml', '[/].toml',
];

describe('profile patterns mean the same to git and to git-seal', () => {
  it('agree with git check-attr on a table of patterns and paths', () => {
    for (const p of PATTERNS) expect(() => gitPatterns(p), p).not.toThrow();
    expect(expectAgreement(PATTERNS, PATHS)).toBeGreaterThan(100);
  });

  // Fixed seeds: the same cases every run (change the seed to explore others).
  it('agree with git check-attr on random patterns and paths', () => {
    const ch = fc.constantFrom('a', 'b', '.', '/', '*', '?', '[', ']', '!', '^', '-', '\\', ' ', 'é', '#');
    const patterns = new Set<string>();
    fc.assert(
      fc.property(fc.array(ch, { minLength: 1, maxLength: 10 }), (cs) => {
        const p = cs.join('');
        try {
          gitPatterns(p);
          patterns.add(p);
        } catch (err) {
          if (!(err instanceof PatternError)) throw err;
        }
      }),
      { numRuns: 3000, seed: 8 },
    );
    const pathCh = fc.constantFrom('a', 'b', '.', '/', '*', '[', ']', '!', '-', '\\', ' ', 'é', '#');
    const paths = fc
      .sample(fc.array(pathCh, { minLength: 1, maxLength: 8 }), { numRuns: 400, seed: 8 })
      .map((cs) => cs.join(''))
      .filter((p) => !p.startsWith('/') && !p.endsWith('/') && !p.includes('//') && !p.split('/').some((s) => s === '.' || s === '..'));
    expect(patterns.size).toBeGreaterThan(300);
    const matches = expectAgreement([...patterns].slice(0, 600), [...new Set([...paths, ...PATHS])]);
    console.log(`globs: ${Math.min(patterns.size, 600)} random patterns × ${paths.length + PATHS.length} paths agree with git, ${matches} matching pairs`);
    expect(matches).toBeGreaterThan(500);
  });

  it('expands brace lists and refuses what git would read differently', () => {
    expect(gitPatterns('config/{prod,staging}.toml')).toEqual(['config/prod.toml', 'config/staging.toml']);
    expect(gitPatterns('{a,b/{c,d}}/x.toml')).toEqual(['a/x.toml', 'b/c/x.toml', 'b/d/x.toml']);
    expect(gitPatterns('a\\{b\\}.toml')).toEqual(['a\\{b\\}.toml']);
    for (const bad of ['@(a|b).toml', '!(a).toml', '+(a).toml', '?(a).toml', '*(a).toml', '!x.toml', './x.toml', 'a/../x.toml', 'config/', 'a//b',
      'a**b', '**.toml', 'a/**b', '[abc', '[[:alpha:]].toml', 'x\\', '{a}.toml', '{a,b', 'a}', '', '[attr]x', 'a\nb', '{a,!b}.toml']) {
      expect(() => gitPatterns(bad), JSON.stringify(bad)).toThrow(PatternError);
    }
  });

  it('reads back the pattern of every line it writes', () => {
    for (const p of PATTERNS) {
      const anchored = p.includes('/') ? p : `/${p}`;
      expect(attributeLinePattern(`${attributePattern(p)} filter=git-seal`)).toEqual({ pattern: anchored, rest: ' filter=git-seal' });
    }
  });
});

function repoWithConfig(owner: Person, profileFiles: string[]): string {
  const dir = newRepo(owner);
  writeFileSync(
    join(dir, '.gitseal.toml'),
    `version = 1\n[recipients]\n${owner.name} = "${owner.recipient}"\n[profiles.app]\nfiles = ${JSON.stringify(profileFiles)}\nrecipients = ["${owner.name}"]\n`,
  );
  return dir;
}

describe('profile globs end to end', () => {
  const alice = person('alice');

  it('a brace list seals every alternative, in git and in git-seal', () => {
    const dir = repoWithConfig(alice, ['config/{prod,staging}.toml', 'my secrets/*.toml', 'root.toml']);
    const init = alice.seal(['init', '--no-hook'], { cwd: dir });
    expect(init.status, init.stderr).toBe(0);
    writeFiles(dir, {
      'config/prod.toml': 'token = "prod-secret-1"\n',
      'config/staging.toml': 'token = "staging-secret-2"\n',
      'my secrets/app.toml': 'token = "spaced-secret-3"\n',
      'root.toml': 'token = "root-secret-4"\n',
    });
    alice.git(['add', '-A'], dir);
    alice.git(['commit', '-q', '-m', 'secrets'], dir);
    for (const f of ['config/prod.toml', 'config/staging.toml', 'my secrets/app.toml', 'root.toml']) {
      const blob = alice.git(['show', `HEAD:${f}`], dir);
      expect(blob, f).toContain('ENC[gitseal.v1,');
      expect(blob, f).not.toMatch(/-secret-\d/);
    }
    const attrs = readFileSync(join(dir, '.gitattributes'), 'utf8');
    expect(attrs).toContain('config/prod.toml filter=git-seal');
    expect(attrs).not.toContain('{');
    expect(attrs).toContain('"my secrets/*.toml" filter=git-seal');
    // A name without a slash is relative to the root, for git as for git-seal.
    expect(attrs).toContain('/root.toml filter=git-seal');
    const check = alice.seal(['check'], { cwd: dir });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('refuses patterns git reads differently, naming the profile and the pattern, on every command', () => {
    for (const bad of ['config/@(prod|staging).toml', './config/prod.toml', 'config/', '!config/dev.toml', 'config/**.toml']) {
      const dir = repoWithConfig(alice, ['config/prod.toml', bad]);
      for (const args of [['init', '--no-hook'], ['check'], ['recipients', 'list']]) {
        const r = alice.seal(args, { cwd: dir });
        expect(r.status, `${bad} ${args[0]}`).toBe(1);
        const lines = r.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`profile 'app' files pattern '${bad}'`);
      }
      expect(() => readFileSync(join(dir, '.gitattributes'))).toThrow();
    }
  });

  it('doctor suggests lines git reads as meant, never the brace line again', () => {
    const dir = repoWithConfig(alice, ['config/prod.toml']);
    expect(alice.seal(['init', '--no-hook'], { cwd: dir }).status).toBe(0);
    // An older git-seal copied a brace glob verbatim.
    const config = readFileSync(join(dir, '.gitseal.toml'), 'utf8').replace('"config/prod.toml"', '"config/{prod,staging}.toml"');
    writeFileSync(join(dir, '.gitseal.toml'), config);
    writeFileSync(join(dir, '.gitattributes'), readFileSync(join(dir, '.gitattributes'), 'utf8') + 'config/{prod,staging}.toml filter=git-seal diff=git-seal merge=git-seal\n');
    const r = alice.seal(['doctor', '--json'], { cwd: dir });
    const checks = (JSON.parse(r.stdout) as { checks: { check: string; status: string; fix?: string }[] }).checks;
    const fixes = checks.filter((c) => c.check === 'attributes' && c.status === 'problem').map((c) => c.fix!);
    expect(fixes.join('\n')).not.toContain('{');
    expect(fixes).toHaveLength(1);
    for (const fix of fixes) expect(run('sh', ['-c', fix], { cwd: dir, env: alice.env }).status).toBe(0);
    writeFiles(dir, { 'config/staging.toml': 'token = "staging-secret"\n' });
    alice.git(['add', 'config/staging.toml'], dir);
    expect(alice.git(['show', ':config/staging.toml'], dir)).not.toContain('staging-secret');
    const again = JSON.parse(alice.seal(['doctor', '--json'], { cwd: dir }).stdout) as { checks: { check: string; status: string }[] };
    expect(again.checks.filter((c) => c.check === 'attributes' && c.status === 'problem')).toEqual([]);
  });
});
