/**
 * A git-seal file's 32-byte data key, stored as a standard armored age file
 * (`-----BEGIN AGE ENCRYPTED FILE-----`) whose plaintext is the 32 bytes,
 * encrypted to the file's recipients. Any age implementation can open it:
 * `age -d -i keys.txt`.
 */
import type { Identity, Recipient } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { AgeFormatError, armorDecode, armorEncode, decryptAgeFile, encryptAgeFile, parseAgeFile, type ParsedFile } from './age-file.js';
import { canonicalRecipient, parseRecipient } from './keys.js';
import { HybridRecipient } from './hybrid.js';
import { PluginRecipient } from './plugin-recipient.js';
import { TagRecipient } from './tag.js';

const DATA_KEY_BYTES = 32;

const CORRUPT_HINT = 'the encrypted file is corrupt or was tampered with; restore it from git history (git checkout -- FILE)';

export interface UnwrapOptions {
  /** Names the file in error messages, e.g. `secrets/prod.toml`. */
  source?: string;
  /**
   * The recipients the file claims (its [gitseal] list, sorted, which is the order git-seal wraps them
   * in): each identity then tries its own stanza first. Advisory only; a wrong list costs time, not safety.
   */
  recipients?: readonly string[];
}

export interface HeaderStanza {
  /** The stanza type, e.g. `X25519` or `mlkem768x25519`. */
  type: string;
  /** All arguments after `->`, including the type. */
  args: string[];
  /** Length of the stanza body in bytes. */
  bodyLength: number;
}

function label(source: string | undefined): string {
  return source ? `${source}: data key` : 'data key';
}

// Parsed recipients are reused across files (rekeying 1,000 files re-parses the same 20 keys otherwise).
const recipientCache = new Map<string, Recipient>();
function cachedRecipient(s: string): Recipient {
  let r = recipientCache.get(s);
  if (!r) {
    r = parseRecipient(s);
    if (recipientCache.size > 1000) recipientCache.clear();
    recipientCache.set(s, r);
  }
  return r;
}

/**
 * Encrypt `dataKey` (32 bytes) to every recipient and return the armored age
 * file. Identical recipient strings are wrapped once, so the header holds one
 * stanza per distinct recipient.
 */
export async function wrapDataKey(dataKey: Uint8Array, recipients: readonly (string | Recipient)[]): Promise<string> {
  if (dataKey.length !== DATA_KEY_BYTES) {
    throw new GitSealError(`data key must be ${DATA_KEY_BYTES} bytes, got ${dataKey.length}`, 'this is a bug in git-seal; please report it');
  }
  if (recipients.length === 0) {
    throw new GitSealError('no recipients to encrypt the data key to', 'add at least one age1… or SSH public key to the profile\'s recipients');
  }
  const parsed: Recipient[] = [];
  const seen = new Set<string>();
  const labelled: { recipient: Recipient; labels: string[] | null }[] = [];
  for (const r of recipients) {
    if (typeof r === 'string') {
      const t = canonicalRecipient(r);
      if (seen.has(t)) continue;
      seen.add(t);
      const recipient = cachedRecipient(t);
      parsed.push(recipient);
      labelled.push({ recipient, labels: staticLabels(recipient) });
    } else {
      parsed.push(r);
    }
  }
  checkLabels(labelled);
  const file = await encryptAgeFile(dataKey, parsed);
  // A plugin declares its labels only when it wraps.
  checkLabels(labelled.map(({ recipient, labels }) => ({ recipient, labels: labels ?? (recipient as PluginRecipient).labels })));
  return armorEncode(file);
}

/**
 * age's label rule: every stanza of one file carries the same label set, so a file is never weaker than
 * its strongest recipient promises. `postquantum` marks the post-quantum types; a plugin declares its
 * own (null here: known only after wrapping).
 */
function staticLabels(r: Recipient): string[] | null {
  if (r instanceof PluginRecipient) return null;
  if (r instanceof HybridRecipient || (r instanceof TagRecipient && r.postQuantum)) return ['postquantum'];
  return [];
}

