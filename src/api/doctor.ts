import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { loadIdentities, unlockDeferred, type LoadedIdentities } from '../age/index.js';
import { parseSealed, unwrapFileDataKey, type SealedFile } from '../format/seal.js';
import { attributeLine, sealedByAttributes } from '../git/attributes.js';
import { CatFileBatch } from '../git/cat-file.js';
import { filterConfig, hookPath, hookState, installedConfig } from '../git/install.js';
import { findRepo, gitVersion, type Repo } from '../git/repo.js';
import { gitPatterns, patternMatcher } from '../util/wildmatch.js';
import { loadConfigIfPresent, type GitSealConfig } from '../profiles/config.js';
import { decodeText } from '../util/io.js';
import { inspectBlob } from './check.js';
import { recipientInfo, shortKey } from './recipients.js';
import { filterInstalled, repoSecretsFiles } from './secrets-file.js';

export type CheckStatus = 'ok' | 'info' | 'problem';

export interface DoctorCheck {
  /** Which check: versions, identities, repository, config, files, committed, filter, attributes, hook, worktree. */
  check: string;
  status: CheckStatus;
  message: string;
  /** The command (or edit) that fixes a problem. */
  fix?: string;
  details?: string[];
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** This git-seal's version. */
  version: string;
  identityFiles?: string[];
  cwd?: string;
}

const problem = (check: string, message: string, fix: string, details?: string[]): DoctorCheck => ({ check, status: 'problem', message, fix, ...(details ? { details } : {}) });

function label(key: string, config: GitSealConfig | null): string {
  const [r] = recipientInfo([key], config);
  return r.name ? `${r.name} (${shortKey(key)})` : shortKey(key);
}

function versions(version: string): DoctorCheck {
  try {
    return { check: 'versions', status: 'ok', message: `git-seal ${version}, git ${gitVersion()}` };
  } catch {
    return problem('versions', `git-seal ${version}; git cannot be run`, 'install git 2.39 or later and put it on PATH');
  }
}

function identityCheck(loaded: LoadedIdentities, config: GitSealConfig | null): DoctorCheck {
  if (loaded.identities.length === 0) {
    return problem(
      'identities',
      'no age identity found (looked at --identity, $GITSEAL_AGE_KEY, $GITSEAL_AGE_KEY_FILE, $GITSEAL_AGE_KEY_CMD, the OS keyring, ~/.config/git-seal/keys.txt, $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE, $SOPS_AGE_KEY_CMD, ~/.config/sops/age/keys.txt)',
      'git-seal keygen, then ask a recipient to add your public key (git-seal recipients add NAME AGE1…)',
    );
  }
  return {
    check: 'identities',
    status: 'ok',
    message: `${loaded.identities.length} identit${loaded.identities.length === 1 ? 'y' : 'ies'} found`,
    details: loaded.sources.map((s) => `${s.source}: ${s.publicKeys.map((k) => label(k, config)).join(', ') || 'no keys'}`),
  };
}

/** Each secrets file as git has it (the index), or as it is on disk when untracked. */
async function storedVersions(repo: Repo, files: string[]): Promise<Map<string, { text: string; tracked: boolean }>> {
  const out = new Map<string, { text: string; tracked: boolean }>();
  const objects = new CatFileBatch({ cwd: repo.root });
  try {
    for (const f of files) {
      const blob = await objects.read(`:0:${f}`);
      out.set(f, { text: (blob ?? readFileSync(join(repo.root, f))).toString('utf8'), tracked: blob !== null });
    }
  } finally {
    objects.close();
  }
  return out;
}

async function fileChecks(config: GitSealConfig | null, loaded: LoadedIdentities, stored: Map<string, { text: string; tracked: boolean }>): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const opens = new Map<string, string[]>(loaded.recipients.map((k) => [k, []]));
  const unopened: string[] = [];
  for (const [path, { text, tracked }] of stored) {
    let sealed: SealedFile | null = null;
    try {
      sealed = parseSealed(text, path);
    } catch {
      /* a tracked one is reported by inspectBlob; an untracked one by the worktree check */
    }
    if (tracked) for (const p of inspectBlob(path, text, config)) checks.push(problem('committed', `${path}: ${p.problem}`, p.fix));
    if (!sealed) continue;
    let any = false;
    for (let i = 0; i < loaded.identities.length; i++) {
      if (await unwrapFileDataKey(sealed, [loaded.identities[i]], path)) {
        opens.get(loaded.recipients[i])!.push(path);
        any = true;
      }
    }
    if (!any) unopened.push(`${path} (sealed to ${sealed.meta.recipients.map((k) => label(k, config)).join(', ')})`);
  }
  for (const [key, files] of opens) {
    checks.push({ check: 'files', status: files.length ? 'ok' : 'info', message: `${label(key, config)} opens ${files.length ? files.join(', ') : 'none of the secrets files'}` });
  }
  if (unopened.length) checks.push({ check: 'files', status: 'info', message: 'no identity of yours opens these (fine if you are not meant to)', details: unopened });
  return checks;
}

