import type { CommandModule } from 'yargs';
import { getValue, jsonValue } from '../api/get.js';
import { identityList, type GlobalArgs } from './common.js';

interface GetArgs extends GlobalArgs {
  file: string;
  key: string;
  json?: boolean;
  newline?: boolean;
}

export const getCommand: CommandModule<GlobalArgs, GetArgs> = {
  command: 'get <file> <key>',
  describe: 'Print one decrypted value: the string itself for strings, the TOML literal for other types',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'secrets file (sealed or plaintext)' })
      .positional('key', { type: 'string', demandOption: true, describe: 'key path, e.g. sources.stripe.api_key or schemas[0]' })
      .option('json', { type: 'boolean', describe: 'print {file, key, type, value} as JSON' })
      .option('newline', { type: 'boolean', default: true, describe: 'end the output with a newline (--no-newline to omit it)' })
      .example('$0 get .dlt/secrets.toml sources.stripe.api_key', 'print the Stripe key')
      .example('export PGPASSWORD=$($0 get .dlt/secrets.toml destination.postgres.credentials.password)', 'use a value in a script'),
  handler: async (args) => {
    const got = await getValue(args.file, args.key, await identityList(args));
    if (args.json) {
      process.stdout.write(JSON.stringify({ file: got.file, key: got.key, type: got.type, value: jsonValue(got.raw) }) + '\n');
    } else {
      process.stdout.write(got.text + (args.newline === false ? '' : '\n'));
    }
  },
};
