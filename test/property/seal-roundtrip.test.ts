import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../../src/errors.js';
import { inspectBlob } from '../../src/api/check.js';
import { isSealedScalar, openText, parseSealed, seal } from '../../src/format/seal.js';
import { SealFilter } from '../../src/git/filter.js';
import { decodeScalar, scanToml, type PathSegment } from '../../src/toml/index.js';
import { cleanupTempDirs, git, makeKey, tempDir, type TestKey } from '../helpers.js';
import { tomlDocument } from './toml-gen.js';

/**
 * Issue 8, Must show 3: property tests over the scanner, seal/open and the filter. The run counts are
 * explicit; together they stay well under 20 s on a busy 2-core machine.
 */
const RUNS = { scanner: 1000, seal: 300, filter: 150, mutations: 600 };

afterAll(cleanupTempDirs);

let key: TestKey;
let identities: Identity[];
beforeAll(async () => {
  key = await makeKey();
  identities = [key.parsed];
});

const pathKey = (p: readonly PathSegment[]) => JSON.stringify(p);

describe(`random valid TOML (fast-check)`, () => {
  it(`the scanner finds exactly the generated scalars, paths and string values (${RUNS.scanner} documents)`, () => {
    fc.assert(
      fc.property(tomlDocument, ({ text, leaves, eol }) => {
        const doc = scanToml(text);
        expect(doc.scalars.map((s) => text.slice(s.start, s.end))).toEqual(leaves.map((l) => l.raw));
        expect(doc.scalars.map((s) => s.path)).toEqual(leaves.map((l) => l.path));
        for (const [i, l] of leaves.entries()) {
          if (l.decoded !== undefined) expect(decodeScalar(l.raw, doc.scalars[i].kind)).toEqual({ kind: 'string', value: l.decoded });
        }
        if (text.includes('\n')) expect(doc.eol).toBe(eol);
      }),
      { numRuns: RUNS.scanner },
    );
  });

  it(`seal then open gives the input back byte for byte, and every value is sealed (${RUNS.seal} documents)`, async () => {
    await fc.assert(
      fc.asyncProperty(tomlDocument, async ({ text, leaves }) => {
        const sealed = (await seal(text, { recipients: [key.recipient] })).text;
        expect(await openText(sealed, identities)).toBe(text);
        const s = parseSealed(sealed)!;
        const body = s.doc.scalars.filter((x) => x.start < s.bodyEnd);
        expect(body).toHaveLength(leaves.length);
        for (const x of body) expect(isSealedScalar(sealed, x)).toBe(true);
        // Re-sealing with the same key reproduces the sealed bytes.
        expect((await seal(text, { recipients: [key.recipient], identities, previous: sealed })).text).toBe(sealed);
      }),
      { numRuns: RUNS.seal },
    );
  });

  it(`the filter's clean and smudge round-trip byte for byte (${RUNS.filter} documents)`, async () => {
    const repo = join(tempDir(), 'repo');
    mkdirSync(repo);
    git(['init', '-q'], { cwd: repo });
    writeFileSync(join(repo, '.gitseal.toml'), `[recipients]\nme = "${key.recipient}"\n\n[profiles.p]\nfiles = ["s.toml"]\nrecipients = ["me"]\n`);
    const filter = new SealFilter(repo, [key.file], () => {});
    try {
      await fc.assert(
        fc.asyncProperty(tomlDocument, async ({ text }) => {
          const clean = await filter.clean('s.toml', Buffer.from(text, 'utf8'));
          expect(clean.toString('utf8')).toContain('[gitseal]');
          expect((await filter.smudge('s.toml', clean)).toString('utf8')).toBe(text);
          // Already sealed input passes through clean unchanged.
          expect((await filter.clean('s.toml', clean)).equals(clean)).toBe(true);
        }),
        { numRuns: RUNS.filter },
      );
    } finally {
      filter.close();
    }
  });
});

type Mutation = { at: number; kind: 'replace' | 'insert' | 'delete' | 'dupline' | 'swaplines' | 'truncate'; text: string; len: number; other: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom<Mutation['kind']>('replace', 'insert', 'delete', 'dupline', 'swaplines', 'truncate'),
  text: fc.oneof(fc.constantFrom('"', '\n', '#', '=', '[', ']', 'A', '0', '+', '/', ',', 'ENC[gitseal.v1,', '\\', "'", ' '), fc.string({ maxLength: 3 })),
  len: fc.integer({ min: 1, max: 40 }),
  other: fc.nat(),
});

function mutate(text: string, m: Mutation): string {
  const at = m.at % (text.length + 1);
  switch (m.kind) {
    case 'replace':
      return text.slice(0, at) + m.text + text.slice(at + m.text.length);
    case 'insert':
      return text.slice(0, at) + m.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.len);
    case 'truncate':
      return text.slice(0, at);
    case 'dupline':
    case 'swaplines': {
      const lines = text.split('\n');
      const i = m.at % lines.length;
      const j = m.other % lines.length;
      if (m.kind === 'dupline') lines.splice(j, 0, lines[i]);
      else [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }
  }
}

describe('random mutations of a sealed file', () => {
  it(`never open to a value that differs from the original at its key path, unnoticed; refusals are one-line GitSealErrors (${RUNS.mutations} cases)`, async () => {
    let opened = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(tomlDocument, fc.array(mutation, { minLength: 1, maxLength: 3 }), async ({ text }, ms) => {
        const sealed = (await seal(text, { recipients: [key.recipient] })).text;
        const original = new Map(scanToml(text).scalars.map((s) => [pathKey(s.path), text.slice(s.start, s.end)]));
        const mutated = ms.reduce(mutate, sealed);
        let plain: string;
        try {
          plain = await openText(mutated, identities, 'f.toml');
        } catch (err) {
          refused++;
          expect(err).toBeInstanceOf(GitSealError);
          const line = (err as GitSealError).oneLine;
          expect(line).not.toMatch(/[\r\n]/);
          for (const v of original.values()) if (v.length >= 8) expect(line).not.toContain(v);
          return;
        }
        opened++;
        // Every value that came out of a sealed token is the original value at that key path; a
        // value left in plaintext in the mutated file is reported by `git-seal check`.
        const m = parseSealed(mutated, 'f.toml')!;
        const tokenPaths = new Set(m.doc.scalars.filter((s) => s.start < m.bodyEnd && isSealedScalar(mutated, s)).map((s) => pathKey(s.path)));
        const out = scanToml(plain);
        let unsealed = false;
        for (const s of out.scalars) {
          const k = pathKey(s.path);
          if (tokenPaths.has(k)) expect(plain.slice(s.start, s.end)).toBe(original.get(k));
          else unsealed = true;
        }
        if (unsealed) expect(inspectBlob('f.toml', mutated, null).map((p) => p.problem).join()).toMatch(/plaintext values/);
      }),
      { numRuns: RUNS.mutations },
    );
    console.log(`mutations: ${opened} opened (every value checked), ${refused} refused with one line`);
    expect(refused).toBeGreaterThan(RUNS.mutations / 4);
  });
});
