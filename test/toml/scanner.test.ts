import { describe, expect, it } from 'vitest';
import {
  decodeScalar,
  decodeUtf8,
  formatBasicString,
  scanToml,
  TomlSyntaxError,
  type TomlDocument,
} from '../../src/toml/index.js';

/** [path, token text] for every scalar. */
function scalarsOf(source: string): [string, string][] {
  return scanToml(source).scalars.map((s) => [JSON.stringify(s.path), source.slice(s.start, s.end)]);
}

function errorOf(source: string): TomlSyntaxError {
  try {
    scanToml(source);
  } catch (e) {
    if (e instanceof TomlSyntaxError) return e;
    throw e;
  }
  throw new Error('expected a TomlSyntaxError');
}

describe('scalar spans and paths', () => {
  it('indexes arrays of tables and their sub-tables', () => {
    const src = '[[products]]\nname = "a"\n[[products]]\nname = "b"\n[products.dims]\nw = 1\n[[products.tags]]\nt = 2\n';
    expect(scalarsOf(src)).toEqual([
      ['["products",0,"name"]', '"a"'],
      ['["products",1,"name"]', '"b"'],
      ['["products",1,"dims","w"]', '1'],
      ['["products",1,"tags",0,"t"]', '2'],
    ]);
  });

  it('indexes nested arrays', () => {
    expect(scalarsOf('ports = [8000, [1, 2], []]')).toEqual([
      ['["ports",0]', '8000'],
      ['["ports",1,0]', '1'],
      ['["ports",1,1]', '2'],
    ]);
  });

  it('follows inline tables, including TOML 1.1 newlines, comments and trailing commas', () => {
    const src = 'point = {\n  x = 1, # first\n  y.z = { w = "deep" },\n  list = [{ k = true }],\n}\n';
    expect(scalarsOf(src)).toEqual([
      ['["point","x"]', '1'],
      ['["point","y","z","w"]', '"deep"'],
      ['["point","list",0,"k"]', 'true'],
    ]);
  });

  it('splits dotted keys but not quoted dots, under the current table', () => {
    expect(scalarsOf('[t]\na.b . c = 1\n"x.y" = 2\n\'\' = 3\n')).toEqual([
      ['["t","a","b","c"]', '1'],
      ['["t","x.y"]', '2'],
      ['["t",""]', '3'],
    ]);
  });

  it('covers exactly the token: quotes and delimiters in, blanks and comments out', () => {
    const src = 's = """\nline\n"""  # note\nd = 1979-05-27 07:32:00   # c\nl = \'\'\'x\'\'\'\nf = -inf\n';
    expect(scalarsOf(src).map(([, text]) => text)).toEqual(['"""\nline\n"""', '1979-05-27 07:32:00', "'''x'''", '-inf']);
  });

  it('reports kinds', () => {
    const doc = scanToml('a = "s"\nb = 1\nc = 1.5\nd = true\ne = 1979-05-27T07:32Z\nf = 1979-05-27T07:32\ng = 1979-05-27\nh = 07:32\n');
    expect(doc.scalars.map((s) => s.kind)).toEqual([
      'string', 'integer', 'float', 'boolean', 'offset-datetime', 'local-datetime', 'local-date', 'local-time',
    ]);
  });

  it('gives 1-based line and code-point column', () => {
    const doc = scanToml('# 😀\n"😀" = 1\n"😀😀" = "é"\n'); // an emoji is two UTF-16 units but one column
    expect(doc.scalars.map((s) => [s.line, s.col, s.start])).toEqual([
      [2, 7, 12],
      [3, 8, 23],
    ]);
  });
});

describe('line endings and BOM', () => {
  it('handles CRLF files', () => {
    const src = 'a = 1\r\n[t]\r\nb = """\r\nx\r\n"""\r\nc = "y"\r\n';
    const doc = scanToml(src);
    expect(doc.eol).toBe('\r\n');
    expect(doc.scalars.map((s) => [src.slice(s.start, s.end), s.line, s.col])).toEqual([
      ['1', 1, 5],
      ['"""\r\nx\r\n"""', 3, 5],
      ['"y"', 6, 5],
    ]);
    expect(decodeScalar('"""\r\nx\r\n"""', 'string')).toEqual({ kind: 'string', value: 'x\r\n' });
  });

  it("defaults eol to '\\n' and takes the first line ending", () => {
    expect(scanToml('a = 1').eol).toBe('\n');
    expect(scanToml('a = 1\nb = 2\r\n').eol).toBe('\n');
    expect(scanToml('a = """x\r\ny"""\n').eol).toBe('\r\n');
  });

  it('keeps a BOM in decodeUtf8 output and skips it when scanning', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('a = 1\n')]);
    const src = decodeUtf8(bytes);
    expect(src.charCodeAt(0)).toBe(0xfeff);
    const doc = scanToml(src);
    expect(doc.scalars[0]).toMatchObject({ start: 5, end: 6, line: 1, col: 5 }); // the BOM is not a column
    expect(doc.entries[0]).toMatchObject({ keyStart: 1, keyEnd: 2 });
  });

  it('rejects a BOM anywhere else', () => {
    expect(errorOf('a = 1\n\ufeffb = 2').message).toBe('2:1: expected a key, found U+FEFF');
  });
});

