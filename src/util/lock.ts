import { createHash } from 'node:crypto';
import { linkSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { randomPooled } from './random.js';
import { GitSealError } from '../errors.js';

/**
 * Advisory locks between git-seal commands, one per file: a lock file created atomically (link(2) of a
 * file that already holds "pid host"), so a holder is always known. A lock whose holder is gone (same
 * host, no such pid) is stale and broken; a live one is waited for, up to GITSEAL_LOCK_TIMEOUT seconds
 * (default 30), then the command fails with a message naming the holder and the lock file.
 */

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const HOST = hostname();
const held = new Map<string, number>();

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function timeoutMs(): number {
  const s = Number(process.env.GITSEAL_LOCK_TIMEOUT ?? '30');
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 30_000;
}

/** Create `path` holding our pid, atomically; false when it exists. */
function tryCreate(path: string): boolean {
  const tmp = `${path}.${process.pid}-${randomPooled(4).toString('hex')}`;
  writeFileSync(tmp, `${process.pid} ${HOST}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function holderOf(path: string): { pid: number; host: string; raw: string } | null {
  try {
    const raw = readFileSync(path, 'utf8');
    const [pid, host] = raw.trim().split(' ');
    return { pid: Number(pid), host: host ?? '', raw };
  } catch {
    return null; // released meanwhile
  }
}

const isStale = (h: { pid: number; host: string }) => h.host === HOST && Number.isInteger(h.pid) && h.pid > 0 && !pidAlive(h.pid);

/** Remove a stale lock; only the holder of `<lock>.break` may, after checking it is still the same one. */
function breakStale(path: string, seen: string): void {
  const breaker = `${path}.break`;
  if (!tryCreate(breaker)) {
    const b = holderOf(breaker);
    if (b && isStale(b)) unlinkSync(breaker);
    return;
  }
  try {
    if (holderOf(path)?.raw === seen) unlinkSync(path);
  } finally {
    unlinkSync(breaker);
  }
}

/** Where the lock for `file` lives: under `lockDir` (named by a hash of its real path), else beside it. */
export function lockPathFor(file: string, lockDir: string | null): string {
  let real: string;
  try {
    real = realpathSync.native(file); // one realpath(3): the JS walk costs an lstat per component
  } catch {
    real = resolve(file); // a new file (perhaps in a directory still to be created)
  }
  if (lockDir === null) return join(dirname(real), `.${basename(real)}.git-seal-lock`);
  return join(lockDir, `${createHash('sha256').update(real).digest('hex').slice(0, 32)}.lock`);
}

/** Take the lock at `lockPath` (re-entrant within a process); returns its release. `shown` names the file in messages. */
export function acquireLock(lockPath: string, shown: string): () => void {
  const count = held.get(lockPath);
  if (count) {
    held.set(lockPath, count + 1);
    return () => release(lockPath);
  }
  const deadline = Date.now() + timeoutMs();
  for (let wait = 5; !tryCreate(lockPath); wait = Math.min(wait * 2, 200)) {
    const holder = holderOf(lockPath);
    if (holder === null) continue;
    if (isStale(holder)) {
      breakStale(lockPath, holder.raw);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new GitSealError(
        `${shown}: another git-seal command (pid ${holder.pid}${holder.host === HOST ? '' : ` on ${holder.host}`}) is changing it; nothing was written`,
        `wait for it to finish and run this again; if no git-seal is running, delete ${lockPath}`,
      );
    }
    sleep(wait);
  }
  held.set(lockPath, 1);
  return () => release(lockPath);
}

function release(lockPath: string): void {
  const count = held.get(lockPath) ?? 0;
  if (count > 1) {
    held.set(lockPath, count - 1);
    return;
  }
  held.delete(lockPath);
  try {
    unlinkSync(lockPath);
  } catch {
    /* broken as stale by someone else: nothing to release */
  }
}
