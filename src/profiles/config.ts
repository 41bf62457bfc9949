import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitSealError } from '../errors.js';
import { canonicalRecipient, isRecipientString, parseRecipient } from '../age/index.js';
import { gitPatterns, PatternError, patternMatcher } from '../util/wildmatch.js';
import { decodeText } from '../util/io.js';
import { scanOrThrow } from '../toml/scan-or-throw.js';
import { toObject, type TomlPlain } from '../toml/to-object.js';
import type { PathSegment } from '../toml/index.js';
import { ENV_NAMINGS, type EnvNaming } from './exec-naming.js';

export const CONFIG_FILE = '.gitseal.toml';

export interface Profile {
  name: string;
  /** Globs relative to the repository root, as written (brace lists allowed). */
  files: string[];
  /** The globs as git reads them in .gitattributes: brace lists expanded, checked (see util/wildmatch.ts). */
  patterns: string[];
  /** Entries as written: recipient names, or `@profile` to include another profile's members. */
  members: string[];
  /** Resolved names of every recipient, includes expanded. */
  recipientNames: string[];
  /** Resolved age public keys, sorted. */
  recipients: string[];
  /** Key patterns whose values stay plaintext (the profile's plus the global ones). */
  plaintextKeys: string[];
  /** `[profiles.NAME.exec]`: how exec names the variables, and loader/interpreter names it may set. */
  exec: ExecSettings;
}

export interface ExecSettings {
  naming?: EnvNaming;
  allowEnv: string[];
}

export interface GitSealConfig {
  /** Absolute path of .gitseal.toml. */
  path: string;
  text: string;
  recipients: Map<string, string>;
  profiles: Profile[];
}

const NAME_RE = /^[A-Za-z0-9_-]+$/;

function configError(file: string, message: string, hint = `edit ${CONFIG_FILE}`): GitSealError {
  return new GitSealError(`${file}: ${message}`, hint);
}

function stringList(v: TomlPlain | undefined, where: string, file: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw configError(file, `${where} must be an array of strings`);
  return v as string[];
}

function execSettings(v: TomlPlain | undefined, where: string, file: string): ExecSettings {
  if (v === undefined) return { allowEnv: [] };
  if (typeof v !== 'object' || Array.isArray(v)) throw configError(file, `${where} must be a table`);
  const { naming, allow_env, ...rest } = v;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw configError(file, `${where}.${unknown} is not a setting (naming, allow_env)`);
  if (naming !== undefined && !ENV_NAMINGS.includes(naming as EnvNaming)) throw configError(file, `${where}.naming must be one of ${ENV_NAMINGS.map((n) => `"${n}"`).join(', ')}`);
  return { naming: naming as EnvNaming | undefined, allowEnv: stringList(allow_env, `${where}.allow_env`, file) };
}

/** Why a [recipients] value is refused, e.g. an ECDSA SSH key; never echoes a secret key. */
function badRecipient(path: string, name: string, key: TomlPlain): GitSealError {
  const what = `recipient '${name}' is not a valid age public key (age1…, age1pq1…, ssh-ed25519 … or ssh-rsa …)`;
  if (typeof key !== 'string') return configError(path, what);
  try {
    parseRecipient(key);
  } catch (err) {
    if (err instanceof GitSealError) return configError(path, `recipient '${name}': ${err.message}`, err.hint);
  }
  return configError(path, what);
}

