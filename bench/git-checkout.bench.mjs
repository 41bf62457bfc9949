// git with a filter, on 500 sealed files (20 values, 3 recipients): git-seal's long-running filter against
// the floor, a minimal Node process filter that echoes every file (bench/echo-filter.mjs), against plain
// git (no filter) and against git-crypt (one process per file). All in one run, rounds interleaved, each
// command in a minimal environment. BENCH_FILES=5000 for the scale figures.
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ENV_NOTE, has, median, minimalEnv, ROOT, run, step, tempDir, timedCpu } from './lib.mjs';

const add = (...ts) => ({ ms: ts.reduce((a, t) => a + t.ms, 0), cpu: ts.reduce((a, t) => a + t.cpu, 0) });
const ZERO = { ms: 0, cpu: 0 };

const FILES = Number(process.env.BENCH_FILES ?? 500);
const VALUES = 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ECHO = `node ${join(ROOT, 'bench', 'echo-filter.mjs')}`;
const ATTR = '**/.dlt/secrets.toml';

const fileName = (i) => join('pipelines', `p${String(i).padStart(4, '0')}`, '.dlt', 'secrets.toml');

function secretsFile(i, edit = 0) {
  let s = `# pipeline ${i}\n[sources.api_${i}]\n`;
  for (let v = 0; v < VALUES / 2; v++) s += `key_${v} = "sk_live_${i}_${v}_${v === 0 && edit ? `edit${edit}` : 'x'.repeat(24)}"\n`;
  s += `\n[destination.postgres.credentials]\n`;
  for (let v = VALUES / 2; v < VALUES; v++) s += `field_${v} = ${v % 3 === 0 ? v * 1000 : `"value-${i}-${v}"`}\n`;
  return s;
}

function writeFiles(dir, edit = 0) {
  for (let i = 0; i < FILES; i++) {
    const p = join(dir, fileName(i));
    if (!edit) mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, secretsFile(i, edit));
  }
}

function touchAll(dir) {
  const t = new Date(Date.now() + 60_000 + Math.random() * 1000);
  for (let i = 0; i < FILES; i++) utimesSync(join(dir, fileName(i)), t, t);
}

const home = tempDir();
const env = minimalEnv(home);
const work = tempDir();
const git = (args, cwd, e = env) => run('git', args, { cwd, env: e });
const seal = (args, cwd, e = env) => run('node', [BIN, ...args], { cwd, env: e });

step('set-up: keys and origins');
const keys = [0, 1, 2].map(() => {
  const out = seal(['keygen', '--output', '-'], work);
  return { identity: out.match(/AGE-SECRET-KEY-1\S+/)[0], recipient: out.match(/public key: (\S+)/)[1] };
});
const keyEnv = minimalEnv(home, { GITSEAL_AGE_KEY: keys[0].identity });

function origin(name, setup) {
  const dir = join(work, name);
  mkdirSync(dir);
  git(['init', '-q', '-b', 'main'], dir);
  const firstAdd = setup(dir);
  return { dir, firstAdd };
}

