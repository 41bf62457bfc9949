import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitSealError } from '../errors.js';
import { binScript } from '../git/install.js';

/** The guided demo: real commands in a throwaway directory, narrated. Offline; about ten seconds. */

const DEV = `# dlt secrets shared by every developer
[sources.github]
access_token = "ghp_demoDevToken0123456789"

[destination.duckdb.credentials]
database = "dev.duckdb"
`;

const PROD = `# Read-write credentials for the nightly batch jobs
[sources.stripe]
api_key = "sk_live_demo_51HxYzStripeKey"
retries = 3

[destination.postgres.credentials]
host = "db.prod.internal"
port = 5432
username = "loader"
password = "correct-horse-battery-staple"
`;

const ACCESS = `# Read-only credentials for notebooks and dashboards
[destination.postgres.credentials]
host = "db.prod.internal"
username = "analyst_ro"
password = "read-only-but-still-secret"
`;

interface Actor {
  name: string;
  env: NodeJS.ProcessEnv;
}

export interface DemoOptions {
  /** Where to print (default: stdout). */
  write?: (s: string) => void;
  /** Parent directory for the throwaway demo directory (default: the OS temp dir). */
  parent?: string;
  color?: boolean;
}

export interface DemoResult {
  dir: string;
  repo: string;
}

