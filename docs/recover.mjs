#!/usr/bin/env node
// Decrypt a git-seal sealed TOML file (format version 1, docs/FORMAT.md) without git-seal.
//   node recover.mjs SEALED.toml [DATAKEY_HEX] > plain.toml
// DATAKEY_HEX is the file's 32-byte data key as 64 hex digits (from `age -d`); without it, it is read
// from stdin. Needs only Node.js (>= 20). Expects a file git-seal wrote: it does not validate TOML.
import { createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

function fail(message) {
  process.stderr.write(`recover.mjs: ${message}\n`);
  process.exit(1);
}

const [file, hexArg] = process.argv.slice(2);
if (!file) fail('usage: node recover.mjs SEALED.toml [DATAKEY_HEX]  (or pipe the hex data key to stdin)');
const hexKey = (hexArg ?? readFileSync(0, 'utf8')).trim();
if (!/^[0-9a-fA-F]{64}$/.test(hexKey)) fail('the data key must be 64 hex digits (32 bytes), e.g. from `age -d -i key.txt datakey.age | xxd -p -c 64`');
const text = readFileSync(file, 'utf8');

// ---- Keys (FORMAT.md "Value encryption") ----
const dataKey = Buffer.from(hexKey, 'hex');
const hkdf = (info) => Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), info, 32));
const K_enc = hkdf('git-seal v1 value key');
const K_nonce = hkdf('git-seal v1 nonce key');

function encodePath(path) {
  return Buffer.concat(path.map((seg) => {
    const head = Buffer.alloc(5);
    if (typeof seg === 'number') return (head[0] = 2), head.writeUInt32BE(seg, 1), head;
    const utf8 = Buffer.from(seg, 'utf8');
    return (head[0] = 1), head.writeUInt32BE(utf8.length, 1), Buffer.concat([head, utf8]);
  }));
}

// HChaCha20 (draft-irtf-cfrg-xchacha): the ChaCha20 block function on (key, 16-byte nonce) without the
// final addition; words 0-3 and 12-15 are the subkey.
function hchacha20(key, nonce16) {
  const s = new Uint32Array(16);
  s.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  for (let i = 0; i < 8; i++) s[4 + i] = key.readUInt32LE(4 * i);
  for (let i = 0; i < 4; i++) s[12 + i] = nonce16.readUInt32LE(4 * i);
  const rotl = (v, n) => (v << n) | (v >>> (32 - n));
  const qr = (a, b, c, d) => {
    s[a] += s[b]; s[d] = rotl(s[d] ^ s[a], 16);
    s[c] += s[d]; s[b] = rotl(s[b] ^ s[c], 12);
    s[a] += s[b]; s[d] = rotl(s[d] ^ s[a], 8);
    s[c] += s[d]; s[b] = rotl(s[b] ^ s[c], 7);
  };
  for (let round = 0; round < 10; round++) {
    qr(0, 4, 8, 12), qr(1, 5, 9, 13), qr(2, 6, 10, 14), qr(3, 7, 11, 15);
    qr(0, 5, 10, 15), qr(1, 6, 11, 12), qr(2, 7, 8, 13), qr(3, 4, 9, 14);
  }
  const out = Buffer.alloc(32);
  [0, 1, 2, 3, 12, 13, 14, 15].forEach((w, i) => out.writeUInt32LE(s[w], 4 * i));
  return out;
}

// XChaCha20-Poly1305 = ChaCha20-Poly1305 (RFC 8439) under HChaCha20(key, N[0..16]) with nonce 0^4 || N[16..24].
function xchachaOpen(key, nonce, sealed, aad) {
  const iv = Buffer.concat([Buffer.alloc(4), nonce.subarray(16)]);
  const d = createDecipheriv('chacha20-poly1305', hchacha20(key, nonce.subarray(0, 16)), iv, { authTagLength: 16 });
  d.setAAD(aad, { plaintextLength: sealed.length - 16 });
  d.setAuthTag(sealed.subarray(-16));
  return Buffer.concat([d.update(sealed.subarray(0, -16)), d.final()]);
}

function showPath(path) {
  return path.map((s) => (typeof s === 'number' ? `[${s}]` : `.${/^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s)}`)).join('').slice(1);
}

function decryptValue(token, path) {
  const m = /^ENC\[gitseal\.v(\d+),([A-Za-z0-9+/]*={0,2})\]$/.exec(token);
  if (m && m[1] !== '1') fail(`the value of '${showPath(path)}' has format version ${m[1]}; this script reads version 1`);
  const raw = m && Buffer.from(m[2], 'base64');
  const bad = () => fail(`the value of '${showPath(path)}' failed authentication (wrong data key, or the file was altered)`);
  if (!raw || raw.toString('base64') !== m[2] || raw.length < 40) bad();
  const nonce = raw.subarray(0, 24);
  const p = encodePath(path);
  let plain;
  try {
    plain = xchachaOpen(K_enc, nonce, raw.subarray(24), p);
  } catch {
    bad();
  }
  const len = Buffer.alloc(4);
  len.writeUInt32BE(p.length);
  const expected = createHmac('sha256', K_nonce).update(len).update(p).update(plain).digest().subarray(0, 24);
  if (!timingSafeEqual(expected, nonce)) bad();
  return plain.toString('utf8');
}