/** Parse and validate .gitseal.toml text. */
export function parseConfig(text: string, path: string): GitSealConfig {
  const doc = scanOrThrow(text, path);
  const obj = toObject(doc, text);
  const version = obj.version;
  if (version !== undefined && version !== 1n) throw configError(path, `unsupported config version ${String(version)}`, 'upgrade git-seal');

  const recipients = new Map<string, string>();
  const rawRecipients = obj.recipients ?? {};
  if (typeof rawRecipients !== 'object' || Array.isArray(rawRecipients)) throw configError(path, '[recipients] must be a table of name = "age1…"');
  for (const [name, key] of Object.entries(rawRecipients)) {
    if (typeof key !== 'string' || !isRecipientString(key)) throw badRecipient(path, name, key);
    recipients.set(name, canonicalRecipient(key));
  }

  const globalPlain = stringList(obj.plaintext_keys, 'plaintext_keys', path);
  const rawProfiles = obj.profiles ?? {};
  if (typeof rawProfiles !== 'object' || Array.isArray(rawProfiles)) throw configError(path, '[profiles] must be a table of profiles');
  const raw = new Map<string, { files: string[]; members: string[]; plain: string[]; exec: ExecSettings }>();
  for (const [name, p] of Object.entries(rawProfiles)) {
    if (typeof p !== 'object' || Array.isArray(p)) throw configError(path, `profile '${name}' must be a table`);
    const t = p as Record<string, TomlPlain>;
    raw.set(name, {
      files: stringList(t.files, `profiles.${name}.files`, path),
      members: stringList(t.recipients, `profiles.${name}.recipients`, path),
      plain: stringList(t.plaintext_keys, `profiles.${name}.plaintext_keys`, path),
      exec: execSettings(t.exec, `profiles.${name}.exec`, path),
    });
  }

  const resolveNames = (name: string, seen: string[]): string[] => {
    if (seen.includes(name)) throw configError(path, `profile includes form a cycle: ${[...seen, name].join(' -> ')}`);
    const p = raw.get(name)!;
    const out: string[] = [];
    for (const m of p.members) {
      if (m.startsWith('@')) {
        const inc = m.slice(1);
        if (!raw.has(inc)) throw configError(path, `profile '${name}' includes unknown profile '${inc}'`);
        out.push(...resolveNames(inc, [...seen, name]));
      } else if (!recipients.has(m)) {
        throw configError(path, `profile '${name}' names unknown recipient '${m}'`, `add it under [recipients] or run git-seal recipients add ${m} AGE1…`);
      } else out.push(m);
    }
    return [...new Set(out)];
  };

  const profiles: Profile[] = [];
  for (const [name, p] of raw) {
    const recipientNames = resolveNames(name, []);
    if (recipientNames.length === 0) throw configError(path, `profile '${name}' has no recipients`, `git-seal recipients add NAME AGE1… --profile ${name}`);
    if (p.files.length === 0) throw configError(path, `profile '${name}' has no files`);
    const patterns = p.files.flatMap((glob) => {
      try {
        return gitPatterns(glob);
      } catch (err) {
        if (!(err instanceof PatternError)) throw err;
        throw configError(path, `profile '${name}' files pattern '${glob}' ${err.message}`, 'see "Files patterns" in docs/CONFIG.md');
      }
    });
    profiles.push({
      name,
      files: p.files,
      patterns: [...new Set(patterns)],
      members: p.members,
      recipientNames,
      recipients: [...new Set(recipientNames.map((n) => recipients.get(n)!))].sort(),
      plaintextKeys: [...globalPlain, ...p.plain],
      exec: p.exec,
    });
  }
  for (const n of recipients.keys()) if (!NAME_RE.test(n)) throw configError(path, `recipient name '${n}' may use only letters, digits, '_' and '-'`);
  return { path, text, recipients, profiles };
}

/** Load the config of a repository; a missing file is a one-line error naming the fix. */
export function loadConfig(root: string): GitSealConfig {
  const path = join(root, CONFIG_FILE);
  if (!existsSync(path)) throw new GitSealError(`${path}: no git-seal config in this repository`, 'run git-seal init');
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GitSealError(`${path}: ${code === 'EISDIR' ? 'is a directory, not a file' : `cannot be read (${code ?? String(err)})`}`, `make ${CONFIG_FILE} a readable file (git-seal init writes one)`);
  }
  return parseConfig(decodeText(raw, path), path);
}

export function loadConfigIfPresent(root: string): GitSealConfig | null {
  return existsSync(join(root, CONFIG_FILE)) ? loadConfig(root) : null;
}

const matchers = new WeakMap<Profile, (p: string) => boolean>();

function profileMatches(profile: Profile, relPath: string): boolean {
  let m = matchers.get(profile);
  if (!m) {
    m = patternMatcher(profile.patterns);
    matchers.set(profile, m);
  }
  return m(relPath);
}

/** The profile that owns a repository-relative path; two matching profiles is a config error. The config itself has none. */
export function profileFor(config: GitSealConfig, relPath: string): Profile | null {
  if (relPath === CONFIG_FILE) return null;
  const hits = config.profiles.filter((p) => profileMatches(p, relPath));
  if (hits.length > 1) {
    throw configError(config.path, `${relPath} is matched by profiles ${hits.map((p) => `'${p.name}'`).join(' and ')}`, 'make the files globs of the profiles disjoint');
  }
  return hits[0] ?? null;
}

export function getProfile(config: GitSealConfig, name: string): Profile {
  const p = config.profiles.find((x) => x.name === name);
  if (!p) throw new GitSealError(`${config.path}: no profile named '${name}'`, `profiles: ${config.profiles.map((x) => x.name).join(', ') || 'none'}`);
  return p;
}

/** Match a key path against plaintext_keys patterns: `host` matches that key at any depth, `a.*.port` the full path. */
export function plaintextKeyFilter(patterns: readonly string[]): ((path: readonly PathSegment[]) => boolean) | undefined {
  if (patterns.length === 0) return undefined;
  const res = patterns.map((p) => {
    const body = p
      .split('.')
      .map((seg) => (seg === '**' ? '.*' : seg.replace(/[\\^$+?()[\]{}|]/g, '\\$&').replace(/\*/g, '[^.]*')))
      .join('\\.');
    return new RegExp(p.includes('.') ? `^${body}$` : `(^|\\.)${body}$`);
  });
  return (path) => {
    const dotted = path.filter((s): s is string => typeof s === 'string').join('.');
    return res.some((r) => r.test(dotted));
  };
}
