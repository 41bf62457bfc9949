/** The import graph of src/: every import resolves, and there is no cycle (see docs/ARCHITECTURE.md). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a module (static and dynamic; `import type` too, since a type cycle is still a design cycle). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(relative(SRC, resolve(dirname(file), m[1].replace(/\.js$/, '.ts'))));
  }
  return out;
}

const graph = new Map(files(SRC).map((f) => [relative(SRC, f), importsOf(f)]));

function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe('architecture', () => {
  it('every relative import resolves to a module of src/', () => {
    for (const [mod, deps] of graph) for (const d of deps) expect(graph.has(d), `${mod} imports ${d}`).toBe(true);
  });

  it('has no import cycle', () => {
    expect(cycles().map((c) => c.join(' -> '))).toEqual([]);
  });
});