describe('entries and table headers', () => {
  const src = 'top = 1\n[ a . "b" ]\nk.j = [1,\n  2]  # c\n[[arr]]\nx = { y = 1 }\n[[arr]]\n';
  const doc: TomlDocument = scanToml(src);

  it('lists line-level entries with key and whole-value spans', () => {
    expect(doc.entries.map((e) => [e.path, src.slice(e.keyStart, e.keyEnd), src.slice(e.valueStart, e.valueEnd), e.line])).toEqual([
      [['top'], 'top', '1', 1],
      [['a', 'b', 'k', 'j'], 'k.j', '[1,\n  2]', 3],
      [['arr', 0, 'x'], 'x', '{ y = 1 }', 6],
    ]);
  });

  it('lists headers with the path of the table they open', () => {
    expect(doc.tables.map((t) => [t.path, t.arrayOfTables, src.slice(t.start, t.end), t.line])).toEqual([
      [['a', 'b'], false, '[ a . "b" ]', 2],
      [['arr', 0], true, '[[arr]]', 5],
      [['arr', 1], true, '[[arr]]', 7],
    ]);
  });
});

describe('table definition rules', () => {
  it('accepts what TOML allows', () => {
    expect(() => scanToml('[a.b.c]\n[a]\nx = 1\n')).not.toThrow(); // implicit table defined later
    expect(() => scanToml('[fruit]\napple.color = "red"\n[fruit.apple.texture]\nsmooth = true\n')).not.toThrow();
    expect(() => scanToml('[[a]]\n[a.b]\n[[a]]\n[a.b]\n')).not.toThrow();
    expect(() => scanToml('a = {b.c = 1, b.d = 2}\n')).not.toThrow();
  });

  it.each([
    ['a = 1\na = 2', '2:1: duplicate key \'a\''],
    ['[a]\n[a]', "2:2: table 'a' is already defined"],
    ['a.b = 1\n[a]', "2:2: table 'a' is already defined by dotted keys"],
    ['a = [1]\n[[a]]', "2:3: cannot append to static array 'a'"],
    ['a = {}\n[a.b]', "2:2: cannot add to inline table 'a'"],
    ['a = {b = 1}\na.c = 2', "2:1: cannot add to inline table 'a'"],
    ['[a.b.c]\n[a]\nb.d = 1', "3:1: cannot use dotted keys to add to table 'a.b' (created by a [table] header)"],
    ['[[a]]\n[a]', "2:2: 'a' is already defined as an array of tables"],
  ])('rejects %j', (src, message) => {
    expect(errorOf(src).message).toBe(message);
  });
});

