// Opening a data key with an SSH identity (ssh-ed25519, ssh-rsa 3072) against an age X25519 identity,
// and the one-time cost of unlocking a passphrase-protected OpenSSH key (bcrypt KDF, 16 rounds, as
// ssh-keygen writes it) against OpenSSH's own `ssh-keygen -y` doing the same.
// Usage: npm run bench -- ssh   (or: npx tsc -p tsconfig.json && node bench/ssh-unwrap.bench.mjs [iterations])
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateX25519Identity, loadSshKeyFile, unwrapDataKey, wrapDataKey, X25519Identity } from '../dist/age/index.js';
import { decryptOpenSshPrivateKey, parseOpenSshPrivateKey } from '../dist/age/openssh-key.js';
import { has, median, tempDir } from './lib.mjs';

const N = Number(process.argv[2] ?? 1000);
const WARMUP = Math.min(100, N);

if (!has('ssh-keygen')) {
  console.log('ssh-keygen not on PATH: skipped (apt-get install openssh-client)');
  process.exit(0);
}

async function perOp(fn, n = N, warmup = WARMUP) {
  for (let i = 0; i < warmup; i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

const dir = tempDir();
const env = { PATH: process.env.PATH, HOME: dir };
function sshKeygen(name, args, passphrase = '') {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', passphrase, '-f', file], { env });
  return { file, pub: readFileSync(`${file}.pub`, 'utf8').trim() };
}

const dataKey = randomBytes(32);
const x = generateX25519Identity();
const ed = sshKeygen('id_ed25519', ['-t', 'ed25519']);
const rsa = sshKeygen('id_rsa', ['-t', 'rsa', '-b', '3072']);
const noAsk = async () => {
  throw new Error('no passphrase expected');
};
const ids = {
  X25519: { identity: new X25519Identity(x.identity), recipient: x.recipient },
  'ssh-ed25519': { identity: await loadSshKeyFile(readFileSync(ed.file, 'utf8'), ed.file, noAsk), recipient: ed.pub },
  'ssh-rsa 3072': { identity: await loadSshKeyFile(readFileSync(rsa.file, 'utf8'), rsa.file, noAsk), recipient: rsa.pub },
};

const rows = [];
for (const [name, { identity, recipient }] of Object.entries(ids)) {
  const armored = await wrapDataKey(dataKey, [recipient]);
  if (Buffer.compare(Buffer.from(await unwrapDataKey(armored, [identity])), dataKey) !== 0) throw new Error(`${name}: round trip failed`);
  const unwrap = await perOp(() => unwrapDataKey(armored, [identity]));
  const wrap = await perOp(() => wrapDataKey(dataKey, [recipient]));
  rows.push({ name, unwrap, wrap });
}
const base = rows[0];
console.log(`node ${process.version}, ${N} iterations each (after ${WARMUP} warm-up); whole armored data-key files`);
console.log(`  ${'identity'.padEnd(14)} ${'unwrapDataKey'.padStart(14)} ${'vs X25519'.padStart(10)} ${'wrapDataKey'.padStart(14)} ${'vs X25519'.padStart(10)}`);
for (const r of rows) {
  console.log(
    `  ${r.name.padEnd(14)} ${`${r.unwrap.toFixed(3)} ms`.padStart(14)} ${`${(r.unwrap / base.unwrap).toFixed(1)}x`.padStart(10)} ${`${r.wrap.toFixed(3)} ms`.padStart(14)} ${`${(r.wrap / base.wrap).toFixed(1)}x`.padStart(10)}`,
  );
}

// Once per process: unlocking a protected key. ssh-keygen -y runs the same bcrypt_pbkdf in C (plus
// its process start); both are medians of a few runs.
const locked = sshKeygen('id_ed25519_locked', ['-t', 'ed25519'], 'bench passphrase');
const lockedFile = parseOpenSshPrivateKey(readFileSync(locked.file, 'utf8'), locked.file);
const RUNS = 7;
const ours = [];
const theirs = [];
for (let i = 0; i < RUNS; i++) {
  let t0 = process.hrtime.bigint();
  await decryptOpenSshPrivateKey(lockedFile, 'bench passphrase');
  ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
  t0 = process.hrtime.bigint();
  execFileSync('ssh-keygen', ['-y', '-P', 'bench passphrase', '-f', locked.file], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  theirs.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const o = median(ours);
const t = median(theirs);
console.log(`\nunlock a passphrase-protected id_ed25519 (bcrypt, 16 rounds; once per process), median of ${RUNS}:`);
console.log(`  git-seal (bcrypt-pbkdf, JS)        ${o.toFixed(0).padStart(5)} ms  ${(o / t).toFixed(2)}x ssh-keygen`);
console.log(`  ssh-keygen -y -P (C, with startup) ${t.toFixed(0).padStart(5)} ms`);
