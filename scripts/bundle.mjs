// Bundles the CLI into dist/bundle/ so `git-seal` starts fast: one CommonJS file per entry (a CommonJS
// load skips the ES module loader's resolve, link and namespace work), each with a V8 code cache
// (bin/load-bundle.cjs). Builds into a private directory and renames each file into place, so
// concurrent builds never leave a half-written bundle behind.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const out = 'dist/bundle';
const tmp = `dist/.bundle-${process.pid}`;
// The full CLI, and lean entries without yargs: exec wraps other commands and git starts the filter for
// every checkout, add and status, so their cold start counts.
const entries = { cli: 'src/cli.ts', exec: 'src/exec-main.ts', filter: 'src/filter-main.ts' };
// A bundle runs through vm.Script (bin/load-bundle.cjs), which has no dynamic import() on any Node: the
// one module that imported at run time (age-encryption's recipients, not in its "exports") is bundled.
const typageRecipients = {
  name: 'typage-recipients',
  setup(b) {
    b.onResolve({ filter: /\/typage-recipients\.js$/ }, () => ({ path: resolve('scripts/typage-recipients.bundled.mjs') }));
    b.onResolve({ filter: /^age-encryption\/dist\/recipients\.js$/ }, () => ({
      path: join(dirname(createRequire(import.meta.url).resolve('age-encryption')), 'recipients.js'),
    }));
  },
};
// string-width does its costly set-up when it loads: every copy is bundled behind one shim that loads it on
// first use (scripts/string-width-lazy.cjs).
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    const shim = resolve('scripts/string-width-lazy.cjs');
    const real = createRequire(createRequire(import.meta.url).resolve('yargs')).resolve('string-width');
    b.onResolve({ filter: /^string-width$/ }, () => ({ path: shim }));
    b.onResolve({ filter: /^string-width\/real$/ }, () => ({ path: real }));
  },
};
const result = await build({
  entryPoints: entries,
  outdir: tmp,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  // Optional native module (OS keyring): loaded from node_modules at run time, only when used.
  external: ['@napi-rs/keyring'],
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  minifyIdentifiers: true,
  legalComments: 'linked',
  // The sources find package files relative to import.meta.url; a CommonJS bundle has __filename.
  define: { 'import.meta.url': '__gsModuleUrl' },
  banner: { js: "const __gsModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [typageRecipients, lazyStringWidth],
  metafile: true,
  logLevel: 'warning',
});
// A script run through vm.Script cannot run import() (bin/load-bundle.cjs): none may be left, whether
// esbuild lists it (a literal module it left external) or not (a computed specifier).
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  const dynamic = output.imports.filter((i) => i.kind === 'dynamic-import' && i.external);
  const problem = dynamic.length
    ? `a dynamic import() of ${dynamic.map((i) => i.path).join(', ')}; bundle it or use require()`
    : file.endsWith('.cjs') && /\bimport\s*\(/.test(readFileSync(file, 'latin1'))
      ? 'an import() call; use require()'
      : null;
  if (problem) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`${file}: holds ${problem} (bin/load-bundle.cjs runs bundles through vm.Script, which cannot run one)`);
  }
}
mkdirSync(out, { recursive: true });
const fresh = new Set(readdirSync(tmp));
for (const f of fresh) renameSync(join(tmp, f), join(out, f));
rmSync(tmp, { recursive: true, force: true });

// A code cache per bundle, made by a fresh Node (no flags: V8 rejects a cache made under other flags).
for (const name of Object.keys(entries)) {
  const cache = join(out, `${name}.cjs.v8cache`);
  const part = `${cache}.${process.pid}.tmp`;
  execFileSync(process.execPath, ['scripts/make-code-cache.cjs', name, part], { stdio: 'inherit', env: { PATH: process.env.PATH ?? '' } });
  renameSync(part, cache);
  fresh.add(`${name}.cjs.v8cache`);
}
// Drop files no entry point of this build makes any more (the ES module chunks of earlier builds).
for (const f of readdirSync(out)) if (!fresh.has(f) && !f.endsWith('.tmp')) rmSync(join(out, f), { force: true });
