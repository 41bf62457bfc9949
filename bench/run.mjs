// `npm run bench`: runs every bench/*.bench.mjs in turn. Benchmarks are not tests: they print figures
// and ratios against a named peer measured in the same run (plain git, git-crypt, the age CLI, dotenvx).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const only = process.argv.slice(2);
const files = readdirSync(join(ROOT, 'bench'))
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
console.log(`git-seal benchmarks on ${process.platform}/${process.arch}, node ${process.version}`);
let failed = 0;
for (const f of files) {
  console.log(`\n# ${f}`);
  const r = spawnSync(process.execPath, [join(ROOT, 'bench', f)], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
