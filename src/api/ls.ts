import { relative, resolve } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { formatKeyPath } from '../format/keypath.js';
import { isSealedScalar, openWithKey, parseSealed, unwrapFileDataKey, type SealedFile } from '../format/seal.js';
import { findRepo } from '../git/repo.js';
import { loadConfigIfPresent } from '../profiles/config.js';
import { scanOrThrow } from '../toml/scan-or-throw.js';
import { decodeScalar, formatBasicString, type ScalarKind, type ScalarSpan } from '../toml/index.js';
import { readText } from '../util/io.js';
import { jsonValue } from './get.js';
import { recipientInfo, type RecipientInfo } from './recipients.js';
import { fileContext, repoFileContext, repoSecretsFiles, type FileContext } from './secrets-file.js';

/** Scalars of a sealed file's body (the [gitseal] table left out). */
function bodyScalars(sealed: SealedFile): ScalarSpan[] {
  return sealed.doc.scalars.filter((s) => s.start < sealed.bodyEnd);
}

/** Masked form of a value: the first 4 characters of a long value, nothing of a short one. */
export function maskValue(text: string): string {
  const chars = [...text];
  const head = chars.slice(0, 4).join('');
  return chars.length >= 12 && !/[\x00-\x1f\x7f]/.test(head) ? `${head}…****` : '****';
}

export interface ListedValue {
  key: string;
  /** A TOML type, or 'unknown' for a sealed value no identity of yours can open. */
  type: ScalarKind | 'unknown';
  /** Masked text; with `show`, the value (a JSON value in `json`, a TOML literal in `literal`). */
  masked: string | null;
  json?: unknown;
  literal?: string;
}

export interface ListedFile {
  /** Path relative to the current directory. */
  path: string;
  profile: string | null;
  /** How the file is on disk ('invalid': it could not be read or parsed, see `error`). */
  state: 'sealed' | 'plaintext' | 'invalid';
  /** Whether its values could be read (always for plaintext). */
  readable: boolean;
  /** Sealed: who it is sealed to; plaintext: who its profile seals it for. */
  recipients: RecipientInfo[];
  values: ListedValue[];
  error?: string;
}

function listedValue(text: string, s: ScalarSpan, show: boolean): ListedValue {
  const key = formatKeyPath(s.path);
  const raw = text.slice(s.start, s.end);
  const decoded = decodeScalar(raw, s.kind);
  const shown = s.kind === 'string' ? (decoded.value as string) : raw;
  if (!show) return { key, type: s.kind, masked: maskValue(shown) };
  return { key, type: s.kind, masked: null, json: jsonValue(raw), literal: s.kind === 'string' ? formatBasicString(shown) : raw };
}

async function listOne(file: string, ctx: FileContext, identities: readonly Identity[], show: boolean): Promise<ListedFile> {
  const base = { path: relative(process.cwd(), resolve(file)) || file, profile: ctx.settings.profile?.name ?? null };
  try {
    const { text } = readText(file);
    const sealed = parseSealed(text, file);
    if (!sealed) {
      const doc = scanOrThrow(text, file);
      return { ...base, state: 'plaintext', readable: true, recipients: recipientInfo(ctx.settings.recipients, ctx.config), values: doc.scalars.map((s) => listedValue(text, s, show)) };
    }
    const recipients = recipientInfo(sealed.meta.recipients, ctx.config);
    const dataKey = sealed.meta.conflict === undefined ? await unwrapFileDataKey(sealed, identities, file) : null;
    if (dataKey) {
      const plaintext = openWithKey(sealed, dataKey, file);
      const doc = scanOrThrow(plaintext, file);
      return { ...base, state: 'sealed', readable: true, recipients, values: doc.scalars.map((s) => listedValue(plaintext, s, show)) };
    }
    const values = bodyScalars(sealed).map((s): ListedValue =>
      isSealedScalar(text, s) ? { key: formatKeyPath(s.path), type: 'unknown', masked: null } : listedValue(text, s, show),
    );
    return { ...base, state: 'sealed', readable: false, recipients, values };
  } catch (err) {
    if (!(err instanceof GitSealError)) throw err;
    return { ...base, state: 'invalid', readable: false, recipients: [], values: [], error: err.oneLine };
  }
}

/** List keys (values masked unless `show`) of the named files, or of every secrets file of the repository. */
export async function listSecrets(files: readonly string[], identities: readonly Identity[], opts: { show?: boolean } = {}): Promise<ListedFile[]> {
  const show = opts.show ?? false;
  if (files.length > 0) return Promise.all(files.map((f) => listOne(f, fileContext(f), identities, show)));
  const repo = findRepo();
  const config = loadConfigIfPresent(repo.root);
  // All files at once: an age plugin then opens every data key in one session.
  return Promise.all(
    repoSecretsFiles(repo, config).map((rel) => {
      const ctx = repoFileContext(repo, config, rel);
      return listOne(ctx.file, ctx, identities, show);
    }),
  );
}
