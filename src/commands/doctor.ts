import type { CommandModule } from 'yargs';
import { packageVersion } from '../version.js';
import { doctor, type DoctorCheck } from '../api/doctor.js';
import { info, type GlobalArgs } from './common.js';

interface Args extends GlobalArgs {
  json?: boolean;
}

const TAG: Record<DoctorCheck['status'], string> = { ok: 'ok     ', info: 'info   ', problem: 'PROBLEM' };

function renderText(checks: DoctorCheck[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${TAG[c.status]}  ${c.message}`);
    for (const d of c.details ?? []) lines.push(`           ${d}`);
    if (c.fix) lines.push(`           fix: ${c.fix}`);
  }
  return lines.join('\n') + '\n';
}

export const doctorCommand: CommandModule<GlobalArgs, Args> = {
  command: 'doctor',
  describe: "Check this clone's git-seal setup (versions, keys, filter, .gitattributes, hook, working tree) and say how to fix each problem",
  builder: (y) =>
    y
      .option('json', { type: 'boolean', describe: 'machine-readable output' })
      .example('$0 doctor', 'explain what is wrong, with the command that fixes it')
      .example('$0 doctor --json', 'the same as JSON; exit status 1 when there are problems'),
  handler: async (args) => {
    const report = await doctor({ version: packageVersion(), identityFiles: args.identity });
    process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : renderText(report.checks));
    const problems = report.checks.filter((c) => c.status === 'problem').length;
    if (!args.json) info(args, problems ? `${problems} problem(s) found` : 'everything looks fine');
    if (problems) process.exitCode = 1;
  },
};
