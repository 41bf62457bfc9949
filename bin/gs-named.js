#!/usr/bin/env node
// Entry point: `npx git-seal`, node_modules/.bin/git-seal, or `git seal` when on PATH.
const argv = process.argv.slice(2);
// `exec` and `filter-process` start on lean paths without yargs: exec wraps other commands, and git
// starts the filter for every checkout, add and status, so their cold start counts.
const lean = { exec: ['exec.js', 'execMain'], 'filter-process': ['filter.js', 'filterProcessMain'] }[argv[0]];
const main = lean ? (await import(`../dist/bundle-named/${lean[0]}`))[lean[1]] : (await import('../dist/bundle/cli.js')).main;

main(argv).then((code) => {
  process.exitCode = code;
});
