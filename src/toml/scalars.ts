import { checkAtom, normalizeDateTime } from './atoms.js';
import { syntaxError, TomlSyntaxError } from './errors.js';
import { readString, type Fail } from './strings.js';
import type { ScalarKind, TomlScalar } from './types.js';

/** Decodes one scalar token (exactly its source text, as reported by scanToml) into a typed value. */
export function decodeScalar(text: string, kind: ScalarKind): TomlScalar {
  if (kind === 'string') return { kind, value: decodeString(text) };
  const check = checkAtom(text);
  if (check.kind !== kind) throw new TomlSyntaxError(1, 1, check.reason ?? `expected a ${kind} value`);
  switch (kind) {
    case 'integer':
      return { kind, value: BigInt(text.replace(/_/g, '')) };
    case 'float':
      return { kind, value: decodeFloat(text.replace(/_/g, '')) };
    case 'boolean':
      return { kind, value: text === 'true' };
    default:
      return { kind, value: normalizeDateTime(text) };
  }
}

function decodeString(text: string): string {
  const fail: Fail = (reason, index) => {
    throw syntaxError(text, index, reason);
  };
  if (text[0] !== '"' && text[0] !== "'") fail('expected a string', 0);
  const token = readString(text, 0, fail);
  if (token.end !== text.length) fail('unexpected text after string', token.end);
  return token.value;
}

function decodeFloat(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1;
  const unsigned = text.replace(/^[+-]/, '');
  if (unsigned === 'inf') return sign * Infinity;
  if (unsigned === 'nan') return NaN;
  return Number(text);
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r',
};
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Renders `s` as a one-line TOML basic string (escapes use only TOML 1.0 forms). */
export function formatBasicString(s: string): string {
  if (LONE_SURROGATE.test(s)) throw new RangeError('string contains a lone surrogate; it cannot be written as TOML');
  const escaped = s.replace(/["\\\x00-\x1f\x7f]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  return `"${escaped}"`;
}
