/**
 * File patterns with exactly the meaning git gives them in a top-level `.gitattributes` (wildmatch with
 * WM_PATHNAME, gitattributes(5)), so that git and git-seal can never disagree about which files are
 * secrets files. A pattern is matched against the whole repository-relative path:
 *
 * - `*` matches any run of characters but `/`, `?` one character but `/`, `[…]` one character of a set
 *   (`[!…]` and `[^…]` negate; never `/`), `\x` the character x;
 * - `**` as a whole path segment (`**∕x`, `a/**∕b`, `a/**`) matches any number of directories.
 *
 * Profiles may also use brace lists (`config/{prod,staging}.toml`), which git does not know: they are
 * expanded here into one pattern per alternative, and each gets its own `.gitattributes` line. Forms that
 * git reads differently from what they suggest (extglobs, negation, `./`, a trailing `/`, …) are refused.
 */

export class PatternError extends Error {}

const MAX_EXPANSION = 256;

/** Expand `{a,b}` lists (nested allowed, `\{` `\}` `\,` literal); a brace that is not a list is an error. */
function expandBraces(glob: string): string[] {
  const open = findBraceOpen(glob);
  if (open < 0) {
    if (/(^|[^\\])(\\\\)*\}/.test(glob)) throw new PatternError("has an unmatched '}' (write \\} for a literal brace)");
    return [glob];
  }
  let depth = 0;
  const cuts: number[] = [];
  let close = -1;
  for (let i = open; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      close = i;
      break;
    } else if (c === ',' && depth === 1) cuts.push(i);
  }
  if (close < 0) throw new PatternError("has an unmatched '{' (write \\{ for a literal brace)");
  if (cuts.length === 0) throw new PatternError("has a brace group without ',' (list alternatives as {a,b}, or write \\{ for a literal brace)");
  const bounds = [open, ...cuts, close];
  const out: string[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const alt = glob.slice(0, open) + glob.slice(bounds[k] + 1, bounds[k + 1]) + glob.slice(close + 1);
    for (const e of expandBraces(alt)) {
      out.push(e);
      if (out.length > MAX_EXPANSION) throw new PatternError(`expands to more than ${MAX_EXPANSION} patterns`);
    }
  }
  return [...new Set(out)];
}

function findBraceOpen(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '{') return i;
  }
  return -1;
}

/** Why git would read a (brace-free) pattern differently from what it says, or null when it is fine. */
function patternProblem(p: string): string | null {
  if (p === '') return 'is empty';
  if (/[\0-\x1f\x7f]/.test(p)) return 'contains a control character';
  if (p.startsWith('!')) return "starts with '!': .gitattributes has no negative patterns (list only the files to seal; write \\! for a literal '!')";
  if (p.startsWith('[attr]')) return "starts with '[attr]', which .gitattributes reads as a macro definition";
  if (/(^|[^\\])(\\\\)*\\$/.test(p)) return 'ends with a lone backslash';
  if (/(^|[^\\])(\\\\)*[@!+?*]\(/.test(p)) return 'uses an extglob such as @(…), !(…), +(…), ?(…) or *(…), which git does not support (list the alternatives as {a,b})';
  const body = p.startsWith('/') ? p.slice(1) : p;
  if (body.endsWith('/')) return "ends with '/': in .gitattributes that matches no file (use dir/** for everything below dir)";
  const segments = body.split('/');
  if (segments.some((s) => s === '')) return "has an empty path segment ('//')";
  if (segments.some((s) => s === '.' || s === '..')) return "has a '.' or '..' segment (write the path from the repository root without './')";
  for (const s of segments) {
    if (s.includes('**') && !/^\*+$/.test(s)) return "uses '**' inside a name: '**' must be a whole path segment (a/**/b); use '*' within a name";
  }
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === '[') {
      const end = classEnd(p, i);
      if (end < 0) return "has an unterminated '[' (write \\[ for a literal bracket)";
      if (p.slice(i, end).includes('[:')) return 'uses a [:class:] character class (list the characters, as in [a-z0-9])';
      i = end;
    }
  }
  return null;
}

/** Index of the `]` closing the class opened at `open`, or -1 (git's rules: a leading `]` is literal). */
function classEnd(p: string, open: number): number {
  let i = open + 1;
  if (p[i] === '!' || p[i] === '^') i++;
  if (p[i] === ']') i++;
  for (; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === ']') return i;
  }
  return -1;
}

