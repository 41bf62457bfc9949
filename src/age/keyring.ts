/**
 * An identity kept in the OS keyring: Secret Service on Linux (GNOME Keyring, KWallet), Keychain on
 * macOS, Credential Manager on Windows, through the optional dependency @napi-rs/keyring. It is
 * imported only when the keyring is used, so installs without it (and the fast filter start) are
 * unaffected. One entry, service `git-seal` and user `age-identity` (on the Secret Service the attributes
 * `service` and `username`), holding an identity file's text.
 * On Linux the entry is pinned to the Secret Service (never the kernel keyring, which forgets it at
 * logout), and the keyring is not consulted without a session bus ($DBUS_SESSION_BUS_ADDRESS).
 */
import { createRequire } from 'node:module';
import { GitSealError } from '../errors.js';
import { DeferredIdentity } from './deferred.js';
import { parseIdentityText } from './identity-file.js';
import { warnOnce } from './warn.js';

const KEYRING_SERVICE = 'git-seal';
const KEYRING_ACCOUNT = 'age-identity';
export const KEYRING_SOURCE = 'OS keyring (git-seal/age-identity)';
/** A locked keyring may show an unlock dialog; give the user time, not forever. */
const KEYRING_TIMEOUT_MS = 120_000;

interface KeyringEntry {
  getPassword(signal?: AbortSignal | null): Promise<string | null>;
  setPassword(password: string, signal?: AbortSignal | null): Promise<void>;
}
interface KeyringModule {
  AsyncEntry: new (service: string, account: string, options?: { linux?: { store?: 'secret-service' | 'keyutils' } }) => KeyringEntry;
}

/** Where this platform keeps credentials, or null when there is none to talk to. */
export function keyringAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(env.DBUS_SESSION_BUS_ADDRESS);
}

/** The optional package, or null when it is not installed for this platform. */
async function keyringModule(): Promise<KeyringModule | null> {
  try {
    // A CommonJS native package, resolved from this file (from the bundle in dist/bundle/, not the cwd).
    return createRequire(import.meta.url)('@napi-rs/keyring') as KeyringModule;
  } catch {
    return null;
  }
}

async function entry(): Promise<KeyringEntry> {
  const mod = await keyringModule();
  if (!mod) {
    throw new GitSealError('the OS keyring is not available: the optional package @napi-rs/keyring is not installed for this platform', 'reinstall git-seal with optional dependencies (npm install without --omit=optional), or keep the key in a file');
  }
  return new mod.AsyncEntry(KEYRING_SERVICE, KEYRING_ACCOUNT, { linux: { store: 'secret-service' } });
}

function keyringError(what: string, err: unknown): GitSealError {
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new GitSealError(`${KEYRING_SOURCE}: ${what} (${why})`, 'is the keyring unlocked and its service running? On Linux: a Secret Service such as gnome-keyring-daemon');
}

/** The identity text stored in the keyring, or null when there is no entry. */
async function readKeyring(): Promise<string | null> {
  const e = await entry();
  try {
    return await e.getPassword(AbortSignal.timeout(KEYRING_TIMEOUT_MS));
  } catch (err) {
    throw keyringError('cannot read the entry', err);
  }
}

/** Store identity text in the keyring; refuses to replace an existing entry. */
export async function storeInKeyring(text: string): Promise<void> {
  if ((await readKeyring()) !== null) {
    throw new GitSealError(`${KEYRING_SOURCE}: already holds an identity; refusing to overwrite it`, 'remove it first (e.g. secret-tool clear service git-seal username age-identity) if you are sure it is unused');
  }
  const e = await entry();
  try {
    await e.setPassword(text, AbortSignal.timeout(KEYRING_TIMEOUT_MS));
  } catch (err) {
    throw keyringError('cannot store the identity', err);
  }
  if ((await readKeyring()) !== text) throw new GitSealError(`${KEYRING_SOURCE}: the stored identity does not read back`, 'check the keyring, and keep the key in a file meanwhile');
}

/**
 * The keyring's identities, read on first need. The keyring is a default location: no entry or no
 * package means no identities; an unreadable entry, or an identity in it git-seal cannot use, is
 * skipped with a warning.
 */
export function keyringIdentity(): DeferredIdentity {
  return new DeferredIdentity(KEYRING_SOURCE, `keyring:${KEYRING_SERVICE}/${KEYRING_ACCOUNT}`, async () => {
    if (!(await keyringModule())) return null;
    let text: string | null;
    try {
      text = await readKeyring();
    } catch (err) {
      warnOnce(`git-seal: skipping the ${KEYRING_SOURCE}: ${err instanceof GitSealError ? err.message.replace(`${KEYRING_SOURCE}: `, '') : String(err)}`);
      return null;
    }
    if (text === null) return null;
    // Like a default key file: what git-seal cannot use is skipped with a warning, not an error.
    const usable = parseIdentityText(text, KEYRING_SOURCE, (err) => warnOnce(`git-seal: skipping an identity: ${err.message}`));
    return usable.length ? usable.join('\n') : null;
  });
}
