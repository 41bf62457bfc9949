/** git-seal's age key handling: recipients, identities, identity files and data-key wrapping. */
export { X25519Identity, X25519Recipient } from './x25519.js';
export { HybridIdentity, HybridRecipient } from './hybrid.js';
export { SshEd25519Recipient } from './ssh-ed25519.js';
export { SshRsaRecipient } from './ssh-rsa.js';
export { SshKeyFileIdentity, loadSshKeyFile, type AskPassphrase } from './ssh-key-file.js';
export { parseAuthorizedKeys, sshFingerprint, type AuthorizedKeys } from './openssh-key.js';
export {
  canonicalRecipient,
  generateIdentity,
  generateX25519Identity,
  identityToRecipient,
  isIdentityString,
  isRecipientString,
  parseIdentity,
  parseRecipient,
  recipientOf,
  x25519IdentityToRecipient,
  type AgeIdentity,
  type AgeRecipient,
  type GeneratedIdentity,
} from './keys.js';
export { formatIdentityFile, formatRfc3339, parseIdentityFile, parseIdentityText } from './identity-file.js';
export {
  defaultKeyFile,
  loadIdentities,
  sopsDefaultKeyFiles,
  unlockDeferred,
  type IdentitySource,
  type LoadedIdentities,
  type LoadIdentitiesOptions,
} from './discovery.js';
export {
  headerStanzas,
  stanzaCount,
  unwrapDataKey,
  wrapDataKey,
  type HeaderStanza,
  type UnwrapOptions,
} from './datakey.js';
export type { Identity, Recipient } from 'age-encryption';
