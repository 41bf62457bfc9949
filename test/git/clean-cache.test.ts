import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobOid, CleanCache } from '../../src/git/clean-cache.js';
import { cleanupTempDirs, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

function blob(i: number): Buffer {
  return Buffer.from(`[gitseal]\n# blob ${i}\n${'x'.repeat(3000 + (i % 7))}\n`);
}

const oidOf = (i: number) => blobOid(blob(i), 'sha1');
const plain = (i: number) => Buffer.from(`plain ${i}`);

/** A git dir whose cache holds blobs 0..n-1 (about 3 KB each), written by one process. */
function cacheWith(n: number, from = 0, gitDir = tempDir()): string {
  mkdirSync(join(gitDir, 'git-seal'), { recursive: true });
  const writer = new CleanCache(gitDir);
  for (let i = from; i < from + n; i++) writer.add(`p${i}`, oidOf(i), plain(i), 'settings', blob(i));
  writer.save();
  return gitDir;
}

function served(gitDir: string, ids: readonly number[]): number[] {
  const reader = new CleanCache(gitDir);
  try {
    return ids.filter((i) => reader.sealedBlob(`p${i}`, oidOf(i), plain(i), 'settings')?.equals(blob(i)));
  } finally {
    reader.save();
  }
}

/** Makes a walk from the start find no record (the first one's header is damaged; the others stay intact). */
function breakWalk(gitDir: string): void {
  const file = join(gitDir, 'git-seal', 'clean-blobs');
  const bytes = readFileSync(file);
  bytes[0] = 0;
  writeFileSync(file, bytes); // same inode: the index still names it
}

describe('the clean cache keeps sealed blobs', () => {
  it('answers every kept blob across a file larger than its read window, and ignores a torn tail', () => {
    const n = 800; // ~2.4 MB: past the size read whole, headers are read a 1 MiB window at a time
    const gitDir = cacheWith(n);
    expect(statSync(join(gitDir, 'git-seal', 'clean-blobs')).size).toBeGreaterThan(2 << 20);
    appendFileSync(join(gitDir, 'git-seal', 'clean-blobs'), Buffer.from([40, 0, 0, 0x10, 0])); // a record cut short
    const reader = new CleanCache(gitDir);
    for (const i of [0, 1, 199, 300, 650, n - 1]) {
      expect(reader.sealedBlob(`p${i}`, oidOf(i), plain(i), 'settings')?.equals(blob(i)), `blob ${i}`).toBe(true);
    }
    // Another plaintext, path or settings does not get the blob.
    expect(reader.sealedBlob('p1', oidOf(1), plain(2), 'settings')).toBeUndefined();
    expect(reader.sealedBlob('p2', oidOf(1), plain(1), 'settings')).toBeUndefined();
    expect(reader.sealedBlob('p1', oidOf(1), plain(1), 'other')).toBeUndefined();
    reader.save();
  });

  it('a large blob file is indexed once: later starts take places from clean-blobs.idx, not a walk', () => {
    const n = 800;
    const gitDir = cacheWith(n);
    const index = join(gitDir, 'git-seal', 'clean-blobs.idx');
    expect(served(gitDir, [5])).toEqual([5]); // the first start walks the file and writes the index
    expect(readFileSync(index, 'latin1')).toMatch(new RegExp(`^git-seal clean blobs index v1 ${statSync(join(gitDir, 'git-seal', 'clean-blobs')).ino}\n`));
    expect(statSync(index).size).toBeLessThan(n * 50);
    breakWalk(gitDir);
    expect(served(gitDir, [1, 400, n - 1])).toEqual([1, 400, n - 1]);
    // Blobs appended later get their places in the index too.
    cacheWith(20, n, gitDir);
    expect(served(gitDir, [n, n + 19, 3])).toEqual([n, n + 19, 3]);
    // A torn index tail is ignored.
    appendFileSync(index, Buffer.alloc(7, 1));
    expect(served(gitDir, [2, n + 5])).toEqual([2, n + 5]);
  });

  it('an index of another blob file is never used for this one, and is made again', () => {
    const n = 800;
    const gitDir = cacheWith(n);
    const file = join(gitDir, 'git-seal', 'clean-blobs');
    expect(served(gitDir, [1])).toEqual([1]);
    // The same records in another order, in a new file (a new inode): the old index's places are all wrong.
    const bytes = readFileSync(file);
    const records: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const size = 5 + bytes[at] + bytes.readUInt32BE(at + 1);
      records.push(bytes.subarray(at, at + size));
      at += size;
    }
    writeFileSync(`${file}.new`, Buffer.concat(records.reverse()));
    renameSync(`${file}.new`, file);
    expect(served(gitDir, [0, 333, n - 1])).toEqual([0, 333, n - 1]);
    expect(readFileSync(join(gitDir, 'git-seal', 'clean-blobs.idx'), 'latin1').split('\n')[0]).toBe(`git-seal clean blobs index v1 ${statSync(file).ino}`);
    breakWalk(gitDir);
    expect(served(gitDir, [7])).toEqual([7]);
  });

  it('an index naming the right inode but another file\'s places is not used, and is made again', () => {
    const gitDir = cacheWith(800);
    expect(served(gitDir, [1])).toEqual([1]);
    const index = join(gitDir, 'git-seal', 'clean-blobs.idx');
    // The places of another file under this file's header (as after an inode is reused).
    const other = cacheWith(800, 5);
    expect(served(other, [5])).toEqual([5]);
    const header = readFileSync(index, 'latin1').split('\n')[0] + '\n';
    const otherIndex = readFileSync(join(other, 'git-seal', 'clean-blobs.idx'));
    writeFileSync(index, Buffer.concat([Buffer.from(header, 'latin1'), otherIndex.subarray(otherIndex.indexOf(0x0a) + 1)]));
    expect(served(gitDir, [100, 700])).toEqual([100, 700]); // its last record is not where it says: walked
    breakWalk(gitDir);
    expect(served(gitDir, [101])).toEqual([101]); // the index written by that walk
  });

  it('an index place that does not hold its record is a miss that drops the index, and it is made again', () => {
    const gitDir = cacheWith(800);
    expect(served(gitDir, [1])).toEqual([1]);
    const index = join(gitDir, 'git-seal', 'clean-blobs.idx');
    const bytes = readFileSync(index);
    const records = bytes.subarray(bytes.indexOf(0x0a) + 1);
    const at = records.indexOf(Buffer.from(oidOf(100), 'hex'));
    records.writeUInt32BE(records.readUInt32BE(at + 32) + 1, at + 32); // blob 100's place, one byte off
    writeFileSync(index, bytes);
    expect(served(gitDir, [100])).toEqual([]); // a miss, never wrong bytes; the index goes
    expect(existsSync(index)).toBe(false);
    expect(served(gitDir, [100, 700])).toEqual([100, 700]);
    expect(existsSync(index)).toBe(true);
  });

  it('blobs appended without the index (another git-seal, or a crash before its append) are found past what it covers', () => {
    const gitDir = cacheWith(800);
    expect(served(gitDir, [1])).toEqual([1]);
    const records = [900, 901].map((i) => {
      const head = Buffer.alloc(5);
      head[0] = 40;
      head.writeUInt32BE(blob(i).length, 1);
      return Buffer.concat([head, Buffer.from(oidOf(i), 'latin1'), blob(i)]);
    });
    appendFileSync(join(gitDir, 'git-seal', 'clean-blobs'), Buffer.concat(records));
    const tags = new CleanCache(gitDir);
    for (const i of [900, 901]) tags.add(`p${i}`, oidOf(i), plain(i), 'settings'); // tags only: the blobs are in the file
    tags.save();
    expect(served(gitDir, [900, 901, 2])).toEqual([900, 901, 2]);
    breakWalk(gitDir);
    expect(served(gitDir, [900, 3])).toEqual([900, 3]); // now in the index
  });

  it('an index left misaligned by a torn append is removed by the next append, and made again', () => {
    const gitDir = cacheWith(800);
    expect(served(gitDir, [1])).toEqual([1]);
    const index = join(gitDir, 'git-seal', 'clean-blobs.idx');
    appendFileSync(index, Buffer.alloc(7, 1));
    cacheWith(10, 800, gitDir);
    expect(existsSync(index)).toBe(false);
    expect(served(gitDir, [805, 4])).toEqual([805, 4]);
    breakWalk(gitDir);
    expect(served(gitDir, [806])).toEqual([806]);
  });

  it('a blob file deleted while a process holds it open fails soft', () => {
    const gitDir = cacheWith(800);
    const cache = new CleanCache(gitDir);
    expect(cache.sealedBlob('p1', oidOf(1), plain(1), 'settings')?.equals(blob(1))).toBe(true);
    rmSync(join(gitDir, 'git-seal', 'clean-blobs'));
    const big = Buffer.alloc(65 << 20, 0x61);
    cache.add('big', blobOid(big, 'sha1'), plain(0), 'settings', big); // past the limit: a rewrite, whose open fails
    expect(() => cache.keptBlob(oidOf(2))).not.toThrow();
    expect(() => cache.save()).not.toThrow();
  });

  it('an unreadable blob file leaves no descriptor open, however often it is asked', () => {
    const gitDir = cacheWith(5);
    rmSync(join(gitDir, 'git-seal', 'clean-blobs'));
    mkdirSync(join(gitDir, 'git-seal', 'clean-blobs')); // opens, but cannot be read
    const fds = () => readdirSync('/proc/self/fd').length;
    const cache = new CleanCache(gitDir);
    const before = fds();
    for (let i = 0; i < 50; i++) expect(cache.keptBlob(oidOf(i % 5))).toBeUndefined();
    expect(fds()).toBeLessThanOrEqual(before + 1);
    cache.save();
    expect(fds()).toBeLessThanOrEqual(before);
  });

  it('two processes appending at once: the one whose batch did not land where it counted leaves it to the next start', () => {
    const gitDir = cacheWith(800);
    expect(served(gitDir, [1])).toEqual([1]);
    const file = join(gitDir, 'git-seal', 'clean-blobs');
    const a = new CleanCache(gitDir);
    a.add('p900', oidOf(900), plain(900), 'settings', blob(900));
    const b = new CleanCache(gitDir);
    b.add('p901', oidOf(901), plain(901), 'settings', Buffer.concat([blob(901)]));
    // a appends between b's stat of the file and b's own append.
    const fs = createRequire(import.meta.url)('node:fs') as { statSync: typeof statSync };
    const realStat = fs.statSync;
    let armed = true;
    fs.statSync = ((path: string, opts?: object) => {
      const st = realStat(path, opts);
      if (armed && String(path) === file) {
        armed = false;
        a.save();
      }
      return st;
    }) as typeof statSync;
    syncBuiltinESMExports();
    try {
      b.save();
    } finally {
      fs.statSync = realStat;
      syncBuiltinESMExports();
    }
    expect(armed).toBe(false);
    // A blob appended later by a git-seal that keeps no index.
    const head = Buffer.alloc(5);
    head[0] = 40;
    head.writeUInt32BE(blob(902).length, 1);
    appendFileSync(file, Buffer.concat([head, Buffer.from(oidOf(902), 'latin1'), blob(902)]));
    // (b's tags lost to a's save, as with any two saves at once: only a cache; its blob is what counts here.)
    const kept = (ids: number[]) => {
      const reader = new CleanCache(gitDir);
      try {
        return ids.filter((i) => reader.keptBlob(oidOf(i))?.equals(blob(i)));
      } finally {
        reader.save();
      }
    };
    expect(kept([900, 901, 902, 2])).toEqual([900, 901, 902, 2]);
    breakWalk(gitDir);
    expect(kept([900, 901, 902])).toEqual([900, 901, 902]); // all indexed now
  });

  it('a process whose blob file was rewritten by another finds what it adds in the new one', () => {
    const gitDir = cacheWith(800);
    const file = join(gitDir, 'git-seal', 'clean-blobs');
    const p = new CleanCache(gitDir);
    expect(p.keptBlob(oidOf(3))?.equals(blob(3))).toBe(true); // holds the file open
    const bytes = readFileSync(file);
    writeFileSync(`${file}.new`, Buffer.concat([Buffer.alloc(0), bytes.subarray(bytes.indexOf(Buffer.from(oidOf(400), 'latin1')) - 5)]));
    renameSync(`${file}.new`, file); // another process's rewrite: a new file
    const big = Buffer.concat([blob(999), Buffer.alloc(5 << 20, 0x20)]); // past 4 MiB waiting: written at once
    p.add('p999', blobOid(big, 'sha1'), plain(999), 'settings', big);
    expect(p.keptBlob(blobOid(big, 'sha1'))?.equals(big)).toBe(true);
    expect(p.keptBlob(oidOf(500))?.equals(blob(500))).toBe(true);
    p.save();
  });

  it('an append cut short, with appends after it, costs the blobs around the cut, not every blob after it', () => {
    for (const n of [800, 50]) {
      // 800: walked a window at a time and indexed; 50: read whole.
      const gitDir = cacheWith(n);
      const file = join(gitDir, 'git-seal', 'clean-blobs');
      const head = Buffer.alloc(5);
      head[0] = 40;
      head.writeUInt32BE(blob(7000).length, 1);
      appendFileSync(file, Buffer.concat([head, Buffer.from(oidOf(7000), 'latin1'), blob(7000).subarray(0, 1000)])); // cut short
      cacheWith(20, 7001, gitDir);
      rmSync(join(gitDir, 'git-seal', 'clean-blobs.idx'), { force: true }); // a walk from the start
      const after = Array.from({ length: 18 }, (_, i) => 7003 + i);
      expect(served(gitDir, [0, n - 1, ...after]), `${n} blobs before the cut`).toEqual([0, n - 1, ...after]);
      expect(served(gitDir, [7000])).toEqual([]);
    }
  });

  it('a small blob file read whole keeps every blob before a header cut short at its end', () => {
    const gitDir = cacheWith(50);
    const head = Buffer.alloc(5);
    head[0] = 40;
    head.writeUInt32BE(10, 1);
    appendFileSync(join(gitDir, 'git-seal', 'clean-blobs'), Buffer.concat([head, Buffer.from(oidOf(9000).slice(0, 20), 'latin1')]));
    expect(served(gitDir, [0, 1, 25, 49])).toEqual([0, 1, 25, 49]);
  });

  it('a small blob file is read whole and needs no index', () => {
    const gitDir = cacheWith(50);
    expect(served(gitDir, [0, 49])).toEqual([0, 49]);
    expect(() => statSync(join(gitDir, 'git-seal', 'clean-blobs.idx'))).toThrow();
  });

  it('past the size limit the blob file keeps its newest quarter, and its old index goes', () => {
    const gitDir = cacheWith(800);
    expect(served(gitDir, [1])).toEqual([1]); // makes the index
    const writer = new CleanCache(gitDir);
    // ~70 MB more, a blob (~3 KB) at a time: past 64 MiB the file is rewritten.
    const last = 800 + 22_000 - 1;
    for (let i = 800; i <= last; i++) writer.add(`p${i}`, oidOf(i), plain(i), 'settings', blob(i));
    writer.save();
    expect(statSync(join(gitDir, 'git-seal', 'clean-blobs')).size).toBeLessThan(32 << 20);
    expect(served(gitDir, [last, 1])).toEqual([last]);
    breakWalk(gitDir); // the index made after the rewrite is of the new file
    expect(served(gitDir, [last - 1])).toEqual([last - 1]);
  }, 60_000);
});

