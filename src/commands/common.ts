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
