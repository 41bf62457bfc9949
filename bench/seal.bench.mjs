// Seal and open a 10,000-value secrets file in-process: values per second, and the cost split between
// values (symmetric only) and the file (one age wrap per recipient). Peer: the age CLI encrypting and
// decrypting the same file whole, measured in the same run.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openText, seal } from '../dist/format/seal.js';
import { generateX25519Identity, parseIdentity } from '../dist/age/index.js';
import { has, median, table, tempDir, timed } from './lib.mjs';

const VALUES = 10_000;
const ROUNDS = 5;

function makeFile() {
  let s = '# 10,000 values in 500 tables\n';
  for (let t = 0; t < VALUES / 20; t++) {
    s += `\n[sources.pipeline_${t}.credentials]\n`;
    for (let v = 0; v < 20; v++) {
      s += v % 4 === 0 ? `port_${v} = ${5000 + v}\n` : `secret_${v} = "sk_live_${t}_${v}_${'abcdefghij'.repeat(3)}"\n`;
    }
  }
  return s;
}

const plaintext = makeFile();
const ids = Array.from({ length: 20 }, () => generateX25519Identity());
const me = parseIdentity(ids[0].identity);

async function time(fn) {
  const xs = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(xs);
}

await seal(plaintext, { recipients: [ids[0].recipient] }); // warm up
const seal1 = await time(() => seal(plaintext, { recipients: [ids[0].recipient] }));
const seal20 = await time(() => seal(plaintext, { recipients: ids.map((i) => i.recipient) }));
const { text: sealed } = await seal(plaintext, { recipients: ids.map((i) => i.recipient) });
const reseal = await time(() => seal(sealed, { recipients: ids.map((i) => i.recipient), identities: [me] }));
const open = await time(() => openText(sealed, [me], 'bench.toml'));

const rows = [
  { name: 'git-seal seal, 1 recipient', ms: seal1, note: `${Math.round(VALUES / (seal1 / 1000)).toLocaleString()} values/s` },
  { name: 'git-seal seal, 20 recipients', ms: seal20, note: `+${(seal20 - seal1).toFixed(1)} ms for 19 more wraps (per file, not per value)` },
  { name: 'git-seal re-seal unchanged', ms: reseal, note: 'open + seal, same bytes out' },
  { name: 'git-seal open', ms: open, note: `${Math.round(VALUES / (open / 1000)).toLocaleString()} values/s` },
];

if (has('age')) {
  const dir = tempDir();
  const src = join(dir, 'plain.toml');
  writeFileSync(src, plaintext);
  const key = join(dir, 'key.txt');
  writeFileSync(key, `${ids[0].identity}\n`);
  const enc = join(dir, 'enc.age');
  const ageEnc = median(Array.from({ length: ROUNDS }, () => timed('age', ['-r', ids[0].recipient, '-o', enc, src])));
  const ageDec = median(Array.from({ length: ROUNDS }, () => timed('age', ['-d', '-i', key, '-o', join(dir, 'out.toml'), enc])));
  rows.push({ name: 'age CLI encrypt (whole file)', ms: ageEnc, note: 'one process; no per-value structure' });
  rows.push({ name: 'age CLI decrypt (whole file)', ms: ageDec });
} else {
  console.log('age CLI not installed (apt-get install age): peer rows missing');
}
console.log(`${VALUES.toLocaleString()} values, ${(plaintext.length / 1024).toFixed(0)} KiB; median of ${ROUNDS}`);
table('seal and open in-process', rows, 'age CLI encrypt (whole file)');
