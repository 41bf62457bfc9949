import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { parseKeyPath } from '../format/keypath.js';
import { META_TABLE } from '../format/meta.js';
import { openSealed, parseSealed, seal, unsealedValues, type UnlockedFile } from '../format/seal.js';
import { sealedByAttributes, secretsMatcher } from '../git/attributes.js';
import { installedConfig } from '../git/install.js';
import { findRepo, repoPath, type Repo } from '../git/repo.js';
import { gitBuffer } from '../git/run.js';
import { loadConfigIfPresent, type GitSealConfig } from '../profiles/config.js';
import { NO_PROFILE, pathSettings, type PathSettings } from '../profiles/path-settings.js';
import { TomlEditError, type ScalarSpan } from '../toml/index.js';
import { writeFileAtomic } from '../git/atomic-write.js';
import { decodeText, readBytes } from '../util/io.js';

/**
 * A secrets file as the commands that edit it see it (set, rm, edit, ls, doctor): where it sits, and
 * how it is read and written back the way it was, sealed or plaintext.
 */

/** Where a file sits: its repository, path there, and that path's settings (profile, recipients, plaintext keys). */
export interface FileContext {
  file: string;
  repo: Repo | null;
  relPath: string | null;
  config: GitSealConfig | null;
  settings: PathSettings;
}

export function fileContext(file: string): FileContext {
  let repo: Repo | null = null;
  if (existsSync(dirname(resolve(file)))) {
    try {
      repo = findRepo(file);
    } catch {
      /* not in a repository: no profile */
    }
  }
  if (!repo) return { file, repo: null, relPath: null, config: null, settings: NO_PROFILE };
  return repoFileContext(repo, loadConfigIfPresent(repo.root), repoPath(repo, file), file);
}

/** The context of a path of `repo`, whose config is already loaded. */
export function repoFileContext(repo: Repo, config: GitSealConfig | null, relPath: string, file = join(repo.root, relPath)): FileContext {
  return { file, repo, relPath, config, settings: pathSettings(config, relPath) };
}

export function filterInstalled(repo: Repo): boolean {
  const cfg = installedConfig(repo);
  return cfg.has('filter.git-seal.process') || (cfg.has('filter.git-seal.clean') && cfg.has('filter.git-seal.smudge'));
}

/**
 * Re-seal edited plaintext with the file's own data key and recipients, so unchanged values keep their
 * ciphertext. Only the profile's plaintext_keys stay plaintext: a value the sealed file held in clear
 * without being listed there (see unsealedValues) is sealed now.
 */
export async function resealEdited(plaintext: string, unlocked: UnlockedFile, ctx: FileContext): Promise<string> {
  const result = await seal(plaintext, {
    recipients: unlocked.sealed.meta.recipients,
    previous: unlocked,
    plaintextKeys: ctx.settings.plaintextKeys,
    file: ctx.file,
  });
  return result.text;
}

/** Values of a sealed-on-disk file held in clear outside its profile's plaintext_keys. */
export function valuesInClear(loaded: LoadedFile): ScalarSpan[] {
  return loaded.unlocked ? unsealedValues(loaded.unlocked.sealed, loaded.ctx.settings.plaintextKeys) : [];
}

/** A secrets file as read for an edit: sealed on disk (and opened), plaintext on disk, or not there yet. */
export interface LoadedFile {
  ctx: FileContext;
  exists: boolean;
  /** The bytes read (null: no file): the save is refused if the file no longer holds them. */
  bytes: Buffer | null;
  /** Open data key and parts when the file is sealed on disk. */
  unlocked: UnlockedFile | null;
  plaintext: string;
}

export async function loadFile(file: string, identities: readonly Identity[], opts: { mayCreate?: boolean } = {}): Promise<LoadedFile> {
  const ctx = fileContext(file);
  if (!existsSync(file) && opts.mayCreate) return { ctx, exists: false, bytes: null, unlocked: null, plaintext: '' };
  const bytes = readBytes(file);
  const text = decodeText(bytes, file);
  const sealed = parseSealed(text, file);
  if (!sealed) return { ctx, exists: true, bytes, unlocked: null, plaintext: text };
  if (sealed.meta.conflict !== undefined) {
    throw new GitSealError(`${file}: has an unresolved merge conflict`, `resolve it with git-seal edit ${file}`);
  }
  const opened = await openSealed(sealed, identities, file);
  return { ctx, exists: true, bytes, unlocked: opened, plaintext: opened.plaintext };
}

/** The key path of a value set or rm may edit: no array item, nothing in git-seal's own table. */
export function editablePath(keyPath: string, file: string): string[] {
  const path = parseKeyPath(keyPath);
  if (path.some((s) => typeof s === 'number')) {
    throw new GitSealError(`${file}: cannot set or remove one item of an array ('${keyPath}')`, `set the whole array with --type toml, or use git-seal edit ${file}`);
  }
  if (path[0] === META_TABLE) throw new GitSealError(`${file}: the top-level key '${META_TABLE}' is reserved for git-seal's metadata`, 'pick another name');
  return path as string[];
}

/** An edit the splicer refused, as the error set and rm report (other errors unchanged). */
export function editError(file: string, err: unknown): unknown {
  return err instanceof TomlEditError ? new GitSealError(`${file}: ${err.message}`, `use git-seal edit ${file} for this change`) : err;
}

/** Write new plaintext back the way the file was: sealed stays sealed (same data key), plaintext stays plaintext. */
export async function saveFile(loaded: LoadedFile, plaintext: string): Promise<'sealed' | 'plaintext'> {
  const { ctx } = loaded;
  const expected = { expected: loaded.bytes };
  if (loaded.unlocked) {
    writeFileAtomic(ctx.file, await resealEdited(plaintext, loaded.unlocked, ctx), undefined, expected);
    return 'sealed';
  }
  if (loaded.exists) {
    writeFileAtomic(ctx.file, plaintext, undefined, expected);
    return 'plaintext';
  }
  const { repo, relPath, settings } = ctx;
  if (!repo || !relPath || !settings.profile) {
    throw new GitSealError(
      `${ctx.file}: does not exist, and no profile in .gitseal.toml covers it, so there is no one to seal it for`,
      repo ? "add its path to a profile's files in .gitseal.toml" : 'create it inside a repository set up with git-seal init',
    );
  }
  mkdirSync(dirname(ctx.file), { recursive: true });
  if (filterInstalled(repo) && sealedByAttributes(repo.root, [relPath]).has(relPath)) {
    writeFileAtomic(ctx.file, plaintext, 0o600, expected); // the filter seals it on git add, like every file of this clone
    return 'plaintext';
  }
  const sealed = await seal(plaintext, { recipients: settings.recipients, plaintextKeys: settings.plaintextKeys, file: ctx.file });
  writeFileAtomic(ctx.file, sealed.text, undefined, expected);
  return 'sealed';
}

/** Every secrets file of the repository in the work tree: tracked or untracked (not ignored). */
export function repoSecretsFiles(repo: Repo, config: GitSealConfig | null): string[] {
  const out = gitBuffer(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo.root })!;
  const files = [...new Set(out.toString('utf8').split('\0').filter(Boolean))];
  const covered = sealedByAttributes(repo.root, files);
  const isSecrets = secretsMatcher(config);
  return files.filter((f) => (covered.has(f) || isSecrets(f)) && existsSync(join(repo.root, f))).sort();
}

