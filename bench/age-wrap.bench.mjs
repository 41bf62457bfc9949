// Per-recipient X25519 wrap/unwrap cost: typage's built-in classes vs git-seal's node:crypto ones.
// Usage: npm run bench -- age-wrap   (or: npx tsc -p tsconfig.json && node bench/age-wrap.bench.mjs [iterations])
import { randomBytes } from 'node:crypto';
import { Decrypter, Encrypter, armor } from 'age-encryption';
import {
  X25519Identity,
  X25519Recipient,
  generateX25519Identity,
  wrapDataKey,
  unwrapDataKey,
  x25519IdentityToRecipient,
} from '../dist/age/index.js';
import { loadTypageRecipients } from '../dist/age/typage-internal.js';
import { identityToRecipient as typageIdentityToRecipient } from 'age-encryption';

const N = Number(process.argv[2] ?? 2000);
const WARMUP = Math.min(200, N);

async function time(fn) {
  for (let i = 0; i < WARMUP; i++) await fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn(i);
  return Number(process.hrtime.bigint() - t0) / 1e6 / N; // ms per op
}

const typage = await loadTypageRecipients();
const { identity, recipient } = generateX25519Identity();
const fileKey = randomBytes(16);

const typageRecipient = new typage.X25519Recipient(recipient);
const typageIdentity = new typage.X25519Identity(identity);
const ourRecipient = new X25519Recipient(recipient);
const ourIdentity = new X25519Identity(identity);

// Stanzas to unwrap, made once by the other side (also a cross-check).
const typageStanzas = await typageRecipient.wrapFileKey(fileKey);
const ourStanzas = ourRecipient.wrapFileKey(fileKey);
if (Buffer.compare(Buffer.from(ourIdentity.unwrapFileKey(typageStanzas)), fileKey) !== 0) throw new Error('cross-check failed');
if (Buffer.compare(Buffer.from(await typageIdentity.unwrapFileKey(ourStanzas)), fileKey) !== 0) throw new Error('cross-check failed');

// Whole data-key files (header + 32-byte payload), string-based typage vs ours.
const dataKey = randomBytes(32);
const armored = await wrapDataKey(dataKey, [recipient]);

const rows = [];
async function row(name, typageFn, oursFn) {
  const t = await time(typageFn);
  const o = await time(oursFn);
  rows.push({ operation: name, 'typage ms/op': t.toFixed(4), 'git-seal ms/op': o.toFixed(4), speedup: `${(t / o).toFixed(1)}x` });
}

await row('wrap (1 recipient stanza)', () => typageRecipient.wrapFileKey(fileKey), () => ourRecipient.wrapFileKey(fileKey));
await row('unwrap (1 recipient stanza)', () => typageIdentity.unwrapFileKey(ourStanzas), () => ourIdentity.unwrapFileKey(typageStanzas));
await row('identity -> recipient', () => typageIdentityToRecipient(identity), () => x25519IdentityToRecipient(identity));
await row(
  'wrapDataKey (whole armored file)',
  async () => {
    const e = new Encrypter();
    e.addRecipient(recipient);
    return armor.encode(await e.encrypt(dataKey));
  },
  () => wrapDataKey(dataKey, [recipient]),
);
await row(
  'unwrapDataKey (whole armored file)',
  async () => {
    const d = new Decrypter();
    d.addIdentity(identity);
    return d.decrypt(armor.decode(armored));
  },
  () => unwrapDataKey(armored, [ourIdentity]),
);

console.log(`node ${process.version}, ${N} iterations each (after ${WARMUP} warm-up)`);
console.table(rows);
