/** A key name, or an index into an array (static array or array of tables). */
export type PathSegment = string | number;

export type ScalarKind =
  | 'string'
  | 'integer'
  | 'float'
  | 'boolean'
  | 'offset-datetime'
  | 'local-datetime'
  | 'local-date'
  | 'local-time';

/** One scalar value token. `source.slice(start, end)` is exactly the token (quotes included). */
export interface ScalarSpan {
  /** Full path: table header keys, array-of-tables index, dotted keys, inline-table keys, array indices. */
  path: PathSegment[];
  start: number;
  end: number;
  kind: ScalarKind;
  /** 1-based line and column (code points) of `start`. */
  line: number;
  col: number;
}

/** One line-level `key = value` (entries inside inline tables are not listed). */
export interface KeyValueSpan {
  path: PathSegment[];
  /** The key as written (may be dotted or quoted). */
  keyStart: number;
  keyEnd: number;
  /** The whole value: scalar, array or inline table. */
  valueStart: number;
  valueEnd: number;
  /** 1-based line of the key. */
  line: number;
}

/** A `[a.b]` or `[[a]]` header; `path` is the table it opens (for `[[a]]`, ends with the new element's index). */
export interface TableHeaderSpan {
  path: PathSegment[];
  arrayOfTables: boolean;
  start: number;
  end: number;
  line: number;
}

export interface TomlDocument {
  /** In source order. */
  scalars: ScalarSpan[];
  entries: KeyValueSpan[];
  tables: TableHeaderSpan[];
  /** The first line ending in the file; '\n' when there is none. */
  eol: '\n' | '\r\n';
}

export type TomlScalar =
  | { kind: 'string'; value: string }
  | { kind: 'integer'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'boolean'; value: boolean }
  | {
      kind: 'offset-datetime' | 'local-datetime' | 'local-date' | 'local-time';
      /** Normalised: 'T' and 'Z' upper case, a space separator becomes 'T', missing seconds become ':00'. */
      value: string;
    };
