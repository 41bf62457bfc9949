import type { CommandModule } from 'yargs';
import { parseSealed, sealText } from '../format/seal.js';
import { readText } from '../util/io.js';
import { rewriting, writeOutput } from './output.js';
import { identityList, toList, type GlobalArgs } from './common.js';

interface Args extends GlobalArgs {
  file?: string;
  recipient?: string[];
  'in-place'?: boolean;
  output?: string;
}

export const encryptCommand: CommandModule<GlobalArgs, Args> = {
  command: 'encrypt [file]',
  describe: 'Seal a TOML file value by value (stdin to stdout without FILE)',
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'TOML file to seal (default: stdin)' })
      .option('recipient', { alias: 'r', type: 'string', describe: 'recipient: age1…, age1pq1… or an SSH public key ("ssh-ed25519 AAAA…"), repeatable', coerce: toList })
      .option('in-place', { alias: 'w', type: 'boolean', describe: 'rewrite FILE' })
      .option('output', { alias: 'o', type: 'string', describe: 'write to this file instead of stdout' })
      .example('$0 encrypt -r age1… .dlt/secrets.toml -o sealed.toml', 'seal for one recipient')
      .example('$0 encrypt --in-place .dlt/secrets.toml', 're-seal a sealed file for the recipients it already has'),
  handler: async (args) => {
    const target = { inPlace: args['in-place'], output: args.output, file: args.file };
    await rewriting(target, async () => {
      const { text, name, bytes } = readText(args.file === '-' ? undefined : args.file); // '-': stdin, as without FILE
      let recipients = args.recipient ?? [];
      if (recipients.length === 0) recipients = parseSealed(text, name)?.meta.recipients ?? [];
      const sealed = await sealText(text, { recipients, identities: await identityList(args), file: name });
      writeOutput(sealed, { ...target, expected: bytes });
    });
  },
};
