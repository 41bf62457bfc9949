import { createHash, createHmac, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';

/**
 * Remembers which (path, sealed blob, plaintext, recipients) combinations are already in sync, so that
 * cleaning an unchanged file after `touch` or a fresh checkout returns the index blob without
 * unwrapping its data key or re-encrypting its values: `git status` then costs one HMAC per file.
 *
 * Entries are HMAC-SHA256 tags under a random per-clone key in `.git/git-seal/` (mode 0600), so the
 * cache file says nothing about the plaintext without that key. The cache lives only in clones whose
 * working tree already holds the plaintext. A missing or unreadable cache is simply empty.
 */
export class CleanCache {
  private key?: Buffer;
  private tags?: Set<string>;
  private added: string[] = [];

  constructor(private readonly gitDir: string) {}

  private dir(): string {
    return join(this.gitDir, 'git-seal');
  }

  private load(): void {
    if (this.tags) return;
    this.tags = new Set();
    try {
      this.key = readFileSync(join(this.dir(), 'cache-key'));
      if (this.key.length !== 32) this.key = undefined;
      for (const line of readFileSync(join(this.dir(), 'clean-cache'), 'latin1').split('\n')) if (line) this.tags.add(line);
    } catch {
      /* first use */
    }
  }

  private ensureKey(): Buffer | undefined {
    this.load();
    if (this.key) return this.key;
    try {
      mkdirSync(this.dir(), { recursive: true, mode: 0o700 });
      const key = randomBytes(32);
      const fd = openSync(join(this.dir(), 'cache-key'), 'wx', 0o600);
      try {
        writeSync(fd, key);
      } finally {
        closeSync(fd);
      }
      this.key = key;
    } catch {
      return undefined; // another process made one first, or .git is read-only: no caching this time
    }
    return this.key;
  }

  private tag(key: Buffer, path: string, blobOid: string, plaintext: Buffer, settings: string): string {
    const h = createHmac('sha256', key);
    for (const part of ['git-seal clean cache v1', path, blobOid, settings]) h.update(part).update('\0');
    return h.update(plaintext).digest('hex');
  }

  /** Whether cleaning `plaintext` at `path` with these settings reproduces the blob `blobOid`. */
  has(path: string, blobOid: string, plaintext: Buffer, settings: string): boolean {
    this.load();
    return this.key !== undefined && this.tags!.has(this.tag(this.key, path, blobOid, plaintext, settings));
  }

  /** Record that `plaintext` at `path` cleans to the blob `blobOid` under these settings. */
  add(path: string, blobOid: string, plaintext: Buffer, settings: string): void {
    const key = this.ensureKey();
    if (!key) return;
    const t = this.tag(key, path, blobOid, plaintext, settings);
    if (this.tags!.has(t)) return;
    this.tags!.add(t);
    this.added.push(t);
  }

  /** Write new entries (atomically; keeps the newest 50,000). Errors are ignored: it is only a cache. */
  save(): void {
    if (this.added.length === 0 || !this.tags) return;
    try {
      const all = [...this.tags].slice(-50_000);
      writeFileAtomic(join(this.dir(), 'clean-cache'), all.join('\n') + '\n', 0o600, { tempBeside: true });
      this.added = [];
    } catch {
      /* read-only .git */
    }
  }
}

/** The object id git gives `content` as a blob (SHA-1, or SHA-256 in a sha256 repository). */
export function blobOid(content: Buffer, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(`blob ${content.length}\0`).update(content).digest('hex');
}
