import { randomBytes } from 'node:crypto';
import { wrapDataKey } from '../age/index.js';
import { decryptValue, deriveValueKeys, encryptValue, FORMAT_VERSION, type ValueKeys } from '../crypto/value.js';
import { assembleSealed, META_TABLE, sameSet, type SealedMeta } from './meta.js';

/**
 * A merge conflict sealed whole. A working copy with conflict markers is not TOML, so its values cannot
 * be sealed one by one: the whole text becomes one token in the [gitseal] table's `conflict` field
 * (the body stays empty), bound to that field as a value is bound to its key path.
 */
const CONFLICT_PATH = [META_TABLE, 'conflict'];

/**
 * Seal a conflicted plaintext whole for `recipients`, so no plaintext reaches the object store: under
 * `keep`'s data key when given (its armor too when it is wrapped to the same recipients), else under a
 * fresh one.
 */
export async function sealConflict(plaintext: string, recipients: readonly string[], eol: string, keep?: { dataKey: Uint8Array; meta: SealedMeta }): Promise<string> {
  const dataKey = keep?.dataKey ?? new Uint8Array(randomBytes(32));
  const armor = keep && sameSet(recipients, keep.meta.recipients) ? keep.meta.dataKey : await wrapDataKey(dataKey, recipients);
  const conflict = encryptValue(deriveValueKeys(dataKey), CONFLICT_PATH, plaintext);
  return assembleSealed('', { version: FORMAT_VERSION, recipients: [...recipients], dataKey: armor, finalNewline: true, conflict }, eol);
}

/** The plaintext of a sealed conflict (the `conflict` field's token). */
export function openConflict(keys: ValueKeys, token: string): string {
  return decryptValue(keys, CONFLICT_PATH, token);
}
