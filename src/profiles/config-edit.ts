import { GitSealError } from '../errors.js';
import { appendArrayItem, decodeScalar, formatBasicString, removeArrayItem, removeKey, scanToml, setRawValue, TomlEditError } from '../toml/index.js';
import { CONFIG_FILE } from './config.js';

/**
 * Format-preserving edits of .gitseal.toml text: each changes the lines it must and keeps comments and
 * layout. They do not validate the result; callers parse it with parseConfig before writing.
 */

function edit(what: string, fn: () => string): string {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TomlEditError) throw new GitSealError(`${CONFIG_FILE}: cannot ${what}: ${err.message}`, `edit ${CONFIG_FILE} by hand`);
    throw err;
  }
}

/** Set `[recipients] NAME = "KEY"` (added at the end of the table, or replaced in place). */
export function setRecipientKey(text: string, name: string, key: string): string {
  return edit(`set recipient '${name}'`, () => setRawValue(text, ['recipients', name], formatBasicString(key)));
}

/** Remove `NAME = …` from [recipients]. */
export function removeRecipientKey(text: string, name: string): string {
  return edit(`remove recipient '${name}'`, () => removeKey(text, ['recipients', name]));
}

/** Append NAME (or `@profile`) to `[profiles.P] recipients`. */
export function addProfileMember(text: string, profile: string, member: string): string {
  return edit(`add '${member}' to profile '${profile}'`, () => appendArrayItem(text, ['profiles', profile, 'recipients'], formatBasicString(member)));
}

/** Remove every occurrence of NAME from `[profiles.P] recipients`. */
export function removeProfileMember(text: string, profile: string, member: string): string {
  return edit(`remove '${member}' from profile '${profile}'`, () => {
    let out = text;
    for (;;) {
      const index = memberIndex(out, profile, member);
      if (index < 0) return out;
      out = removeArrayItem(out, ['profiles', profile, 'recipients'], index);
    }
  });
}

function memberIndex(text: string, profile: string, member: string): number {
  const prefix = ['profiles', profile, 'recipients'];
  for (const s of scanToml(text).scalars) {
    if (s.path.length !== 4 || !prefix.every((p, i) => s.path[i] === p) || s.kind !== 'string') continue;
    if (decodeScalar(text.slice(s.start, s.end), s.kind).value === member) return s.path[3] as number;
  }
  return -1;
}
