import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** End-to-end tests run the real CLI: bundle it once before any test file runs. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/bundle.mjs'], { cwd: resolve(import.meta.dirname, '../..'), stdio: 'inherit' });
}