// ---- A minimal TOML walker: finds every value token and its key path (FORMAT.md "Key paths") ----
let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
const values = []; // { start, end, path }
const arrayTables = new Map(); // JSON of an array-of-tables' path -> element count
let section = [];
let metaStart = -1;
const broken = () => fail(`${file}: unexpected text at offset ${i}; is it a complete sealed file?`);

const skipSpaces = () => { while (text[i] === ' ' || text[i] === '\t') i++; };
function skipBlank() { // spaces, newlines and comments
  for (;;) {
    skipSpaces();
    if (text[i] === '#') while (i < text.length && text[i] !== '\n') i++;
    if (text[i] === '\r' || text[i] === '\n') i++;
    else return;
  }
}

const ESCAPES = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', e: '\x1b', '"': '"', '\\': '\\' };
const HEX_DIGITS = { x: 2, u: 4, U: 8 };

/** Moves past the string at i; returns its decoded value (single-line strings only: keys). */
function readString() {
  const q = text[i];
  if (text.startsWith(q.repeat(3), i)) {
    for (i += 3; ; i++) {
      if (i >= text.length) broken();
      if (q === '"' && text[i] === '\\') i++;
      else if (text.startsWith(q.repeat(3), i)) {
        while (text[i + 3] === q) i++; // up to two quotes just before the closing ones are content
        i += 3;
        return undefined;
      }
    }
  }
  let out = '';
  for (i++; text[i] !== q; ) {
    if (i >= text.length) broken();
    if (q === '"' && text[i] === '\\') {
      const n = HEX_DIGITS[text[i + 1]];
      out += n ? String.fromCodePoint(parseInt(text.slice(i + 2, i + 2 + n), 16)) : ESCAPES[text[i + 1]];
      i += 2 + (n ?? 0);
    } else out += text[i++];
  }
  i++;
  return out;
}

function readKey() { // a simple or dotted key
  const parts = [];
  for (;;) {
    skipSpaces();
    if (text[i] === '"' || text[i] === "'") parts.push(readString());
    else {
      const start = i;
      while (/[A-Za-z0-9_-]/.test(text[i])) i++;
      parts.push(text.slice(start, i));
    }
    skipSpaces();
    if (text[i] !== '.') return parts;
    i++;
  }
}

function readValue(path) {
  if (text[i] === '[' || text[i] === '{') {
    const close = text[i] === '[' ? ']' : '}';
    i++;
    for (let index = 0; ; index++) {
      skipBlank();
      if (text[i] === close) break;
      if (i >= text.length) broken();
      if (close === ']') readValue([...path, index]);
      else {
        const keys = readKey();
        i++; // '='
        skipSpaces();
        readValue([...path, ...keys]);
      }
      skipBlank();
      if (text[i] === ',') i++;
    }
    i++;
    return;
  }
  const start = i;
  if (text[i] === '"' || text[i] === "'") readString();
  else { // number, boolean or date-time (which may contain one space)
    while (i < text.length && !',]}#\r\n'.includes(text[i])) i++;
    while (text[i - 1] === ' ' || text[i - 1] === '\t') i--;
  }
  if (i === start) broken();
  values.push({ start, end: i, path });
}

function readHeader() {
  const isArray = text.startsWith('[[', i);
  const headerStart = i;
  i += isArray ? 2 : 1;
  const keys = readKey();
  i += isArray ? 2 : 1;
  const path = [];
  for (const key of keys.slice(0, -1)) {
    path.push(key);
    const count = arrayTables.get(JSON.stringify(path));
    if (count !== undefined) path.push(count - 1); // [[a]] then [a.b]: the last element of a
  }
  path.push(keys[keys.length - 1]);
  if (isArray) {
    const count = (arrayTables.get(JSON.stringify(path)) ?? 0) + 1;
    arrayTables.set(JSON.stringify(path), count);
    path.push(count - 1);
  }
  section = path;
  if (!isArray && path.length === 1 && path[0] === 'gitseal') metaStart = text.lastIndexOf('\n', headerStart - 1) + 1;
}

for (skipBlank(); i < text.length; skipBlank()) {
  if (text[i] === '[') readHeader();
  else {
    const keys = readKey();
    i++; // '='
    skipSpaces();
    readValue([...section, ...keys]);
  }
}
if (metaStart < 0) fail(`${file} has no [gitseal] table: it is not a sealed file`);

// ---- The [gitseal] table, then the body ----
const meta = Object.fromEntries(values.filter((v) => v.start > metaStart && v.path.length === 2).map((v) => [v.path[1], text.slice(v.start, v.end)]));
if (meta.version !== '1') fail(`${file} is sealed with format version ${meta.version ?? '(missing)'}; this script reads version 1`);

const isToken = (raw) => raw.startsWith('"ENC[gitseal.v');
let plaintext = '';
if (meta.conflict !== undefined) {
  plaintext = decryptValue(meta.conflict.slice(1, -1), ['gitseal', 'conflict']);
} else {
  let pos = 0;
  for (const v of values) {
    const raw = text.slice(v.start, v.end);
    if (v.start >= metaStart || !isToken(raw)) continue;
    plaintext += text.slice(pos, v.start) + decryptValue(raw.slice(1, -1), v.path);
    pos = v.end;
  }
  plaintext += text.slice(pos, metaStart).replace(/\r?\n$/, ''); // the blank separator line
  if (meta.final_newline === 'false') plaintext = plaintext.replace(/\r?\n$/, '');
}
process.stdout.write(plaintext);
