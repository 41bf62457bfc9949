// Preloaded with NODE_OPTIONS=--import by bench/git-checkout.bench.mjs in its memory pass: on exit,
// appends this process's command line and peak resident set size (KiB) to $BENCH_RSS_FILE.
import { appendFileSync } from 'node:fs';

process.on('exit', () => {
  appendFileSync(process.env.BENCH_RSS_FILE, `${process.resourceUsage().maxRSS}\t${process.argv.slice(1).join(' ')}\n`);
});
