import { closeSync, existsSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Repo } from './repo.js';

/**
 * Add config entries that the repository's own config does not have yet, in one write instead of one
 * `git config` process per key: git's lock protocol (create `config.lock` exclusively, write, fsync,
 * rename over `config`), appending one section per name. Returns false, having changed nothing, when it
 * cannot be sure of the result (a linked worktree, a symlinked config, the lock taken, a value it would
 * have to escape beyond quotes, a file changed since the caller's `expected` snapshot, taken before it
 * looked for the keys); the caller then runs `git config` per key. `verify` reads the config back
 * through git and must return the entries as git sees them; on any difference the old file is put back.
 */
export function appendLocalConfig(repo: Repo, entries: readonly [string, string][], verify: () => Map<string, string>, expected: Buffer): boolean {
  const file = join(repo.gitDir, 'config');
  if (existsSync(join(repo.gitDir, 'commondir'))) return false;
  try {
    if (!lstatSync(file).isFile()) return false; // a symlinked config: git writes through the link, this would not
  } catch {
    return false;
  }
  const block = configBlock(entries);
  if (block === null) return false;
  // Only onto the file the caller looked at: a write since (another install, git config) may have set these keys.
  const written = underLock(file, (before) => (!before.equals(expected) ? null : Buffer.concat([before, Buffer.from(before.length === 0 || before[before.length - 1] === 0x0a ? '' : '\n'), Buffer.from(block, 'utf8')])));
  if (!written) return false;
  const seen = verify();
  if (entries.every(([k, v]) => seen.get(k) === v)) return true;
  // Undo, unless someone changed the file since.
  underLock(file, (now) => (now.equals(written.after) ? written.before : null));
  return false;
}

/** The repository config's bytes, to pass to appendLocalConfig after reading what it holds; null without one. */
export function configSnapshot(repo: Repo): Buffer | null {
  try {
    return readFileSync(join(repo.gitDir, 'config'));
  } catch {
    return null;
  }
}

/**
 * Replace `file` as git does: take `file.lock` exclusively, read the current file, write what `change`
 * makes of it (null: leave it), fsync, rename. Null when the lock is held or nothing was written; the
 * lock never outlives the call.
 */
function underLock(file: string, change: (before: Buffer) => Buffer | null): { before: Buffer; after: Buffer } | null {
  const lock = `${file}.lock`;
  let fd: number;
  try {
    fd = openSync(lock, 'wx', statSync(file).mode & 0o777);
  } catch {
    return null;
  }
  let renamed = false;
  try {
    const before = readFileSync(file);
    const after = change(before);
    if (after === null) return null;
    writeSync(fd, after);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(lock, file);
    renamed = true;
    return { before, after };
  } finally {
    if (fd >= 0) closeSync(fd);
    if (!renamed) rmSync(lock, { force: true });
  }
}

/** `[section "sub"]` blocks for `section.sub.key` entries (or `[section]` for `section.key`), or null. */
function configBlock(entries: readonly [string, string][]): string | null {
  const sections = new Map<string, string[]>();
  for (const [name, value] of entries) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)\.(?:(.+)\.)?([A-Za-z][A-Za-z0-9-]*)$/.exec(name);
    if (!m || /[\x00-\x1f\x7f]/.test(value) || (m[2] !== undefined && /[\x00-\x1f\x7f"\\]/.test(m[2]))) return null;
    const head = m[2] === undefined ? `[${m[1]}]` : `[${m[1]} "${m[2]}"]`;
    const lines = sections.get(head) ?? sections.set(head, []).get(head)!;
    lines.push(`\t${m[3]} = "${value.replace(/[\\"]/g, '\\$&')}"`);
  }
  return [...sections].map(([head, lines]) => `${head}\n${lines.join('\n')}\n`).join('');
}
