/**
 * git-seal's library API: everything the CLI does, for programmatic use.
 *
 *   import { seal, openText, loadIdentities } from 'git-seal';
 */
export { GitSealError } from './errors.js';

// The sealed format.
export {
  isSealedScalar,
  looksSealed,
  openSealed,
  openText,
  openWithKey,
  parseSealed,
  seal,
  sealText,
  unwrapFileDataKey,
  type OpenedFile,
  type PlaintextKeyFilter,
  type SealedFile,
  type SealOptions,
  type SealResult,
  type UnlockedFile,
} from './format/seal.js';
export { META_TABLE, type SealedMeta } from './format/meta.js';
export { formatKeyPath } from './format/keypath.js';
export { decryptValue, deriveValueKeys, encodePath, encryptValue, FORMAT_VERSION } from './crypto/value.js';

// age keys.
export {
  formatIdentityFile,
  generateIdentity,
  identityToRecipient,
  isIdentityString,
  isRecipientString,
  loadIdentities,
  parseIdentity,
  parseIdentityFile,
  parseRecipient,
  unwrapDataKey,
  wrapDataKey,
  type Identity,
  type LoadedIdentities,
  type Recipient,
} from './age/index.js';
export { createIdentityFile } from './age/keystore.js';

// TOML.
export { decodeScalar, scanToml, TomlSyntaxError, type PathSegment, type ScalarSpan, type TomlDocument } from './toml/index.js';

// Profiles.
export { getProfile, loadConfig, parseConfig, profileFor, type GitSealConfig, type Profile } from './profiles/config.js';

// Repository operations.
export { findRepo, type Repo } from './git/repo.js';
export { install, lock } from './git/install.js';
export { mergeSealedFiles } from './git/merge.js';
export { SealFilter } from './git/filter.js';
export { init } from './api/init.js';
export { check, type CheckProblem, type CheckReport } from './api/check.js';
export { rekey, type RekeyReport } from './api/rekey.js';
export { addDeployKey, changeRecipients, listRecipients } from './api/recipients.js';
export { childEnv, collectSecrets, runCommand } from './api/exec.js';
export { getValue } from './api/get.js';
export { setValue } from './api/set.js';
export { removeValue } from './api/rm.js';
export { listSecrets } from './api/ls.js';
export { editFile } from './api/edit.js';
export { secretsLog, type LogEntry } from './api/log.js';
export { doctor, type DoctorReport } from './api/doctor.js';
export { runDemo } from './api/demo.js';
