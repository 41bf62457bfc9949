/** A one-line progress bar on stderr: shown only on a terminal, never with --quiet. */
export interface Progress {
  /** Count `n` more items done. */
  tick(n?: number): void;
  /** Erase the bar. */
  done(): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  /** Default: process.stderr. */
  stream?: Pick<NodeJS.WriteStream, 'write' | 'isTTY'>;
  /** Minimum milliseconds between redraws (default 80). */
  interval?: number;
}

const WIDTH = 24;
const silent: Progress = { tick: () => {}, done: () => {} };

/** Progress over `total` items labelled `label` (no secret may ever be part of a label). */
export function progress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || !stream.isTTY || total <= 0) return silent;
  const interval = opts.interval ?? 80;
  let count = 0;
  let last = -Infinity;
  let drawn = false;
  const draw = () => {
    const filled = Math.round((Math.min(count, total) / total) * WIDTH);
    stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${Math.min(count, total)}/${total}`);
    drawn = true;
  };
  return {
    tick(n = 1) {
      count += n;
      const now = Date.now();
      if (now - last >= interval || count >= total) {
        last = now;
        draw();
      }
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
