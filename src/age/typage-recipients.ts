import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * age-encryption's dist/recipients.js, which its package "exports" map does not expose: imported by path
 * at run time. The CLI bundle replaces this module with scripts/typage-recipients.bundled.mjs, which
 * bundles that file instead (a bundle runs through vm.Script, where a dynamic import() cannot run).
 */
export async function importRecipientsModule(): Promise<unknown> {
  const entry = createRequire(import.meta.url).resolve('age-encryption');
  return import(pathToFileURL(join(dirname(entry), 'recipients.js')).href);
}
