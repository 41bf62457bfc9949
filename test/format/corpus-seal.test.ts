import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import { openText, parseSealed, seal } from '../../src/format/seal.js';
import { decodeText } from '../../src/util/io.js';
import { scanToml } from '../../src/toml/index.js';
import { CORPUS, makeKey, type TestKey } from '../helpers.js';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.toml') ? [p] : [];
  });
}

const list11 = new Set(readFileSync(join(CORPUS, 'files-toml-1.1.0'), 'utf8').split('\n').filter(Boolean));
const valid = walk(join(CORPUS, 'valid'));
const invalid = walk(join(CORPUS, 'invalid')).filter((f) => list11.has(relative(CORPUS, f)));

/** The text around the values: what must stay readable and unchanged. */
function frame(text: string): string[] {
  const doc = scanToml(text);
  const parts: string[] = [];
  let pos = 0;
  for (const s of doc.scalars) {
    parts.push(text.slice(pos, s.start));
    pos = s.end;
  }
  parts.push(text.slice(pos));
  return parts;
}

function stringLeaves(expected: unknown, out: string[] = []): string[] {
  if (expected && typeof expected === 'object') {
    const o = expected as Record<string, unknown>;
    if (o.type === 'string' && typeof o.value === 'string') out.push(o.value);
    else for (const v of Object.values(o)) stringLeaves(v, out);
  }
  return out;
}

describe('toml-test corpus through seal and open', () => {
  let key: TestKey;
  beforeAll(async () => {
    key = await makeKey();
  });

  it(`round-trips every valid file byte for byte (${valid.length} files)`, async () => {
    expect(valid.length).toBeGreaterThanOrEqual(268);
    for (const file of valid) {
      const bytes = readFileSync(file);
      const name = relative(CORPUS, file);
      const plaintext = decodeText(bytes, name);
      const { text: sealed } = await seal(plaintext, { recipients: [key.recipient], file: name });
      const opened = await openText(sealed, [key.parsed], name);
      expect(Buffer.from(opened, 'utf8').equals(bytes), name).toBe(true);

      // Layout kept, every value replaced by a sealed token.
      const parsed = parseSealed(sealed, name)!;
      const body = sealed.slice(0, parsed.bodyEnd);
      const plainFrame = frame(plaintext);
      const sealedScalars = parsed.doc.scalars.filter((s) => s.start < parsed.bodyEnd);
      expect(sealedScalars.length, name).toBe(plainFrame.length - 1);
      for (const s of sealedScalars) expect(body.slice(s.start, s.end), name).toMatch(/^"ENC\[gitseal\.v1,[A-Za-z0-9+/=]+\]"$/);
      expect(frame(body).slice(0, -1), name).toEqual(plainFrame.slice(0, -1));

      // No string value of the file appears in the sealed form (beyond text that is also a key or comment).
      const expected = JSON.parse(readFileSync(file.replace(/\.toml$/, '.json'), 'utf8'));
      const frameText = plainFrame.join('');
      for (const v of stringLeaves(expected)) {
        if (v.length >= 4 && !frameText.includes(v) && !/^[A-Za-z0-9+/=]+$/.test(v)) expect(sealed.includes(v), `${name}: ${v}`).toBe(false);
      }
    }
  });

  it(`rejects every invalid file with line and column (${invalid.length} files)`, async () => {
    expect(invalid.length).toBeGreaterThanOrEqual(490);
    for (const file of invalid) {
      const name = relative(CORPUS, file);
      let err: unknown;
      try {
        const text = decodeText(readFileSync(file), name);
        await seal(text, { recipients: [key.recipient], file: name });
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(GitSealError);
      expect((err as GitSealError).message, name).toMatch(new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: \\S`));
    }
  });
});
