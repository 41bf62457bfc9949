import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SealFilter, SmudgeInput } from './filter.js';
import type { OpenedInWorker, OpenJob } from './open-worker.js';

/** Fewer files than this are not worth a worker's start (~50 ms). */
const MIN_FILES = 64;

/**
 * Open many sealed files (install on a fresh clone, where nothing is cached yet) on two cores: a worker
 * thread opens the second half with the clone's own plain X25519 key while this thread opens the first
 * half; this thread then takes the worker's plaintexts through the same checks and caches as its own
 * (SealFilter.adoptOpened) and opens, the usual way, whatever the worker could not. Without a second core,
 * a plain X25519 identity or the built worker script, it is SealFilter.smudgeMany.
 */
export async function openInParallel(filter: SealFilter, files: readonly SmudgeInput[], identityFiles: string[]): Promise<Buffer[]> {
  const script = fileURLToPath(new URL('./open-worker.js', import.meta.url));
  if (files.length < MIN_FILES || availableParallelism() < 2 || !existsSync(script) || !(await filter.hasPlainKey())) return filter.smudgeMany(files);
  const half = Math.floor(files.length / 2);
  const mine = files.slice(0, half);
  const theirs = files.slice(half);
  const job: OpenJob = { identityFiles, files: theirs.map((f) => ({ path: f.path, content: f.content })) };
  const fromWorker = new Promise<OpenedInWorker[] | null>((resolve) => {
    const worker = new Worker(script, { workerData: job });
    worker.once('message', (m: OpenedInWorker[] | null) => resolve(m));
    worker.once('error', () => resolve(null));
    worker.once('exit', () => resolve(null));
  });
  const first = await filter.smudgeMany(mine);
  const opened = (await fromWorker) ?? theirs.map(() => null);
  const adopted = await filter.adoptOpened(
    theirs.flatMap((input, i) => {
      const o = opened[i];
      return o ? [{ input, plaintext: Buffer.from(o.plaintext.buffer, o.plaintext.byteOffset, o.plaintext.byteLength), dataKey: o.dataKey }] : [];
    }),
  );
  const rest = theirs.filter((_, i) => !opened[i]);
  const restOut = rest.length ? await filter.smudgeMany(rest) : [];
  let a = 0;
  let r = 0;
  return [...first, ...theirs.map((_, i) => (opened[i] ? adopted[a++] : restOut[r++]))];
}
