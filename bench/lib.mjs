// Shared helpers for the benchmarks: temp dirs, a minimal environment, timing with timeouts, step
// reporting, and result tables with ratios.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'git-seal.js');

/** Longest any one timed or set-up command may run before the bench fails naming it. */
export const COMMAND_TIMEOUT_MS = Number(process.env.BENCH_COMMAND_TIMEOUT_MS ?? 300_000);

const dirs = [];
export function tempDir(prefix = 'gitseal-bench-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Name the step the bench is in. bench/run.mjs passes BENCH_STEP_FILE and reports the last step when a
 * bench times out (written synchronously, so it is there even if the main thread then blocks for good).
 */
export function step(name) {
  if (process.env.BENCH_STEP_FILE) writeFileSync(process.env.BENCH_STEP_FILE, `${name}\n`);
}

/**
 * The minimal environment every benchmarked command runs in, ours and the peers': PATH (node's own
 * directory first, then the system's), a fresh HOME and git's config and identity. Nothing is inherited:
 * in particular not NODE_EXTRA_CA_CERTS, which this machine sets and which adds ~70 ms to every Node start.
 */
export function minimalEnv(home, extra = {}) {
  return {
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    LANG: 'C.UTF-8',
    TMPDIR: tmpdir(),
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_GLOBAL: join(home, '.gitconfig'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@x',
    ...extra,
  };
}
/** Old name, kept for the benches that use it. */
export const isolatedEnv = minimalEnv;
export const ENV_NOTE = 'every command runs in a minimal environment: PATH, HOME, LANG, TMPDIR and git\'s config/identity variables only (no NODE_EXTRA_CA_CERTS, no NODE_OPTIONS)';

export function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function describe(cmd, args) {
  return [cmd, ...args].map((a) => (a.length > 60 ? `${a.slice(0, 57)}...` : a)).join(' ');
}

/** Run a command (with a timeout) and return its stdout; the error names the command. */
export function run(cmd, args, opts = {}) {
  const t0 = Date.now();
  try {
    const out = execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 28, ...opts });
    return out === null ? '' : out.toString();
  } catch (err) {
    const after = `after ${Date.now() - t0} ms`;
    const why = err.code === 'ETIMEDOUT' ? `timed out (limit ${COMMAND_TIMEOUT_MS} ms, ${after})` : `failed (${err.status ?? err.signal ?? err.code}, ${after})`;
    throw new Error(`${describe(cmd, args)} ${why}${err.stderr?.length ? `: ${String(err.stderr).trim().split('\n').slice(-3).join(' | ')}` : ''}`);
  }
}

/** Run a command and return its wall time in ms; throws (naming the command) if it fails or times out. */
export function timed(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  run(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const TIME = '/usr/bin/time';
let timeDir;
const haveTime = spawnSync(TIME, ['-f', '%U', 'true']).status === 0;

/**
 * Like `timed`, plus the CPU time (user + sys, seconds → ms) of the command and every process it waited
 * for (git's filter processes included), from GNU time. On a shared machine the CPU figure is the
 * steadier one: wall time also counts waiting for a core. `cpu` is NaN without /usr/bin/time.
 */
export function timedCpu(cmd, args, opts = {}) {
  if (!haveTime) return { ms: timed(cmd, args, opts), cpu: NaN };
  timeDir ??= tempDir('gitseal-bench-time-');
  const out = join(timeDir, 'time');
  const ms = timed(TIME, ['-f', '%U %S', '-o', out, cmd, ...args], opts);
  const [user, sys] = readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { ms, cpu: (user + sys) * 1000 };
}

/** Await `promise`, or fail naming `what` after `ms`. Only helps while the event loop still runs. */
export async function withTimeout(what, promise, ms = COMMAND_TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
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
