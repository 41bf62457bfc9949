import type { Fail } from './strings.js';
import type { PathSegment } from './types.js';

/**
 * How a table came to exist, which decides what may still add to it:
 * - implicit: named as a parent in a header (`[a.b]` makes `a`); a later `[a]` may still define it.
 * - header: defined by its own `[a]` / `[[a]]` header.
 * - dotted: made by a dotted key (`a.b = 1` makes `a`); only more dotted keys in the same place may extend it.
 * - inline: an inline table, closed and immutable.
 */
export type TableOrigin = 'implicit' | 'header' | 'dotted' | 'inline';

export interface TableNode {
  type: 'table';
  origin: TableOrigin;
  children: Map<string, TreeNode>;
}
export interface ArrayOfTablesNode {
  type: 'array-of-tables';
  items: TableNode[];
}
/** A scalar or a static array: nothing can be added to it. */
export interface ValueNode {
  type: 'value';
  isArray: boolean;
}
export type TreeNode = TableNode | ArrayOfTablesNode | ValueNode;

/** One part of a (possibly dotted) key, with the source index where it starts. */
export interface KeyPart {
  name: string;
  start: number;
}

export function newTable(origin: TableOrigin): TableNode {
  return { type: 'table', origin, children: new Map() };
}

/** Tracks what every key defines, and rejects redefinitions. */
export class DefinitionTree {
  readonly root = newTable('header');

  constructor(private readonly fail: Fail) {}

  /** Handles a `[a.b]` (or `[[a.b]]`) header; returns the table it opens and its full path. */
  openTable(keys: KeyPart[], arrayOfTables: boolean): { table: TableNode; path: PathSegment[] } {
    const path: PathSegment[] = [];
    let table = this.root;
    for (const key of keys.slice(0, -1)) {
      path.push(key.name);
      const child = table.children.get(key.name);
      if (child === undefined) {
        const created = newTable('implicit');
        table.children.set(key.name, created);
        table = created;
      } else if (child.type === 'array-of-tables') {
        path.push(child.items.length - 1);
        table = child.items[child.items.length - 1];
      } else if (child.type === 'table' && child.origin !== 'inline') {
        table = child;
      } else {
        this.fail(cannotExtend(child, path), key.start);
      }
    }
    const last = keys[keys.length - 1];
    path.push(last.name);
    const existing = table.children.get(last.name);
    if (arrayOfTables) {
      let array = existing;
      if (array === undefined) {
        array = { type: 'array-of-tables', items: [] };
        table.children.set(last.name, array);
      } else if (array.type !== 'array-of-tables') {
        this.fail(
          array.type === 'value' && array.isArray
            ? `cannot append to static array '${keyName(path)}'`
            : `'${keyName(path)}' is already defined and is not an array of tables`,
          last.start,
        );
      }
      const element = newTable('header');
      array.items.push(element);
      path.push(array.items.length - 1);
      return { table: element, path };
    }
    if (existing === undefined) {
      const created = newTable('header');
      table.children.set(last.name, created);
      return { table: created, path };
    }
    if (existing.type === 'table' && existing.origin === 'implicit') {
      existing.origin = 'header';
      return { table: existing, path };
    }
    this.fail(redefinition(existing, path), last.start);
  }

  /** Defines `keys = value` (keys relative to `table`, the current section or an inline table). */
  define(table: TableNode, keys: KeyPart[], value: TreeNode, prefix: PathSegment[]): void {
    const path = [...prefix];
    for (const key of keys.slice(0, -1)) {
      path.push(key.name);
      let child = table.children.get(key.name);
      if (child === undefined) {
        child = newTable('dotted');
        table.children.set(key.name, child);
      } else if (child.type !== 'table' || child.origin !== 'dotted') {
        this.fail(cannotExtend(child, path), key.start);
      }
      table = child;
    }
    const last = keys[keys.length - 1];
    path.push(last.name);
    if (table.children.has(last.name)) this.fail(`duplicate key '${keyName(path)}'`, last.start);
    table.children.set(last.name, value);
  }
}

function cannotExtend(node: TreeNode, path: PathSegment[]): string {
  const name = keyName(path);
  if (node.type === 'value') return `'${name}' is ${node.isArray ? 'a static array' : 'a value'}, not a table`;
  if (node.type === 'array-of-tables') return `cannot add to array of tables '${name}' with a dotted key`;
  if (node.origin === 'inline') return `cannot add to inline table '${name}'`;
  return `cannot use dotted keys to add to table '${name}' (created by a [table] header)`;
}

function redefinition(node: TreeNode, path: PathSegment[]): string {
  const name = keyName(path);
  if (node.type === 'value') return `'${name}' is already defined as ${node.isArray ? 'a static array' : 'a value'}`;
  if (node.type === 'array-of-tables') return `'${name}' is already defined as an array of tables`;
  if (node.origin === 'dotted') return `table '${name}' is already defined by dotted keys`;
  if (node.origin === 'inline') return `table '${name}' is already defined as an inline table`;
  return `table '${name}' is already defined`;
}

/** A key path for messages: bare names as is, others quoted; array indices are left out. */
function keyName(path: PathSegment[]): string {
  return path
    .filter((p): p is string => typeof p === 'string')
    .map((p) => (/^[A-Za-z0-9_-]+$/.test(p) ? p : JSON.stringify(p)))
    .join('.');
}
