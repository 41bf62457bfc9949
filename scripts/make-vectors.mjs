// Regenerates the sealed-format test vectors in test/vectors/ (docs/FORMAT.md, "Test vectors").
//   node scripts/make-vectors.mjs
// identity.txt is made once and kept; sealed.toml is re-sealed from plaintext.toml with the previous
// sealed.toml as `previous`, so an unchanged plaintext gives identical bytes. Prints the intermediate
// values block to paste into docs/FORMAT.md (test/format/vectors.test.ts checks that it matches).
import { build } from 'esbuild';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const DIR = join(ROOT, 'test', 'vectors');
/** The values whose intermediates are documented: a string and an array element. */
const TRACED = ['sources.stripe.api_key', 'destination.postgres.credentials.ports[1]'];

/** git-seal's own modules, bundled from src/ into a temporary file and imported. */
async function loadGitSeal() {
  const tmp = mkdtempSync(join(tmpdir(), 'gitseal-vectors-'));
  const out = join(tmp, 'lib.mjs');
  await build({
    stdin: {
      contents: ["export * from './src/crypto/value.ts';", "export * from './src/format/seal.ts';", "export * from './src/format/keypath.ts';", "export * from './src/age/index.ts';", "export { scanToml } from './src/toml/index.ts';"].join('\n'),
      resolveDir: ROOT,
      loader: 'ts',
    },
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: { js: "import { createRequire as __gsCreateRequire } from 'node:module'; const require = __gsCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  try {
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const gs = await loadGitSeal();
const hex = (b) => Buffer.from(b).toString('hex');

const identityFile = join(DIR, 'identity.txt');
if (!existsSync(identityFile)) {
  const { identity, recipient } = await gs.generateIdentity({ pq: false });
  writeFileSync(identityFile, gs.formatIdentityFile(identity, recipient));
}
const identityText = readFileSync(identityFile, 'utf8');
const identity = identityText.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
const recipient = await gs.identityToRecipient(identity);
const parsed = gs.parseIdentity(identity);

const plaintext = readFileSync(join(DIR, 'plaintext.toml'), 'utf8');
const sealedFile = join(DIR, 'sealed.toml');
const previous = existsSync(sealedFile) ? readFileSync(sealedFile, 'utf8') : undefined;
const sealed = await gs.sealText(plaintext, { recipients: [recipient], identities: [parsed], previous, file: 'plaintext.toml' });
writeFileSync(sealedFile, sealed);

const { dataKey } = await gs.openSealed(gs.parseSealed(sealed, 'sealed.toml'), [parsed], 'sealed.toml');
const keys = gs.deriveValueKeys(dataKey);
const rows = [['recipient', recipient], ['identity', identity], ['data key', hex(dataKey)], ['K_enc', hex(keys.enc)], ['K_nonce', hex(keys.nonce)]];
const scalars = gs.scanToml(plaintext).scalars;
for (const name of TRACED) {
  const s = scalars.find((x) => gs.formatKeyPath(x.path) === name);
  const token = gs.encryptValue(keys, s.path, plaintext.slice(s.start, s.end));
  const raw = Buffer.from(token.slice('ENC[gitseal.v1,'.length, -1), 'base64');
  rows.push(['', ''], ['value', name], ['plaintext', plaintext.slice(s.start, s.end)], ['P', hex(gs.encodePath(s.path))], ['N', hex(raw.subarray(0, 24))], ['token', token]);
}
console.log(rows.map(([k, v]) => (k ? `${k.padEnd(10)} ${v}` : '')).join('\n'));
