// `npm run bench`: runs every bench/*.bench.mjs in turn. Benchmarks are not tests: they print figures
// and ratios against a named peer measured in the same run (plain git, an echo filter, git-crypt, the
// age CLI, dotenvx). Every bench has a time limit; one that exceeds it is killed and reported with the
// step it was in and what its threads were waiting on, and the run goes on with the next bench.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV_NOTE, ROOT } from './lib.mjs';

const BENCH_TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 30 * 60_000);
const only = process.argv.slice(2);
const files = readdirSync(join(ROOT, 'bench'))
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
console.log(`git-seal benchmarks on ${process.platform}/${process.arch}, node ${process.version}; ${ENV_NOTE}`);

function read(path) {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** What a hung process and its descendants are doing, from /proc (Linux only). */
function diagnose(pid, depth = 0) {
  const lines = [];
  const pad = '  '.repeat(depth + 1);
  const cmd = read(`/proc/${pid}/cmdline`).split('\0').join(' ');
  const stat = read(`/proc/${pid}/stat`).split(' ');
  const cpu = stat.length > 15 ? ((Number(stat[13]) + Number(stat[14])) / 100).toFixed(2) : '?';
  const state = (read(`/proc/${pid}/status`).match(/^State:\s*(.*)$/m) ?? [])[1] ?? '?';
  lines.push(`${pad}pid ${pid} [${state}] (${cpu} s CPU): ${cmd.slice(0, 160)}`);
  const tasks = existsSync(`/proc/${pid}/task`) ? readdirSync(`/proc/${pid}/task`) : [];
  const children = [];
  for (const t of tasks) {
    lines.push(`${pad}  thread ${t} ${read(`/proc/${pid}/task/${t}/comm`)}: ${read(`/proc/${pid}/task/${t}/wchan`) || 'running'}`);
    children.push(...read(`/proc/${pid}/task/${t}/children`).split(/\s+/).filter(Boolean));
  }
  for (const c of children) lines.push(...diagnose(c, depth + 1));
  return lines;
}

function runBench(file) {
  const stepFile = join(tmpdir(), `gitseal-bench-step-${process.pid}-${file}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', file)], {
      stdio: 'inherit',
      cwd: ROOT,
      env: { ...process.env, BENCH_STEP_FILE: stepFile },
    });
    const timer = setTimeout(() => {
      console.log(`\n!! ${file} exceeded ${BENCH_TIMEOUT_MS / 1000} s in step "${read(stepFile) || 'start-up'}"; killing it. Its state:`);
      console.log(diagnose(child.pid).join('\n'));
      child.kill('SIGKILL');
    }, BENCH_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const failedStep = code === 0 ? '' : read(stepFile);
      rmSync(stepFile, { force: true });
      resolve(code === 0 ? null : `${file}: ${signal ?? `exit ${code}`}${failedStep ? ` in step "${failedStep}"` : ''}`);
    });
  });
}

const failures = [];
for (const f of files) {
  console.log(`\n# ${f}`);
  const failure = await runBench(f);
  if (failure) failures.push(failure);
}
if (failures.length) console.log(`\nfailed:\n  ${failures.join('\n  ')}`);
process.exitCode = failures.length ? 1 : 0;
