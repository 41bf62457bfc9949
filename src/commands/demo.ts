import type { CommandModule } from 'yargs';
import { runDemo } from '../api/demo.js';
import type { GlobalArgs } from './common.js';

export const demoCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'demo',
  describe: 'Guided demo in a throwaway directory: init, commit, diff, a teammate, a clone, exec in CI',
  builder: (y) => y.example('$0 demo', 'run it (offline, about ten seconds); it prints where the demo repository is'),
  handler: () => {
    runDemo({ color: Boolean(process.stdout.isTTY) });
  },
};
