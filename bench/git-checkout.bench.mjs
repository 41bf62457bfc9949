// Fresh-clone unlock and `git status` after touching every file: git-seal's one filter process for a
// whole checkout vs git-crypt's one process per file, on the same 500 files (20 values, 3 recipients).
import { execFileSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, has, isolatedEnv, median, table, tempDir, timed } from './lib.mjs';

const FILES = Number(process.env.BENCH_FILES ?? 500);
const VALUES = 20;
const ROUNDS = 3;

const run = (cmd, args, cwd, env) => execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const seal = (args, cwd, env) => run(process.execPath, [BIN, ...args], cwd, env);

function secretsFile(i) {
  let s = `# pipeline ${i}\n[sources.api_${i}]\n`;
  for (let v = 0; v < VALUES / 2; v++) s += `key_${v} = "sk_live_${i}_${v}_${'x'.repeat(24)}"\n`;
  s += `\n[destination.postgres.credentials]\n`;
  for (let v = VALUES / 2; v < VALUES; v++) s += `field_${v} = ${v % 3 === 0 ? v * 1000 : `"value-${i}-${v}"`}\n`;
  return s;
}

function writeFiles(dir) {
  for (let i = 0; i < FILES; i++) {
    const d = join(dir, 'pipelines', `p${String(i).padStart(3, '0')}`, '.dlt');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'secrets.toml'), secretsFile(i));
  }
}

function touchAll(dir) {
  const t = new Date(Date.now() + 60_000 + Math.random() * 1000);
  for (let i = 0; i < FILES; i++) utimesSync(join(dir, 'pipelines', `p${String(i).padStart(3, '0')}`, '.dlt', 'secrets.toml'), t, t);
}

const home = tempDir();
const env = isolatedEnv(home);
const work = tempDir();

// git-seal origin: three recipients, 500 files.
const keys = [0, 1, 2].map((i) => {
  const out = seal(['keygen', '--output', '-'], work, env);
  return { identity: out.match(/AGE-SECRET-KEY-1\S+/)[0], recipient: out.match(/public key: (\S+)/)[1] };
});
const sealOrigin = join(work, 'seal-origin');
mkdirSync(sealOrigin);
run('git', ['init', '-q', '-b', 'main'], sealOrigin, env);
writeFileSync(join(sealOrigin, '.gitseal.toml'), `version = 1
[recipients]
alice = "${keys[0].recipient}"
bob = "${keys[1].recipient}"
ci = "${keys[2].recipient}"
[profiles.dev]
files = ["**/.dlt/secrets.toml"]
recipients = ["alice", "bob", "ci"]
`);
const keyEnv = { ...env, GITSEAL_AGE_KEY: keys[0].identity };
seal(['init', '--no-hook'], sealOrigin, keyEnv);
writeFiles(sealOrigin);
const sealAdd = timed('git', ['add', '-A'], { cwd: sealOrigin, env: keyEnv });
run('git', ['commit', '-q', '-m', 'secrets'], sealOrigin, env);

const rows = { clone: [], unlock: [], status: [], add: [] };
rows.add.push({ name: 'git-seal add', ms: sealAdd });

// Plain git baseline: the same files, no filter.
const plainOrigin = join(work, 'plain-origin');
mkdirSync(plainOrigin);
run('git', ['init', '-q', '-b', 'main'], plainOrigin, env);
writeFiles(plainOrigin);
rows.add.push({ name: 'plain git add', ms: timed('git', ['add', '-A'], { cwd: plainOrigin, env }) });
run('git', ['commit', '-q', '-m', 'plain'], plainOrigin, env);

function measureClone(name, origin, unlock) {
  const clones = [];
  for (let r = 0; r < ROUNDS; r++) {
    const dir = join(tempDir(), 'clone');
    const clone = timed('git', ['clone', '-q', origin, dir], { env });
    const u = unlock ? unlock(dir) : 0;
    clones.push({ clone, unlock: u, dir });
  }
  rows.clone.push({ name, ms: median(clones.map((c) => c.clone + c.unlock)) });
  if (unlock) rows.unlock.push({ name: `${name} unlock`, ms: median(clones.map((c) => c.unlock)) });
  const statuses = [];
  for (let r = 0; r < ROUNDS; r++) {
    touchAll(clones[0].dir);
    statuses.push(timed('git', ['status', '--porcelain'], { cwd: clones[0].dir, env: unlock ? keyEnv : env }));
  }
  rows.status.push({ name, ms: median(statuses) });
  return clones[0].dir;
}

measureClone('plain git', plainOrigin);
const sealClone = measureClone('git-seal', sealOrigin, (dir) => timed(process.execPath, [BIN, 'install'], { cwd: dir, env: keyEnv }));
if (run('git', ['status', '--porcelain'], sealClone, keyEnv).trim() !== '') throw new Error('git-seal clone is not clean');

if (has('git-crypt')) {
  const gcOrigin = join(work, 'gc-origin');
  mkdirSync(gcOrigin);
  run('git', ['init', '-q', '-b', 'main'], gcOrigin, env);
  run('git-crypt', ['init'], gcOrigin, env);
  writeFileSync(join(gcOrigin, '.gitattributes'), '**/.dlt/secrets.toml filter=git-crypt diff=git-crypt\n');
  writeFiles(gcOrigin);
  rows.add.push({ name: 'git-crypt add', ms: timed('git', ['add', '-A'], { cwd: gcOrigin, env }) });
  run('git', ['commit', '-q', '-m', 'secrets'], gcOrigin, env);
  const keyFile = join(work, 'git-crypt.key');
  run('git-crypt', ['export-key', keyFile], gcOrigin, env);
  measureClone('git-crypt', gcOrigin, (dir) => timed('git-crypt', ['unlock', keyFile], { cwd: dir, env }));
} else {
  console.log('git-crypt not installed (apt-get install git-crypt): its rows are missing');
}

console.log(`${FILES} files x ${VALUES} values, 3 recipients; median of ${ROUNDS} rounds`);
table('git add of every file (first commit)', rows.add, 'git-crypt add');
table('fresh clone + unlock (clone, then git-seal install / git-crypt unlock)', rows.clone, 'git-crypt');
table('unlock alone', rows.unlock, 'git-crypt unlock');
table('git status after touching every file', rows.status, 'git-crypt');
const gc = (list, n) => list.find((r) => r.name === n)?.ms;
if (gc(rows.clone, 'git-crypt')) {
  console.log(`\n  git-seal is ${(gc(rows.clone, 'git-crypt') / gc(rows.clone, 'git-seal')).toFixed(1)}x faster than git-crypt on clone+unlock` +
    ` and ${(gc(rows.status, 'git-crypt') / gc(rows.status, 'git-seal')).toFixed(1)}x faster on git status (target: 10x).`);
}
