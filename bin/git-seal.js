#!/usr/bin/env node
// Entry point: `npx git-seal`, node_modules/.bin/git-seal, or `git seal` when on PATH.
const argv = process.argv.slice(2);
// `exec` starts on a lean path without yargs: it wraps other commands, so its cold start counts.
const main = argv[0] === 'exec' ? (await import('../dist/bundle/exec.js')).execMain : (await import('../dist/bundle/cli.js')).main;

main(argv).then((code) => {
  process.exitCode = code;
});
