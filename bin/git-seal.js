#!/usr/bin/env node
// Entry point: `npx git-seal`, node_modules/.bin/git-seal, or `git seal` when on PATH.
import { main } from '../dist/bundle/cli.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
