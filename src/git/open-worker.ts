import { parentPort, workerData } from 'node:worker_threads';
import { loadIdentities } from '../age/index.js';
import { X25519Identity } from '../age/x25519.js';
import { looksSealed, openWithKey, parseSealed, unwrapFileDataKey } from '../format/seal.js';
import { decodeText } from '../util/io.js';

/** What the main thread sends: files to open with the clone's own plain X25519 key. */
export interface OpenJob {
  identityFiles: string[];
  files: { path: string; content: Uint8Array }[];
}

/** Per file: its plaintext and data key, or null when this key alone does not open it (the main thread then does). */
export type OpenedInWorker = { plaintext: Uint8Array; dataKey: Uint8Array } | null;

/**
 * Worker thread of install's parallel open (see parallel-open.ts): opens with the first plain X25519
 * identity only, so it never prompts, starts a plugin or needs another key; everything else (warnings,
 * caches, files it cannot open) stays with the main thread.
 */
async function run(job: OpenJob): Promise<OpenedInWorker[]> {
  const { identities, recipients } = await loadIdentities({ identityFiles: job.identityFiles, env: process.env, warn: () => {} });
  const owner = identities.slice(0, recipients.length).find((i): i is X25519Identity => i instanceof X25519Identity);
  const out: OpenedInWorker[] = [];
  for (const { path, content } of job.files) {
    try {
      const text = decodeText(Buffer.from(content.buffer, content.byteOffset, content.byteLength), path);
      const sealed = owner && looksSealed(text) ? parseSealed(text, path) : null;
      const dataKey = sealed && sealed.meta.conflict === undefined ? await unwrapFileDataKey(sealed, [owner!], path) : null;
      out.push(sealed && dataKey ? { plaintext: Buffer.from(openWithKey(sealed, dataKey, path), 'utf8'), dataKey } : null);
    } catch {
      out.push(null); // the main thread opens it, and reports what is wrong
    }
  }
  return out;
}

if (parentPort && workerData) {
  run(workerData as OpenJob).then(
    (result) => parentPort!.postMessage(result),
    () => parentPort!.postMessage(null),
  );
}
