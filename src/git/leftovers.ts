import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GitSealError } from '../errors.js';
import { looksSealed, seal } from '../format/seal.js';
import type { GitSealConfig } from '../profiles/config.js';
import { pathSettings } from '../profiles/path-settings.js';
import { scanToml } from '../toml/index.js';
import { withFileLock, writeFileAtomic } from './atomic-write.js';
import { sealedByAttributes, secretsMatcher } from './attributes.js';
import type { Repo } from './repo.js';
import { git, gitBuffer } from './run.js';

/**
 * What `lock` must not leave behind: plaintext of secrets files that git could commit once the filter is
 * gone (untracked or modified files), and copies git itself keeps under .git/ (rerere images, the diff
 * `commit -v` puts in COMMIT_EDITMSG).
 */

/** The plaintext bytes of a regular file (git stores a symbolic link as its target's name, not content). */
function readPlain(repo: Repo, path: string): Buffer | null {
  try {
    if (!lstatSync(join(repo.root, path)).isFile()) return null;
    const bytes = readFileSync(join(repo.root, path));
    return looksSealed(bytes.toString('utf8')) ? null : bytes;
  } catch {
    return null;
  }
}

/** Untracked, not ignored secrets files that hold plaintext (`git add -A` would take them as they are). */
export function untrackedPlaintext(repo: Repo, config: GitSealConfig | null): string[] {
  const out = gitBuffer(['ls-files', '-z', '--others', '--exclude-standard'], { cwd: repo.root })!.toString('utf8');
  const files = out.split('\0').filter(Boolean);
  const covered = sealedByAttributes(repo.root, files);
  const isSecrets = secretsMatcher(config);
  return files.filter((f) => (covered.has(f) || isSecrets(f)) && readPlain(repo, f) !== null).sort();
}

/** The subset of `paths` whose working copy is plaintext. */
export function plaintextOnDisk(repo: Repo, paths: Iterable<string>): string[] {
  return [...paths].filter((f) => readPlain(repo, f) !== null).sort();
}

/** Seal files in place for their profile's recipients; every one is sealed in memory before any is written. */
export async function sealInPlace(repo: Repo, paths: readonly string[], config: GitSealConfig | null): Promise<void> {
  const planned: { path: string; before: Buffer; text: string }[] = [];
  for (const path of paths) {
    const before = readPlain(repo, path);
    if (before === null) continue;
    const { profile, recipients, plaintextKeys } = pathSettings(config, path);
    if (!profile) throw new GitSealError(`${path}: holds plaintext and no profile in .gitseal.toml covers it, so lock cannot seal it; nothing was changed`, 'move it out of the repository, delete it, or add it to a profile');
    const { text } = await seal(before.toString('utf8'), { recipients, plaintextKeys, file: path });
    planned.push({ path, before, text });
  }
  for (const p of planned) {
    const abs = join(repo.root, p.path);
    await withFileLock(abs, async () => writeFileAtomic(abs, p.text, undefined, { expected: p.before }));
  }
}

/** The "ours" side of a text with conflict hunks (base and theirs dropped). */
function oursSide(text: string): string {
  let out = '';
  let state: 'plain' | 'ours' | 'skip' = 'plain';
  for (const line of text.split(/(?<=\n)/)) {
    if (/^<{7,}( |\r?\n|$)/.test(line)) state = 'ours';
    else if (state !== 'plain' && /^(\|{7,}|={7,})( |\r?\n|$)/.test(line)) state = 'skip';
    else if (state !== 'plain' && /^>{7,}( |\r?\n|$)/.test(line)) state = 'plain';
    else if (state !== 'skip') out += line;
  }
  return out;
}

function isToml(text: string): boolean {
  try {
    return scanToml(oursSide(text)).entries.length > 0;
  } catch {
    return false;
  }
}

const gitPath = (repo: Repo, name: string) => resolve(repo.root, git(['rev-parse', '--git-path', name], { cwd: repo.root }));

/**
 * Forget rerere's recorded conflicts and resolutions of TOML files (secrets files among them: rerere
 * records the plaintext the working tree showed), and cut the diff `git commit -v` left in COMMIT_EDITMSG
 * (textconv shows it in plaintext). Returns the number of rerere records removed.
 */
export function scrubGitDir(repo: Repo): number {
  let removed = 0;
  const rrCache = gitPath(repo, 'rr-cache');
  for (const id of existsSync(rrCache) ? readdirSync(rrCache) : []) {
    const dir = join(rrCache, id);
    if (!statSync(dir).isDirectory()) continue;
    const images = readdirSync(dir).filter((f) => /^(pre|post|this)image(\.\d+)?$/.test(f));
    if (images.some((f) => isToml(readFileSync(join(dir, f), 'utf8')))) {
      rmSync(dir, { recursive: true, force: true });
      removed++;
    }
  }
  const msg = gitPath(repo, 'COMMIT_EDITMSG');
  if (existsSync(msg)) {
    const text = readFileSync(msg, 'utf8');
    const cut = /^. -{24} >8 -{24}$/m.exec(text);
    if (cut) writeFileAtomic(msg, text.slice(0, cut.index), undefined, { tempBeside: true });
  }
  return removed;
}
