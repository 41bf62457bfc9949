import type { CommandModule } from 'yargs';
import type { RekeyFileResult, RekeyReport } from '../api/rekey.js';
import { rekey } from '../api/rekey.js';
import { findRepo } from '../git/repo.js';
import { progress } from '../util/progress.js';
import { identityList, info, type GlobalArgs } from './common.js';

const short = (key: string) => (key.length > 24 ? `${key.slice(0, 12)}…${key.slice(-6)}` : key);

function describe(r: RekeyFileResult): string {
  if (r.status === 'failed') return `git-seal: ${r.error}`;
  if (r.status === 'unchanged') return `  ${r.path}: already sealed to profile '${r.profile}'`;
  const change = [...r.added.map((k) => `+${short(k)}`), ...r.removed.map((k) => `-${short(k)}`)].join(' ');
  return `  ${r.path}: ${r.rotated ? 'new data key, every value re-encrypted' : 'data key re-wrapped, values unchanged'} (${change}; ${r.updated.join(' + ')})`;
}

/** Print what happened, the rotation reminder, and set a failing exit code if any file failed. */
export function reportRekey(args: GlobalArgs & { json?: boolean }, report: RekeyReport): void {
  if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    for (const r of report.files) {
      if (r.status === 'failed') process.stderr.write(describe(r) + '\n');
      else if (r.status === 'rekeyed') info(args, describe(r));
    }
    const done = report.files.filter((f) => f.status === 'rekeyed');
    const same = report.files.filter((f) => f.status === 'unchanged').length;
    info(args, `Re-keyed ${done.length} file(s)${same ? `, ${same} already up to date` : ''}${report.failed ? `, ${report.failed} failed` : ''}.`);
    const rotated = done.filter((f) => f.rotated && f.exposedKeys.length);
    if (rotated.length) {
      info(args, 'Removed recipients can still decrypt these values from git history: rotate them at their provider:');
      for (const f of rotated) info(args, `  ${f.path}: ${f.exposedKeys.join(', ')}`);
    }
    if (done.length) info(args, 'Commit the re-keyed files (they are staged) together with .gitseal.toml if it changed.');
  }
  if (report.failed) process.exitCode = 1;
}

interface Args extends GlobalArgs {
  files?: string[];
  json?: boolean;
}

export const rekeyCommand: CommandModule<GlobalArgs, Args> = {
  command: 'rekey [files..]',
  describe: "Re-seal files to exactly their profile's recipients (default: every tracked file of every profile)",
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, describe: 'sealed files to re-key' })
      .option('json', { type: 'boolean', describe: 'machine-readable report on stdout' })
      .example('$0 rekey', 'after editing recipients in .gitseal.toml by hand')
      .example('$0 rekey .dlt/prod.secrets.toml', 'one file'),
  handler: async (args) => {
    const repo = findRepo();
    const identities = await identityList(args);
    let bar: ReturnType<typeof progress> | undefined;
    const report = await rekey(repo, {
      identities,
      paths: args.files,
      onFile: (_done, total) => {
        bar ??= progress('rekey', total, { quiet: args.quiet || args.json });
        bar.tick();
      },
    });
    bar?.done();
    reportRekey(args, report);
  },
};
