/**
 * Recipients served by an age plugin: `age1NAME1…` (or a plugin identity used as a recipient), wrapped
 * by `age-plugin-NAME --age-plugin=recipient-v1`. All file keys and all recipients of one plugin go
 * through one plugin session, so a hardware key is touched once per batch, not once per file.
 */
import type { Stanza } from 'age-encryption';
import * as bech32 from './bech32.js';
import { errorMessage, PluginConnection, pluginError, validPluginName, type PluginOptions } from './plugin-connection.js';

/** Recipient types built into git-seal, never sent to a plugin. */
const NATIVE_RECIPIENT_HRPS = new Set(['age', 'age1pq', 'age1tag', 'age1tagpq']);

/** The plugin name of an `age1NAME1…` recipient, or null when `s` is not a plugin recipient. */
export function pluginRecipientName(s: string): string | null {
  if (!s.startsWith('age1') || s !== s.toLowerCase()) return null;
  try {
    const { hrp } = bech32.decodeWords(s);
    if (NATIVE_RECIPIENT_HRPS.has(hrp) || !hrp.startsWith('age1')) return null;
    const name = hrp.slice(4);
    return validPluginName(name) ? name : null;
  } catch {
    return null;
  }
}

/** The plugin name of an `AGE-PLUGIN-NAME-1…` identity, or null. */
export function pluginIdentityName(s: string): string | null {
  if (!s.startsWith('AGE-PLUGIN-') || s !== s.toUpperCase()) return null;
  try {
    const { hrp } = bech32.decodeWords(s);
    if (!hrp.endsWith('-') || hrp.length <= 'AGE-PLUGIN--'.length) return null;
    const name = hrp.slice('AGE-PLUGIN-'.length, -1).toLowerCase();
    return validPluginName(name) ? name : null;
  } catch {
    return null;
  }
}

export interface WrappedKeys {
  /** Stanzas for each file key, in the order given. */
  stanzas: Stanza[][];
  /** The label set the plugin declared for its stanzas (empty when it declared none). */
  labels: string[];
}

/**
 * Wrap every file key to every recipient (and identity) of one plugin in one recipient-v1 session.
 * Fails with one line naming the plugin if it errors, crashes, hangs or breaks the protocol.
 */
export async function wrapWithPlugin(
  name: string,
  targets: readonly { encoding: string; identity: boolean }[],
  fileKeys: readonly Uint8Array[],
  opts: PluginOptions = {},
): Promise<WrappedKeys> {
  const conn = PluginConnection.open(name, 'recipient-v1', opts);
  const stanzas: Stanza[][] = fileKeys.map(() => []);
  let labels: string[] | null = null;
  for (const t of targets) conn.send(t.identity ? 'add-identity' : 'add-recipient', [t.encoding]);
  for (const k of fileKeys) conn.send('wrap-file-key', [], k);
  conn.send('extension-labels');
  conn.send('done');
  const { errors: errorStanzas, asked } = await conn.exchange({
    'recipient-stanza': (s) => {
      if (s.args.length < 2) conn.fail('answered out of protocol (bad recipient-stanza)');
      stanzas[conn.index(s.args[0], fileKeys.length, 'recipient-stanza')].push({ args: s.args.slice(1), body: s.body } as unknown as Stanza);
    },
    labels: (s) => {
      if (labels !== null) conn.fail('answered out of protocol (repeated labels)');
      labels = s.args;
    },
  });
  const errors = errorStanzas.map(errorMessage);
  if (asked.length > 0 && (errors.length > 0 || stanzas.some((s) => s.length === 0))) {
    throw pluginError(name, `needed ${asked[0]}, but no terminal is available`, askedHint(name, asked));
  }
  if (errors.length > 0) throw pluginError(name, `could not wrap the data key: ${errors[0]}`, askedHint(name, asked));
  for (const s of stanzas) {
    if (s.length === 0) throw pluginError(name, 'returned no stanza for a data key');
    if (s.length > targets.length) throw pluginError(name, 'returned more stanzas than recipients (out of protocol)');
  }
  return { stanzas, labels: [...new Set(labels ?? [])].sort() };
}

export function askedHint(name: string, asked: readonly string[]): string {
  return asked.length > 0
    ? `age-plugin-${name} asked for ${asked[0]}: run git-seal from a terminal, or use a deploy key (GITSEAL_AGE_KEY) where there is none`
    : `check that age-plugin-${name} works: run it with --help`;
}

/** A recipient served by `age-plugin-NAME`. */
export class PluginRecipient {
  readonly name: string;
  /** Labels the plugin declared the last time it wrapped (see wrapDataKey's label rule). */
  labels: string[] = [];

  constructor(readonly encoding: string, readonly identity = false, private readonly opts: PluginOptions = {}) {
    const name = identity ? pluginIdentityName(encoding) : pluginRecipientName(encoding);
    if (!name) throw pluginError('?', 'not a plugin recipient');
    this.name = name;
  }

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    const { stanzas, labels } = await wrapWithPlugin(this.name, [{ encoding: this.encoding, identity: this.identity }], [fileKey], this.opts);
    this.labels = labels;
    return stanzas[0];
  }
}