export function runDemo(opts: DemoOptions = {}): DemoResult {
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  const color = opts.color ?? false;
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const cyan = (s: string) => (color ? `\x1b[36m${s}\x1b[0m` : s);

  const dir = mkdtempSync(join(opts.parent ?? tmpdir(), 'git-seal-demo-'));
  const bin = binScript();
  const actor = (name: string): Actor => {
    const home = join(dir, 'home', name);
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, '.gitconfig'), `[user]\n\tname = ${name}\n\temail = ${name}@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), GIT_CONFIG_GLOBAL: join(home, '.gitconfig'), GIT_CONFIG_NOSYSTEM: '1' };
    for (const k of ['GITSEAL_AGE_KEY', 'GITSEAL_AGE_KEY_FILE', 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'GITHUB_ACTIONS', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[k];
    return { name, env };
  };

  const step = (n: number, title: string) => write(`\n${bold(`${n}. ${title}`)}\n`);
  const say = (s: string) => write(`${s}\n`);
  const show = (text: string) => write(text.replace(/\n$/, '').split('\n').map((l) => `   ${dim('│')} ${l}`).join('\n') + '\n');

  /** Run a command as `who` in `cwd`, print it and its output; fail loudly if it fails. */
  const run = (who: Actor, cwd: string, shown: string, cmd: string, args: string[], input?: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    write(`${cyan(`   ${who.name}$ ${shown}`)}\n`);
    const r = spawnSync(cmd, args, { cwd, env: { ...who.env, ...extraEnv }, input, encoding: 'utf8' });
    if (r.status !== 0) throw new GitSealError(`demo step failed: ${shown}: ${(r.stderr || r.stdout).trim().split('\n').pop()}`, `the demo directory is ${dir}`);
    const out = (r.stdout + (r.stderr ? r.stderr : '')).trimEnd();
    if (out) show(out);
    return r.stdout;
  };
  const seal = (who: Actor, cwd: string, args: string[], input?: string, extraEnv?: NodeJS.ProcessEnv) =>
    run(who, cwd, `git-seal ${args.join(' ')}`, process.execPath, [bin, ...args], input, extraEnv);
  const git = (who: Actor, cwd: string, args: string[]) => run(who, cwd, `git ${args.join(' ')}`, 'git', args);
  const quiet = (who: Actor, cwd: string, cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { cwd, env: who.env, encoding: 'utf8' });
    if (r.status !== 0) throw new GitSealError(`demo step failed: ${cmd} ${args.join(' ')}: ${r.stderr.trim()}`, `the demo directory is ${dir}`);
    return r.stdout;
  };

  const alice = actor('alice');
  const bob = actor('bob');
  const ci = actor('ci');
  const repo = join(dir, 'analytics');
  mkdirSync(join(repo, '.dlt'), { recursive: true });

  say(bold('git-seal demo: commit dlt secrets safely'));
  say(`Working in ${dir} (throwaway; nothing outside it is touched).`);

  step(1, 'Alice (admin) and Bob (analyst) each make an age identity');
  seal(alice, dir, ['keygen']);
  const bobKey = seal(bob, dir, ['keygen']).trim();

  step(2, 'Alice sets up the repository: profiles dev, prod and access, the git filter, a pre-commit hook');
  quiet(alice, repo, 'git', ['init', '-q']);
  writeFileSync(join(repo, '.dlt', 'secrets.toml'), DEV);
  writeFileSync(join(repo, '.dlt', 'prod.secrets.toml'), PROD);
  writeFileSync(join(repo, '.dlt', 'secrets.access.toml'), ACCESS);
  seal(alice, repo, ['init', '--hook', '--name', 'alice']);
  git(alice, repo, ['add', '.']);
  git(alice, repo, ['commit', '-q', '-m', 'Commit dlt secrets, sealed']);

  step(3, 'Her working copy is plaintext...');
  run(alice, repo, 'cat .dlt/prod.secrets.toml', 'cat', ['.dlt/prod.secrets.toml']);
  say('...and the committed blob is sealed: keys and comments readable, every value encrypted.');
  git(alice, repo, ['show', 'HEAD:.dlt/prod.secrets.toml']);
  git(alice, repo, ['status', '--short']);
  say('(git status is clean: nothing to re-encrypt.)');

  step(4, 'A secret changes: git diff shows plaintext to Alice, the commit changes one line');
  writeFileSync(join(repo, '.dlt', 'prod.secrets.toml'), readFileSync(join(repo, '.dlt', 'prod.secrets.toml'), 'utf8').replace('sk_live_demo_51HxYzStripeKey', 'sk_live_demo_rotated_9QwErTy'));
  git(alice, repo, ['diff', '--', '.dlt/prod.secrets.toml']);
  git(alice, repo, ['commit', '-q', '-am', 'Rotate the Stripe key']);
  git(alice, repo, ['diff', '--no-textconv', '--stat', 'HEAD~', 'HEAD']);

  step(5, 'Bob joins, for the read-only access profile only');
  seal(alice, repo, ['recipients', 'add', 'bob', bobKey, '--profile', 'access']);
  git(alice, repo, ['add', '-A']);
  git(alice, repo, ['commit', '-q', '-m', 'Add Bob to access']);
  say('Adding a recipient re-wraps the data key only: every value line is unchanged.');
  git(alice, repo, ['diff', '--no-textconv', 'HEAD~', 'HEAD', '--', '.dlt/secrets.access.toml']);

  step(6, "Bob clones and installs: access decrypts, prod stays sealed");
  const bobClone = join(dir, 'bob-clone');
  quiet(bob, dir, 'git', ['clone', '-q', repo, bobClone]);
  seal(bob, bobClone, ['install']);
  run(bob, bobClone, 'head -4 .dlt/secrets.access.toml', 'head', ['-4', '.dlt/secrets.access.toml']);
  run(bob, bobClone, 'head -3 .dlt/prod.secrets.toml', 'head', ['-3', '.dlt/prod.secrets.toml']);
  git(bob, bobClone, ['status', '--short']);

  step(7, 'A deploy key for the prod CI job (its private key is printed once, for the CI secret store)');
  const deploy = spawnSync(process.execPath, [bin, 'keygen', '--deploy', 'ci-prod', '--profile', 'prod'], { cwd: repo, env: alice.env, encoding: 'utf8' });
  write(`${cyan('   alice$ git-seal keygen --deploy ci-prod --profile prod')}\n`);
  if (deploy.status !== 0) throw new GitSealError(`demo step failed: keygen --deploy: ${deploy.stderr.trim()}`, `the demo directory is ${dir}`);
  const deployKey = /AGE-SECRET-KEY-1[0-9A-Z]+/.exec(deploy.stdout)?.[0];
  if (!deployKey) throw new GitSealError('demo step failed: keygen --deploy printed no key', `the demo directory is ${dir}`);
  show(deploy.stdout.replace(deployKey, `${deployKey.slice(0, 20)}… (hidden in this demo)`) + deploy.stderr);
  git(alice, repo, ['add', '-A']);
  git(alice, repo, ['commit', '-q', '-m', 'Add the prod CI deploy key']);

  step(8, 'CI: a fresh clone, no install, the deploy key in GITSEAL_AGE_KEY; secrets only in memory');
  const ciClone = join(dir, 'ci-clone');
  quiet(ci, dir, 'git', ['clone', '-q', repo, ciClone]);
  const job = "for (const [k, v] of Object.entries(process.env).filter(([k]) => k.includes('__')).sort()) console.log(k + '=' + v.slice(0, 4) + '****')";
  seal(ci, ciClone, ['exec', '--profile', 'prod', '--', 'node', '-e', job], undefined, { GITSEAL_AGE_KEY: deployKey });
  say('(The job printed masked values; nothing was decrypted to disk.)');

  step(9, "The audit trail, from the ciphertexts alone (no key needed)");
  seal(ci, ciClone, ['log', '.dlt/prod.secrets.toml']);

  say(`\n${bold('Done.')} The demo repository is ${repo}`);
  say(`Alice's clone: ${repo}   Bob's clone: ${bobClone}   CI clone: ${ciClone}`);
  say(`Look around, then remove it with: rm -rf ${dir}`);
  return { dir, repo };
}