const variants = [];
variants.push({
  name: 'plain git',
  ...origin('plain', (dir) => {
    writeFiles(dir);
    return timedCpu('git', ['add', '-A'], { cwd: dir, env });
  }),
  unlock: () => ZERO,
});
variants.push({
  name: 'echo filter',
  ...origin('echo', (dir) => {
    writeFileSync(join(dir, '.gitattributes'), `${ATTR} filter=echo\n`);
    git(['config', 'filter.echo.process', ECHO], dir);
    git(['config', 'filter.echo.required', 'true'], dir);
    writeFiles(dir);
    return timedCpu('git', ['add', '-A'], { cwd: dir, env });
  }),
  // Like `git-seal install`: configure the filter, then check every file out again through it.
  unlock: (dir) => {
    const config = [timedCpu('git', ['config', 'filter.echo.process', ECHO], { cwd: dir, env }), timedCpu('git', ['config', 'filter.echo.required', 'true'], { cwd: dir, env })];
    rmSync(join(dir, 'pipelines'), { recursive: true, force: true });
    return add(...config, timedCpu('git', ['checkout', '-q', '--', '.'], { cwd: dir, env }));
  },
});
variants.push({
  name: 'git-seal',
  env: keyEnv,
  ...origin('seal', (dir) => {
    writeFileSync(join(dir, '.gitseal.toml'), `version = 1
[recipients]
alice = "${keys[0].recipient}"
bob = "${keys[1].recipient}"
ci = "${keys[2].recipient}"
[profiles.dev]
files = ["${ATTR}"]
recipients = ["alice", "bob", "ci"]
`);
    seal(['init', '--no-hook', '--quiet'], dir, keyEnv);
    writeFiles(dir);
    return timedCpu('git', ['add', '-A'], { cwd: dir, env: keyEnv });
  }),
  unlock: (dir) => timedCpu('node', [BIN, 'install', '--quiet'], { cwd: dir, env: keyEnv }),
});
const GITCRYPT_ROUNDS = Number(process.env.BENCH_GITCRYPT_ROUNDS ?? 1);
if (has('git-crypt') && GITCRYPT_ROUNDS > 0) {
  const gcKey = join(work, 'git-crypt.key');
  variants.push({
    name: 'git-crypt',
    ...origin('git-crypt', (dir) => {
      git(['config', 'user.name', 'bench'], dir);
      run('git-crypt', ['init'], { cwd: dir, env });
      writeFileSync(join(dir, '.gitattributes'), `${ATTR} filter=git-crypt diff=git-crypt\n`);
      writeFiles(dir);
      const t = timedCpu('git', ['add', '-A'], { cwd: dir, env });
      run('git-crypt', ['export-key', gcKey], { cwd: dir, env });
      return t;
    }),
    unlock: (dir) => timedCpu('git-crypt', ['unlock', gcKey], { cwd: dir, env }),
  });
} else {
  console.log(GITCRYPT_ROUNDS > 0 ? 'git-crypt not installed (apt-get install git-crypt): its column is missing' : 'git-crypt left out (BENCH_GITCRYPT_ROUNDS=0)');
}
for (const v of variants) {
  v.env ??= env;
  git(['commit', '-q', '-m', 'secrets'], v.dir, v.env);
}
// Not a peer: the echo filter on git-seal's own sealed files (git-seal's origin, the echo filter as its
// driver). Its gap to the echo filter is what the sealed files' size costs git; its gap to git-seal is
// git-seal's own work. Its add changes one sealed token per file, so git stores blobs of the same size.
const sealed = variants.find((v) => v.name === 'git-seal');
variants.splice(2, 0, {
  name: 'echo, sealed files',
  dir: sealed.dir,
  env,
  firstAdd: { ms: NaN, cpu: NaN },
  unlock: (dir) => {
    const config = [timedCpu('git', ['config', 'filter.git-seal.process', ECHO], { cwd: dir, env }), timedCpu('git', ['config', 'filter.git-seal.required', 'true'], { cwd: dir, env })];
    rmSync(join(dir, 'pipelines'), { recursive: true, force: true });
    return add(...config, timedCpu('git', ['checkout', '-q', '--', '.'], { cwd: dir, env }));
  },
  edit: (dir, round) => {
    for (let i = 0; i < FILES; i++) {
      const p = join(dir, fileName(i));
      writeFileSync(p, readFileSync(p, 'utf8').replace(/ENC\[gitseal\.v1,[A-Za-z0-9+/]{4}/, `ENC[gitseal.v1,${String(1000 + round).slice(-4)}`));
    }
  },
});
for (const v of variants) v.times = { clone: [], recheckout: [], status: [], add: [] };

// Rounds interleave the variants, so a busy moment of this shared machine hits all of them alike.
// git-crypt (a process per file, minutes on a busy machine) runs BENCH_GITCRYPT_ROUNDS of them (default 1).
for (let r = 0; r < ROUNDS; r++) {
  for (const v of variants) {
    if (v.name === 'git-crypt' && r >= GITCRYPT_ROUNDS) continue;
    const dir = join(tempDir(), 'clone');
    step(`round ${r + 1}: ${v.name}: clone + unlock`);
    v.times.clone.push(add(timedCpu('git', ['clone', '-q', v.dir, dir], { env }), v.unlock(dir)));
    if (r === 0 && v.name === 'git-seal' && git(['status', '--porcelain'], dir, keyEnv).trim() !== '') throw new Error('git-seal clone is not clean');
    step(`round ${r + 1}: ${v.name}: re-checkout`);
    rmSync(join(dir, 'pipelines'), { recursive: true, force: true });
    v.times.recheckout.push(timedCpu('git', ['checkout', '-q', '--', '.'], { cwd: dir, env: v.env }));
    step(`round ${r + 1}: ${v.name}: status after touch`);
    touchAll(dir);
    v.times.status.push(timedCpu('git', ['status', '--porcelain'], { cwd: dir, env: v.env }));
    step(`round ${r + 1}: ${v.name}: add of changed files`);
    if (v.edit) v.edit(dir, r + 1);
    else writeFiles(dir, r + 1);
    v.times.add.push(timedCpu('git', ['add', '-A'], { cwd: dir, env: v.env }));
    if (v.name === 'git-seal' && r === 0) {
      const blob = git(['cat-file', 'blob', `:${fileName(0)}`], dir, v.env);
      if (!blob.includes('[gitseal]') || blob.includes('edit1')) throw new Error('git-seal add did not seal the changed file');
    }
    v.last = dir;
  }
}

// Memory: the filter's peak RSS during one more re-checkout (not timed: the preload costs a little).
const rss = {};
for (const v of variants.filter((x) => x.name === 'echo filter' || x.name === 'git-seal')) {
  step(`memory: ${v.name}`);
  const rssFile = join(work, `rss-${v.name}`);
  writeFileSync(rssFile, '');
  rmSync(join(v.last, 'pipelines'), { recursive: true, force: true });
  run('git', ['checkout', '-q', '--', '.'], { cwd: v.last, env: { ...v.env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--import=${new URL('./peak-rss.mjs', import.meta.url).href}` } });
  const lines = readFileSync(rssFile, 'utf8').split('\n').filter((l) => /filter-process|echo-filter/.test(l));
  rss[v.name] = Math.max(...lines.map((l) => Number(l.split('\t')[0])));
}

const by = Object.fromEntries(variants.map((v) => [v.name, v]));
const kinds = [
  ['fresh clone + install/unlock', 'clone'],
  ['re-checkout of every file', 'recheckout'],
  ['git status after touching every file', 'status'],
  [`git add of ${FILES} changed files`, 'add'],
];
console.log(`${FILES} files x ${VALUES} values, 3 recipients; median of ${ROUNDS} interleaved rounds (git-crypt: ${Math.min(ROUNDS, GITCRYPT_ROUNDS)}); ${ENV_NOTE}`);
console.log('echo filter = bench/echo-filter.mjs, a Node long-running process filter that returns every file unchanged (the floor for any Node filter)');
console.log("echo, sealed files = the same echo filter on git-seal's sealed files (not a peer: it shows what the files' size costs git)");
const cols = variants.map((v) => v.name);
for (const [unit, field, note] of [
  ['wall time', 'ms', ''],
  ['CPU time (user + sys of git and every process it waited for)', 'cpu', '; steadier than wall time on a shared machine'],
]) {
  const m = (name, k) => median(by[name].times[k].map((t) => t[field]));
  console.log(`\n## ${unit}${note}\n`);
  const head = ['work', ...cols, 'git-seal / echo', 'git-seal / plain', 'git-seal / echo on sealed files'];
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
  for (const [label, k] of kinds) {
    const cells = cols.map((c) => `${m(c, k).toFixed(0)} ms`);
    const ratio = (other) => `${(m('git-seal', k) / m(other, k)).toFixed(2)}x`;
    console.log(`| ${[label, ...cells, ratio('echo filter'), ratio('plain git'), ratio('echo, sealed files')].join(' | ')} |`);
  }
  if (by['git-crypt']) {
    console.log(`\ngit-crypt / git-seal: clone+unlock ${(m('git-crypt', 'clone') / m('git-seal', 'clone')).toFixed(1)}x, status ${(m('git-crypt', 'status') / m('git-seal', 'status')).toFixed(1)}x`);
  }
}
console.log(`\nfirst git add (sealing new files): ${variants.filter((v) => !Number.isNaN(v.firstAdd.ms)).map((v) => `${v.name} ${v.firstAdd.ms.toFixed(0)} ms`).join(', ')}`);
console.log(`filter peak RSS during a re-checkout of ${FILES} files: ${Object.entries(rss).map(([k, kb]) => `${k} ${(kb / 1024).toFixed(1)} MiB`).join(', ')}`);
