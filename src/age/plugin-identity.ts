/**
 * Identities served by an age plugin: `AGE-PLUGIN-NAME-1…`, unwrapped by
 * `age-plugin-NAME --age-plugin=identity-v1`.
 *
 * One touch per git command: identity-v1 unwraps the stanzas of many files in one session. Every
 * unwrap asked for while the process is busy (the same turn of the event loop) is queued, and the
 * queue goes to the plugin in one session per plugin name: a checkout whose smudges are delayed and
 * then opened together, or `Promise.all` over files in install, rekey, ls and exec, starts the plugin
 * once. File keys the plugin returned are kept for the process, so opening the same header again
 * (clean after smudge) asks nothing.
 */
import { createHash } from 'node:crypto';
import type { Stanza } from 'age-encryption';
import { errorMessage, PluginConnection, pluginError, type PluginOptions } from './plugin-connection.js';
import { askedHint, pluginIdentityName } from './plugin-recipient.js';

interface Pending {
  identity: PluginIdentity;
  stanzas: Stanza[];
  resolve: (key: Uint8Array | null) => void;
  reject: (err: unknown) => void;
}

const queue: Pending[] = [];
let scheduled = false;
const fileKeys = new Map<string, Uint8Array | null>();

function headerKey(name: string, identities: readonly string[], stanzas: readonly Stanza[]): string {
  const h = createHash('sha256').update(name).update('\0');
  for (const i of identities) h.update(i).update('\0');
  for (const s of stanzas) h.update(s.args.join(' ')).update('\n').update(s.body).update('\0');
  return h.digest('hex');
}

/**
 * Unwrap the file keys of many files with the identities of one plugin in one identity-v1 session.
 * Returns one entry per file: its file key, or null when no identity of the plugin matched.
 */
export async function unwrapWithPlugin(
  name: string,
  identities: readonly string[],
  files: readonly Stanza[][],
  opts: PluginOptions = {},
): Promise<(Uint8Array | null)[]> {
  const conn = PluginConnection.open(name, 'identity-v1', opts);
  const keys: (Uint8Array | null)[] = files.map(() => null);
  for (const id of identities) conn.send('add-identity', [id]);
  files.forEach((stanzas, i) => {
    for (const s of stanzas) conn.send('recipient-stanza', [String(i), ...s.args], s.body);
  });
  conn.send('done');
  const { errors: errorStanzas, asked } = await conn.exchange({
    'file-key': (s) => {
      const index = conn.index(s.args.length === 1 ? s.args[0] : undefined, files.length, 'file-key');
      if (keys[index] !== null) conn.fail('answered out of protocol (two file keys for one file)');
      if (s.body.length !== 16) conn.fail('answered out of protocol (a file key must be 16 bytes)');
      keys[index] = new Uint8Array(s.body);
    },
  });
  // An `error stanza FILE …` marks that file as tampered with; any other error is the plugin's.
  const badStanza = new Set<number>();
  const errors: string[] = [];
  for (const e of errorStanzas) {
    if (e.args[0] === 'stanza' && /^(0|[1-9][0-9]*)$/.test(e.args[1] ?? '') && Number(e.args[1]) < files.length) badStanza.add(Number(e.args[1]));
    else errors.push(errorMessage(e));
  }
  if (asked.length > 0 && keys.every((k) => k === null)) throw pluginError(name, `needed ${asked[0]}, but no terminal is available`, askedHint(name, asked));
  if (errors.length > 0 && keys.every((k) => k === null)) throw pluginError(name, errors[0], askedHint(name, asked));
  return keys.map((k, i) => {
    if (badStanza.has(i)) {
      k?.fill(0);
      throw pluginError(name, 'a stanza addressed to this identity is invalid (the file was tampered with)', 'restore the file from git history');
    }
    return k;
  });
}

async function flush(): Promise<void> {
  scheduled = false;
  const batch = queue.splice(0);
  const byPlugin = new Map<string, Pending[]>();
  for (const p of batch) {
    const list = byPlugin.get(p.identity.name) ?? [];
    list.push(p);
    byPlugin.set(p.identity.name, list);
  }
  await Promise.all(
    [...byPlugin].map(async ([name, pending]) => {
      const identities = [...new Set(pending.map((p) => p.identity.encoding))];
      // One file per distinct request; identical headers share one answer.
      const unique = new Map<string, Pending[]>();
      for (const p of pending) {
        const key = headerKey(name, identities, p.stanzas);
        const cached = fileKeys.get(key);
        if (cached !== undefined) {
          p.resolve(cached && new Uint8Array(cached));
          continue;
        }
        unique.set(key, [...(unique.get(key) ?? []), p]);
      }
      if (unique.size === 0) return;
      const entries = [...unique];
      try {
        const keys = await unwrapWithPlugin(name, identities, entries.map(([, ps]) => ps[0].stanzas), pending[0].identity.opts);
        entries.forEach(([key, ps], i) => {
          fileKeys.set(key, keys[i]);
          for (const p of ps) p.resolve(keys[i] && new Uint8Array(keys[i]!));
        });
      } catch (err) {
        for (const [, ps] of entries) for (const p of ps) p.reject(err);
      }
    }),
  );
}

/** An identity served by `age-plugin-NAME`; unwraps are batched per turn of the event loop. */
export class PluginIdentity {
  readonly name: string;
  /** A name for this identity that reveals nothing of it: the plugin and a hash of the encoding. */
  readonly label: string;

  constructor(readonly encoding: string, readonly opts: PluginOptions = {}) {
    const name = pluginIdentityName(encoding);
    if (!name) throw pluginError('?', 'not a plugin identity');
    this.name = name;
    this.label = `age-plugin-${name} identity ${createHash('sha256').update(encoding).digest('hex').slice(0, 12)}`;
  }

  unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    return new Promise((resolve, reject) => {
      queue.push({ identity: this, stanzas, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
  }
}

/** Forget file keys learnt from plugins (tests). */
export function clearPluginKeyCache(): void {
  for (const k of fileKeys.values()) k?.fill(0);
  fileKeys.clear();
}
