// git-seal's filter process from the unbundled dist/ modules, so a CPU profile shows real function names
// (used by bench/profile-filter.mjs).
const { main } = await import('../dist/filter-main.js');
process.exitCode = await main(['filter-process']);
