import { randomBytes } from 'node:crypto';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { decryptValue, deriveValueKeys, encryptValue, FORMAT_VERSION, TOKEN_PREFIX, UnknownVersionError, ValueAuthError, type ValueKeys } from '../crypto/value.js';
import { canonicalRecipient, stanzaCount, unwrapDataKey, wrapDataKey } from '../age/index.js';
import { PluginIdentity } from '../age/plugin-identity.js';
import type { PathSegment, ScalarSpan, TomlDocument } from '../toml/index.js';
import { scanOrThrow } from '../toml/scan-or-throw.js';
import { formatKeyPath } from './keypath.js';
import { openConflict } from './conflict.js';
import { assembleSealed, META_TABLE, metaStart, readMeta, sameSet, sealedBody, type SealedMeta } from './meta.js';

/** A sealed file split into its parts. */
export interface SealedFile {
  text: string;
  doc: TomlDocument;
  /** Offset where the [gitseal] table starts; everything before it is the sealed body. */
  bodyEnd: number;
  meta: SealedMeta;
  /**
   * Whether the data key's age header holds one stanza per listed recipient; a list edited without
   * re-wrapping the key does not. Read on first use (throws GitSealError for a malformed header).
   */
  readonly headerMatchesRecipients: boolean;
}

/** A sealed file whose data key is known. */
export interface UnlockedFile {
  sealed: SealedFile;
  dataKey: Uint8Array;
}

/** What opening a sealed file yields: the exact plaintext and the key material to reseal it stably. */
export interface OpenedFile extends UnlockedFile {
  plaintext: string;
}

export type PlaintextKeyFilter = (path: readonly PathSegment[]) => boolean;

export interface SealOptions {
  /** age recipients (age1…, age1pq1…) for the data key. */
  recipients: readonly string[];
  /** Identities used to open an already sealed input or `previous`. */
  identities?: readonly Identity[];
  /** An earlier sealed version of this file (the index or HEAD blob) whose data key to reuse. */
  previous?: string | SealedFile | UnlockedFile;
  /** Keys whose values stay in plaintext. */
  plaintextKeys?: PlaintextKeyFilter;
  /** Name used in error messages. */
  file?: string;
}

export interface SealResult {
  text: string;
  /** True when a new data key was made although a previous one was available (a recipient was removed). */
  rotated: boolean;
  /** True when the data key was carried over from the input or `previous`. */
  reusedKey: boolean;
  /** The file's data key and its armored age file (the [gitseal] datakey): secret, for callers that cache it. */
  dataKey: Uint8Array;
  armor: string;
}

const SEALED_HEADER = new RegExp(`(^|\\n)\\[${META_TABLE}\\][ \\t]*\\r?(\\n|$)`);

/** Whether a scalar of `text` is a sealed value token (`"ENC[gitseal.v…]"`). */
export function isSealedScalar(text: string, s: ScalarSpan): boolean {
  return s.kind === 'string' && text.startsWith(`"${TOKEN_PREFIX}`, s.start);
}

/**
 * The values of a sealed file's body that are stored in clear although `allowed` (the plaintext_keys
 * of the file's path) does not list them. A sealed file may hold plaintext only there: any other value
 * in clear was typed in by a clone without the key, or injected by someone who can push, and a sealed
 * file holding one is never accepted as sealed. The [gitseal] table is not part of the body.
 */
export function unsealedValues(sealed: SealedFile, allowed?: PlaintextKeyFilter): ScalarSpan[] {
  return sealed.doc.scalars.filter((s) => s.start < sealed.bodyEnd && !isSealedScalar(sealed.text, s) && !allowed?.(s.path));
}

/** Quoted key paths for a message: the first five, then how many in all. */
export function keyPathList(spans: readonly ScalarSpan[]): string {
  const shown = spans.slice(0, 5).map((s) => `'${formatKeyPath(s.path)}'`).join(', ');
  return spans.length > 5 ? `${shown}, … (${spans.length} in all)` : shown;
}

/** What to do about a value in clear in a sealed file that a command refuses to use. */
export const VALUE_IN_CLEAR_HINT =
  'it was written in clear without the key, maybe by an attacker: check who changed it (git-seal log), then a recipient seals the right value with git-seal set, or lists the key in plaintext_keys if it is not secret';