describe('syntax errors', () => {
  it.each([
    ['a = 1\nb = "x\\q"', "2:7: invalid escape '\\q'"],
    ['a = 1\nb', "2:2: expected '=' after key"],
    ['a = 1 2', '1:7: expected end of line after value'],
    ['a = "x\u0007"', '1:7: control character U+0007 not allowed'],
    ['# ok\n# bad \u007f', '2:7: control character U+007F not allowed in comment'],
    ['a = "x"\rb = 1', '1:8: carriage return must be followed by a line feed'],
    ['"😀" = 1 x', '1:9: expected end of line after value'],
    ['a = 1979-02-29', '1:5: day out of range for its month'],
    ['a = 9223372036854775808', '1:5: integer does not fit in 64 bits'],
    ['a = 012', '1:5: leading zeros are not allowed'],
    ['a = [1,,2]', "1:8: expected a value, found ','"],
    ['a = {x = 1,,}', "1:12: expected a key, found ','"],
    ['a = [1, 2', '1:5: unclosed array'],
    ['[a]]', '1:4: expected end of line after table header'],
    ['"""k""" = 1', '1:1: a multi-line string cannot be a key'],
    ['a = ' + '['.repeat(5000), '1:1005: arrays and inline tables are nested too deeply'],
  ])('%j', (src, message) => {
    const error = errorOf(src);
    expect(error.message).toBe(message);
    expect(error.name).toBe('TomlSyntaxError');
    expect(`${error.line}:${error.col}: ${error.reason}`).toBe(message);
  });

  it('points decodeUtf8 errors at the first invalid byte', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('a = 1\nb = "é'), 0xc3, 0x28, 0x22]);
    expect(() => decodeUtf8(bytes)).toThrow(TomlSyntaxError);
    expect(() => decodeUtf8(bytes)).toThrow('2:7: invalid UTF-8 byte 0xC3');
    expect(() => decodeUtf8(new Uint8Array([0x61, 0xed, 0xa0, 0x80]))).toThrow('1:2: invalid UTF-8 byte 0xED'); // surrogate
  });

  it('never puts value text in a reason', () => {
    const secret = 's3cr3t';
    const bad = [
      `a = "${secret}`,
      `a = "${secret}\nb = 1`,
      `a = '${secret}`,
      `a = """${secret}`,
      `a = '''${secret}`,
      `a = ${secret}`,
      `a = [${secret}]`,
      `a = {b = ${secret}}`,
      `a = "${secret}" ${secret}`,
      `a = "${secret}\\q"`,
      `a = "${secret}\u0001"`,
      `a = 1${secret}`,
      `a = 2024-01-01${secret}`,
      `a = {b = "${secret}"`,
      `a = ["${secret}"`,
      `a = "${secret}"\na = "${secret}"`,
    ];
    for (const src of bad) expect(errorOf(src).message, src).not.toContain(secret);
    expect(errorOf('a = ñandú').message).toBe('1:5: expected a value');
  });
});

describe('decodeScalar', () => {
  it.each([
    ['"a\\tb\\e\\x41\\u00e9\\U0001F600"', 'string', 'a\tb\x1bAé😀'],
    ["'''\nx\\y'''", 'string', 'x\\y'],
    ['"""a\\\n   b"""', 'string', 'ab'],
    ['""""q"""""', 'string', '"q""'],
    ['0xDEAD_BEEF', 'integer', 0xdeadbeefn],
    ['-9_223_372_036_854_775_808', 'integer', -(2n ** 63n)],
    ['0o17', 'integer', 15n],
    ['0b101', 'integer', 5n],
    ['-inf', 'float', -Infinity],
    ['6.626e-3_4', 'float', 6.626e-34],
    ['true', 'boolean', true],
    ['1979-05-27 07:32z', 'offset-datetime', '1979-05-27T07:32:00Z'],
    ['1979-05-27t07:32:00.999', 'local-datetime', '1979-05-27T07:32:00.999'],
    ['1979-05-27', 'local-date', '1979-05-27'],
    ['07:32', 'local-time', '07:32:00'],
  ] as const)('%s', (text, kind, value) => {
    expect(decodeScalar(text, kind)).toEqual({ kind, value });
  });

  it('decodes nan', () => {
    expect(decodeScalar('+nan', 'float').value).toBeNaN();
  });

  it('rejects text that is not the given kind', () => {
    expect(() => decodeScalar('12', 'string')).toThrow(TomlSyntaxError);
    expect(() => decodeScalar('"a" ', 'string')).toThrow(TomlSyntaxError);
    expect(() => decodeScalar('1.5', 'integer')).toThrow(TomlSyntaxError);
    expect(() => decodeScalar('1979-13-01', 'local-date')).toThrow('month out of range');
  });
});

describe('formatBasicString', () => {
  it('escapes what must be escaped', () => {
    expect(formatBasicString('a"b\\c\nd\te\u0000\u007f é')).toBe('"a\\"b\\\\c\\nd\\te\\u0000\\u007F é"');
  });

  it('round-trips through the scanner and decodeScalar', () => {
    const samples = ['', 'plain', 'quote " and \'', '\\', '\r\n\b\f\u001b', '😀 ünïcödé', '"""', 'x'.repeat(1000)];
    for (const s of samples) {
      const literal = formatBasicString(s);
      const doc = scanToml(`k = ${literal}\n`);
      expect(doc.scalars).toHaveLength(1);
      expect(decodeScalar(literal, 'string').value).toBe(s);
    }
  });

  it('refuses lone surrogates', () => {
    expect(() => formatBasicString('a\ud800')).toThrow(RangeError);
  });
});
