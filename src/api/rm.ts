import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { formatKeyPath } from '../format/keypath.js';
import { withFileLock } from '../git/atomic-write.js';
import { removeKey, TomlEditError } from '../toml/index.js';
import { editablePath, editError, loadFile, saveFile } from './secrets-file.js';

/** Remove one `key = value` line. Holds the file's lock. */
export async function removeValue(file: string, keyPath: string, identities: readonly Identity[]): Promise<{ key: string; written: 'sealed' | 'plaintext' }> {
  const path = editablePath(keyPath, file);
  return withFileLock(file, () => removeLocked(file, path, identities));
}

async function removeLocked(file: string, path: string[], identities: readonly Identity[]): Promise<{ key: string; written: 'sealed' | 'plaintext' }> {
  const loaded = await loadFile(file, identities);
  let after: string;
  try {
    after = removeKey(loaded.plaintext, path);
  } catch (err) {
    if (err instanceof TomlEditError && err.code === 'no-such-key') {
      throw new GitSealError(`${file}: no key '${formatKeyPath(path)}'`, `git-seal ls ${file} lists its keys`);
    }
    throw editError(file, err);
  }
  return { key: formatKeyPath(path), written: await saveFile(loaded, after) };
}