/** The refusal of a sealed file with values in clear (see unsealedValues): names the file and key paths, never a value. */
export function unsealedValueError(file: string, spans: readonly ScalarSpan[], hint: string): GitSealError {
  const what = spans.length === 1 ? `the value of ${keyPathList(spans)} is` : `the values of ${keyPathList(spans)} are`;
  return new GitSealError(`${file}: ${what} in plaintext in a sealed file, and plaintext_keys does not list ${spans.length === 1 ? 'it' : 'them'}`, hint);
}

/** Cheap test for the [gitseal] table; parseSealed is the exact one. */
export function looksSealed(text: string): boolean {
  return SEALED_HEADER.test(text);
}

/** Parse a sealed file, or return null when the text is plaintext TOML (no [gitseal] table). */
export function parseSealed(text: string, file = '<stdin>', scanned?: TomlDocument): SealedFile | null {
  const doc = scanned ?? scanOrThrow(text, file);
  const bodyEnd = metaStart(doc, text);
  if (bodyEnd < 0) return null;
  const meta = readMeta(doc, text, file);
  let matches: boolean | undefined;
  return {
    text,
    doc,
    bodyEnd,
    meta,
    get headerMatchesRecipients() {
      return (matches ??= stanzaCount(meta.dataKey) === meta.recipients.length);
    },
  };
}

function asSealed(x: string | SealedFile, file: string): SealedFile | null {
  return typeof x === 'string' ? parseSealed(x, file) : x;
}

/** Unwrap the data key of a sealed file; null when none of the identities is a recipient. */
export async function unwrapFileDataKey(sealed: SealedFile, identities: readonly Identity[], file: string): Promise<Uint8Array | null> {
  if (identities.length === 0) return null;
  // The header check, read now: it parses the header unwrapDataKey then takes from datakey.ts's memo,
  // which a batch of more files than it keeps would have emptied by the time a checkout asks.
  try {
    void sealed.headerMatchesRecipients;
  } catch {
    /* a malformed header: unwrapDataKey reports it, naming the file */
  }
  return unwrapDataKey(sealed.meta.dataKey, identities, { source: file, recipients: sealed.meta.recipients });
}

/**
 * Unwrap the data keys of many sealed files in one call: per file the key, null when none of the
 * identities is a recipient, or the error that makes its key unreadable. The one place where a whole
 * checkout's unwraps meet, so that an identity with a per-call cost (an age plugin) can serve them all
 * in one session.
 */
export async function unwrapFileDataKeys(
  files: readonly { sealed: SealedFile; file: string }[],
  identities: readonly Identity[],
): Promise<(Uint8Array | null | Error)[]> {
  // All at once: identities that batch (age plugins) see every file in the same turn of the event loop.
  return Promise.all(
    files.map(({ sealed, file }) => unwrapFileDataKey(sealed, identities, file).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))),
  );
}

/** Whether an identity unwraps in batches (an age plugin: one session, one touch, for many files). */
export function batchesUnwraps(identities: readonly Identity[]): boolean {
  return identities.some((i) => i instanceof PluginIdentity);
}

/**
 * Unwrap the data keys of many sealed texts together, so an age plugin opens all of them in one session
 * (one touch) and later unwraps of the same files are answered from its cache. A no-op unless an
 * identity batches; unreadable texts are skipped (the caller's own open reports them).
 */
export async function prefetchDataKeys(texts: readonly { text: string; file: string }[], identities: readonly Identity[]): Promise<void> {
  if (!batchesUnwraps(identities)) return;
  const files: { sealed: SealedFile; file: string }[] = [];
  for (const { text, file } of texts) {
    try {
      const sealed = looksSealed(text) ? parseSealed(text, file) : null;
      if (sealed && sealed.meta.conflict === undefined) files.push({ sealed, file });
    } catch {
      /* reported when the caller opens it */
    }
  }
  await unwrapFileDataKeys(files, identities);
}

