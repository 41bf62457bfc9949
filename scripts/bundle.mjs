// Bundles the CLI into dist/bundle/ so `git-seal` starts fast (one file instead of hundreds of modules).
// Builds into a private directory, then renames each file into place, so concurrent builds never
// leave a half-written bundle behind.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const out = 'dist/bundle';
const tmp = `dist/.bundle-${process.pid}`;
const result = await build({
  metafile: true,
  // exec gets its own entry without yargs: it wraps other commands, so its cold start counts.
  entryPoints: { cli: 'src/cli.ts', exec: 'src/exec-main.ts', filter: 'src/filter-main.ts' },
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // Optional native module (OS keyring): loaded from node_modules at run time, only when used.
  external: ['@napi-rs/keyring'],
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  minifyIdentifiers: true,
  legalComments: 'linked',
  banner: { js: "import { createRequire as __gsCreateRequire } from 'node:module'; const require = __gsCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
mkdirSync(out, { recursive: true });
const fresh = new Set(readdirSync(tmp));
for (const f of fresh) renameSync(join(tmp, f), join(out, f));
rmSync(tmp, { recursive: true, force: true });
// Chunks are named by content hash: drop the ones no entry point of this build uses any more.
for (const f of readdirSync(out)) if (!fresh.has(f)) rmSync(join(out, f), { force: true });
void result;
