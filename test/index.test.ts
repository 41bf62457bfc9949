import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { generateIdentity, openText, parseIdentity, seal } from '../src/index.js';
import { ROOT } from './helpers.js';

describe('library entry point', () => {
  it('seals and opens through the public API', async () => {
    const { identity, recipient } = await generateIdentity();
    const { text } = await seal('token = "abc-123"\n', { recipients: [recipient] });
    expect(await openText(text, [parseIdentity(identity)])).toBe('token = "abc-123"\n');
  });

  it('the built package resolves by name with its exports', () => {
    execFileSync(process.execPath, [tscBin(), '-p', 'tsconfig.json'], { cwd: ROOT });
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('git-seal'); console.log(['seal','openText','rekey','collectSecrets','check'].every((k) => typeof m[k] === 'function'))"], { cwd: ROOT, encoding: 'utf8' });
    expect(out.trim()).toBe('true');
  });
});

function tscBin(): string {
  return `${ROOT}/node_modules/typescript/bin/tsc`;
}