function noIdentityError(file: string, meta: SealedMeta, identityCount: number): GitSealError {
  const to = meta.recipients.length ? meta.recipients.join(', ') : 'no listed recipients';
  const what = identityCount === 0 ? 'no identity is available to open it' : `none of your ${identityCount} identities can open it`;
  return new GitSealError(
    `${file}: ${what}; it is sealed to ${to}`,
    identityCount === 0
      ? 'pass --identity FILE, set GITSEAL_AGE_KEY, or run git-seal keygen and ask a recipient to add you'
      : 'ask a recipient of this file to add your public key (git-seal recipients add)',
  );
}

function valueError(file: string, err: unknown): unknown {
  if (err instanceof ValueAuthError) {
    return new GitSealError(
      `${file}: the value of '${formatKeyPath(err.path)}' failed authentication (tampered, moved or corrupted)`,
      `restore the file from git history (git checkout -- ${file}), or delete the damaged line and set the value again`,
    );
  }
  if (err instanceof UnknownVersionError) {
    return new GitSealError(`${file}: a value is sealed with format version ${err.version}, this git-seal reads version ${FORMAT_VERSION}`, 'upgrade git-seal');
  }
  return err;
}

/** Decrypt the values of a sealed file with a known data key. */
export function openWithKey(sealed: SealedFile, dataKey: Uint8Array, file: string): string {
  const keys = deriveValueKeys(dataKey);
  const { text, doc, bodyEnd, meta } = sealed;
  if (meta.conflict !== undefined) {
    try {
      return openConflict(keys, meta.conflict);
    } catch (err) {
      throw valueError(file, err);
    }
  }
  let out = '';
  let pos = 0;
  for (const s of doc.scalars) {
    if (s.start >= bodyEnd) break;
    if (!isSealedScalar(text, s)) continue;
    const token = text.slice(s.start, s.end);
    let plain: string;
    try {
      plain = decryptValue(keys, s.path, token.slice(1, -1));
    } catch (err) {
      throw valueError(file, err);
    }
    out += text.slice(pos, s.start) + plain;
    pos = s.end;
  }
  out += sealedBody(text.slice(pos), bodyEnd - pos);
  if (!meta.finalNewline) out = out.replace(/\r?\n$/, '');
  return out;
}

/** Open a sealed file with the first identity that can unwrap its data key. */
export async function openSealed(sealed: SealedFile, identities: readonly Identity[], file = '<stdin>'): Promise<OpenedFile> {
  const dataKey = await unwrapFileDataKey(sealed, identities, file);
  if (!dataKey) throw noIdentityError(file, sealed.meta, identities.length);
  return { plaintext: openWithKey(sealed, dataKey, file), dataKey, sealed };
}

export interface OpenTextOptions {
  /** The plaintext_keys of the file's path, looked up only when a value is in clear. */
  plaintextKeys?: () => PlaintextKeyFilter | undefined;
  /** Accept values in clear that plaintext_keys does not list (decrypt --allow-plaintext). */
  allowPlaintext?: boolean;
}

/**
 * Decrypt sealed text to the exact bytes that were sealed. Plaintext input is an error, and so is a
 * value in clear that plaintext_keys does not list (see unsealedValues), unless `allowPlaintext`.
 */
export async function openText(text: string, identities: readonly Identity[], file = '<stdin>', opts: OpenTextOptions = {}): Promise<string> {
  const sealed = parseSealed(text, file);
  if (!sealed) throw new GitSealError(`${file}: not a sealed file (it has no [${META_TABLE}] table)`, 'nothing to decrypt');
  if (!opts.allowPlaintext) {
    const inClear = unsealedValues(sealed);
    const allowed = inClear.length ? opts.plaintextKeys?.() : undefined;
    const refused = allowed ? inClear.filter((s) => !allowed(s.path)) : inClear;
    if (refused.length) throw unsealedValueError(file, refused, `${VALUE_IN_CLEAR_HINT}; decrypt --allow-plaintext opens it anyway`);
  }
  return (await openSealed(sealed, identities, file)).plaintext;
}

function normalizeRecipients(recipients: readonly string[]): string[] {
  return [...new Set(recipients.map(canonicalRecipient))].sort();
}

