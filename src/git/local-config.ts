import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Repo } from './repo.js';

/**
 * Add config entries that the repository's own config does not have yet, in one write instead of one
 * `git config` process per key: git's lock protocol (create `config.lock` exclusively, write, fsync,
 * rename over `config`), appending one section per name. Returns false, having changed nothing, when it
 * cannot be sure of the result (a linked worktree, the lock taken, a value it would have to escape
 * beyond quotes); the caller then runs `git config` per key. `verify` reads the config back through git
 * and must return the entries as git sees them; on any difference the old file is put back.
 */
export function appendLocalConfig(repo: Repo, entries: readonly [string, string][], verify: () => Map<string, string>): boolean {
  const file = join(repo.gitDir, 'config');
  if (existsSync(join(repo.gitDir, 'commondir')) || !existsSync(file)) return false;
  const block = configBlock(entries);
  if (block === null) return false;
  const before = readFileSync(file);
  const text = before.toString('utf8');
  const mode = statSync(file).mode & 0o777;
  if (!replaceLocked(file, Buffer.from(`${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${block}`, 'utf8'), mode)) return false;
  const seen = verify();
  if (entries.every(([k, v]) => seen.get(k) === v)) return true;
  replaceLocked(file, before, mode);
  return false;
}

/** Write `data` as `file` through `file.lock`, as git does; false when the lock is held. */
function replaceLocked(file: string, data: Buffer, mode: number): boolean {
  const lock = `${file}.lock`;
  let fd: number;
  try {
    fd = openSync(lock, 'wx', mode);
  } catch {
    return false;
  }
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(lock, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(lock, file);
  return true;
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
