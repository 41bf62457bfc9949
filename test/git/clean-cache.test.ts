import { appendFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobOid, CleanCache } from '../../src/git/clean-cache.js';
import { cleanupTempDirs, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

function blob(i: number): Buffer {
  return Buffer.from(`[gitseal]\n# blob ${i}\n${'x'.repeat(3000 + (i % 7))}\n`);
}

describe('the clean cache keeps sealed blobs', () => {
  it('answers every kept blob across a file larger than its read window, and ignores a torn tail', () => {
    const gitDir = tempDir();
    mkdirSync(join(gitDir, 'git-seal'));
    const n = 400; // ~1.2 MB: headers are read a 1 MiB window at a time
    const writer = new CleanCache(gitDir);
    for (let i = 0; i < n; i++) writer.add(`p${i}`, blobOid(blob(i), 'sha1'), Buffer.from(`plain ${i}`), 'settings', blob(i));
    writer.save();
    expect(statSync(join(gitDir, 'git-seal', 'clean-blobs')).size).toBeGreaterThan(1 << 20);
    appendFileSync(join(gitDir, 'git-seal', 'clean-blobs'), Buffer.from([40, 0, 0, 0x10, 0])); // a record cut short
    const reader = new CleanCache(gitDir);
    for (const i of [0, 1, 199, 300, n - 1]) {
      expect(reader.sealedBlob(`p${i}`, blobOid(blob(i), 'sha1'), Buffer.from(`plain ${i}`), 'settings')?.equals(blob(i)), `blob ${i}`).toBe(true);
    }
    // Another plaintext, path or settings does not get the blob.
    expect(reader.sealedBlob('p1', blobOid(blob(1), 'sha1'), Buffer.from('plain 2'), 'settings')).toBeUndefined();
    expect(reader.sealedBlob('p2', blobOid(blob(1), 'sha1'), Buffer.from('plain 1'), 'settings')).toBeUndefined();
    expect(reader.sealedBlob('p1', blobOid(blob(1), 'sha1'), Buffer.from('plain 1'), 'other')).toBeUndefined();
    reader.save();
  });
});
