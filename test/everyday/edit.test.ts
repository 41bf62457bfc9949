import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentities } from '../../src/age/index.js';
import { seal } from '../../src/format/seal.js';
import { mergeSealedFiles } from '../../src/git/merge.js';
import { BIN, cleanupTempDirs, hasBinary, lineDiff, person, type Person, read, repoWith, sealedClone, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';

/** An EDITOR: a shell script run with the temporary file as $1. */
function editorScript(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('git-seal edit', () => {
  let alice: Person;
  let dir: string;
  let tools: string;
  beforeAll(() => {
    alice = person('alice');
    dir = sealedClone(alice, repoWith(alice));
    tools = tempDir('gitseal-editors-');
  });

  it('re-seals with the same data key: changing one value changes only its line', () => {
    const probe = join(tools, 'probe.txt');
    const editor = editorScript(tools, 'change-port.sh', `stat -c '%a' "$(dirname "$1")" "$1" > ${probe}\nsed -i 's/^port = 5432$/port = 6543/' "$1"`);
    const before = read(dir, FILE);
    const r = alice.seal(['edit', FILE], { cwd: dir, env: { ...alice.env, EDITOR: editor, VISUAL: '' } });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(probe, 'utf8').split('\n').slice(0, 2)).toEqual(['700', '600']);
    const d = lineDiff(before, read(dir, FILE));
    expect(d.removed).toHaveLength(1);
    expect(d.added).toHaveLength(1);
    expect(d.added[0]).toMatch(/^port = "ENC\[/);
    expect(alice.seal(['get', FILE, 'destination.postgres.credentials.port'], { cwd: dir }).stdout).toBe('6543\n');
  });

  it('VISUAL wins over EDITOR, and an editor command with arguments runs through the shell', () => {
    const editor = editorScript(tools, 'set-db.sh', `[ "$1" = "--flag" ] || exit 3\nsed -i 's/^database = .*/database = "warehouse"/' "$2"`);
    const r = alice.seal(['edit', FILE], { cwd: dir, env: { ...alice.env, EDITOR: 'false', VISUAL: `${editor} --flag` } });
    expect(r.status, r.stderr).toBe(0);
    expect(alice.seal(['get', FILE, 'destination.postgres.credentials.database'], { cwd: dir }).stdout).toBe('warehouse\n');
  });

  it('leaves the file untouched when nothing changed', () => {
    const before = statSync(join(dir, FILE));
    const r = alice.seal(['edit', FILE], { cwd: dir, env: { ...alice.env, EDITOR: 'true' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no changes/);
    const after = statSync(join(dir, FILE));
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ino).toBe(before.ino);
  });

  it('aborts without changes on invalid TOML when not interactive, with a clear error', () => {
    const editor = editorScript(tools, 'break.sh', `sed -i 's/^port = .*/port = 1/' "$1"\necho 'password = ' >> "$1"`);
    const before = read(dir, FILE);
    const tmp = tempDir('gitseal-tmp-');
    const r = alice.seal(['edit', FILE], { cwd: dir, env: { ...alice.env, EDITOR: editor, TMPDIR: tmp } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^git-seal: \.dlt\/secrets\.toml: the edited file is not valid TOML \(line \d+, column \d+: [^)]+\); nothing was changed \(run git-seal edit again and fix it\)\n$/);
    expect(read(dir, FILE)).toBe(before);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('fails when the editor fails, and names a missing editor', () => {
    const before = read(dir, FILE);
    let r = alice.seal(['edit', FILE], { cwd: dir, env: { ...alice.env, EDITOR: editorScript(tools, 'fail.sh', `echo 'x = 1' >> "$1"; exit 4`) } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/exited with status 4; nothing was changed/);
    r = alice.seal(['edit', FILE], { cwd: dir, env: { ...alice.env, EDITOR: 'no-such-editor-xyz' } });
    expect(r.stderr).toMatch(/status 127.*set \$VISUAL or \$EDITOR/);
    expect(read(dir, FILE)).toBe(before);
  });

  it('removes the temporary file when git-seal gets SIGTERM during the edit', async () => {
    const tmp = tempDir('gitseal-tmp-');
    const started = join(tools, 'started');
    const editor = editorScript(tools, 'sleep.sh', `touch ${started}\nexec sleep 30`);
    const before = read(dir, FILE);
    const child = spawn(process.execPath, [BIN, 'edit', FILE], { cwd: dir, env: { ...alice.env, EDITOR: editor, TMPDIR: tmp }, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    while (!existsSync(started)) await new Promise((r) => setTimeout(r, 20));
    const [sub] = readdirSync(tmp);
    expect(sub).toMatch(/^git-seal-/);
    expect(readdirSync(join(tmp, sub))).toEqual(['secrets.toml']);
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(readdirSync(tmp)).toEqual([]);
    expect(read(dir, FILE)).toBe(before);
  });

  it('opens a sealed merge conflict to be resolved, and seals the resolution', async () => {
    const { identities } = await loadIdentities({ env: alice.env, home: alice.home });
    const base = (await seal('[s]\nk = "base"\nother = 1\n', { recipients: [alice.recipient] })).text;
    const side = async (v: string) => (await seal(`[s]\nk = "${v}"\nother = 1\n`, { recipients: [alice.recipient], identities, previous: base })).text;
    const merged = await mergeSealedFiles({ base, ours: await side('ours'), theirs: await side('theirs'), path: 'c.toml', identities });
    expect(merged.conflict).toBe(true);
    const conflicted = join(tempDir('gitseal-conflict-'), 'c.toml');
    writeFileSync(conflicted, merged.text);
    expect(alice.seal(['set', conflicted, 's.k', '--value', 'x'], { cwd: dir }).stderr).toMatch(/unresolved merge conflict \(resolve it with git-seal edit/);
    const keepOurs = editorScript(tools, 'keep-ours.sh', `grep -q '^<<<<<<< ours' "$1" || exit 5\nsed -i '/^<<<<<<< /d; /^=======/,/^>>>>>>> /d' "$1"`);
    const r = alice.seal(['edit', conflicted], { cwd: dir, env: { ...alice.env, EDITOR: keepOurs } });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(conflicted, 'utf8')).not.toMatch(/conflict =/);
    expect(alice.seal(['decrypt', conflicted], { cwd: dir }).stdout).toBe('[s]\nk = "ours"\nother = 1\n');
  });

  it('refuses a file that is plaintext on disk, saying why', () => {
    const repo = repoWith(alice);
    const r = alice.seal(['edit', FILE], { cwd: repo, env: { ...alice.env, EDITOR: 'true' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`git-seal: ${FILE}: is already plaintext in the working tree (the git-seal filter is installed in this clone) (edit it with your editor directly; git add seals it)\n`);
  });

  it.skipIf(!hasBinary('script'))('on a terminal, reopens the editor with the error on top until the TOML is valid', async () => {
    const count = join(tools, 'count');
    const seen = join(tools, 'seen');
    // First run: break the file. Second run: record what is shown, then fix it and change a value.
    const editor = editorScript(
      tools,
      'two-pass.sh',
      `n=$(cat ${count} 2>/dev/null || echo 0); echo $((n+1)) > ${count}\nif [ "$n" = 0 ]; then echo 'broken = ' >> "$1"; else cp "$1" ${seen}; sed -i '/^broken = $/d; s/^retries = .*/retries = 9/' "$1"; fi`,
    );
    const runner = join(tools, 'run.sh');
    writeFileSync(runner, `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} edit ${FILE}\n`);
    const before = read(dir, FILE);
    const child = spawn('script', ['-qec', `sh ${runner}`, '/dev/null'], { cwd: dir, env: { ...alice.env, EDITOR: editor } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect(readFileSync(count, 'utf8').trim()).toBe('2');
    expect(out).toMatch(/expected a value; reopening the editor/);
    const shown = readFileSync(seen, 'utf8').split('\n');
    // The line number counts the two lines on top, so it points at the line as shown in the editor.
    expect(shown[0]).toBe(`# git-seal: line ${shown.indexOf('broken = ') + 1}, column 10: expected a value`);
    expect(shown[1]).toMatch(/^# git-seal: fix it and save/);
    const d = lineDiff(before, read(dir, FILE));
    expect(d.added).toEqual([expect.stringMatching(/^retries = "ENC\[/)]);
    expect(read(dir, FILE)).not.toContain('# git-seal: line');
    expect(alice.seal(['get', FILE, 'sources.stripe.retries'], { cwd: dir }).stdout).toBe('9\n');
  });
});
