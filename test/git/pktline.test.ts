import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import {
  ChunkQueue,
  MAX_PKT_PAYLOAD,
  PktLineDecoder,
  PktLineReader,
  PktLineWriter,
  contentPackets,
  encodePacket,
  encodeTextPacket,
  packetText,
  pktHeader,
  type Packet,
} from '../../src/git/pktline.js';

/** Deterministic PRNG so a failing case can be reproduced from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Model = { kind: 'data'; data: Buffer } | { kind: 'flush' } | { kind: 'delim' };

function randomPackets(rand: () => number, count: number): Model[] {
  const out: Model[] = [];
  for (let i = 0; i < count; i++) {
    const r = rand();
    if (r < 0.15) out.push({ kind: 'flush' });
    else if (r < 0.2) out.push({ kind: 'delim' });
    else {
      const sizeClass = rand();
      const len =
        sizeClass < 0.05 ? 0 : sizeClass < 0.7 ? Math.floor(rand() * 100) : sizeClass < 0.95 ? Math.floor(rand() * 5000) : MAX_PKT_PAYLOAD;
      out.push({ kind: 'data', data: randomBytes(len) });
    }
  }
  return out;
}

function encodeAll(pkts: Model[]): Buffer {
  return Buffer.concat(
    pkts.map((p) => (p.kind === 'flush' ? Buffer.from('0000') : p.kind === 'delim' ? Buffer.from('0001') : encodePacket(p.data))),
  );
}

function chunk(buf: Buffer, sizes: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length; ) {
    const n = Math.max(1, sizes());
    out.push(buf.subarray(off, off + n));
    off += n;
  }
  return out;
}

async function readAll(chunks: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<Packet[]> {
  const reader = new PktLineReader(Readable.from(chunks, { objectMode: false }));
  const out: Packet[] = [];
  for (let p = await reader.read(); p !== null; p = await reader.read()) out.push(p);
  return out;
}

function normalize(pkts: Packet[] | Model[]): string[] {
  return pkts.map((p) => (p.kind === 'data' ? `data:${p.data.toString('hex')}` : p.kind));
}

describe('pkt-line encoding', () => {
  it('encodes headers as 4 lowercase hex digits including the header length', () => {
    expect(pktHeader(0).toString()).toBe('0004');
    expect(pktHeader(10).toString()).toBe('000e');
    expect(pktHeader(MAX_PKT_PAYLOAD).toString()).toBe('fff0');
    expect(() => pktHeader(MAX_PKT_PAYLOAD + 1)).toThrow(RangeError);
    expect(encodeTextPacket('git-filter-server').toString()).toBe('0016git-filter-server\n');
    expect(encodePacket('a').toString()).toBe('0005a');
  });

  it('packetText strips exactly one trailing LF', () => {
    expect(packetText(Buffer.from('a=b\n'))).toBe('a=b');
    expect(packetText(Buffer.from('a=b'))).toBe('a=b');
    expect(packetText(Buffer.from('a\n\n'))).toBe('a\n');
    expect(packetText(Buffer.alloc(0))).toBe('');
  });

  it('splits content into max-size packets without copying', () => {
    const content = randomBytes(MAX_PKT_PAYLOAD * 2 + 7);
    const pieces = contentPackets(content);
    expect(pieces.map((p) => p.length)).toEqual([4, MAX_PKT_PAYLOAD, 4, MAX_PKT_PAYLOAD, 4, 7]);
    expect(pieces[0].toString()).toBe('fff0');
    expect(pieces[4].toString()).toBe('000b');
    expect(pieces[1].buffer).toBe(content.buffer); // a view, not a copy
    expect(contentPackets(Buffer.alloc(0))).toEqual([]);
    expect(contentPackets(randomBytes(MAX_PKT_PAYLOAD)).length).toBe(2);
  });
});

describe('ChunkQueue', () => {
  it('takes across chunk boundaries and finds bytes', () => {
    const q = new ChunkQueue();
    for (const s of ['ab', 'c', '', 'def\ng', 'h']) q.push(Buffer.from(s));
    expect(q.length).toBe(9);
    expect(q.indexOf(0x0a)).toBe(6);
    expect(q.take(1).toString()).toBe('a');
    expect(q.indexOf(0x0a)).toBe(5);
    expect(q.byteAt(2)).toBe('d'.charCodeAt(0));
    expect(q.take(5).toString()).toBe('bcdef');
    expect(q.take(3).toString()).toBe('\ngh');
    expect(q.length).toBe(0);
    expect(q.indexOf(0x0a)).toBe(-1);
    expect(() => q.take(1)).toThrow(RangeError);
  });

  it('stays linear with many buffered tiny chunks taken in random sizes', () => {
    const data = randomBytes(200_000);
    const q = new ChunkQueue();
    for (let i = 0; i < data.length; i++) q.push(data.subarray(i, i + 1));
    const r = rng(4);
    const parts: Buffer[] = [];
    // Linear means every byte is copied once: count the bytes Buffer#copy moves (no clock involved).
    const copy = vi.spyOn(Buffer.prototype, 'copy');
    while (q.length > 0) {
      expect(q.byteAt(0)).toBe(data[data.length - q.length]);
      parts.push(q.take(Math.min(q.length, 1 + Math.floor(r() * 40))));
    }
    const copied = copy.mock.results.reduce((n, res) => n + (res.value as number), 0);
    copy.mockRestore();
    expect(copied).toBeLessThanOrEqual(data.length);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });
});

describe('PktLineReader', () => {
  const rand = rng(0x5eed);
  const packets = randomPackets(rand, 250);
  const wire = encodeAll(packets);
  const expected = normalize(packets);

  it('uses a packet mix that covers the edge cases', () => {
    const sizes = packets.flatMap((p) => (p.kind === 'data' ? [p.data.length] : []));
    expect(sizes).toContain(MAX_PKT_PAYLOAD);
    expect(sizes).toContain(0);
    expect(packets.some((p) => p.kind === 'flush')).toBe(true);
    expect(packets.some((p) => p.kind === 'delim')).toBe(true);
  });

  it.each([
    ['all at once', () => wire.length],
    ['1-byte chunks', () => 1],
    ['3-byte chunks', () => 3],
    ['odd sizes (7..1009)', (() => {
      const r = rng(1);
      return () => 7 + Math.floor(r() * 1003);
    })()],
    ['random sizes up to 200 KB', (() => {
      const r = rng(2);
      return () => Math.floor(r() * 200_000);
    })()],
  ])('round-trips %s', async (_name, sizes) => {
    const got = await readAll(chunk(wire, sizes));
    expect(got.length).toBe(packets.length);
    expect(normalize(got)).toEqual(expected);
  });

  it('decodes response-end and accepts uppercase hex and empty 0004 packets', () => {
    const d = new PktLineDecoder();
    d.push(Buffer.from('0002000A12345600040000'));
    expect(d.next()).toEqual({ kind: 'response-end' });
    expect(normalize([d.next()!])).toEqual([`data:${Buffer.from('123456').toString('hex')}`]);
    expect(normalize([d.next()!])).toEqual(['data:']);
    expect(d.next()).toEqual({ kind: 'flush' });
    expect(d.next()).toBeUndefined();
    expect(d.midPacket).toBe(false);
  });

  it('rejects malformed headers', () => {
    for (const bad of ['00zz', '0003', 'fff1', 'ffff', ' 004']) {
      const d = new PktLineDecoder();
      d.push(Buffer.from(`${bad}xxxxxxxx`));
      expect(() => d.next(), bad).toThrow(GitSealError);
    }
  });

  it('reports a stream that ends mid-packet', async () => {
    await expect(readAll([Buffer.from('0009abc')])).rejects.toThrow(/middle of a packet/);
    await expect(readAll([Buffer.from('00')])).rejects.toThrow(/middle of a packet/);
    expect(await readAll([])).toEqual([]);
  });

  it('reads text lists and content', async () => {
    const wire = Buffer.concat([
      encodeTextPacket('command=smudge'),
      encodePacket('pathname=a=b.sec'), // no LF: must be accepted
      Buffer.from('0000'),
      ...contentPackets(Buffer.from('hello world')),
      Buffer.from('0000'),
    ]);
    const r = new PktLineReader(Readable.from(chunk(wire, () => 2)));
    expect(await r.readTextList()).toEqual(['command=smudge', 'pathname=a=b.sec']);
    expect((await r.readContent()).toString()).toBe('hello world');
    expect(await r.readTextList()).toBeNull();
  });

  it('streams a 5 MB payload in random chunks and reassembles it exactly', async () => {
    const payload = randomBytes(5 * 1024 * 1024 + 12345);
    const wire = Buffer.concat([...contentPackets(payload), Buffer.from('0000')]);
    const r = rng(3);
    const chunks = chunk(wire, () => 1 + Math.floor(r() * 70_000));
    // Linear: the content is assembled once (one concat of the payload's size), never re-concatenated per chunk.
    const concat = vi.spyOn(Buffer, 'concat');
    const reader = new PktLineReader(Readable.from(chunks));
    const content = await reader.readContent();
    const assembled = concat.mock.results.reduce((n, res) => n + (res.value as Buffer).length, 0);
    concat.mockRestore();
    expect(content.equals(payload)).toBe(true);
    expect(assembled).toBeLessThanOrEqual(2 * payload.length);
  });

  it('reads 1-byte chunks of a max-size packet in linear time', async () => {
    const payload = randomBytes(MAX_PKT_PAYLOAD);
    const wire = encodePacket(payload);
    const d = new PktLineDecoder();
    let got: Packet | undefined;
    for (let i = 0; i < wire.length; i++) {
      d.push(wire.subarray(i, i + 1));
      got = d.next() ?? got;
    }
    expect(got?.kind === 'data' && got.data.equals(payload)).toBe(true);
  });
});

describe('PktLineWriter', () => {
  function sink(): { stream: Writable; writes: Buffer[] } {
    const writes: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        writes.push(chunk);
        cb();
      },
    });
    return { stream, writes };
  }

  it('sends a small response in one write', async () => {
    const { stream, writes } = sink();
    const w = new PktLineWriter(stream);
    w.text('status=success').flushPkt().content(Buffer.from('abc')).flushPkt().flushPkt();
    await w.send();
    expect(writes.length).toBe(1);
    expect(writes[0].toString()).toBe('0013status=success\n' + '0000' + '0007abc' + '0000' + '0000');
  });

  it('round-trips random content through writer and reader, splitting at the max size', async () => {
    const r = rng(9);
    for (const size of [0, 1, MAX_PKT_PAYLOAD - 1, MAX_PKT_PAYLOAD, MAX_PKT_PAYLOAD + 1, 3 * MAX_PKT_PAYLOAD, 1_000_003]) {
      const { stream, writes } = sink();
      const w = new PktLineWriter(stream, 64 * 1024);
      const content = randomBytes(size);
      w.content(content).flushPkt();
      await w.send();
      const wire = Buffer.concat(writes);
      expect(wire.length).toBe(size + 4 * Math.ceil(size / MAX_PKT_PAYLOAD) + 4);
      const pkts = await readAll(chunk(wire, () => 1 + Math.floor(r() * 9000)));
      expect(pkts.slice(0, -1).every((p) => p.kind === 'data' && p.data.length <= MAX_PKT_PAYLOAD)).toBe(true);
      expect(pkts.length).toBe(Math.ceil(size / MAX_PKT_PAYLOAD) + 1);
      const back = Buffer.concat(pkts.flatMap((p) => (p.kind === 'data' ? [p.data] : [])));
      expect(back.equals(content)).toBe(true);
    }
  });

  it('waits for drain instead of buffering a large response in the stream', async () => {
    const out = new PassThrough({ highWaterMark: 16 * 1024 });
    let handedOver = 0;
    const write = out.write.bind(out) as (c: Buffer) => boolean;
    out.write = ((c: Buffer) => {
      handedOver += c.length;
      return write(c);
    }) as typeof out.write;
    const w = new PktLineWriter(out, 256 * 1024);
    const content = randomBytes(4 * 1024 * 1024);
    w.content(content).flushPkt();
    let done = false;
    const sending = w.send().then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    // Nobody reads yet: the writer must be parked after the first segment, not have queued 4 MB.
    expect(done).toBe(false);
    expect(handedOver).toBeGreaterThan(0);
    expect(handedOver).toBeLessThanOrEqual(256 * 1024 + MAX_PKT_PAYLOAD + 8);
    const received: Buffer[] = [];
    out.on('data', (c: Buffer) => received.push(c));
    await sending;
    const pkts = await readAll([Buffer.concat(received)]);
    const back = Buffer.concat(pkts.flatMap((p) => (p.kind === 'data' ? [p.data] : [])));
    expect(back.equals(content)).toBe(true);
  });

  it('rejects when the output stream fails', async () => {
    const broken = new Writable({
      write(_c, _e, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const w = new PktLineWriter(broken, 1024);
    w.content(randomBytes(10_000)).flushPkt();
    await expect(w.send()).rejects.toThrow(/EPIPE/);
  });
});

describe('PktLineReader on a stream destroyed without an end', () => {
  it('ends cleanly at a request boundary instead of waiting for ever', async () => {
    const stream = new PassThrough();
    const reader = new PktLineReader(stream);
    stream.write(Buffer.concat([Buffer.from('0011command=clean'), Buffer.from('0000')]));
    expect(await reader.readTextList()).toEqual(['command=clean']);
    const next = reader.readTextList();
    stream.destroy();
    expect(await next).toBeNull();
  });
});
