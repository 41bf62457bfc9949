import type { CommandModule } from 'yargs';
import { secretsLog, type FileChange, type LogEntry } from '../api/log.js';
import { shortKey, type RecipientInfo } from '../api/recipients.js';
import { findRepo, repoPath } from '../git/repo.js';
import { progress } from '../util/progress.js';
import type { GlobalArgs } from './common.js';

interface Args extends GlobalArgs {
  files?: string[];
  since?: string;
  maxCount?: number;
  json?: boolean;
}

const label = (r: RecipientInfo) => r.name ?? shortKey(r.key);

/** Control characters (a commit message may hold any) shown as escapes, so one commit stays one line. */
const printable = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

function describeFile(f: FileChange): string[] {
  const against = f.against ? ` (against ${f.against.slice(0, 10)})` : '';
  const lines = [`  ${f.status === 'added' ? 'A' : f.status === 'deleted' ? 'D' : 'M'} ${printable(f.path)}${f.sealed ? '' : ' (plaintext!)'}${against}`];
  if (f.error) lines.push(`      ${f.error}`);
  const recipients = [...f.recipientsAdded.map((r) => `+${label(r)}`), ...f.recipientsRemoved.map((r) => `−${label(r)}`)].join(' ');
  if (f.rotated) lines.push(`      data key rotated${recipients ? ` (recipients ${recipients})` : ''}`);
  else if (recipients && f.status === 'modified') lines.push(`      recipients ${recipients}`);
  for (const k of f.added) lines.push(`      + ${k}`);
  for (const k of f.changed) lines.push(`      ~ ${k}`);
  for (const k of f.removed) lines.push(`      - ${k}`);
  return lines;
}

function renderText(entries: LogEntry[]): string {
  const out: string[] = [];
  for (const e of entries) {
    out.push(`${e.commit.slice(0, 10)}  ${e.date.slice(0, 16).replace('T', ' ')}  ${printable(`${e.author.name} <${e.author.email}>  ${e.subject}`)}`);
    for (const f of e.files) out.push(...describeFile(f));
  }
  return out.length ? out.join('\n') + '\n' : '';
}

export const logCommand: CommandModule<GlobalArgs, Args> = {
  command: 'log [files..]',
  describe: 'History of secrets files: per commit, the keys added, changed and removed, and recipient changes (no key needed)',
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, describe: 'secrets files (default: every secrets file)' })
      .option('since', { type: 'string', describe: 'only commits more recent than this date (as git log --since, e.g. "2 weeks ago")' })
      .option('max-count', { alias: 'n', type: 'number', describe: 'at most this many commits' })
      .option('json', { type: 'boolean', describe: 'machine-readable output' })
      .example('$0 log', 'who changed which secret, for every secrets file')
      .example('$0 log .dlt/prod.secrets.toml --since "1 month ago" --json', 'one file, last month, as JSON'),
  handler: async (args) => {
    const repo = findRepo();
    const entries = await secretsLog(repo, {
      paths: (args.files ?? []).map((f) => repoPath(repo, f)),
      since: args.since,
      maxCount: args.maxCount,
      progress: (total) => progress('reading history', total, { quiet: args.quiet }),
    });
    process.stdout.write(args.json ? JSON.stringify(entries, null, 2) + '\n' : renderText(entries));
  },
};