/** Encrypt every value of a plaintext document (but plaintext keys) under `keys`. */
function sealBody(text: string, doc: TomlDocument, keys: ValueKeys, plaintextKeys: PlaintextKeyFilter | undefined, file: string): string {
  let out = '';
  let pos = 0;
  for (const s of doc.scalars) {
    if (plaintextKeys?.(s.path)) {
      if (text.startsWith(`"${TOKEN_PREFIX}`, s.start)) {
        throw new GitSealError(
          `${file}:${s.line}:${s.col}: the plaintext key '${formatKeyPath(s.path)}' holds a value that looks like a sealed token, which could not be opened`,
          'change that value or remove the key from plaintext_keys',
        );
      }
      continue;
    }
    out += text.slice(pos, s.start) + '"' + encryptValue(keys, s.path, text.slice(s.start, s.end)) + '"';
    pos = s.end;
  }
  return out + text.slice(pos);
}

function assertNoReservedKeys(doc: TomlDocument, file: string): void {
  const clash = doc.entries.find((e) => e.path[0] === META_TABLE) ?? doc.tables.find((t) => t.path[0] === META_TABLE);
  if (clash) throw new GitSealError(`${file}:${clash.line}: the top-level key '${META_TABLE}' is reserved for git-seal's metadata`, 'rename that table or key');
}

/**
 * Seal plaintext TOML (or re-seal a sealed file). The data key of the input or `previous` is reused when
 * its recipients are a subset of the new ones; removing a recipient rotates it. Unchanged input with an
 * unchanged recipient set reproduces the previous sealed bytes exactly.
 */
export async function seal(input: string, opts: SealOptions): Promise<SealResult> {
  const file = opts.file ?? '<stdin>';
  const identities = opts.identities ?? [];
  const recipients = normalizeRecipients(opts.recipients);
  if (recipients.length === 0) throw new GitSealError(`${file}: no recipients to seal for`, 'pass --recipient AGE1… or add recipients to the profile in .gitseal.toml');

  let plaintext = input;
  let doc = scanOrThrow(input, file);
  let prior: UnlockedFile | null = null;
  if (metaStart(doc, input) >= 0) {
    const opened = await openSealed(parseSealed(input, file, doc)!, identities, file);
    prior = opened;
    plaintext = opened.plaintext;
    doc = scanOrThrow(plaintext, file);
  } else if (opts.previous !== undefined) {
    prior = await openPrevious(opts.previous, identities, file);
  }
  assertNoReservedKeys(doc, file);

  let dataKey: Uint8Array;
  let armor: string;
  let rotated = false;
  const honestPrior = prior?.sealed.headerMatchesRecipients ? prior : null;
  if (honestPrior && sameSet(honestPrior.sealed.meta.recipients, recipients)) {
    dataKey = honestPrior.dataKey;
    armor = honestPrior.sealed.meta.dataKey;
  } else if (honestPrior && honestPrior.sealed.meta.recipients.every((r) => recipients.includes(r))) {
    dataKey = honestPrior.dataKey;
    armor = await wrapDataKey(dataKey, recipients);
  } else {
    rotated = prior !== null;
    dataKey = new Uint8Array(randomBytes(32));
    armor = await wrapDataKey(dataKey, recipients);
  }

  const keys = deriveValueKeys(dataKey);
  let body = sealBody(plaintext, doc, keys, opts.plaintextKeys, file);
  const finalNewline = plaintext === '' || plaintext.endsWith('\n');
  if (!finalNewline) body += doc.eol;
  const meta: SealedMeta = { version: FORMAT_VERSION, recipients, dataKey: armor, finalNewline };
  return { text: assembleSealed(body, meta, doc.eol), rotated, reusedKey: prior !== null && !rotated, dataKey, armor };
}

async function openPrevious(previous: string | SealedFile | UnlockedFile, identities: readonly Identity[], file: string): Promise<UnlockedFile | null> {
  if (typeof previous !== 'string' && 'dataKey' in previous) return previous;
  let sealed: SealedFile | null;
  try {
    sealed = asSealed(previous, file);
  } catch {
    return null; // an unreadable previous version only means no key reuse
  }
  if (!sealed) return null;
  const dataKey = await unwrapFileDataKey(sealed, identities, file);
  return dataKey ? { dataKey, sealed } : null;
}

/** Seal and return only the text. */
export async function sealText(input: string, opts: SealOptions): Promise<string> {
  return (await seal(input, opts)).text;
}
