import type { CommandModule } from 'yargs';
import { shortKey } from '../api/recipients.js';
import { listSecrets, type ListedFile } from '../api/ls.js';
import { identityList, info, type GlobalArgs } from './common.js';

interface LsArgs extends GlobalArgs {
  files?: string[];
  show?: boolean;
  json?: boolean;
}

function fileHeader(f: ListedFile): string {
  if (f.error) return `${f.path}  error: ${f.error}`;
  const who = f.recipients.map((r) => r.name ?? shortKey(r.key)).join(', ') || 'nobody';
  const profile = f.profile ? `profile ${f.profile}` : 'no profile';
  if (f.state === 'plaintext') return `${f.path}  [${profile}; plaintext on disk; seals for ${who}]`;
  return `${f.path}  [${profile}; sealed to ${who}${f.readable ? '' : '; none of your identities can open it'}]`;
}

function renderText(files: ListedFile[]): string {
  const lines: string[] = [];
  for (const f of files) {
    lines.push(fileHeader(f));
    const keyWidth = Math.max(0, ...f.values.map((v) => v.key.length));
    const typeWidth = Math.max(0, ...f.values.map((v) => v.type.length));
    for (const v of f.values) {
      const shown = v.type === 'unknown' ? '(sealed)' : (v.masked ?? v.literal!);
      lines.push(`  ${v.key.padEnd(keyWidth)}  ${v.type.padEnd(typeWidth)}  ${shown}`);
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

export const lsCommand: CommandModule<GlobalArgs, LsArgs> = {
  command: 'ls [files..]',
  describe: "List keys with masked values, their types, and each file's profile and recipients (no key needed for the keys)",
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, describe: 'secrets files (default: every secrets file in the repository)' })
      .option('show', { type: 'boolean', describe: 'reveal the values' })
      .option('json', { type: 'boolean', describe: 'machine-readable output' })
      .example('$0 ls', 'every secrets file of the repository, values masked')
      .example('$0 ls .dlt/secrets.toml --show', 'one file, values revealed'),
  handler: async (args) => {
    const files = await listSecrets(args.files ?? [], await identityList(args), { show: args.show });
    if (args.json) {
      const out = files.map((f) => ({
        ...f,
        values: f.values.map((v) => ({ key: v.key, type: v.type, value: v.type === 'unknown' ? null : args.show ? v.json : v.masked })),
      }));
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
      process.stdout.write(renderText(files));
      if (files.length === 0) info(args, 'no secrets files found');
    }
    if (files.some((f) => f.error)) process.exitCode = 1;
  },
};
