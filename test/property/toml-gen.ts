import fc from 'fast-check';
import type { PathSegment } from '../../src/toml/index.js';

/**
 * fast-check generators for valid TOML 1.0 documents, with the scalars they contain (raw text, path,
 * and for single-line strings the decoded value), so a test can check the scanner exactly.
 * Key and table names are made unique by construction (a counter), so every document is valid.
 */

export interface Leaf {
  path: PathSegment[];
  raw: string;
  /** The decoded value, for single-line strings. */
  decoded?: string;
}

export interface GeneratedToml {
  text: string;
  leaves: Leaf[];
  eol: '\n' | '\r\n';
}

type KeyStyle = 'bare' | 'basic' | 'literal';
interface KeyPlan {
  style: KeyStyle;
  extra: string;
}
type ValuePlan =
  | { t: 'scalar'; raw: string; decoded?: string }
  | { t: 'mlstring'; raw: (eol: string) => string }
  | { t: 'array'; items: ValuePlan[]; trailingComma: boolean; multiline: boolean; comment: string | null }
  | { t: 'inline'; entries: { keys: KeyPlan[]; value: ValuePlan }[] };
interface EntryPlan {
  keys: KeyPlan[];
  value: ValuePlan;
  eq: string;
  comment: string | null;
}
interface TablePlan {
  kind: 'table' | 'dotted' | 'array';
  count: number;
  entries: EntryPlan[];
  headerSpace: boolean;
}
interface DocPlan {
  crlf: boolean;
  finalNewline: boolean;
  leadingComment: string | null;
  root: EntryPlan[];
  tables: TablePlan[];
  blankLines: boolean;
}

