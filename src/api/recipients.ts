import { join } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { canonicalRecipient, generateIdentity, parseRecipient } from '../age/index.js';
import type { Repo } from '../git/repo.js';
import { CONFIG_FILE, getProfile, loadConfig, parseConfig, type GitSealConfig, type Profile } from '../profiles/config.js';
import { addProfileMember, removeProfileMember, removeRecipientKey, setRecipientKey } from '../profiles/config-edit.js';
import { withFileLock, writeFileAtomic } from '../git/atomic-write.js';
import { rekey, type RekeyReport } from './rekey.js';

const NAME_RE = /^[A-Za-z0-9_-]+$/;

export interface RecipientEntry {
  name: string;
  key: string;
  /** Profiles whose resolved recipients include this name. */
  profiles: string[];
}

export interface ProfileListing {
  name: string;
  files: string[];
  /** As written: names and `@profile` includes. */
  members: string[];
  /** Resolved recipients; `via` names the included profile a recipient comes from. */
  recipients: { name: string; key: string; via?: string }[];
}

export interface RecipientsListing {
  recipients: RecipientEntry[];
  profiles: ProfileListing[];
}

function listProfile(config: GitSealConfig, p: Profile): ProfileListing {
  const direct = new Set(p.members.filter((m) => !m.startsWith('@')));
  const via = new Map<string, string>();
  for (const m of p.members) {
    if (!m.startsWith('@')) continue;
    for (const n of getProfile(config, m.slice(1)).recipientNames) if (!direct.has(n) && !via.has(n)) via.set(n, m.slice(1));
  }
  return {
    name: p.name,
    files: p.files,
    members: p.members,
    recipients: p.recipientNames.map((n) => ({ name: n, key: config.recipients.get(n)!, ...(via.has(n) ? { via: via.get(n) } : {}) })),
  };
}

/** Every recipient with the profiles it belongs to, and every profile (or only `profile`) resolved. */
export function listRecipients(config: GitSealConfig, profile?: string): RecipientsListing {
  const profiles = profile ? [getProfile(config, profile)] : config.profiles;
  const names = profile ? profiles[0].recipientNames : [...config.recipients.keys()];
  return {
    recipients: names.map((name) => ({
      name,
      key: config.recipients.get(name)!,
      profiles: config.profiles.filter((p) => p.recipientNames.includes(name)).map((p) => p.name),
    })),
    profiles: profiles.map((p) => listProfile(config, p)),
  };
}

export interface ConfigChange {
  /** The edited config (already validated). */
  config: GitSealConfig;
  /** Profiles whose recipient keys changed, so their files need re-keying. */
  changedProfiles: string[];
}

function changedProfiles(before: GitSealConfig, after: GitSealConfig): string[] {
  return after.profiles
    .filter((p) => {
      const old = before.profiles.find((q) => q.name === p.name);
      return !old || old.recipients.join('\n') !== p.recipients.join('\n');
    })
    .map((p) => p.name);
}

function reparse(before: GitSealConfig, text: string): ConfigChange {
  const config = parseConfig(text, before.path);
  return { config, changedProfiles: changedProfiles(before, config) };
}

/**
 * Add NAME to [recipients] (KEY may be omitted when NAME is already there) and to each of `profiles`.
 * Without profiles NAME only joins [recipients], ready to be added to profiles later.
 */
export function planAdd(config: GitSealConfig, name: string, key: string | undefined, profiles: readonly string[]): ConfigChange {
  if (!NAME_RE.test(name)) throw new GitSealError(`recipient name '${name}' may use only letters, digits, '_' and '-'`, 'pick a simpler name');
  const existing = config.recipients.get(name);
  let text = config.text;
  if (key === undefined) {
    if (!existing) throw new GitSealError(`${CONFIG_FILE}: no recipient named '${name}'`, `give the public key: git-seal recipients add ${name} AGE1…`);
  } else {
    parseRecipient(key, `recipient '${name}'`);
    const k = canonicalRecipient(key);
    if (existing !== undefined && existing !== k) {
      throw new GitSealError(`${CONFIG_FILE}: recipient '${name}' already has another key`, `to replace it, git-seal recipients remove ${name}, then add the new key`);
    }
    const owner = [...config.recipients].find(([n, v]) => v === k && n !== name);
    if (owner) throw new GitSealError(`${CONFIG_FILE}: that key is already recipient '${owner[0]}'`, `use that name: git-seal recipients add ${owner[0]} --profile P`);
    if (existing === undefined) text = setRecipientKey(text, name, k);
  }
  for (const p of new Set(profiles)) {
    if (!getProfile(config, p).members.includes(name)) text = addProfileMember(text, p, name);
  }
  return reparse(config, text);
}

/** NAME if it is free, else the first free NAME-2, NAME-3… */
function freeName(config: GitSealConfig, name: string): string {
  if (!config.recipients.has(name)) return name;
  for (let i = 2; ; i++) if (!config.recipients.has(`${name}-${i}`)) return `${name}-${i}`;
}

export interface KeysChange extends ConfigChange {
  /** Each key and the recipient name it is under, in order; `added` is false for keys already there. */
  entries: { name: string; key: string; added: boolean }[];
}

/**
 * Add several keys of one person (e.g. their published SSH keys) as NAME, NAME-2, NAME-3…: one
 * recipient per key, so [recipients] stays `name = "key"`. A key already listed under NAME or NAME-N
 * is kept (and joins `profiles`); a key listed under someone else's name is an error.
 */
