// Shared helpers for the benchmarks: temp dirs, timing, and result tables with ratios.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'git-seal.js');

const dirs = [];
export function tempDir(prefix = 'gitseal-bench-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An environment with its own HOME (no identities, no git config but git's identity). */
export function isolatedEnv(home, extra = {}) {
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_GLOBAL: join(home, '.gitconfig'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@x',
    ...extra,
  };
  for (const k of ['GITSEAL_AGE_KEY', 'GITSEAL_AGE_KEY_FILE', 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'GITHUB_ACTIONS']) if (!(k in extra)) delete env[k];
  return env;
}

export function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Run a command and return its wall time in ms; throws if it fails. */
export function timed(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Print rows of { name, ms, note? }, with each row's ratio to `baseline` (a row name). */
export function table(title, rows, baseline) {
  const base = rows.find((r) => r.name === baseline)?.ms;
  console.log(`\n## ${title}`);
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const ratio = base ? `${(r.ms / base).toFixed(2)}x ${baseline}` : '';
    console.log(`  ${r.name.padEnd(w)}  ${r.ms.toFixed(1).padStart(9)} ms  ${ratio.padEnd(22)} ${r.note ?? ''}`);
  }
}
