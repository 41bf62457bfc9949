import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity, openText, parseIdentity, seal } from '../src/index.js';
import { ROOT } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'git-seal-pkg-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('library entry point', () => {
  it('seals and opens through the public API', async () => {
    const { identity, recipient } = await generateIdentity();
    const { text } = await seal('token = "abc-123"\n', { recipients: [recipient] });
    expect(await openText(text, [parseIdentity(identity)])).toBe('token = "abc-123"\n');
  });

  it('the package, built into a separate directory, works when imported by name', () => {
    // A consumer project with git-seal in its node_modules, compiled from this tree (the repo's own dist/ is untouched).
    const pkg = join(scratch, 'node_modules', 'git-seal');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), readFileSync(join(ROOT, 'package.json')));
    cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(pkg, 'dist')]);
    const script = `
      import { generateIdentity, parseIdentity, seal, openText } from 'git-seal';
      const { identity, recipient } = await generateIdentity();
      const { text } = await seal('[db]\\npassword = "hunter2"\\n', { recipients: [recipient] });
      if (text.includes('hunter2')) throw new Error('not sealed');
      process.stdout.write(await openText(text, [parseIdentity(identity)]));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: scratch, encoding: 'utf8' });
    expect(out).toBe('[db]\npassword = "hunter2"\n');
    // The declared types are where package.json says they are.
    expect(readFileSync(join(pkg, 'dist', 'index.d.ts'), 'utf8')).toContain('seal');
  });
});