export function planAddKeys(config: GitSealConfig, name: string, keys: readonly string[], profiles: readonly string[]): KeysChange {
  if (!NAME_RE.test(name)) throw new GitSealError(`recipient name '${name}' may use only letters, digits, '_' and '-'`, 'pick a simpler name');
  const family = new RegExp(`^${name}(-[0-9]+)?$`);
  let current = config;
  const entries: KeysChange['entries'] = [];
  for (const raw of keys) {
    const key = canonicalRecipient(raw);
    const owner = [...current.recipients].find(([, v]) => v === key)?.[0];
    if (owner !== undefined && !family.test(owner)) {
      throw new GitSealError(`${CONFIG_FILE}: the key ${key.slice(0, 30)}… is already recipient '${owner}'`, `if it is the same person, use that name: git-seal recipients add ${owner} --profile P`);
    }
    const n = owner ?? freeName(current, name);
    current = planAdd(current, n, key, profiles).config;
    entries.push({ name: n, key, added: owner === undefined });
  }
  return { config: current, changedProfiles: changedProfiles(config, current), entries };
}

/** Remove NAME from `profiles`, or with none given from every profile and from [recipients]. */
export function planRemove(config: GitSealConfig, name: string, profiles: readonly string[]): ConfigChange {
  if (!config.recipients.has(name)) throw new GitSealError(`${CONFIG_FILE}: no recipient named '${name}'`, 'git-seal recipients list shows the names');
  const from = profiles.length ? [...new Set(profiles)].map((p) => getProfile(config, p)) : config.profiles;
  let text = config.text;
  for (const p of from) {
    if (p.members.includes(name)) {
      if (p.members.length === 1) {
        throw new GitSealError(`${CONFIG_FILE}: removing '${name}' would leave profile '${p.name}' with no recipients`, `add someone else first: git-seal recipients add NAME AGE1… --profile ${p.name}`);
      }
      text = removeProfileMember(text, p.name, name);
    } else if (profiles.length && p.recipientNames.includes(name)) {
      const inc = listProfile(config, p).recipients.find((r) => r.name === name)?.via;
      throw new GitSealError(`${CONFIG_FILE}: '${name}' is in profile '${p.name}' only through '@${inc}'`, `remove them there: git-seal recipients remove ${name} --profile ${inc}`);
    } else if (profiles.length) {
      throw new GitSealError(`${CONFIG_FILE}: '${name}' is not a recipient of profile '${p.name}'`, 'git-seal recipients list shows who is in each profile');
    }
  }
  if (!profiles.length) text = removeRecipientKey(text, name);
  return reparse(config, text);
}

export interface ApplyResult extends ConfigChange {
  /** The re-key of the changed profiles' files; absent with `rekey: false` or when nothing changed. */
  rekey?: RekeyReport;
}

/**
 * Write the edited config (atomically; refused if the file changed since `before` was read) and re-key the
 * files of the profiles whose recipients changed.
 */
export async function applyChange(repo: Repo, change: ConfigChange, opts: { rekey: boolean; identities: readonly Identity[]; before: GitSealConfig }): Promise<ApplyResult> {
  writeFileAtomic(change.config.path, change.config.text, undefined, { expected: Buffer.from(opts.before.text, 'utf8') });
  if (!opts.rekey || change.changedProfiles.length === 0) return change;
  return { ...change, rekey: await rekey(repo, { identities: opts.identities, config: change.config, profiles: change.changedProfiles }) };
}

/** Load the repository's config and apply `plan` to it. */
export async function changeRecipients(
  repo: Repo,
  plan: (config: GitSealConfig) => ConfigChange,
  opts: { rekey: boolean; identities: readonly Identity[] },
): Promise<ApplyResult> {
  const path = join(repo.root, CONFIG_FILE);
  return withFileLock(path, async () => {
    const before = loadConfig(repo.root);
    return applyChange(repo, plan(before), { ...opts, before });
  });
}

export interface DeployKey extends ApplyResult {
  /** The private key (AGE-SECRET-KEY-…): the caller shows it once and never stores it. */
  identity: string;
  recipient: string;
}

/** Make a deploy key and add it as recipient NAME of `profiles`, re-keying their files. */
export async function addDeployKey(repo: Repo, name: string, profiles: readonly string[], opts: { pq?: boolean; identities: readonly Identity[] }): Promise<DeployKey> {
  if (profiles.length === 0) throw new GitSealError('a deploy key needs a profile', `git-seal keygen --deploy ${name} --profile P`, 2);
  return withFileLock(join(repo.root, CONFIG_FILE), async () => {
    const config = loadConfig(repo.root);
    if (config.recipients.has(name)) throw new GitSealError(`${CONFIG_FILE}: a recipient named '${name}' already exists`, `pick another name, or git-seal recipients remove ${name} first`);
    const { identity, recipient } = await generateIdentity({ pq: opts.pq ?? false });
    const result = await applyChange(repo, planAdd(config, name, recipient, profiles), { rekey: true, identities: opts.identities, before: config });
    return { ...result, identity, recipient };
  });
}

/** A public key, with its name in .gitseal.toml when the config lists it. */
export interface RecipientInfo {
  /** Name in .gitseal.toml, when it lists this key. */
  name: string | null;
  key: string;
}

/** The config's names of `keys` (the first name for a key listed twice). */
export function recipientInfo(keys: readonly string[], config: GitSealConfig | null): RecipientInfo[] {
  const names = new Map<string, string>();
  for (const [name, key] of config?.recipients ?? []) if (!names.has(key)) names.set(key, name);
  return keys.map((key) => ({ name: names.get(key) ?? null, key }));
}

/** A public key shortened for a listing: `age1abcd…wxyz`. */
export function shortKey(key: string): string {
  return key.length > 16 ? `${key.slice(0, 8)}…${key.slice(-4)}` : key;
}
