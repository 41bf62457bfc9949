#!/usr/bin/env node
'use strict';
// Entry point: `npx git-seal`, node_modules/.bin/git-seal, or `git seal` when on PATH. CommonJS (see
// bin/package.json): a CommonJS main starts faster than an ES module one.
const { loadBundle } = require('./load-bundle.cjs');

const argv = process.argv.slice(2);
// `exec`, `filter-process` and `textconv --` start from lean bundles without yargs: exec wraps other
// commands, and git starts the filter for every checkout, add and status and textconv for every secrets
// file a diff shows, so their cold start counts. A lean entry returns undefined for a form it does not
// handle, which then goes to the full CLI.
const lean = argv[0] === 'exec' ? 'exec' : argv[0] === 'filter-process' || (argv[0] === 'textconv' && argv[1] === '--') ? 'filter' : undefined;

(async () => {
  let code = lean ? await loadBundle(lean).exports.main(argv) : undefined;
  if (code === undefined) code = await loadBundle('cli').exports.main(argv);
  process.exitCode = code;
  // Exit now, once stdout and stderr hold nothing unwritten, rather than after V8 has torn down every
  // object: after install or lock (a heap of ~100 MB) that teardown took 50-80 ms.
  if (!process.stdout.writableLength && !process.stderr.writableLength) process.exit(code);
})();
