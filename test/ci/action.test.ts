// The composite GitHub Action (action.yml), as far as this machine can run it: its metadata parsed with
// a YAML parser, and each `run:` step's script run with bash the way the runner does (inputs through
// env, GITHUB_PATH/GITHUB_OUTPUT/GITHUB_ENV files, GITHUB_ACTIONS=true, stdout and stderr on separate
// pipes) in a CI checkout of a real repository, with the deploy key from a secret.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanupTempDirs, person, type Person, PROD, PROD_PATH, repoWith, ROOT, run, sealedClone, tempDir } from '../helpers.js';

interface Step {
  id: string;
  if?: string;
  shell: string;
  run: string;
  env?: Record<string, string>;
  'working-directory'?: string;
}
interface Action {
  runs: { using: string; steps: Step[] };
  inputs: Record<string, { default: string }>;
  outputs: Record<string, { value: string }>;
}

const action: Action = JSON.parse(run('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', join(ROOT, 'action.yml')]).stdout);
const step = (id: string) => action.runs.steps.find((s) => s.id === id)!;
const PROD_SECRETS = ['sk_live_prod_51Hx', 'pg-prod-correct-horse'];
afterAll(cleanupTempDirs);

interface StepResult {
  status: number | null;
  stdout: string;
  stderr: string;
  files: { path: string; output: string; env: string };
}

