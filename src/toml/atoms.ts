import type { ScalarKind } from './types.js';

/** Result of checking a bare value token (number, boolean or date-time). */
export type AtomCheck = { kind: ScalarKind; reason?: undefined } | { kind?: undefined; reason: string };

const DECIMAL_INT = /^[+-]?(?:0|[1-9](?:_?[0-9])*)$/;
const PREFIXED_INT = /^0(?:x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*|o[0-7](?:_?[0-7])*|b[01](?:_?[01])*)$/;
const FLOAT = /^[+-]?(?:0|[1-9](?:_?[0-9])*)(?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?$/;
const SPECIAL_FLOAT = /^[+-]?(?:inf|nan)$/;
const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_TIME = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Index just past the bare value token starting at `start` (a date, a space, then a time is one token). */
export function atomEnd(src: string, start: number): number {
  let i = start;
  while (i < src.length && isAtomChar(src.charCodeAt(i))) i++;
  if (i - start === 10 && src[i] === ' ' && isDigit(src.charCodeAt(i + 1)) && /^\d{4}-\d{2}-\d{2}$/.test(src.slice(start, i))) {
    i++;
    while (i < src.length && isAtomChar(src.charCodeAt(i))) i++;
  }
  return i;
}

function isAtomChar(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2b || c === 0x2d || c === 0x2e || c === 0x3a;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Classifies and validates a bare value token; the reason never quotes the token. */
export function checkAtom(text: string): AtomCheck {
  if (text === 'true' || text === 'false') return { kind: 'boolean' };
  if (SPECIAL_FLOAT.test(text)) return { kind: 'float' };
  if (/^\d+[-:]/.test(text)) return checkDateTime(text);
  if (DECIMAL_INT.test(text) || PREFIXED_INT.test(text)) {
    const value = BigInt(text.replace(/_/g, ''));
    return value < INT64_MIN || value > INT64_MAX ? { reason: 'integer does not fit in 64 bits' } : { kind: 'integer' };
  }
  if (FLOAT.test(text)) return { kind: 'float' };
  return { reason: numberReason(text) };
}

function numberReason(text: string): string {
  if (text === '') return 'expected a value';
  if (/^[A-Za-z]/.test(text)) return 'invalid value (strings must be quoted)';
  if (/^[+-]0[xob]/i.test(text)) return 'a hexadecimal, octal or binary integer cannot have a sign';
  if (/^[+-]?0[XOB]/.test(text)) return "integer prefixes '0x', '0o' and '0b' must be lower case";
  if (/^[+-]?0[0-9_]/.test(text)) return 'leading zeros are not allowed';
  if (/__|^[+-]?_|_$|_[^0-9A-Fa-f]|[^0-9A-Fa-f]_/.test(text)) return 'an underscore must be between two digits';
  return 'invalid number';
}

interface DateTimeParts {
  date?: [year: string, month: string, day: string];
  time?: [hour: string, minute: string, second: string | undefined, fraction: string | undefined];
  offset?: string; // 'Z' or '+hh:mm'
}

function splitDateTime(text: string): DateTimeParts | undefined {
  let m = DATE_TIME.exec(text);
  if (m) {
    const offset = m[8]?.toUpperCase();
    return { date: [m[1], m[2], m[3]], time: [m[4], m[5], m[6], m[7]], offset };
  }
  if ((m = LOCAL_DATE.exec(text))) return { date: [m[1], m[2], m[3]] };
  if ((m = LOCAL_TIME.exec(text))) return { time: [m[1], m[2], m[3], m[4]] };
  return undefined;
}

function checkDateTime(text: string): AtomCheck {
  const parts = splitDateTime(text);
  if (!parts) return { reason: 'invalid date-time' };
  if (parts.date) {
    const [year, month, day] = parts.date.map(Number);
    if (month < 1 || month > 12) return { reason: 'month out of range' };
    if (day < 1 || day > daysInMonth(year, month)) return { reason: 'day out of range for its month' };
  }
  if (parts.time) {
    const [hour, minute, second] = parts.time.map((p) => Number(p ?? 0));
    if (hour > 23) return { reason: 'hour out of range' };
    if (minute > 59) return { reason: 'minute out of range' };
    if (second > 60) return { reason: 'second out of range' };
  }
  if (parts.offset && parts.offset !== 'Z') {
    if (Number(parts.offset.slice(1, 3)) > 23 || Number(parts.offset.slice(4)) > 59) return { reason: 'time offset out of range' };
  }
  if (!parts.time) return { kind: 'local-date' };
  if (!parts.date) return { kind: 'local-time' };
  return { kind: parts.offset ? 'offset-datetime' : 'local-datetime' };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A valid date-time token rewritten with 'T', 'Z' and explicit seconds. */
export function normalizeDateTime(text: string): string {
  const parts = splitDateTime(text);
  if (!parts) return text;
  const date = parts.date?.join('-');
  const time = parts.time && `${parts.time[0]}:${parts.time[1]}:${parts.time[2] ?? '00'}${parts.time[3] ?? ''}`;
  return [date, time].filter((p) => p !== undefined).join('T') + (parts.offset ?? '');
}
