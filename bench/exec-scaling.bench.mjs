// exec's cost per value as a file grows: 10,000 vs 40,000 arrays and inline tables (half each), next to
// `decrypt` of the same file. Linear work keeps the time per value flat; the old quadratic search for
// empty arrays made exec 25x slower than decrypt at 40,000. Every timed command runs in a minimal
// environment: PATH, HOME, the key and git's config isolation, nothing inherited (no NODE_EXTRA_CA_CERTS).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, median, table, tempDir, timed } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS_SCALING ?? 3);
const SIZES = [10_000, 40_000];

const home = tempDir('gitseal-bench-exec-scaling-');
const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(home, '.gitconfig') };
writeFileSync(env.GIT_CONFIG_GLOBAL, '[user]\n\tname = bench\n\temail = b@x\n');
const repo = join(home, 'repo');
mkdirSync(join(repo, '.dlt'), { recursive: true });
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...opts }).toString();
const seal = (args) => run(process.execPath, [BIN, ...args]);

run('git', ['init', '-q']);
const key = seal(['keygen', '--output', '-']).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
env.GITSEAL_AGE_KEY = key;
seal(['init', '--no-hook', '--quiet']);

/** N values: arrays and inline tables, each holding one sealed string. */
const file = (n) => {
  const lines = [];
  for (let i = 0; i < n; i++) lines.push(i % 2 ? `t${i} = { v = "s${i}" }` : `a${i} = ["s${i}"]`);
  return `[sources.big]\n${lines.join('\n')}\n`;
};
const path = (n) => `n${n}/.dlt/secrets.toml`;
for (const n of SIZES) {
  mkdirSync(join(repo, `n${n}`, '.dlt'), { recursive: true });
  writeFileSync(join(repo, path(n)), file(n));
}
run('git', ['add', '-A']);
run('git', ['commit', '-q', '-m', 'secrets']);
seal(['lock', '--quiet']);

// Sanity: exec sees the last value of the biggest file.
const last = SIZES.at(-1) - 1;
const probe = seal(['exec', '--file', path(SIZES.at(-1)), '--', 'sh', '-c', `echo "$SOURCES__BIG__T${last}"`]).trim();
if (probe !== `{"v":"s${last}"}`) throw new Error(`exec did not see the values: ${probe}`);

const rows = [];
const ms = {};
for (const n of SIZES) {
  for (const [what, args] of [
    ['exec --file', ['exec', '--file', path(n), '--', 'true']],
    ['decrypt', ['decrypt', path(n)]],
  ]) {
    const times = [];
    for (let i = 0; i < RUNS; i++) times.push(timed(process.execPath, [BIN, ...args], { cwd: repo, env }));
    ms[`${what} ${n}`] = median(times);
    rows.push({ name: `${what}, ${n.toLocaleString('en')} values`, ms: median(times), note: `${((median(times) * 1000) / n).toFixed(1)} µs per value` });
  }
}
table(`exec and decrypt as a file grows (arrays and inline tables; median of ${RUNS})`, rows, `decrypt, ${SIZES[0].toLocaleString('en')} values`);
// The cost of each value added between the two sizes: flat for linear work, growing with n for quadratic.
const [small, big] = SIZES;
const marginal = (what) => ((ms[`${what} ${big}`] - ms[`${what} ${small}`]) * 1000) / (big - small);
const [execUs, decryptUs] = [marginal('exec --file'), marginal('decrypt')];
console.log(`  each value from ${small} to ${big}: exec ${execUs.toFixed(1)} µs, decrypt ${decryptUs.toFixed(1)} µs (exec/decrypt ${(execUs / decryptUs).toFixed(2)}x; before the fix about 25x at 40,000)`);
