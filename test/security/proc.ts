/** Helpers of the security tests: git-seal runs that stop at a chosen point, and plaintext searches. */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Running } from '../helpers.js';

function state(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/**
 * Wait until the process has stopped itself at its GITSEAL_TEST_STOP_AT point (no timing assumption: it
 * waits for that state, and fails if the process exits instead).
 */
export async function stopped(run: Running): Promise<void> {
  let exited = false;
  void run.done.then(() => (exited = true));
  for (;;) {
    const s = state(run.pid);
    if (s === 'T' || s === 't') return;
    if (exited || s === null || s === 'Z') {
      const r = await run.done;
      throw new Error(`process exited (${r.status ?? r.signal}) before its stop point: ${r.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every file under `dir` (recursively) whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}