/** The patterns a profile glob stands for, brace lists expanded; throws PatternError naming the problem. */
export function gitPatterns(glob: string): string[] {
  const expanded = expandBraces(glob);
  for (const p of expanded) {
    const why = patternProblem(p);
    if (why) throw new PatternError(expanded.length > 1 ? `expands to '${p}', which ${why}` : why);
  }
  return expanded;
}

const reEscape = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** A byte as a regular-expression class member (patterns and paths are matched as UTF-8 bytes, as git does). */
const classChar = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** A `[…]` class as a regular expression, read the way git's wildmatch reads it. */
function classToRegex(p: string, open: number): string {
  let i = open + 1;
  let negated = false;
  if (p[i] === '!' || p[i] === '^') {
    negated = true;
    i++;
  }
  let members = '';
  let prev: string | null = null; // the character a following '-' starts a range from
  let c: string | null = p[i];
  do {
    if (c === '\\') {
      c = p[++i];
      members += classChar(c);
    } else if (c === '-' && prev !== null && p[i + 1] !== undefined && p[i + 1] !== ']') {
      let hi = p[++i];
      if (hi === '\\') hi = p[++i];
      if (hi >= prev) members += `${classChar(prev)}-${classChar(hi)}`;
      c = null; // after a range, a '-' is literal again
    } else members += classChar(c!);
    prev = c;
    c = p[++i];
  } while (c !== ']');
  return negated ? `(?!/)[^${members}]` : `(?!/)[${members}]`;
}

/** Compile one validated pattern to a regular expression over the path's UTF-8 bytes (as latin1). */
function compile(pattern: string): RegExp {
  const p = Buffer.from(pattern.startsWith('/') ? pattern.slice(1) : pattern, 'utf8').toString('latin1');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') {
      let j = i;
      while (p[j + 1] === '*') j++;
      const whole = j > i && (i === 0 || p[i - 1] === '/') && (j + 1 === p.length || p[j + 1] === '/');
      if (!whole) re += '[^/]*';
      else if (j + 1 === p.length) re += '.*';
      else {
        re += '(?:.*/)?';
        j++; // the '/' after '**' is part of the optional group
      }
      i = j;
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      re += classToRegex(p, i);
      i = classEnd(p, i);
    } else if (c === '\\') re += reEscape(p[++i]);
    else re += reEscape(c);
  }
  return new RegExp(`^${re}$`, 's');
}

/** One function matching repository-relative paths against validated patterns, the way git does. */
export function patternMatcher(patterns: readonly string[]): (path: string) => boolean {
  const res = patterns.map(compile);
  return (path) => {
    const bytes = Buffer.from(path, 'utf8').toString('latin1');
    return res.some((r) => r.test(bytes));
  };
}

/**
 * The pattern as written in a top-level .gitattributes line: anchored with `/` when it has no slash
 * (git would otherwise match the name in every directory), C-quoted when git would split or skip it.
 */
export function attributePattern(pattern: string): string {
  const anchored = anchoredPattern(pattern);
  if (!/[\s"#]/.test(anchored)) return anchored;
  return `"${anchored.replace(/[\\"]/g, '\\$&').replace(/\t/g, '\\t')}"`;
}

/** The pattern with a leading `/` when it has no slash, so that git matches it from the root only. */
export function anchoredPattern(pattern: string): string {
  return pattern.includes('/') ? pattern : `/${pattern}`;
}

/** The pattern of a .gitattributes line (unquoted), or null for blank lines, comments and macros. */
export function attributeLinePattern(line: string): { pattern: string; rest: string } | null {
  const s = line.replace(/^[ \t]+/, '');
  if (s === '' || s.startsWith('#')) return null;
  if (s.startsWith('"')) {
    let out = '';
    for (let i = 1; i < s.length; i++) {
      const c = s[i];
      if (c === '"') return { pattern: out, rest: s.slice(i + 1) };
      if (c !== '\\') out += c;
      else {
        const n = s[++i];
        out += n === 't' ? '\t' : n === 'n' ? '\n' : n;
      }
    }
    // An unterminated quote: git reads the line unquoted.
  }
  const m = /^(\S+)(.*)$/s.exec(s)!;
  return { pattern: m[1], rest: m[2] };
}