/** Text from single characters (a regex class would split the emoji into lone surrogates). */
const textOf = (chars: fc.Arbitrary<string>, maxLength: number) => fc.array(fc.oneof({ weight: 9, arbitrary: chars }, { weight: 1, arbitrary: fc.constant('😀') }), { maxLength }).map((cs) => cs.join(''));
const commentText = textOf(fc.stringMatching(/^[ a-zA-Z0-9#"'=[\]{}.,é\t-]$/), 16);

/** One character of a basic string: [raw form, decoded]. */
const basicChar = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9 #=[\]{}.,'-]$/).map((c) => [c, c] as const),
  fc.constantFrom<readonly [string, string]>(
    ['\\"', '"'],
    ['\\\\', '\\'],
    ['\\n', '\n'],
    ['\\t', '\t'],
    ['\t', '\t'],
    ['\\r', '\r'],
    ['\\b', '\b'],
    ['\\f', '\f'],
    ['\\u0001', '\u0001'],
    ['\\u00E9', 'é'],
    ['é', 'é'],
    ['😀', '😀'],
    ['\\U0001F600', '😀'],
    ['ENC[', 'ENC['],
  ),
);

const basicString = fc.array(basicChar, { maxLength: 12 }).map((cs) => ({ t: 'scalar' as const, raw: `"${cs.map((c) => c[0]).join('')}"`, decoded: cs.map((c) => c[1]).join('') }));
const literalString = textOf(fc.stringMatching(/^[a-zA-Z0-9 "#=\\[\]{}.,é\t-]$/), 12).map((s) => ({ t: 'scalar' as const, raw: `'${s}'`, decoded: s }));
const mlBasic = fc
  .tuple(fc.boolean(), fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9 '#=é]{1,6}$/), fc.constant('\n'), fc.constant('\\n'), fc.constant('\\\\'), fc.constant('\\\n   ')), { maxLength: 6 }))
  .map(([lead, parts]) => ({ t: 'mlstring' as const, raw: (eol: string) => `"""${lead ? eol : ''}${parts.join('').replace(/\n/g, eol)}"""` }));
const mlLiteral = fc
  .tuple(fc.boolean(), fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9 "#=\\é]{1,6}$/), fc.constant('\n')), { maxLength: 6 }))
  .map(([lead, parts]) => ({ t: 'mlstring' as const, raw: (eol: string) => `'''${lead ? eol : ''}${parts.join('').replace(/\n/g, eol)}'''` }));

const digits = (re: RegExp) => fc.stringMatching(re).map((d) => d);
const integer = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => String(n)),
  fc.constantFrom('+17', '-0', '+0', '1_000', '5_349_221', '0xDEADBEEF', '0xdead_beef', '0o755', '0o01234567', '0b11010110', '0b1_0'),
  digits(/^[1-9](_?[0-9]){0,8}$/),
);
const float = fc.constantFrom('1.5', '+1.0', '-0.0', '3.1415', '-0.01', '5e+22', '1e06', '-2E-2', '6.626e-34', '224_617.445_991', 'inf', '+inf', '-inf', 'nan', '+nan', '-nan');
const datetime = fc.constantFrom(
  '1979-05-27T07:32:00Z',
  '1979-05-27T00:32:00-07:00',
  '1979-05-27T00:32:00.999999-07:00',
  '1979-05-27 07:32:00Z',
  '1979-05-27t07:32:00z',
  '1979-05-27T07:32:00',
  '1979-05-27T00:32:00.999999',
  '1979-05-27',
  '07:32:00',
  '00:32:00.999999',
);
const scalar = fc.oneof(
  { weight: 4, arbitrary: basicString },
  { weight: 2, arbitrary: literalString },
  { weight: 1, arbitrary: mlBasic },
  { weight: 1, arbitrary: mlLiteral },
  { weight: 2, arbitrary: integer.map((raw) => ({ t: 'scalar' as const, raw })) },
  { weight: 1, arbitrary: float.map((raw) => ({ t: 'scalar' as const, raw })) },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false').map((raw) => ({ t: 'scalar' as const, raw })) },
  { weight: 1, arbitrary: datetime.map((raw) => ({ t: 'scalar' as const, raw })) },
);

const keyPlan: fc.Arbitrary<KeyPlan> = fc.record({
  style: fc.constantFrom<KeyStyle>('bare', 'bare', 'basic', 'literal'),
  extra: fc.constantFrom('', ' x', '.y', 'é', ' a.b', '😀'),
});
const keyPath = fc.array(keyPlan, { minLength: 1, maxLength: 3 });

const { value } = fc.letrec<{ value: ValuePlan; array: ValuePlan; inline: ValuePlan }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, { weight: 6, arbitrary: scalar }, { weight: 1, arbitrary: tie('array') }, { weight: 1, arbitrary: tie('inline') }),
  array: fc.record({
    t: fc.constant('array' as const),
    items: fc.array(tie('value'), { maxLength: 4 }),
    trailingComma: fc.boolean(),
    multiline: fc.boolean(),
    comment: fc.option(commentText, { nil: null }),
  }),
  inline: fc.record({
    t: fc.constant('inline' as const),
    entries: fc.array(fc.record({ keys: keyPath, value: tie('value') }), { maxLength: 3 }),
  }),
}));

const entry: fc.Arbitrary<EntryPlan> = fc.record({
  keys: keyPath,
  value,
  eq: fc.constantFrom(' = ', '=', '\t=  '),
  comment: fc.option(commentText, { nil: null }),
});

const table: fc.Arbitrary<TablePlan> = fc.record({
  kind: fc.constantFrom<TablePlan['kind']>('table', 'dotted', 'array'),
  count: fc.integer({ min: 1, max: 3 }),
  entries: fc.array(entry, { maxLength: 4 }),
  headerSpace: fc.boolean(),
});

const docPlan: fc.Arbitrary<DocPlan> = fc.record({
  crlf: fc.boolean(),
  finalNewline: fc.boolean(),
  leadingComment: fc.option(commentText, { nil: null }),
  root: fc.array(entry, { maxLength: 5 }),
  tables: fc.array(table, { maxLength: 4 }),
  blankLines: fc.boolean(),
});

function render(plan: DocPlan): GeneratedToml {
  const eol = plan.crlf ? '\r\n' : '\n';
  let n = 0;
  const leaves: Leaf[] = [];
  const key = (k: KeyPlan): [string, string] => {
    const name = `k${n++}${k.style === 'bare' ? '' : k.extra}`;
    if (k.style === 'bare') return [name, name];
    if (k.style === 'literal') return [`'${name}'`, name];
    return [`"${name.replace(/é/g, '\\u00e9')}"`, name];
  };
  const keys = (ks: KeyPlan[]): [string, string[]] => {
    const parts = ks.map(key);
    return [parts.map((p) => p[0]).join(ks.length > 1 && ks[0].style === 'bare' ? ' . ' : '.'), parts.map((p) => p[1])];
  };
  const val = (v: ValuePlan, path: PathSegment[]): string => {
    switch (v.t) {
      case 'scalar':
        leaves.push({ path, raw: v.raw, ...(v.decoded !== undefined ? { decoded: v.decoded } : {}) });
        return v.raw;
      case 'mlstring': {
        const raw = v.raw(eol);
        leaves.push({ path, raw });
        return raw;
      }
      case 'array': {
        const sep = v.multiline ? `${v.comment !== null ? ` #${v.comment}` : ''}${eol}  ` : ' ';
        const items = v.items.map((it, i) => val(it, [...path, i]));
        if (items.length === 0) return v.multiline ? `[${eol}]` : '[]';
        return `[${v.multiline ? sep : ''}${items.join(`,${sep}`)}${v.trailingComma ? ',' : ''}${v.multiline ? eol : ''}]`;
      }
      case 'inline': {
        const parts = v.entries.map((e) => {
          const [k, segs] = keys(e.keys);
          return `${k} = ${val(e.value, [...path, ...segs])}`;
        });
        return parts.length ? `{ ${parts.join(', ')} }` : '{}';
      }
    }
  };
  const entries = (es: EntryPlan[], prefix: PathSegment[]): string =>
    es
      .map((e) => {
        const [k, segs] = keys(e.keys);
        return `${k}${e.eq}${val(e.value, [...prefix, ...segs])}${e.comment !== null ? ` #${e.comment}` : ''}${eol}`;
      })
      .join('');
  let text = plan.leadingComment !== null ? `#${plan.leadingComment}${eol}` : '';
  text += entries(plan.root, []);
  for (const t of plan.tables) {
    if (plan.blankLines) text += eol;
    const sp = t.headerSpace ? ' ' : '';
    if (t.kind === 'array') {
      const [k, segs] = keys([{ style: 'bare', extra: '' }]);
      for (let i = 0; i < t.count; i++) text += `[[${sp}${k}${sp}]]${eol}` + entries(i === 0 ? t.entries : t.entries.slice(0, 1), [...segs, i]);
    } else {
      const [k, segs] = keys(t.kind === 'dotted' ? [{ style: 'bare', extra: '' }, { style: 'basic', extra: ' x' }] : [{ style: 'literal', extra: '.y' }]);
      text += `[${sp}${k}${sp}]${eol}` + entries(t.entries, segs);
    }
  }
  if (!plan.finalNewline) text = text.replace(/\r?\n$/, '');
  return { text, leaves, eol };
}

/** A random valid TOML document with its expected scalars. */
export const tomlDocument: fc.Arbitrary<GeneratedToml> = docPlan.map(render);
