import { describe, expect, it } from 'vitest';
import { progress } from '../../src/util/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) > 0 } };
}

describe('progress bar', () => {
  it('draws on a terminal and erases itself when done', () => {
    const { writes, stream } = fakeStream(true);
    const bar = progress('reading history', 4, { stream, interval: 0 });
    for (let i = 0; i < 4; i++) bar.tick();
    bar.done();
    expect(writes[0]).toBe('\rreading history [######------------------] 1/4');
    expect(writes[3]).toBe('\rreading history [########################] 4/4');
    expect(writes.at(-1)).toBe('\r\x1b[2K');
  });

  it('is silent when stderr is not a terminal, with --quiet, and for no work', () => {
    for (const [tty, quiet, total] of [[false, false, 5], [true, true, 5], [true, false, 0]] as const) {
      const { writes, stream } = fakeStream(tty);
      const bar = progress('x', total, { stream, quiet, interval: 0 });
      bar.tick();
      bar.done();
      expect(writes).toEqual([]);
    }
  });

  it('redraws at most once per interval, but always at the end', () => {
    const { writes, stream } = fakeStream(true);
    const bar = progress('x', 1000, { stream, interval: 60_000 });
    for (let i = 0; i < 1000; i++) bar.tick();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatch(/1000\/1000$/);
  });
});
