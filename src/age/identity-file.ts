/**
 * Identity files in age-keygen's format:
 *
 *   # created: 2006-01-02T15:04:05Z07:00
 *   # public key: age1…
 *   AGE-SECRET-KEY-1…
 *
 * Parsing is slightly more lenient than Go age (surrounding whitespace, CRLF,
 * a BOM, several keys on one line separated by whitespace, text after a `#`
 * token) so the same parser serves files and environment variables. Bad lines
 * are reported by source and line number, never echoed.
 */
import { GitSealError } from '../errors.js';
import { isHybridIdentityString } from './hybrid.js';
import { parseIdentity, isRecipientString, type AgeIdentity } from './keys.js';
import { decodeX25519Identity } from './x25519.js';
import { pluginIdentityName } from './plugin-recipient.js';

const HINT = 'each non-comment line must be an AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1… key, as written by `git-seal keygen` or `age-keygen`; comments start with #';

function lineError(source: string, line: number, what: string, hint = HINT): GitSealError {
  return new GitSealError(`${source}, line ${line}: ${what}`, hint);
}

function classifyBadToken(token: string, source: string, line: number): GitSealError {
  if (token.startsWith('-----BEGIN')) {
    return lineError(source, line, 'an SSH private key must be a file of its own', 'give that file alone: --identity ~/.ssh/id_ed25519');
  }
  if (token.startsWith('ssh-')) {
    return lineError(source, line, 'holds an SSH public key, not a private key', 'give the private key file instead: --identity ~/.ssh/id_ed25519');
  }
  if (token.toUpperCase().startsWith('AGE-PLUGIN-')) {
    return lineError(source, line, 'invalid age plugin identity (bad checksum, case or plugin name)');
  }
  if (isRecipientString(token) || token.startsWith('age1')) {
    return lineError(source, line, 'holds a public key (age1…), not a secret identity');
  }
  if (token.toUpperCase().startsWith('AGE-SECRET-KEY-')) {
    return lineError(source, line, 'invalid age identity (bad checksum, case, length or characters)');
  }
  return lineError(source, line, 'not an age identity');
}

/**
 * Validate identity text and return its identity strings (secret!) in order.
 * Throws GitSealError naming `source` and the line number, or, given `skip`,
 * passes it each unusable identity's error and goes on (for default key files).
 */
export function parseIdentityText(text: string, source: string, skip?: (err: GitSealError) => void): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    for (const token of line.split(/\s+/)) {
      if (token.startsWith('#')) break;
      if (decodeX25519Identity(token) !== null || isHybridIdentityString(token) || pluginIdentityName(token) !== null) out.push(token);
      else if (skip) skip(classifyBadToken(token, source, i + 1));
      else throw classifyBadToken(token, source, i + 1);
    }
  }
  return out;
}

/** Parse identity text (file contents or an env var) into identity objects. */
export function parseIdentityFile(text: string, source: string): AgeIdentity[] {
  return parseIdentityText(text, source).map((s) => parseIdentity(s, source));
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Go's `time.Now().Format(time.RFC3339)`: local time, seconds precision, `Z` or `±hh:mm`. */
export function formatRfc3339(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const base =
    `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (offset === 0) return `${base}Z`;
  const abs = Math.abs(offset);
  return `${base}${offset > 0 ? '+' : '-'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** An identity file exactly as age-keygen writes it. */
export function formatIdentityFile(identity: string, recipient: string, now: Date = new Date()): string {
  if (decodeX25519Identity(identity) === null && !isHybridIdentityString(identity)) {
    throw new GitSealError('cannot write identity file: not a valid age identity', 'generate one with `git-seal keygen`');
  }
  if (!isRecipientString(recipient)) {
    throw new GitSealError('cannot write identity file: not a valid age recipient', 'derive it from the identity with identityToRecipient()');
  }
  return `# created: ${formatRfc3339(now)}\n# public key: ${recipient}\n${identity}\n`;
}