function checkLabels(list: readonly { recipient: Recipient; labels: string[] | null }[]): void {
  const known = list.filter((x): x is { recipient: Recipient; labels: string[] } => x.labels !== null);
  if (known.length === 0) return;
  const first = known[0].labels.join(' ');
  const odd = known.find((x) => x.labels.join(' ') !== first);
  if (!odd) return;
  const pq = (labels: string[]) => labels.includes('postquantum');
  if (known.some((x) => pq(x.labels)) && known.some((x) => !pq(x.labels))) {
    throw new GitSealError(
      'post-quantum (age1pq1…) and classic (age1…) recipients cannot be mixed: the file would only be as strong as the classic keys',
      'give every recipient of the profile a post-quantum key (git-seal keygen --pq), or none',
    );
  }
  const who = odd.recipient instanceof PluginRecipient ? `age-plugin-${odd.recipient.name}` : 'one recipient';
  throw new GitSealError(
    `recipients with different age labels cannot share a file (${who} declares [${odd.labels.join(', ')}], another [${known[0].labels.join(', ')}])`,
    'put recipients of different kinds in different profiles',
  );
}

function decodeArmor(armored: string, source: string | undefined): Uint8Array {
  try {
    return armorDecode(armored);
  } catch {
    throw new GitSealError(`${label(source)} is not a valid armored age file`, CORRUPT_HINT);
  }
}

// The data key of a file is parsed (by age-file.ts's one parser) for stanzaCount, for unwrapDataKey and
// again by the next command on the same blob; parse each armored text once (it is public: the header and
// the encrypted payload).
const parsedCache = new Map<string, ParsedFile>();

function parseDataKey(armored: string, source: string | undefined): ParsedFile {
  let parsed = parsedCache.get(armored);
  if (!parsed) {
    try {
      parsed = parseAgeFile(decodeArmor(armored, source));
    } catch (err) {
      if (err instanceof AgeFormatError) throw new GitSealError(`${label(source)} has an invalid age header (${err.message})`, CORRUPT_HINT);
      throw err;
    }
    if (parsedCache.size >= 256) parsedCache.clear();
    parsedCache.set(armored, parsed);
  }
  return parsed;
}

/** The recipient stanzas in an armored age file's header (public information only). */
export function headerStanzas(armored: string, source?: string): HeaderStanza[] {
  return parseDataKey(armored, source).stanzas.map((s) => ({ type: s.args[0], args: [...s.args], bodyLength: s.body.length }));
}

/**
 * How many recipient stanzas the armored file's header holds. Compare it with
 * the number of distinct recipients the file claims, to detect a recipients
 * list that was edited without re-wrapping the key.
 */
export function stanzaCount(armored: string, source?: string): number {
  return parseDataKey(armored, source).stanzas.length;
}

/**
 * Decrypt a data key. Returns null when none of `identities` is a recipient
 * (the caller then says "you are not a recipient of this file"); throws
 * GitSealError when the armor is corrupt or was tampered with (bad armor,
 * malformed header, header MAC or payload authentication failure, wrong size).
 *
 * Note: a recipient's own stanza that was altered is indistinguishable from
 * "not for me" (age stanzas are anonymous), so it yields null; callers that
 * know their public key is listed for the file should treat that as tampering.
 */
export async function unwrapDataKey(armored: string, identities: readonly Identity[], opts: UnwrapOptions = {}): Promise<Uint8Array | null> {
  const { source } = opts;
  const parsed = parseDataKey(armored, source);

  let plaintext: Uint8Array | null;
  try {
    plaintext = await decryptAgeFile(parsed, identities, opts.recipients);
  } catch (err) {
    if (err instanceof GitSealError) throw new GitSealError(`${label(source)}: ${err.message}`, err.hint ?? CORRUPT_HINT);
    const why = err instanceof AgeFormatError ? err.message : 'authentication failed';
    throw new GitSealError(`${label(source)} is corrupt or was tampered with (${why})`, CORRUPT_HINT);
  }
  if (plaintext === null) return null;
  if (plaintext.length !== DATA_KEY_BYTES) {
    plaintext.fill(0);
    throw new GitSealError(`${label(source)} has the wrong size (expected ${DATA_KEY_BYTES} bytes)`, CORRUPT_HINT);
  }
  return plaintext;
}
