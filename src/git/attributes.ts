import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILE, type GitSealConfig } from '../profiles/config.js';
import { writeFileAtomic } from './atomic-write.js';
import { listIndex } from './list-files.js';
import { gitBuffer, gitMaybe } from './run.js';
import { anchoredPattern, attributeLinePattern, attributePattern, patternMatcher } from '../util/wildmatch.js';

export const DRIVER = 'git-seal';
const ATTRIBUTES = `filter=${DRIVER} diff=${DRIVER} merge=${DRIVER}`;

/** dlt's and Streamlit's secrets layouts, in any directory of the repository. */
export const DEFAULT_PATTERNS = ['**/.dlt/secrets.toml', '**/.dlt/*.secrets.toml', '**/.dlt/secrets.*.toml', '**/.streamlit/secrets.toml'];

/** Every glob that names a secrets file: the profiles' and git-seal's defaults (never .gitseal.toml itself). */
export function secretsMatcher(config: GitSealConfig | null): (path: string) => boolean {
  const matches = patternMatcher([...DEFAULT_PATTERNS, ...(config?.profiles.flatMap((p) => p.patterns) ?? [])]);
  return (path) => path !== CONFIG_FILE && matches(path);
}

/** The `.gitattributes` line that seals the files of one (checked, brace-free) pattern. */
export function attributeLine(pattern: string): string {
  return `${attributePattern(pattern)} ${ATTRIBUTES}`;
}

/**
 * The config is never a secrets file, even under a profile glob that matches every .toml file: this line (last,
 * since a later line wins) takes the git-seal attributes off it, so git never runs the filter on it.
 */
const CONFIG_ATTRIBUTES = `/${CONFIG_FILE} !filter !diff !merge`;

/**
 * Add `PATTERN filter=git-seal diff=git-seal merge=git-seal` lines for the patterns not yet covered,
 * keeping everything already in .gitattributes, and keep CONFIG_ATTRIBUTES the last line. Returns the
 * patterns added, as written there.
 */
export function ensureAttributes(root: string, patterns: readonly string[]): string[] {
  const path = join(root, '.gitattributes');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const lines = text.split(/\r?\n/);
  const have = new Set(
    lines
      .map(attributeLinePattern)
      .filter((l) => l !== null && l.rest.split(/\s+/).includes(`filter=${DRIVER}`))
      .map((l) => l!.pattern),
  );
  const missing = [...new Set(patterns.filter((p) => !have.has(anchoredPattern(p))))];
  const rules = lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (missing.length === 0 && rules[rules.length - 1] === CONFIG_ATTRIBUTES) return [];
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  let out = text
    .split(/(?<=\n)/)
    .filter((l) => l.trim() !== CONFIG_ATTRIBUTES)
    .join('');
  if (out && !out.endsWith('\n')) out += eol;
  if (!text.includes('# git-seal')) out += `${out ? eol : ''}# git-seal: these files are sealed in commits and plaintext in the working tree${eol}`;
  for (const p of missing) out += `${attributeLine(p)}${eol}`;
  writeFileAtomic(path, out + CONFIG_ATTRIBUTES + eol);
  return missing.map(attributePattern);
}

/** Attributes by path: each asked attribute's value as `git check-attr` gives it (`unspecified` when none). */
export type PathAttributes = Map<string, Record<string, string>>;

/** The attributes `names` of every path, from one `git check-attr`. */
export function attributesOf(root: string, paths: readonly string[], names: readonly string[]): PathAttributes {
  const attrs: PathAttributes = new Map();
  if (paths.length === 0) return attrs;
  const out = gitBuffer(['check-attr', '-z', '--stdin', ...names], { cwd: root, input: paths.join('\0') + '\0' })!;
  const f = out.toString('utf8').split('\0');
  for (let i = 0; i + 2 < f.length; i += 3) {
    const a = attrs.get(f[i]) ?? attrs.set(f[i], {}).get(f[i])!;
    a[f[i + 1]] = f[i + 2];
  }
  return attrs;
}

/** For each path, whether .gitattributes gives it filter=git-seal (one git call for all paths). */
export function sealedByAttributes(root: string, paths: readonly string[]): Set<string> {
  const hits = new Set<string>();
  for (const [path, a] of attributesOf(root, paths, ['filter'])) if (a.filter === DRIVER) hits.add(path);
  return hits;
}

/** The attributes that make git convert a file on checkout (see checkoutConverts). */
export const CONVERTING_ATTRIBUTES = ['text', 'eol', 'ident', 'working-tree-encoding'] as const;

/**
 * The paths whose checkout git would convert after the smudge filter (eol, ident or working-tree
 * encoding), so only git itself writes them exactly. Follows git's convert.c: a text file (`text` or
 * `text=auto`) gets CRLF only with core.autocrlf=true or core.eol=crlf; `eol=crlf` always; `eol=lf`
 * never; `ident` and `working-tree-encoding` always count. Anything else unexpected counts too.
 * `known`: the paths' attributes when already asked for (with CONVERTING_ATTRIBUTES).
 */
export function checkoutConverts(root: string, paths: readonly string[], known?: PathAttributes): Set<string> {
  if (paths.length === 0) return new Set();
  // Both settings in one git: the last value of each wins, as for git itself.
  const core = new Map<string, string>();
  for (const line of (gitMaybe(['config', '--get-regexp', '^core\\.(autocrlf|eol)$'], { cwd: root }) ?? '').split('\n').filter(Boolean)) {
    const i = line.indexOf(' ');
    core.set(i < 0 ? line : line.slice(0, i), i < 0 ? 'true' : line.slice(i + 1)); // a key with no "=" is a true boolean
  }
  if (gitBool(core.get('core.autocrlf'))) return new Set(paths);
  const coreEol = core.get('core.eol')?.toLowerCase() ?? 'native';
  const crlfText = coreEol === 'crlf' || (coreEol === 'native' && process.platform === 'win32');
  const asked = (a: Record<string, string> | undefined) => a !== undefined && CONVERTING_ATTRIBUTES.every((n) => n in a);
  const attrs = known && paths.every((p) => asked(known.get(p))) ? known : attributesOf(root, paths, CONVERTING_ATTRIBUTES);
  const off = (v: string | undefined) => v === undefined || v === 'unspecified' || v === 'unset';
  const hits = new Set<string>();
  for (const path of paths) {
    const a = attrs.get(path) ?? {};
    const { text, eol } = a;
    const eolConverts = eol === 'lf' ? false : eol === 'crlf' ? true : !off(eol) ? true : text === 'set' || text === 'auto' ? crlfText : !off(text);
    if (eolConverts || !off(a.ident) || !off(a['working-tree-encoding'])) hits.add(path);
  }
  return hits;
}

/** A git config boolean's truth: true, yes, on or a non-zero number (any case); anything else is not. */
function gitBool(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  return v === 'true' || v === 'yes' || v === 'on' || (/^-?\d+$/.test(v) && Number(v) !== 0);
}

/** Tracked files (in the index) that .gitattributes marks for git-seal. */
export function trackedSealedFiles(root: string): string[] {
  const files = listIndex(root).paths;
  const hits = sealedByAttributes(root, files);
  return files.filter((f) => hits.has(f));
}
