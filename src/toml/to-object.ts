import { decodeScalar } from './scalars.js';
import type { PathSegment, TomlDocument, TomlScalar } from './types.js';

export type TomlPlain = string | number | bigint | boolean | TomlPlain[] | { [key: string]: TomlPlain };

function plainValue(s: TomlScalar): TomlPlain {
  return s.value;
}

/**
 * Build a plain object from a scanned document. Integers stay bigint; date-times stay text.
 * Empty arrays and tables have no scalars, so they are absent: read them with defaults.
 */
export function toObject(doc: TomlDocument, text: string): Record<string, TomlPlain> {
  const root: Record<string, TomlPlain> = {};
  for (const s of doc.scalars) {
    let node: Record<string | number, TomlPlain> = root;
    const path: PathSegment[] = s.path;
    for (let i = 0; i < path.length - 1; i++) {
      const seg = path[i];
      const nextIsIndex = typeof path[i + 1] === 'number';
      if (node[seg] === undefined) node[seg] = nextIsIndex ? [] : {};
      node = node[seg] as Record<string | number, TomlPlain>;
    }
    node[path[path.length - 1]] = plainValue(decodeScalar(text.slice(s.start, s.end), s.kind));
  }
  return root;
}
