/**
 * The SSH keys people already publish, as recipients: authorized_keys text (a file, stdin) or
 * https://github.com/USER.keys. Keys age cannot use are skipped and named, never silently dropped.
 */
import { GitSealError } from '../errors.js';
import { parseAuthorizedKeys, sshFingerprint } from '../age/index.js';

export interface PublishedKey {
  /** Canonical `ssh-ed25519 BASE64` / `ssh-rsa BASE64`. */
  key: string;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

export interface PublishedKeys {
  source: string;
  keys: PublishedKey[];
  /** Keys skipped because age cannot use them: `line N: ECDSA (ecdsa-sha2-nistp256) key`. */
  skipped: string[];
}

/** The usable keys of authorized_keys text; an error if there are none. */
export function readPublishedKeys(text: string, source: string): PublishedKeys {
  const { keys, skipped } = parseAuthorizedKeys(text, source);
  const seen = new Set<string>();
  const out: PublishedKey[] = [];
  for (const k of keys) {
    const key = `${k.type} ${k.blob.toString('base64')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ key, fingerprint: sshFingerprint(k.blob) });
  }
  if (out.length === 0) {
    throw new GitSealError(
      `${source}: no ssh-ed25519 or ssh-rsa key${skipped.length ? ` (skipped: ${skipped.join('; ')})` : ''}`,
      'ask for an ssh-ed25519 public key (ssh-keygen -t ed25519) or an age1… key, and add it with git-seal recipients add NAME KEY',
    );
  }
  return { source, keys: out, skipped };
}

const GITHUB_USER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const MAX_BYTES = 1 << 20;

function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === '[::1]' || url.hostname === 'localhost';
}

/**
 * Fetch `BASE/USER.keys`. BASE is https://github.com, or $GITSEAL_GITHUB_URL (e.g. a GitHub Enterprise
 * server); plain http is refused except on loopback, where tests serve it.
 */
export async function fetchGithubKeys(user: string, env: NodeJS.ProcessEnv = process.env): Promise<PublishedKeys> {
  if (!GITHUB_USER.test(user)) throw new GitSealError(`'${user.slice(0, 40)}' is not a GitHub user name`, 'give the login, e.g. --github octocat');
  const baseText = (env.GITSEAL_GITHUB_URL ?? '').trim() || 'https://github.com';
  let url: URL;
  try {
    url = new URL(`${baseText.replace(/\/+$/, '')}/${user}.keys`);
  } catch {
    throw new GitSealError(`$GITSEAL_GITHUB_URL is not a URL`, 'set it to the server, e.g. https://github.example.com, or unset it');
  }
  const safe = (u: URL): boolean => u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u));
  if (!safe(url)) throw new GitSealError(`${url.origin}: refusing to fetch keys over ${url.protocol.slice(0, -1)}`, 'use an https:// URL in $GITSEAL_GITHUB_URL');
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'text/plain' }, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new GitSealError(`cannot fetch ${url.href} (${cause})`, 'check the network, or save the keys to a file and use --keys-file FILE');
  }
  if (!safe(new URL(res.url || url.href))) throw new GitSealError(`${url.href} redirected to a non-https URL`, 'save the keys to a file and use --keys-file FILE');
  if (res.status === 404) throw new GitSealError(`GitHub user '${user}' not found (${url.href})`, 'check the login name');
  if (!res.ok) throw new GitSealError(`cannot fetch ${url.href} (HTTP ${res.status})`, 'try again later, or save the keys to a file and use --keys-file FILE');
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > MAX_BYTES) throw new GitSealError(`${url.href}: response too large`, 'save the keys to a file and use --keys-file FILE');
  return readPublishedKeys(body.toString('utf8'), url.href);
}