describe('the composite action', () => {
  let alice: Person;
  let checkout: string;
  let deployKey: string;
  let runner: string;
  let npmLog: string;
  /** The PATH of a runner: a recording npm stub first, node, the system. */
  let basePath: string;

  beforeAll(() => {
    alice = person('alice');
    const origin = repoWith(alice, { [PROD_PATH]: PROD });
    const r = alice.seal(['keygen', '--deploy', 'ci-prod', '--profile', 'prod'], { cwd: origin });
    expect(r.status, r.stderr).toBe(0);
    deployKey = r.stdout.trim();
    alice.git(['commit', '-qam', 'deploy key'], origin);
    checkout = sealedClone(alice, origin);
    runner = tempDir('gitseal-runner-');
    // npm is not run for real (no network in tests): a stub records its arguments.
    const stubs = join(runner, 'stubs');
    mkdirSync(stubs);
    npmLog = join(runner, 'npm.log');
    writeFileSync(join(stubs, 'npm'), `#!/bin/sh\necho "$*" >> "${npmLog}"\nif [ "$1" = prefix ]; then echo "${join(runner, 'global')}"; fi\n`);
    chmodSync(join(stubs, 'npm'), 0o755);
    basePath = [stubs, dirname(process.execPath), process.env.PATH].join(delimiter);
  });

  /** Run one step as the runner would: its env with inputs substituted, its shell, fresh command files. */
  function runStep(id: string, inputs: Record<string, string>, extraEnv: Record<string, string> = {}, path = basePath): StepResult {
    const s = step(id);
    expect(s.shell).toBe('bash');
    const input = (name: string) => inputs[name] ?? action.inputs[name].default;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.env ?? {})) env[k] = v.replace(/\$\{\{ inputs\.([\w-]+) \}\}/g, (_, n: string) => input(n));
    const dir = tempDir('gitseal-step-');
    const files = { path: join(dir, 'path'), output: join(dir, 'output'), env: join(dir, 'env') };
    for (const f of Object.values(files)) writeFileSync(f, '');
    const script = join(dir, 'step.sh');
    writeFileSync(script, s.run);
    const cwd = s['working-directory'] ? join(checkout, s['working-directory'].replace('${{ inputs.working-directory }}', input('working-directory'))) : checkout;
    const r = run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd,
      env: {
        ...alice.env,
        ...extraEnv,
        ...env,
        PATH: path,
        GITHUB_ACTIONS: 'true',
        GITHUB_ACTION_PATH: ROOT,
        RUNNER_TEMP: join(runner, 'temp'),
        GITHUB_PATH: files.path,
        GITHUB_OUTPUT: files.output,
        GITHUB_ENV: files.env,
      },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, files: { path: readFileSync(files.path, 'utf8'), output: readFileSync(files.output, 'utf8'), env: readFileSync(files.env, 'utf8') } };
  }

  /** PATH after the install step, as the runner prepends GITHUB_PATH entries. */
  function installed(): string {
    const r = runStep('install', {});
    expect(r.status, r.stderr).toBe(0);
    return [...r.files.path.trim().split('\n'), basePath].join(delimiter);
  }

  it('is a composite action whose scripts never interpolate an expression', () => {
    expect(action.runs.using).toBe('composite');
    expect(action.runs.steps.map((s) => s.id)).toEqual(['install', 'check', 'exec']);
    for (const s of action.runs.steps) expect(s.run, s.id).not.toContain('${{');
    expect(step('check').if).toBe("inputs.check == 'true'");
    expect(step('exec').if).toBe("inputs.run != ''");
    expect(step('exec').env).toMatchObject({ INPUT_AGE_KEY: '${{ inputs.age-key }}', INPUT_RUN: '${{ inputs.run }}' });
    expect(action.outputs.version.value).toBe('${{ steps.install.outputs.version }}');
  });

  it("install builds the action's checkout, puts git-seal on GITHUB_PATH and sets the version output", () => {
    writeFileSync(npmLog, '');
    const r = runStep('install', {});
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(npmLog, 'utf8')).toBe('ci --no-audit --no-fund\n');
    expect(r.files.path).toBe(`${join(runner, 'temp', 'git-seal-bin')}\n`);
    expect(r.files.output).toBe('version=0.1.0\n');
    expect(r.stdout).toBe('');
  });

  it('install with a version installs that version from npm', () => {
    writeFileSync(npmLog, '');
    mkdirSync(join(runner, 'global', 'bin'), { recursive: true });
    writeFileSync(join(runner, 'global', 'bin', 'git-seal'), '#!/bin/sh\necho 9.9.9\n');
    chmodSync(join(runner, 'global', 'bin', 'git-seal'), 0o755);
    const r = runStep('install', { version: '9.9.9' });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(npmLog, 'utf8')).toBe('install --global --no-audit --no-fund git-seal@9.9.9\nprefix --global\n');
    expect(r.files.path).toBe(`${join(runner, 'global', 'bin')}\n`);
    expect(r.files.output).toBe('version=9.9.9\n');
  });

  it('check passes on the sealed checkout and fails on a plaintext commit', () => {
    const path = installed();
    expect(runStep('check', {}, {}, path).status).toBe(0);
    // The attack: someone without the filter commits the file in plaintext.
    const bad = sealedClone(alice, checkout);
    writeFileSync(join(bad, PROD_PATH), PROD);
    alice.git(['commit', '-qam', 'oops'], bad);
    const saved = checkout;
    checkout = bad;
    try {
      const r = runStep('check', {}, {}, path);
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).toContain(PROD_PATH);
    } finally {
      checkout = saved;
    }
  });

  it('exec runs the command with the secrets; the key reaches git-seal only through GITSEAL_AGE_KEY; nothing secret on stdout or in the command files', () => {
    const path = installed();
    // A git-seal wrapper that records its command line, to show the key is not on it.
    const argvLog = join(runner, 'argv.log');
    const wrap = tempDir('gitseal-wrap-');
    writeFileSync(join(wrap, 'git-seal'), `#!/bin/sh\nprintf '%s\\n' "$@" >> "${argvLog}"\nenv | grep -c '^GITSEAL_AGE_KEY=' >> "${argvLog}"\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(wrap, 'git-seal'), 0o755);
    const r = runStep(
      'exec',
      { profile: 'prod', 'age-key': deployKey, run: 'test "$SOURCES__STRIPE__API_KEY" = sk_live_prod_51Hx && test -z "${INPUT_AGE_KEY:-}" && echo loaded' },
      {},
      [wrap, path].join(delimiter),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('loaded\n');
    expect(r.stderr).toContain('::add-mask::sk_live_prod_51Hx');
    const argv = readFileSync(argvLog, 'utf8');
    expect(argv).toBe(['exec', '--profile', 'prod', '--', 'bash', '-eo', 'pipefail', '-c', 'test "$SOURCES__STRIPE__API_KEY" = sk_live_prod_51Hx && test -z "${INPUT_AGE_KEY:-}" && echo loaded', '1', ''].join('\n'));
    for (const text of [r.stdout, r.stderr, r.files.env, r.files.output, r.files.path, argv]) expect(text).not.toContain(deployKey);
    for (const s of PROD_SECRETS) expect(r.stdout + r.files.env + r.files.output).not.toContain(s);
  });

  it('exec takes the key from the step env too, and a missing profile is an error', () => {
    const path = installed();
    const fromEnv = runStep('exec', { profile: 'prod', run: 'echo "${#SOURCES__STRIPE__API_KEY}"' }, { GITSEAL_AGE_KEY: deployKey }, path);
    expect(fromEnv.status, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdout).toBe(`${'sk_live_prod_51Hx'.length}\n`);
    const noProfile = runStep('exec', { run: 'true' }, {}, path);
    expect(noProfile.status).toBe(1);
    expect(noProfile.stderr).toContain('::error title=git-seal::the run input needs a profile input');
  });
});
