// Adding one recipient to 1,000 sealed files that have 20 recipients: the data-key re-wrap on git-seal's
// node:crypto X25519 path vs typage's own (age-encryption's Encrypter with string recipients), then the
// whole `git-seal recipients add` through the CLI, files sealed on disk and with the filter installed.
// Needs `npm run build` (dist/ and dist/bundle/).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { armor, Encrypter } from 'age-encryption';
import { generateX25519Identity, parseIdentity, unwrapDataKey, wrapDataKey } from '../dist/age/index.js';
import { parseSealed, seal } from '../dist/format/seal.js';
import { BIN, isolatedEnv, median, table, tempDir } from './lib.mjs';

const FILES = Number(process.env.BENCH_FILES ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const keys = Array.from({ length: 21 }, () => generateX25519Identity());
const owner = parseIdentity(keys[0].identity);
const twenty = keys.slice(0, 20).map((k) => k.recipient);
const all = keys.map((k) => k.recipient);

function secretsFile(i) {
  let s = `[sources.api_${i}]\n`;
  for (let v = 0; v < 8; v++) s += `key_${v} = "sk_live_${i}_${v}_${'x'.repeat(24)}"\n`;
  return s + `\n[destination.postgres.credentials]\npassword = "pg-${i}"\nport = 5432\n`;
}

const sealed = [];
for (let i = 0; i < FILES; i++) sealed.push((await seal(secretsFile(i), { recipients: twenty })).text);
const armors = sealed.map((t) => parseSealed(t).meta.dataKey);

async function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const rate = (ms) => `${Math.round((FILES / ms) * 1000)} files/s`;

// 1. The re-wrap alone: open the data key with one identity, wrap it to 21 recipients.
const lib = [];
const rewrapOurs = [];
const rewrapTypage = [];
const resealOurs = [];
for (let r = 0; r < ROUNDS; r++) {
  rewrapOurs.push(await timeIt(async () => {
    for (const a of armors) await wrapDataKey(await unwrapDataKey(a, [owner]), all);
  }));
  rewrapTypage.push(await timeIt(async () => {
    for (const a of armors) {
      const dataKey = await unwrapDataKey(a, [owner]);
      const e = new Encrypter();
      for (const k of all) e.addRecipient(k);
      armor.encode(await e.encrypt(dataKey));
    }
  }));
  resealOurs.push(await timeIt(async () => {
    for (const t of sealed) await seal(t, { recipients: all, identities: [owner] });
  }));
}
lib.push({ name: 're-wrap, typage Encrypter (string recipients)', ms: median(rewrapTypage) });
lib.push({ name: 're-wrap, git-seal wrapDataKey (node:crypto)', ms: median(rewrapOurs) });
lib.push({ name: 'whole seal() per file (git-seal)', ms: median(resealOurs), note: 'open + re-wrap + same value tokens' });
for (const row of lib) row.note = `${rate(row.ms)}${row.note ? `; ${row.note}` : ''}`;
table(`${FILES} files, 20 -> 21 X25519 recipients, in process (median of ${ROUNDS})`, lib, 're-wrap, typage Encrypter (string recipients)');

// 2. The CLI end to end: edit .gitseal.toml, re-key every file, stage the new blobs.
const home = tempDir('gitseal-bench-rekey-');
const repo = join(home, 'repo');
const env = isolatedEnv(home, { GITSEAL_AGE_KEY: keys[0].identity });
const run = (cmd, args) => execFileSync(cmd, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString();
mkdirSync(repo);
run('git', ['init', '-q']);
const names = twenty.map((_, i) => `r${String(i).padStart(2, '0')}`);
writeFileSync(
  join(repo, '.gitseal.toml'),
  `version = 1\n\n[recipients]\n${names.map((n, i) => `${n} = "${twenty[i]}"`).join('\n')}\n\n[profiles.prod]\nfiles = ["**/.dlt/prod.secrets.toml"]\nrecipients = [${names.map((n) => `"${n}"`).join(', ')}]\n`,
);
sealed.forEach((text, i) => {
  const dir = join(repo, `p${String(i).padStart(4, '0')}`, '.dlt');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'prod.secrets.toml'), text);
});
run('git', ['add', '-A']);
run('git', ['commit', '-q', '-m', 'sealed']);

const add = ['recipients', 'add', 'r20', all[20], '--profile', 'prod', '--quiet'];
const cli = [];
const onDisk = [];
for (let r = 0; r < ROUNDS; r++) {
  onDisk.push(await timeIt(() => run(process.execPath, [BIN, ...add])));
  run('git', ['reset', '-q', '--hard']);
}
cli.push({ name: 'recipients add, files sealed on disk', ms: median(onDisk), note: `${rate(median(onDisk))} (rewrites and stages each file)` });
run('git', ['config', 'user.name', 'bench']);
run(process.execPath, [BIN, 'install', '--quiet']);
const filtered = [];
for (let r = 0; r < ROUNDS; r++) {
  filtered.push(await timeIt(() => run(process.execPath, [BIN, ...add])));
  if (run('git', ['status', '--porcelain', '--untracked-files=no']).split('\n').filter((l) => l.startsWith(' M') && !l.endsWith('.gitseal.toml')).length) {
    throw new Error('the working tree should stay clean after a re-key');
  }
  run('git', ['reset', '-q', '--hard']);
}
cli.push({ name: 'recipients add, filter installed', ms: median(filtered), note: `${rate(median(filtered))} (stages new blobs; plaintext working tree untouched)` });
table(`git-seal CLI, ${FILES} files (median of ${ROUNDS})`, cli, 'recipients add, files sealed on disk');
