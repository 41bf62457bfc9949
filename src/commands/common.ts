import { createRequire } from 'node:module';
import type { Identity } from 'age-encryption';
import { loadIdentities, type LoadedIdentities } from '../age/index.js';

/** Options every command accepts (declared globally in cli.ts). */
export interface GlobalArgs {
  identity?: string[];
  quiet?: boolean;
  debug?: boolean;
}

async function identitiesFor(args: GlobalArgs): Promise<LoadedIdentities> {
  return loadIdentities({ identityFiles: args.identity ?? [], env: process.env });
}

export async function identityList(args: GlobalArgs): Promise<Identity[]> {
  return (await identitiesFor(args)).identities;
}

/** Progress and notes go to stderr, and not at all with --quiet. */
export function info(args: GlobalArgs, line: string): void {
  if (!args.quiet) process.stderr.write(line + '\n');
}

/** Repeatable options: yargs gives a string for one use and an array for several. */
export function toList(v: unknown): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

/** A yes/no question on the terminal; no terminal means no. */
export async function askYesNo(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  // Loaded here, not at the top: exec's lean start imports this module too and never asks. A require,
  // not import(): the CLI bundle runs through vm.Script, where a dynamic import() cannot run.
  const { createInterface } = createRequire(import.meta.url)('node:readline/promises') as typeof import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** What init and install say about the pre-commit hook they installed (or found). */
export function reportHook(args: GlobalArgs, state: 'installed' | 'already' | 'foreign' | undefined): void {
  if (state === 'installed') info(args, 'Installed the pre-commit hook');
  if (state === 'foreign') info(args, 'A pre-commit hook already exists: add `git-seal check --staged` to it yourself');
}
