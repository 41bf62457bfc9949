import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS, ACCESS_PATH, BIN, cleanupTempDirs, commitAll, envMap, person, type Person, PROD, PROD_PATH, repoWith, seal, sealedClone } from '../helpers.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

describe('CI with a deploy key', () => {
  let alice: Person;
  let ci: Person;
  let origin: string;
  let deployKey: string;
  let deployStderr: string;
  let ciEnv: NodeJS.ProcessEnv;
  let checkout: string;

  beforeAll(() => {
    alice = person('alice');
    origin = repoWith(alice, { [PROD_PATH]: PROD, [ACCESS_PATH]: ACCESS });
    const r = seal(alice, ['keygen', '--deploy', 'ci-prod', '--profile', 'prod'], origin);
    deployKey = r.stdout.trim();
    deployStderr = r.stderr;
    commitAll(alice, origin, 'deploy key for prod CI');
    // The CI runner: no key of its own, no git-seal install, only the secret in its environment.
    ci = person('ci', { withKey: false });
    ciEnv = { ...ci.env, GITSEAL_AGE_KEY: deployKey };
    checkout = sealedClone(ci, origin);
  });
  afterAll(cleanupTempDirs);

  it('keygen --deploy prints only the private key on stdout, with instructions on stderr', () => {
    expect(deployKey).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/);
    expect(deployStderr).toContain('GITSEAL_AGE_KEY');
    expect(deployStderr).toContain('saved nowhere');
    expect(deployStderr).toContain(`${PROD_PATH}: data key re-wrapped, values unchanged`);
    expect(deployStderr).not.toContain(deployKey);
  });

  it('the private key is written nowhere on disk', () => {
    for (const f of [...filesUnder(alice.home), ...filesUnder(origin)]) {
      expect(readFileSync(f, 'latin1').includes(deployKey), f).toBe(false);
    }
  });

  it('the deploy key is a prod recipient only', () => {
    const listing = JSON.parse(seal(alice, ['recipients', 'list', '--json'], origin).stdout);
    expect(listing.recipients.find((r: { name: string }) => r.name === 'ci-prod').profiles).toEqual(['prod']);
  });

  it('a fresh clone without install has the files sealed on disk', () => {
    expect(readFileSync(join(checkout, PROD_PATH), 'utf8')).toContain('[gitseal]');
  });

  it('exec --profile prod -- env shows the SOURCES__… variables with the right values', () => {
    const env = envMap(seal(ci, ['exec', '--profile', 'prod', '--', 'env'], checkout, ciEnv).stdout);
    expect(env).toMatchObject({
      SOURCES__STRIPE__API_KEY: 'sk_live_prod_51Hx',
      SOURCES__STRIPE__RETRIES: '3',
      DESTINATION__POSTGRES__CREDENTIALS__PASSWORD: 'pg-prod-correct-horse',
      DESTINATION__POSTGRES__CREDENTIALS__HOST: 'db.prod.internal',
      DESTINATION__POSTGRES__CREDENTIALS__PORT: '5432',
      DESTINATION__POSTGRES__CREDENTIALS__SCHEMAS: '["raw","staging"]',
    });
  });

  it('--file and plain naming work the same way from a subdirectory', () => {
    const env = envMap(seal(ci, ['exec', '--file', 'prod.secrets.toml', '--env-naming', 'plain', '--', 'env'], join(checkout, '.dlt'), ciEnv).stdout);
    expect(env.SOURCES_STRIPE_API_KEY).toBe('sk_live_prod_51Hx');
  });

  it('the access profile is out of reach of the prod deploy key', () => {
    const r = ci.seal(['exec', '--profile', 'access', '--', 'env'], { cwd: checkout, env: ciEnv });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`git-seal: ${ACCESS_PATH}: none of your 1 identities can open it; it is sealed to ${alice.recipient}`);
  });

  it('exit codes pass through', () => {
    const r = ci.seal(['exec', '--profile', 'prod', '--', 'sh', '-c', 'exit 7'], { cwd: checkout, env: ciEnv });
    expect(r.status).toBe(7);
    const killed = ci.seal(['exec', '--profile', 'prod', '--', 'sh', '-c', 'kill -TERM $$'], { cwd: checkout, env: ciEnv });
    expect(killed.status).toBe(128 + 15);
    const missing = ci.seal(['exec', '--profile', 'prod', '--', 'no-such-command-xyz'], { cwd: checkout, env: ciEnv });
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain('no-such-command-xyz: command not found');
  });

  it('variables already set win unless --override', () => {
    const preset = { ...ciEnv, SOURCES__STRIPE__API_KEY: 'from-ci-settings' };
    const show = ['--', 'sh', '-c', 'echo "$SOURCES__STRIPE__API_KEY"'];
    const kept = seal(ci, ['exec', '--profile', 'prod', ...show], checkout, preset);
    expect(kept.stdout).toBe('from-ci-settings\n');
    expect(kept.stderr).toContain('kept 1 variable(s) already set in the environment (--override replaces them): SOURCES__STRIPE__API_KEY');
    expect(seal(ci, ['exec', '--profile', 'prod', '--override', ...show], checkout, preset).stdout).toBe('sk_live_prod_51Hx\n');
  });

  it('under GitHub Actions every sealed value is masked on stderr before the command starts', () => {
    const r = seal(ci, ['exec', '--profile', 'prod', '--', 'sh', '-c', 'echo child-output; echo child-stderr >&2'], checkout, { ...ciEnv, GITHUB_ACTIONS: 'true' });
    expect(r.stdout).toBe('child-output\n');
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe('child-stderr');
    const masks = lines.slice(0, -1);
    for (const v of ['sk_live_prod_51Hx', '3', 'pg-prod-correct-horse', 'db.prod.internal', '5432', '["raw","staging"]', 'raw', 'staging']) {
      expect(masks).toContain(`::add-mask::${v}`);
    }
  });

  it('the same invocation through the full CLI (yargs) gives the same environment', () => {
    const lean = envMap(seal(ci, ['exec', '-p', 'prod', '--', 'env'], checkout, ciEnv).stdout);
    const full = envMap(seal(ci, ['--quiet', 'exec', '-p', 'prod', '--', 'env'], checkout, ciEnv).stdout);
    expect(full.SOURCES__STRIPE__API_KEY).toBe('sk_live_prod_51Hx');
    for (const k of Object.keys(lean).filter((k) => /^(SOURCES|DESTINATION)__/.test(k))) expect(full[k], k).toBe(lean[k]);
  });

  it('SIGTERM to git-seal is forwarded to the command, whose exit code comes back', async () => {
    const script = 'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done';
    const child = spawn(process.execPath, [BIN, 'exec', '--profile', 'prod', '--', 'sh', '-c', script], { cwd: checkout, env: ciEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(42);
  });

  it('decrypt --in-place also works', () => {
    seal(ci, ['decrypt', '--in-place', PROD_PATH], checkout, ciEnv);
    expect(readFileSync(join(checkout, PROD_PATH), 'utf8')).toBe(PROD);
  });
});
