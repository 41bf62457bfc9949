/**
 * The recovery recipe of docs/FORMAT.md, run exactly as written (bash, the Go `age` CLI, xxd and
 * docs/recover.mjs) on freshly sealed files, and recover.mjs on a sample of the toml-test corpus.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeSealedFiles } from '../../src/git/merge.js';
import { openSealed, openText, parseSealed, seal, type PlaintextKeyFilter } from '../../src/format/seal.js';
import { parseIdentityFile } from '../../src/age/index.js';
import { scanToml, type PathSegment } from '../../src/toml/index.js';
import { decodeText } from '../../src/util/io.js';
import { cleanupTempDirs, CORPUS, hasBinary, makeKey, ROOT, run, tempDir } from '../helpers.js';

const hasAge = hasBinary('age') && hasBinary('age-keygen');
const hasXxd = hasBinary('xxd');
if (!hasAge) console.warn('[test/format/recovery] SKIPPED: the `age` CLI is not on PATH (apt-get install -y age); CI installs it.');
else if (!hasXxd) console.warn('[test/format/recovery] recipe SKIPPED: `xxd` is not on PATH (apt-get install -y xxd).');

const RECOVER = join(ROOT, 'docs', 'recover.mjs');
const FORMAT_MD = readFileSync(join(ROOT, 'docs', 'FORMAT.md'), 'utf8');
/** The shell commands of the recovery recipe, exactly as FORMAT.md shows them. */
const RECIPE = /<!-- recipe: recovery -->\n```sh\n([\s\S]*?)\n```/.exec(FORMAT_MD)![1];
/** The stand-in for xxd that FORMAT.md offers. */
const OD_HEX = /`(od [^`]+)` can stand in for `xxd -p -c 64`/.exec(FORMAT_MD)![1];
const execFileAsync = promisify(execFile);

interface Workspace {
  dir: string;
  keyFile: string;
  recipient: string;
}

/** A directory laid out as the recipe expects: key.txt (made by age-keygen) and docs/recover.mjs. */
function workspace(): Workspace {
  const dir = tempDir('gitseal-recover-');
  mkdirSync(join(dir, 'docs'));
  cpSync(RECOVER, join(dir, 'docs', 'recover.mjs'));
  const keyFile = join(dir, 'key.txt');
  const gen = run('age-keygen', ['-o', keyFile]);
  expect(gen.status, gen.stderr).toBe(0);
  const recipient = run('age-keygen', ['-y', keyFile]).stdout.trim();
  return { dir, keyFile, recipient };
}

function runRecipe(ws: Workspace, sealedText: string, recipe = RECIPE): { status: number | null; stderr: string; output: Buffer } {
  writeFileSync(join(ws.dir, 'secrets.toml'), sealedText);
  rmSync(join(ws.dir, 'secrets.plain.toml'), { force: true });
  const r = run('bash', ['-eo', 'pipefail', '-c', recipe], { cwd: ws.dir });
  return { status: r.status, stderr: r.stderr, output: readFileSync(join(ws.dir, 'secrets.plain.toml')) };
}

const VECTOR = readFileSync(join(ROOT, 'test', 'vectors', 'plaintext.toml'), 'utf8');
/** Plaintext values (keys m*) that a naive scanner would misread, each followed by sealed ones. */
const TRICKY = [
  'm1 = """x\\"""a = "b" """',
  'a = "after an escaped quote"',
  "m2 = '''quotes at the end''''",
  'm3 = """ "two" """""',
  'b = [1, { c = "in an inline table" }]',
  'm4 = """',
  '[gitseal]',
  'not = "a table"',
  '"""',
  '[[t]]',
  'm5 = \'[x] = "y" # not a comment\'',
  'd = 1979-05-27 07:32:00Z',
  '',
].join('\n');

describe.skipIf(!hasAge || !hasXxd)('the recovery recipe in FORMAT.md', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = workspace();
  });
  afterAll(cleanupTempDirs);

  const hostPlain: PlaintextKeyFilter = (path) => path[path.length - 1] === 'host';
  const cases: { name: string; plaintext: string; plaintextKeys?: PlaintextKeyFilter; kept?: string }[] = [
    { name: 'the vector plaintext', plaintext: VECTOR },
    { name: 'CRLF line endings', plaintext: VECTOR.replace(/\n/g, '\r\n') },
    { name: 'no final newline', plaintext: 'a = "x"\n[t]\nb = 2024-01-01 10:00:00' },
    { name: 'an empty file', plaintext: '' },
    { name: 'a byte order mark and TOML 1.1 syntax', plaintext: '\ufeffk = { a = "\\e\\x41",\n  b = [1, 2,], }\n"quoted \\u00e9\\e\\x41" = 0x1_F\nm = """x\\"""y"""\n' },
    { name: 'plaintext keys left in the clear', plaintext: VECTOR, plaintextKeys: hostPlain, kept: 'host = "db.internal.example"' },
    { name: 'tricky strings left in the clear', plaintext: TRICKY, plaintextKeys: (path) => String(path[path.length - 1]).startsWith('m'), kept: '\n[gitseal]\nnot = "a table"\n' },
  ];

  for (const c of cases) {
    it(`recovers ${c.name} byte for byte`, async () => {
      const { text } = await seal(c.plaintext, { recipients: [ws.recipient], plaintextKeys: c.plaintextKeys });
      const r = runRecipe(ws, text);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.output.equals(Buffer.from(c.plaintext, 'utf8'))).toBe(true);
      if (c.kept) expect(text).toContain(c.kept);
    });
  }

  it('recovers a file sealed to several recipients, and with the od stand-in for xxd', async () => {
    const other = await makeKey();
    const { text } = await seal(VECTOR, { recipients: [other.recipient, ws.recipient] });
    expect(runRecipe(ws, text).output.toString('utf8')).toBe(VECTOR);
    const withOd = RECIPE.replace('xxd -p -c 64', OD_HEX);
    expect(withOd).not.toBe(RECIPE);
    expect(runRecipe(ws, text, withOd).output.toString('utf8')).toBe(VECTOR);
  });

  it('recovers the sealed merge-conflict form', async () => {
    const base = (await seal('a = 1\nb = 2\n', { recipients: [ws.recipient] })).text;
    const identities = parseIdentityFile(readFileSync(ws.keyFile, 'utf8'), 'key.txt');
    const side = async (plain: string) => (await seal(plain, { recipients: [ws.recipient], identities, previous: base })).text;
    const merged = await mergeSealedFiles({ base, ours: await side('a = 10\nb = 2\n'), theirs: await side('a = 20\nb = 2\n'), path: 'secrets.toml', identities });
    expect(merged.conflict).toBe(true);
    expect(parseSealed(merged.text)!.meta.conflict).toBeDefined();
    const expected = await openText(merged.text, identities);
    expect(expected).toContain('<<<<<<<');
    expect(runRecipe(ws, merged.text).output.toString('utf8')).toBe(expected);
  });

  it('fails, naming the key and printing no value, when a value was altered', async () => {
    const { text } = await seal(VECTOR, { recipients: [ws.recipient] });
    const line = text.split('\n').find((l) => l.startsWith('host = '))!;
    const at = line.indexOf(',') + 5;
    const tampered = text.replace(line, line.slice(0, at) + (line[at] === 'A' ? 'B' : 'A') + line.slice(at + 1));
    const r = runRecipe(ws, tampered);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^recover\.mjs: the value of 'destination\.postgres\.credentials\.host' failed authentication/m);
    expect(r.output.length).toBe(0);
    expect(r.stderr).not.toContain('db.internal.example');
  });

  it('fails when a value was moved to another key', async () => {
    const { text } = await seal('a = "first"\nb = "second"\n', { recipients: [ws.recipient] });
    const [a, b] = text.split('\n');
    const swapped = text.replace(`${a}\n${b}`, `a${b.slice(1)}\nb${a.slice(1)}`);
    const r = runRecipe(ws, swapped);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("the value of 'a' failed authentication");
  });

  it('refuses an unknown format version', async () => {
    const { text } = await seal(VECTOR, { recipients: [ws.recipient] });
    const r = runRecipe(ws, text.replace('\nversion = 1\n', '\nversion = 2\n'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('sealed with format version 2; this script reads version 1');
  });

  it('refuses a wrong data key', async () => {
    const sealedDir = tempDir('gitseal-recover-');
    const [a, b] = [await seal(VECTOR, { recipients: [ws.recipient] }), await seal(VECTOR, { recipients: [ws.recipient] })];
    writeFileSync(join(sealedDir, 'a.toml'), a.text);
    const identities = parseIdentityFile(readFileSync(ws.keyFile, 'utf8'), 'key.txt');
    const keyOfB = Buffer.from((await openSealed(parseSealed(b.text)!, identities)).dataKey).toString('hex');
    const r = run(process.execPath, [RECOVER, join(sealedDir, 'a.toml'), keyOfB]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('failed authentication (wrong data key, or the file was altered)');
  });
});

// ---- recover.mjs on the toml-test corpus ----

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.toml') ? [p] : [];
    });
}

/** The syntax a file exercises, so the sample can be checked to cover all of it. */
function features(text: string): Set<string> {
  const doc = scanToml(text);
  const f = new Set<string>();
  for (const s of doc.scalars) {
    f.add(`kind:${s.kind}`);
    const raw = text.slice(s.start, s.end);
    if (s.kind === 'string') f.add(`string:${raw.startsWith('"""') ? 'ml-basic' : raw.startsWith("'''") ? 'ml-literal' : raw[0] === '"' ? 'basic' : 'literal'}`);
    if (/^("""|''')[\s\S]*("{4}|'{4})$/.test(raw)) f.add('quotes just before the closing delimiter');
    if (raw.startsWith('"""') && raw.includes('\\"')) f.add('escaped quote in a multi-line string');
    if (s.path.some((seg, i) => typeof seg === 'number' && typeof s.path[i + 1] === 'number')) f.add('nested array');
  }
  for (const e of doc.entries) {
    const key = text.slice(e.keyStart, e.keyEnd);
    if (/["']/.test(key)) f.add('quoted key');
    if (key.includes('\\')) f.add('escaped key');
    if (/^[A-Za-z0-9_-]+\s*\./.test(key)) f.add('dotted key');
    if (text[e.valueStart] === '{') f.add('inline table');
  }
  for (const e of doc.entries) {
    const section = doc.tables.filter((t) => t.start < e.keyStart).pop();
    if (section?.arrayOfTables) f.add('values in an array of tables');
    if (section?.path.slice(0, -1).some((seg) => typeof seg === 'number')) f.add('values under a header inside an array of tables');
  }
  if (doc.eol === '\r\n') f.add('CRLF');
  if (text.startsWith('\ufeff')) f.add('BOM');
  if (text !== '' && !text.endsWith('\n')) f.add('no final newline');
  if (text === '') f.add('empty');
  return f;
}

/** The files that first add a feature (`coverage`), plus evenly spread others up to about `size`. */
function sample(files: { name: string; text: string; features: Set<string> }[], size: number) {
  const covered = new Set<string>();
  const coverage = files.filter((f) => {
    const adds = [...f.features].some((x) => !covered.has(x));
    f.features.forEach((x) => covered.add(x));
    return adds;
  });
  const rest = files.filter((f) => !coverage.includes(f));
  const step = Math.max(1, Math.floor(rest.length / Math.max(1, size - coverage.length)));
  return { coverage, all: [...coverage, ...rest.filter((_, i) => i % step === 0)].slice(0, Math.max(size, coverage.length)) };
}

/** Run `task` over `items`, a few at a time. */
async function pool<T>(items: T[], task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
  };
  await Promise.all(Array.from({ length: Math.min(8, availableParallelism()) }, worker));
}

describe('recover.mjs on the toml-test corpus', () => {
  afterAll(cleanupTempDirs);
  const files = walk(join(CORPUS, 'valid')).map((p) => {
    const text = decodeText(readFileSync(p), p);
    return { name: relative(CORPUS, p), text, features: features(text) };
  });
  const picked = sample(files, 50);
  const expected = [
    ...['string', 'integer', 'float', 'boolean', 'offset-datetime', 'local-datetime', 'local-date', 'local-time'].map((k) => `kind:${k}`),
    ...['basic', 'literal', 'ml-basic', 'ml-literal'].map((k) => `string:${k}`),
    'nested array', 'quoted key', 'escaped key', 'dotted key', 'inline table', 'values in an array of tables', 'values under a header inside an array of tables',
    'quotes just before the closing delimiter', 'escaped quote in a multi-line string', 'CRLF', 'BOM', 'no final newline', 'empty',
  ];

  it('the samples cover every token kind and syntax form', () => {
    for (const files of [picked.all, picked.coverage]) expect([...new Set(files.flatMap((f) => [...f.features]))]).toEqual(expect.arrayContaining(expected));
    expect(picked.all.length).toBeGreaterThanOrEqual(50);
  });

  /** Every other value (by a hash of its path) stays in plaintext, so the walker must skip raw tokens too. */
  const halfPlain: PlaintextKeyFilter = (path: readonly PathSegment[]) => [...JSON.stringify(path)].reduce((h, c) => h + c.charCodeAt(0), 0) % 2 === 0;

  const variants = [
    { variant: 'every value sealed', files: picked.all, plaintextKeys: undefined },
    { variant: 'half the values left in plaintext', files: picked.coverage, plaintextKeys: halfPlain },
  ];
  for (const { variant, files: sampled, plaintextKeys } of variants) {
    it(`recovers ${sampled.length} corpus files byte for byte (${variant})`, async () => {
      const key = await makeKey();
      const dir = tempDir('gitseal-corpus-');
      const failures: string[] = [];
      await pool(sampled, async (f) => {
        const { text } = await seal(f.text, { recipients: [key.recipient], plaintextKeys, file: f.name });
        const { dataKey } = await openSealed(parseSealed(text, f.name)!, [key.parsed], f.name);
        const file = join(dir, f.name.replace(/[/\\]/g, '__'));
        writeFileSync(file, text);
        try {
          const { stdout } = await execFileAsync(process.execPath, [RECOVER, file, Buffer.from(dataKey).toString('hex')], { encoding: 'buffer', maxBuffer: 1 << 26 });
          if (!stdout.equals(Buffer.from(f.text, 'utf8'))) failures.push(`${f.name}: output differs`);
        } catch (err) {
          failures.push(`${f.name}: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
        }
      });
      expect(failures).toEqual([]);
    });
  }
});
