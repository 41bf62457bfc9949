import { describe, expect, it, vi } from 'vitest';
import * as ageFile from '../../src/age/age-file.js';
import { parseSealed, sealText, unwrapFileDataKeys } from '../../src/format/seal.js';
import { makeKey } from '../helpers.js';

vi.mock('../../src/age/age-file.js', async (original) => {
  const real = await original<typeof import('../../src/age/age-file.js')>();
  return { ...real, parseAgeFile: vi.fn(real.parseAgeFile) };
});

describe('age headers', () => {
  it("a batch of more files than the parse memo keeps parses each file's header once", async () => {
    const key = await makeKey();
    const n = 300; // past the 256 parsed headers datakey.ts keeps
    const texts = await Promise.all(Array.from({ length: n }, (_, i) => sealText(`a = "value ${i}"\n`, { recipients: [key.recipient] })));
    const files = texts.map((text, i) => ({ sealed: parseSealed(text, `f${i}.toml`)!, file: `f${i}.toml` }));
    const parse = vi.mocked(ageFile.parseAgeFile);
    parse.mockClear();
    const keys = await unwrapFileDataKeys(files, [key.parsed]);
    expect(keys.every((k) => k instanceof Uint8Array)).toBe(true);
    // What a checkout asks of each file after its key (the clean-cache seeding's header check).
    expect(files.every((f) => f.sealed.headerMatchesRecipients)).toBe(true);
    expect(parse).toHaveBeenCalledTimes(n);
  }, 60_000);
});
