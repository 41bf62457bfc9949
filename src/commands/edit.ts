import type { CommandModule } from 'yargs';
import { editFile } from '../api/edit.js';
import { identityList, info, type GlobalArgs } from './common.js';

interface Args extends GlobalArgs {
  file: string;
}

export const editCommand: CommandModule<GlobalArgs, Args> = {
  command: 'edit <file>',
  describe: 'Edit a file that is sealed on disk in $VISUAL/$EDITOR (decrypted to a private temporary file), then re-seal it',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'sealed secrets file' })
      .example('$0 edit .dlt/prod.secrets.toml', 'edit with $VISUAL, $EDITOR or vi')
      .example('EDITOR="code --wait" $0 edit .dlt/prod.secrets.toml', 'edit in VS Code'),
  handler: async (args) => {
    const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
    const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
    const r = await editFile(args.file, { identities: await identityList(args), editor, interactive, notice: (l) => process.stderr.write(l + '\n') });
    info(args, r.changed ? `${args.file}: re-sealed with your changes` : `${args.file}: no changes`);
  },
};
