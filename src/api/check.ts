import { GitSealError } from '../errors.js';
import { keyPathList, parseSealed, unsealedValues } from '../format/seal.js';
import { sealedByAttributes, secretsMatcher } from '../git/attributes.js';
import { CatFileBatch } from '../git/cat-file.js';
import type { Repo } from '../git/repo.js';
import { hasHead } from '../git/repo.js';
import { listFiles } from '../git/list-files.js';
import { loadConfigIfPresent, type GitSealConfig } from '../profiles/config.js';
import { NO_PROFILE, pathSettings } from '../profiles/path-settings.js';

export interface CheckProblem {
  path: string;
  problem: string;
  fix: string;
}

export interface CheckReport {
  checked: string[];
  problems: CheckProblem[];
}

/**
 * Problems in one sealed (or not) blob of a secrets file; `where` says whether the blob is committed
 * (HEAD) or only staged (the index), for the messages.
 */
export function inspectBlob(path: string, text: string, config: GitSealConfig | null, where: 'committed' | 'staged' = 'committed'): CheckProblem[] {
  const problems: CheckProblem[] = [];
  let sealed;
  try {
    sealed = parseSealed(text, path);
  } catch (err) {
    const why = err instanceof GitSealError ? err.message : String(err);
    return [{ path, problem: `sealed file cannot be parsed: ${why.replace(`${path}:`, '').trim()}`, fix: 'restore it from history or re-seal it with git-seal encrypt' }];
  }
  let settings = NO_PROFILE;
  try {
    settings = pathSettings(config, path);
  } catch (err) {
    problems.push({ path, problem: (err as Error).message, fix: 'make the profiles\' files globs disjoint in .gitseal.toml' });
  }
  if (!sealed) {
    const fix =
      where === 'staged'
        ? `install the filter (git-seal install), then git rm --cached ${path} && git add ${path}`
        : `install the filter (git-seal install), then git rm --cached ${path} && git add ${path}, and rotate the exposed secrets`;
    return [...problems, { path, problem: `${where} in plaintext (not sealed)`, fix }];
  }
  if (sealed.meta.conflict !== undefined) {
    problems.push({ path, problem: 'contains an unresolved merge conflict', fix: 'resolve it in a clone with the key, then git add' });
  }
  const plain = unsealedValues(sealed, settings.plaintextKeys);
  if (plain.length) {
    problems.push({
      path,
      problem: `${where} with plaintext values not listed in plaintext_keys: ${keyPathList(plain)}`,
      fix: `a recipient seals them with git-seal set ${path} KEY (or git-seal edit), or list the keys in plaintext_keys; ${where === 'staged' ? 'unstage the file with git restore --staged' : 'rotate any exposed secret'}`,
    });
  }
  const { profile } = settings;
  if (profile) {
    const want = new Set(settings.recipients);
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
      if (blob) problems.push(...inspectBlob(e.path, blob.toString('utf8'), config, source === 'index' ? 'staged' : 'committed'));
    }
  } finally {
    objects.close();
  }
  return { checked: secrets.map((e) => e.path), problems };
}
