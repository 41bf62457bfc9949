import { GitSealError } from '../errors.js';
import type { PathSegment } from '../toml/index.js';
import { readString } from '../toml/strings.js';

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** Human form of a key path for messages: `sources.stripe.api_key`, `products[1].name`, `"a.b".c`. */
export function formatKeyPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += (out ? '.' : '') + (BARE_KEY.test(seg) ? seg : JSON.stringify(seg));
  }
  return out;
}

const BARE_KEY_CHAR = /^[A-Za-z0-9_-]$/;
const PATH_HINT = 'write it like sources.stripe.api_key; quote names with other characters, e.g. servers."db.example".password';

/** Parse a key path as typed on the command line: TOML dotted keys, plus `[N]` for array items. */
export function parseKeyPath(input: string): PathSegment[] {
  const fail = (why: string): never => {
    throw new GitSealError(`invalid key path '${input}': ${why}`, PATH_HINT);
  };
  const path: PathSegment[] = [];
  let i = 0;
  const skipSpaces = () => {
    while (input[i] === ' ' || input[i] === '\t') i++;
  };
  for (;;) {
    skipSpaces();
    const c = input[i];
    if (c === '"' || c === "'") {
      if (input.startsWith(c.repeat(3), i)) fail('multi-line strings cannot be keys');
      const token = readString(input, i, (reason) => fail(reason));
      path.push(token.value);
      i = token.end;
    } else {
      const start = i;
      while (i < input.length && BARE_KEY_CHAR.test(input[i])) i++;
      if (i === start) fail(i >= input.length ? 'a key name is missing' : `'${input[i]}' must be inside a quoted key name`);
      path.push(input.slice(start, i));
    }
    while (input[i] === '[') {
      const m = /^\[(\d+)\]/.exec(input.slice(i));
      if (!m) fail('array indices are written [N]');
      path.push(Number(m![1]));
      i += m![0].length;
    }
    skipSpaces();
    if (i >= input.length) return path;
    if (input[i] !== '.') fail(`'${input[i]}' must be inside a quoted key name`);
    i++;
  }
}