function filterCheck(repo: Repo): DoctorCheck {
  const cfg = installedConfig(repo);
  if (!filterInstalled(repo)) {
    return problem('filter', 'the git-seal filter is not installed in this clone: files stay sealed on checkout and git add would commit plaintext as it is', 'git-seal install');
  }
  if (cfg.get('diff.git-seal.cachetextconv') === 'true') {
    return problem(
      'filter',
      'diff.git-seal.cachetextconv is on: git stores the decrypted diff text in refs/notes/textconv/git-seal, plaintext in the object store',
      'git config --unset diff.git-seal.cachetextconv && git update-ref -d refs/notes/textconv/git-seal',
    );
  }
  const missing = filterConfig('x').map(([k]) => k).filter((k) => !cfg.has(k));
  if (missing.length) return problem('filter', `the filter config is incomplete (missing ${missing.join(', ')})`, 'git-seal install');
  const cmd = (cfg.get('filter.git-seal.process') ?? cfg.get('filter.git-seal.clean')!).replace(/ (filter-process|clean( --)? %f)$/, '');
  const run = spawnSync('/bin/sh', ['-c', `${cmd} --version`], { cwd: repo.root, encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) {
    return problem('filter', `the filter command does not run: \`${cmd} --version\` ${run.status === null ? 'timed out' : `exited with status ${run.status}`}`, 'git-seal install (from the git-seal you want git to use)');
  }
  const stale = filterConfig(cmd).filter(([k, v]) => cfg.get(k) !== v);
  if (stale.length) return problem('filter', `the filter config is not what this git-seal writes (${stale.map(([k]) => k).join(', ')}): an older git-seal wrote it`, 'git-seal install');
  return { check: 'filter', status: 'ok', message: `filter installed and working: ${cmd} (version ${run.stdout.trim()})` };
}

/** A path a (checked) pattern matches, to ask git about when no file matches yet; null for classes. */
function sampleOf(pattern: string): string | null {
  if (pattern.includes('[')) return null;
  const sample = pattern
    .replace(/^\//, '')
    .replace(/^\*\*\//, '')
    .replace(/\/\*\*\//g, '/')
    .replace(/\/\*\*$/, '/x')
    .replace(/^\*\*$/, 'x')
    .replace(/\\(.)|[*?]/gs, (_m, escaped: string | undefined) => escaped ?? 'x');
  return patternMatcher([pattern])(sample) ? sample : null;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function attributeChecks(repo: Repo, config: GitSealConfig, files: string[]): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const perPattern = config.profiles.flatMap((p) =>
    p.files.flatMap((glob) =>
      gitPatterns(glob).map((pattern) => {
        const matches = patternMatcher([pattern]);
        const matching = files.filter((f) => matches(f));
        const sample = sampleOf(pattern);
        return { profile: p.name, glob, pattern, paths: matching.length ? matching : sample ? [sample] : [] };
      }),
    ),
  );
  const covered = sealedByAttributes(repo.root, [...new Set(perPattern.flatMap((g) => g.paths))]);
  const bare = perPattern.filter((g) => g.paths.some((p) => !covered.has(p)));
  for (const glob of new Set(bare.map((g) => g.glob))) {
    const missing = bare.filter((g) => g.glob === glob);
    const which = missing.flatMap((g) => g.paths.filter((p) => !covered.has(p) && files.includes(p)));
    checks.push(
      problem(
        'attributes',
        `.gitattributes does not cover profile '${missing[0].profile}' files ${glob}${which.length ? ` (${which.join(', ')})` : ''}: git add would commit them unsealed`,
        `printf '%s\\n' ${missing.map((g) => shellQuote(attributeLine(g.pattern))).join(' ')} >> .gitattributes && git add .gitattributes`,
      ),
    );
  }
  if (checks.length === 0) checks.push({ check: 'attributes', status: 'ok', message: `.gitattributes covers the files of every profile (${config.profiles.map((p) => p.name).join(', ')})` });
  return checks;
}

function hookCheck(repo: Repo): DoctorCheck {
  const state = hookState(repo);
  if (state === 'installed') return { check: 'hook', status: 'ok', message: 'pre-commit hook installed (git-seal check --staged)' };
  if (state === 'runs-check') return { check: 'hook', status: 'ok', message: 'pre-commit hook runs git-seal check --staged' };
  if (state === 'foreign') return problem('hook', 'the pre-commit hook does not run git-seal check --staged', `add the line \`git-seal check --staged\` to ${hookPath(repo)}`);
  return { check: 'hook', status: 'info', message: 'no pre-commit hook: nothing stops a plaintext commit if the filter is ever missing', fix: 'git-seal init --hook' };
}

async function worktreeChecks(repo: Repo, files: string[], identities: readonly Identity[], filterOn: boolean): Promise<DoctorCheck[]> {
  const covered = sealedByAttributes(repo.root, files);
  const checks: DoctorCheck[] = [];
  let sealedCount = 0;
  let plainCount = 0;
  for (const f of files.filter((x) => covered.has(x))) {
    let text: string;
    let sealed: SealedFile | null;
    try {
      text = decodeText(readFileSync(join(repo.root, f)), f);
      sealed = parseSealed(text, f);
    } catch (err) {
      checks.push(problem('worktree', `${f}: ${err instanceof GitSealError ? err.message : String(err)}`, `git-seal edit ${f}, or restore it with git checkout -- ${f}`));
      continue;
    }
    if (sealed) {
      sealedCount++;
      if (filterOn && (await unwrapFileDataKey(sealed, identities, f))) {
        checks.push(problem('worktree', `${f} is sealed in the working tree although you can open it and the filter is installed`, 'git-seal install (checks it out decrypted)'));
      }
    } else {
      plainCount++;
      if (!filterOn) {
        checks.push(problem('worktree', `${f} is plaintext in the working tree but the filter is not installed: git add would commit it unsealed`, 'git-seal install (then git add seals it)'));
      }
    }
  }
  if (checks.length === 0) checks.push({ check: 'worktree', status: 'ok', message: `working tree: ${plainCount} secrets file(s) decrypted, ${sealedCount} sealed, as expected` });
  return checks;
}

/** Diagnose this clone's git-seal setup; every problem comes with the command that fixes it. */
export async function doctor(opts: DoctorOptions): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [versions(opts.version)];
  let repo: Repo | null = null;
  let config: GitSealConfig | null = null;
  try {
    repo = findRepo(opts.cwd);
    config = loadConfigIfPresent(repo.root);
    if (!config) checks.push(problem('config', 'no .gitseal.toml in this repository', 'git-seal init'));
  } catch (err) {
    if (!(err instanceof GitSealError)) throw err;
    checks.push(problem(repo ? 'config' : 'repository', err.message, err.hint ?? 'see the message'));
  }
  let loaded: LoadedIdentities = { identities: [], recipients: [], deferred: [], sources: [] };
  try {
    // Unlocked now (a passphrase is asked once) so every key can be shown and checked.
    const found = await loadIdentities({ identityFiles: opts.identityFiles ?? [], env: process.env });
    loaded = await unlockDeferred(found, (_source, err) => checks.push(problem('identities', err.message, err.hint ?? 'fix the identity source')));
    checks.push(identityCheck(loaded, config));
  } catch (err) {
    if (!(err instanceof GitSealError)) throw err;
    checks.push(problem('identities', err.message, err.hint ?? 'fix the identity source'));
  }
  if (repo) {
    const files = repoSecretsFiles(repo, config);
    checks.push(...(await fileChecks(config, loaded, await storedVersions(repo, files))));
    checks.push(filterCheck(repo));
    if (config) checks.push(...attributeChecks(repo, config, files));
    checks.push(hookCheck(repo));
    checks.push(...(await worktreeChecks(repo, files, loaded.identities, filterInstalled(repo))));
  }
  return { ok: checks.every((c) => c.status !== 'problem'), checks };
}
