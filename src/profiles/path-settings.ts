import type { PlaintextKeyFilter } from '../format/seal.js';
import { plaintextKeyFilter, profileFor, type GitSealConfig, type Profile } from './config.js';
import type { EnvNaming } from './exec-naming.js';

/** What .gitseal.toml says about one repository path. */
export interface PathSettings {
  /** The profile whose files globs match the path; null when none does (always for .gitseal.toml). */
  profile: Profile | null;
  /** Who the path is sealed for: the profile's recipients (sorted); none without a profile. */
  recipients: readonly string[];
  /** The keys whose values stay plaintext (the profile's plaintext_keys); undefined when there are none. */
  plaintextKeys: PlaintextKeyFilter | undefined;
  /** How exec names the variables: the profile's exec.naming, else dlt. */
  naming: EnvNaming;
}

/** The settings of a path no profile covers, or of a file outside any repository. */
export const NO_PROFILE: PathSettings = Object.freeze({ profile: null, recipients: [], plaintextKeys: undefined, naming: 'dlt' });

const byProfile = new WeakMap<Profile, PathSettings>();
/** Per config, the profile each path resolved to (a filter asks for every file of a checkout, often twice). */
const byPath = new WeakMap<GitSealConfig, Map<string, Profile | null>>();

/**
 * The one resolver of a repository-relative path's settings under `config` (null: the repository has
 * none). Settings are computed once per profile and process. Two profiles matching the path is a
 * config error, thrown here.
 */
export function pathSettings(config: GitSealConfig | null, relPath: string): PathSettings {
  if (!config) return NO_PROFILE;
  let paths = byPath.get(config);
  if (!paths) byPath.set(config, (paths = new Map()));
  let profile = paths.get(relPath);
  if (profile === undefined) {
    profile = profileFor(config, relPath);
    if (paths.size < 100_000) paths.set(relPath, profile);
  }
  if (!profile) return NO_PROFILE;
  let settings = byProfile.get(profile);
  if (!settings) {
    settings = { profile, recipients: profile.recipients, plaintextKeys: plaintextKeyFilter(profile.plaintextKeys), naming: profile.exec.naming ?? 'dlt' };
    byProfile.set(profile, settings);
  }
  return settings;
}
