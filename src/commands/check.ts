import type { CommandModule } from 'yargs';
import { check } from '../api/check.js';
import { findRepo } from '../git/repo.js';
import { info, type GlobalArgs } from './common.js';

interface CheckArgs extends GlobalArgs {
  staged?: boolean;
  json?: boolean;
  paths?: string[];
}

export const checkCommand: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check [paths..]',
  describe: 'CI / pre-commit gate: fail if a secrets file is committed (or staged) unsealed, unparsable, uncovered or mis-keyed',
  builder: (y) =>
    y
      .positional('paths', { type: 'string', array: true, describe: 'limit to these repository paths' })
      .option('staged', { type: 'boolean', describe: 'check the index instead of HEAD (pre-commit)' })
      .option('json', { type: 'boolean', describe: 'machine-readable output' })
      .example('$0 check', 'in CI: inspect every secrets file in HEAD')
      .example('$0 check --staged', 'in a pre-commit hook'),
  handler: async (args) => {
    const report = await check(findRepo(), { staged: args.staged, paths: args.paths });
    if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      for (const p of report.problems) process.stderr.write(`git-seal: ${p.path}: ${p.problem} (fix: ${p.fix})\n`);
      if (!report.problems.length) info(args, `ok: ${report.checked.length} secrets file(s) sealed and covered`);
    }
    if (report.problems.length) process.exitCode = 1;
  },
};
