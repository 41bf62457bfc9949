// Cold start of `git-seal exec` with 20 secrets vs `dotenvx run` on the same 20 values vs a bare
// `node -e 0`; every command runs `true`. Runs are interleaved, the median of each is reported.
// Target: exec at most 1.5x bare node.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, isolatedEnv, median, ROOT, table, tempDir, timed } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const DOTENVX = join(ROOT, 'node_modules', '@dotenvx', 'dotenvx', 'src', 'cli', 'dotenvx.js');

const home = tempDir('gitseal-bench-exec-');
const repo = join(home, 'repo');
mkdirSync(join(repo, '.dlt'), { recursive: true });
const env = isolatedEnv(home);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'], ...opts }).toString();
const seal = (args, opts) => run(process.execPath, [BIN, ...args], opts);

// 20 values in dlt's layout, and the same 20 as a .env for dotenvx.
const values = Array.from({ length: 20 }, (_, i) => [`key_${i}`, `sk_live_${i}_${'x'.repeat(24)}`]);
const toml = `[sources.stripe]\n${values.slice(0, 10).map(([k, v]) => `${k} = "${v}"`).join('\n')}\n\n[destination.postgres.credentials]\n${values.slice(10).map(([k, v]) => `${k} = "${v}"`).join('\n')}\n`;
const dotenv = values.map(([k, v], i) => `${i < 10 ? 'SOURCES__STRIPE' : 'DESTINATION__POSTGRES__CREDENTIALS'}__${k.toUpperCase()}="${v}"`).join('\n') + '\n';

// A repository as CI sees it: sealed files on disk, no filter installed, the key in GITSEAL_AGE_KEY.
run('git', ['init', '-q']);
const key = seal(['keygen', '--output', '-']).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
env.GITSEAL_AGE_KEY = key;
seal(['init', '--no-hook', '--quiet']);
writeFileSync(join(repo, '.dlt', 'prod.secrets.toml'), toml);
run('git', ['add', '-A']);
run('git', ['commit', '-q', '-m', 'secrets']);
seal(['lock', '--quiet']);

const dotenvDir = join(home, 'dotenvx');
mkdirSync(dotenvDir);
writeFileSync(join(dotenvDir, '.env'), dotenv);
const encDir = join(home, 'dotenvx-encrypted');
mkdirSync(encDir);
writeFileSync(join(encDir, '.env'), dotenv);
run(process.execPath, [DOTENVX, 'encrypt', '-f', '.env'], { cwd: encDir });

// Sanity: every command sees the secrets.
const probe = ['sh', '-c', 'echo "$SOURCES__STRIPE__KEY_3"'];
for (const out of [
  seal(['exec', '--profile', 'prod', '--', ...probe]),
  run(process.execPath, [DOTENVX, 'run', '-q', '-f', '.env', '--', ...probe], { cwd: dotenvDir }),
  run(process.execPath, [DOTENVX, 'run', '-q', '-f', '.env', '--', ...probe], { cwd: encDir }),
]) {
  if (out.trim() !== values[3][1]) throw new Error(`a command did not see the secrets: ${JSON.stringify(out)}`);
}

const variants = [
  { name: 'node -e 0', cmd: [process.execPath, '-e', '0'] },
  // The floor for any Node wrapper: start, then run the command and wait for it.
  { name: 'node running `true`', cmd: [process.execPath, '-e', "require('node:child_process').spawnSync('true', { stdio: 'inherit' })"] },
  { name: 'git-seal exec --file', cmd: [process.execPath, BIN, 'exec', '--file', '.dlt/prod.secrets.toml', '--', 'true'] },
  { name: 'git-seal exec --profile', cmd: [process.execPath, BIN, 'exec', '--profile', 'prod', '--', 'true'] },
  { name: 'dotenvx run (plaintext .env)', cmd: [process.execPath, DOTENVX, 'run', '-q', '-f', '.env', '--', 'true'], cwd: dotenvDir },
  { name: 'dotenvx run (encrypted .env)', cmd: [process.execPath, DOTENVX, 'run', '-q', '-f', '.env', '--', 'true'], cwd: encDir },
  { name: 'git-seal --version (full CLI)', cmd: [process.execPath, BIN, '--version'] },
];
const times = variants.map(() => []);
for (let i = 0; i < RUNS + 2; i++) {
  variants.forEach((v, j) => {
    const ms = timed(v.cmd[0], v.cmd.slice(1), { cwd: v.cwd ?? repo, env });
    if (i >= 2) times[j].push(ms); // two warm-up rounds (disk cache)
  });
}
const min = (xs) => Math.min(...xs);
const rows = variants.map((v, j) => ({ name: v.name, ms: median(times[j]), min: min(times[j]) }));
for (const r of rows) r.note = `(min ${r.min.toFixed(1)} ms, ${(r.min / rows[0].min).toFixed(2)}x)`;
table(`cold start, 20 secrets, command \`true\` (median of ${RUNS}; the minimum is less sensitive to a busy machine)`, rows, 'node -e 0');
for (const r of rows.filter((x) => x.name.startsWith('git-seal exec'))) {
  const ratio = r.ms / rows[0].ms;
  const wrapper = rows[1].ms;
  console.log(
    `  ${r.name}: ${ratio.toFixed(2)}x bare node (target <= 1.5x: ${ratio <= 1.5 ? 'met' : 'NOT met'}), ${(r.ms / wrapper).toFixed(2)}x a Node wrapper that only runs the command; ${(rows.find((x) => x.name.startsWith('dotenvx run (plain')).ms / r.ms).toFixed(2)}x faster than dotenvx run`,
  );
}