describe('the clean cache tags', () => {
  it('are 16 bytes each after a header, and keep the newest 50,000', () => {
    const gitDir = tempDir();
    mkdirSync(join(gitDir, 'git-seal'));
    const writer = new CleanCache(gitDir);
    for (let i = 0; i < 50_010; i++) writer.add(`p${i}`, 'a'.repeat(40), plain(i), 's');
    writer.save();
    const file = join(gitDir, 'git-seal', 'clean-cache');
    const magic = 'git-seal clean cache v2\n';
    expect(readFileSync(file, 'latin1').startsWith(magic)).toBe(true);
    expect(statSync(file).size).toBe(magic.length + 50_000 * 16);
    const reader = new CleanCache(gitDir);
    expect([0, 9, 10, 30_000, 50_009].map((i) => reader.has(`p${i}`, 'a'.repeat(40), plain(i), 's'))).toEqual([false, false, true, true, true]);
    expect(reader.has('p10', 'a'.repeat(40), plain(11), 's')).toBe(false);
  }, 30_000);

  it('a cache file of the earlier layout (hex lines) keeps its tags and is written anew', () => {
    const gitDir = tempDir();
    mkdirSync(join(gitDir, 'git-seal'));
    const key = Buffer.alloc(32, 7);
    writeFileSync(join(gitDir, 'git-seal', 'cache-key'), key);
    const h = createHmac('sha256', key);
    for (const part of ['git-seal clean cache v1', 'p1', 'a'.repeat(40), 's']) h.update(part).update('\0');
    writeFileSync(join(gitDir, 'git-seal', 'clean-cache'), h.update(plain(1)).digest('hex') + '\n');
    const cache = new CleanCache(gitDir);
    expect(cache.has('p1', 'a'.repeat(40), plain(1), 's')).toBe(true);
    expect(cache.has('p1', 'a'.repeat(40), plain(2), 's')).toBe(false);
    cache.save();
    expect(readFileSync(join(gitDir, 'git-seal', 'clean-cache')).length).toBe('git-seal clean cache v2\n'.length + 16);
    expect(new CleanCache(gitDir).has('p1', 'a'.repeat(40), plain(1), 's')).toBe(true);
  });

  it('a damaged file of equal tags is looked through in bounded time and still finds real ones', () => {
    const gitDir = tempDir();
    mkdirSync(join(gitDir, 'git-seal'));
    const cache = new CleanCache(gitDir);
    cache.add('p1', 'a'.repeat(40), plain(1), 's');
    cache.save();
    const file = join(gitDir, 'git-seal', 'clean-cache');
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.alloc(50_000 * 16)])); // a zero-filled tail
    const reader = new CleanCache(gitDir);
    expect(reader.has('p1', 'a'.repeat(40), plain(1), 's')).toBe(true);
    expect(reader.has('p2', 'a'.repeat(40), plain(2), 's')).toBe(false);
  });
});
