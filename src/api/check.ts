import { GitSealError } from '../errors.js';
import { isSealedScalar, parseSealed } from '../format/seal.js';
import { formatKeyPath } from '../format/keypath.js';
import { DEFAULT_PATTERNS, sealedByAttributes } from '../git/attributes.js';
import { CatFileBatch } from '../git/cat-file.js';
import { patternMatcher } from '../git/wildmatch.js';
import type { Repo } from '../git/repo.js';
import { hasHead } from '../git/repo.js';
import { listFiles } from '../git/tree.js';
import { loadConfigIfPresent, plaintextKeyFilter, profileFor, type GitSealConfig } from '../profiles/config.js';

export interface CheckProblem {
  path: string;
  problem: string;
  fix: string;
}

export interface CheckReport {
  checked: string[];
  problems: CheckProblem[];
}

/** Every glob that names a secrets file: the profiles' and git-seal's defaults. */
export function secretsMatcher(config: GitSealConfig | null): (path: string) => boolean {
  return patternMatcher([...DEFAULT_PATTERNS, ...(config?.profiles.flatMap((p) => p.patterns) ?? [])]);
}

/** Problems in one sealed (or not) blob of a secrets file. */
export function inspectBlob(path: string, text: string, config: GitSealConfig | null): CheckProblem[] {
  const problems: CheckProblem[] = [];
  let sealed;
  try {
    sealed = parseSealed(text, path);
  } catch (err) {
    const why = err instanceof GitSealError ? err.message : String(err);
    return [{ path, problem: `sealed file cannot be parsed: ${why.replace(`${path}:`, '').trim()}`, fix: 'restore it from history or re-seal it with git-seal encrypt' }];
  }
  let profile = null;
  try {
    profile = config ? profileFor(config, path) : null;
  } catch (err) {
    problems.push({ path, problem: (err as Error).message, fix: 'make the profiles\' files globs disjoint in .gitseal.toml' });
  }
  if (!sealed) {
    return [...problems, { path, problem: 'committed in plaintext (not sealed)', fix: `install the filter (git-seal install), then git rm --cached ${path} && git add ${path}, and rotate the exposed secrets` }];
  }
  if (sealed.meta.conflict !== undefined) {
    problems.push({ path, problem: 'contains an unresolved merge conflict', fix: 'resolve it in a clone with the key, then git add' });
  }
  const allowed = plaintextKeyFilter(profile?.plaintextKeys ?? []);
  const plain = sealed.doc.scalars.filter((s) => {
    if (s.start >= sealed.bodyEnd) return false;
    return !isSealedScalar(sealed.text, s) && !allowed?.(s.path);
  });
  if (plain.length) {
    const keys = plain.slice(0, 5).map((s) => formatKeyPath(s.path)).join(', ') + (plain.length > 5 ? `, … (${plain.length} in all)` : '');
    problems.push({ path, problem: `plaintext values: ${keys}`, fix: `re-seal with git-seal encrypt --in-place or list the keys in plaintext_keys; rotate any exposed secret` });
  }
  if (profile) {
    const want = new Set(profile.recipients);
    const have = new Set(sealed.meta.recipients);
    const missing = [...want].filter((r) => !have.has(r)).length;
    const extra = [...have].filter((r) => !want.has(r)).length;
    if (missing || extra) {
      problems.push({ path, problem: `recipients differ from profile '${profile.name}' (${missing} missing, ${extra} extra)`, fix: `git-seal rekey ${path}` });
    }
  }
  return problems;
}

/**
 * The CI and pre-commit gate: every secrets file in HEAD (or the index with `staged`) must be sealed,
 * parse, be covered by .gitattributes, and be sealed to its profile's recipients.
 */
export async function check(repo: Repo, opts: { staged?: boolean; paths?: string[] } = {}): Promise<CheckReport> {
  const config = loadConfigIfPresent(repo.root);
  const isSecrets = secretsMatcher(config);
  const source = opts.staged || !hasHead(repo) ? 'index' : 'HEAD';
  const filter = opts.paths?.length ? new Set(opts.paths) : null;
  const entries = listFiles(repo.root, source).filter((e) => (filter ? filter.has(e.path) : true));
  const covered = sealedByAttributes(repo.root, entries.map((e) => e.path));
  const secrets = entries.filter((e) => isSecrets(e.path) || covered.has(e.path));
  const problems: CheckProblem[] = [];
  const objects = new CatFileBatch({ cwd: repo.root });
  try {
    for (const e of secrets) {
      if (!covered.has(e.path)) {
        problems.push({ path: e.path, problem: 'not covered by .gitattributes (filter=git-seal)', fix: 'git-seal init adds the attributes; commit .gitattributes' });
      }
      const blob = await objects.read(e.oid);
      if (blob) problems.push(...inspectBlob(e.path, blob.toString('utf8'), config));
    }
  } finally {
    objects.close();
  }
  return { checked: secrets.map((e) => e.path), problems };
}
