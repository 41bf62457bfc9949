// CPU profile of git-seal's filter process during a re-checkout of N sealed files (default 500, 20 values,
// 3 recipients), in a minimal environment. Prints where the filter's time goes, by function (self time)
// and by area. Not part of `npm run bench`: run `node bench/profile-filter.mjs [files] [add]` after
// `npm run build`; with `add`, it profiles `git add` of every file changed instead, with `status`
// `git status` after touching every file.
import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, minimalEnv, run, tempDir, timedCpu } from './lib.mjs';

const FILES = Number(process.argv[2] ?? 500);
const MODE = process.argv[3] ?? 'checkout';
const home = tempDir();
const env = minimalEnv(home);
const dir = join(home, 'repo');
mkdirSync(dir);
const keys = [0, 1, 2].map(() => {
  const out = run('node', [BIN, 'keygen', '--output', '-'], { cwd: home, env });
  return { identity: out.match(/AGE-SECRET-KEY-1\S+/)[0], recipient: out.match(/public key: (\S+)/)[1] };
});
const keyEnv = minimalEnv(home, { GITSEAL_AGE_KEY: keys[0].identity });
const git = (args) => run('git', args, { cwd: dir, env: keyEnv });
git(['init', '-q', '-b', 'main']);
writeFileSync(join(dir, '.gitseal.toml'), `version = 1\n[recipients]\n${keys.map((k, i) => `k${i} = "${k.recipient}"`).join('\n')}\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["k0", "k1", "k2"]\n`);
run('node', [BIN, 'init', '--no-hook', '--quiet'], { cwd: dir, env: keyEnv });
const write = (edit) => {
  for (let i = 0; i < FILES; i++) {
    const d = join(dir, 'pipelines', `p${String(i).padStart(4, '0')}`, '.dlt');
    mkdirSync(d, { recursive: true });
    let s = `# pipeline ${i}\n[sources.api_${i}]\n`;
    for (let v = 0; v < 10; v++) s += `key_${v} = "sk_live_${i}_${v}_${v === 0 ? edit : 'x'.repeat(24)}"\n`;
    s += `\n[destination.postgres.credentials]\n`;
    for (let v = 10; v < 20; v++) s += `field_${v} = ${v % 3 === 0 ? v * 1000 : `"value-${i}-${v}"`}\n`;
    writeFileSync(join(d, 'secrets.toml'), s);
  }
};
write('first');
git(['add', '-A']);
git(['commit', '-q', '-m', 'secrets']);

const profDir = join(home, 'prof');
git(['config', 'filter.git-seal.process', `node --cpu-prof --cpu-prof-dir=${profDir} ${new URL('./filter-unbundled.mjs', import.meta.url).pathname}`]);
let t;
if (MODE === 'status') {
  const later = new Date(Date.now() + 60_000);
  for (let i = 0; i < FILES; i++) utimesSync(join(dir, 'pipelines', `p${String(i).padStart(4, '0')}`, '.dlt', 'secrets.toml'), later, later);
  t = timedCpu('git', ['status', '--porcelain'], { cwd: dir, env: keyEnv });
} else if (MODE === 'add') {
  write('second');
  t = timedCpu('git', ['add', '-A'], { cwd: dir, env: keyEnv });
} else {
  rmSync(join(dir, 'pipelines'), { recursive: true, force: true });
  t = timedCpu('git', ['checkout', '-q', '--', '.'], { cwd: dir, env: keyEnv });
}
const [file] = readdirSync(profDir);
const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8'));

const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const label = (n) => {
  const f = n.callFrame;
  const url = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '');
  return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
};
const agg = new Map();
for (const [id, ms] of self) {
  const k = label(byId.get(id));
  agg.set(k, (agg.get(k) ?? 0) + ms);
}
console.log(`git ${MODE} of ${FILES} files: wall ${t.ms.toFixed(0)} ms, CPU (git + filter) ${t.cpu.toFixed(0)} ms; filter profile ${total.toFixed(0)} ms`);
console.log('\nself time by function (top 30):');
for (const [k, ms] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${ms.toFixed(1).padStart(8)} ms  ${(100 * ms / total).toFixed(1).padStart(5)}%  ${k}`);

// Inclusive time of selected functions (by name), counting each sample once per function.
const inclusive = new Map();
prof.samples.forEach((id, i) => {
  const seen = new Set();
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const name = byId.get(n).callFrame.functionName;
    if (name && !seen.has(name)) {
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000);
    }
  }
});
console.log('\ninclusive time by function name (top 40):');
for (const [k, ms] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`  ${ms.toFixed(1).padStart(8)} ms  ${(100 * ms / total).toFixed(1).padStart(5)}%  ${k}`);
