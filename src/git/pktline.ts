/**
 * pkt-line framing as described in gitprotocol-common(5).
 *
 * A pkt-line is a 4-digit hex length (which counts the 4 length bytes themselves) followed by the
 * payload. Special lengths: "0000" flush-pkt, "0001" delim-pkt, "0002" response-end-pkt. The
 * payload of a data packet is at most 65516 bytes (65520 on the wire).
 *
 * Everything here is 8-bit clean and allocation-conscious: the decoder never re-concatenates its
 * whole buffer, each packet payload costs at most one copy, and the writer hands the output stream
 * a few large buffers instead of one tiny write per packet.
 */
import type { Writable } from 'node:stream';
import { GitSealError } from '../errors.js';

/** Largest pkt-line on the wire, length header included. */
const MAX_PKT_LEN = 65520;
/** Largest data payload of one pkt-line. */
export const MAX_PKT_PAYLOAD = MAX_PKT_LEN - 4;

export type Packet =
  | { readonly kind: 'data'; readonly data: Buffer }
  | { readonly kind: 'flush' }
  | { readonly kind: 'delim' }
  | { readonly kind: 'response-end' };

const FLUSH_PKT: Buffer = Buffer.from('0000', 'latin1');

const FLUSH: Packet = Object.freeze({ kind: 'flush' });
const DELIM: Packet = Object.freeze({ kind: 'delim' });
const RESPONSE_END: Packet = Object.freeze({ kind: 'response-end' });

const HEX = '0123456789abcdef';

/** The 4-byte length header for a data packet carrying `payloadLength` bytes. */
export function pktHeader(payloadLength: number): Buffer {
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > MAX_PKT_PAYLOAD) {
    throw new RangeError(`pkt-line payload must be 0..${MAX_PKT_PAYLOAD} bytes, got ${payloadLength}`);
  }
  const n = payloadLength + 4;
  const h = Buffer.allocUnsafe(4);
  h[0] = HEX.charCodeAt((n >> 12) & 0xf);
  h[1] = HEX.charCodeAt((n >> 8) & 0xf);
  h[2] = HEX.charCodeAt((n >> 4) & 0xf);
  h[3] = HEX.charCodeAt(n & 0xf);
  return h;
}

/** One complete data packet (header + payload) as a single buffer. Throws if the payload is too big. */
export function encodePacket(payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(body.length + 4);
  pktHeader(body.length).copy(out, 0);
  out.set(body, 4);
  return out;
}

/** A text packet: the line plus the conventional trailing LF. */
export function encodeTextPacket(line: string): Buffer {
  return encodePacket(`${line}\n`);
}

/**
 * Content as a sequence of data packets (no trailing flush). Returns header/payload pieces without
 * copying the content: payload pieces are views into `content`. Empty content yields no packets.
 */
export function contentPackets(content: Uint8Array): Buffer[] {
  const buf = Buffer.isBuffer(content) ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length; off += MAX_PKT_PAYLOAD) {
    const piece = buf.subarray(off, Math.min(off + MAX_PKT_PAYLOAD, buf.length));
    out.push(pktHeader(piece.length), piece);
  }
  return out;
}

/** The text of a data packet: UTF-8, with exactly one trailing LF removed if present. */
export function packetText(data: Buffer): string {
  const end = data.length > 0 && data[data.length - 1] === 0x0a ? data.length - 1 : data.length;
  return data.toString('utf8', 0, end);
}

/**
 * A FIFO of byte chunks. `take(n)` returns a view when the bytes sit in one chunk and otherwise
 * copies exactly once, so reading a large payload spread over many small reads is linear.
 */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  private first = 0; // index of the oldest unread chunk (consumed slots are compacted lazily)
  private head = 0; // read offset into chunks[first]
  private total = 0;

  /** Unread bytes. */
  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Remove and return the next `n` bytes (caller checks `length >= n`). */
  take(n: number): Buffer {
    if (n > this.total) throw new RangeError(`take(${n}) with only ${this.total} bytes buffered`);
    if (n === 0) return Buffer.alloc(0);
    const c0 = this.chunks[this.first];
    let out: Buffer;
    if (c0.length - this.head >= n) {
      out = c0.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === c0.length) this.advance();
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[this.first];
        const m = Math.min(c.length - this.head, n - filled);
        c.copy(out, filled, this.head, this.head + m);
        filled += m;
        this.head += m;
        if (this.head === c.length) this.advance();
      }
    }
    this.total -= n;
    return out;
  }

  private advance(): void {
    this.chunks[this.first] = EMPTY; // drop the reference now
    this.first++;
    this.head = 0;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 1024 && this.first * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.first); // amortised O(1) per chunk
      this.first = 0;
    }
  }

  /** Byte at offset `i` from the read position (caller checks `i < length`). */
  byteAt(i: number): number {
    let off = this.head + i;
    for (let k = this.first; k < this.chunks.length; k++) {
      const c = this.chunks[k];
      if (off < c.length) return c[off];
      off -= c.length;
    }
    throw new RangeError(`byteAt(${i}) beyond ${this.total} buffered bytes`);
  }

  /** Offset of the first `byte` from the read position, or -1. */
  indexOf(byte: number): number {
    let base = 0;
    let start = this.head;
    for (let k = this.first; k < this.chunks.length; k++) {
      const c = this.chunks[k];
      const at = c.indexOf(byte, start);
      if (at >= 0) return base + at - start;
      base += c.length - start;
      start = 0;
    }
    return -1;
  }
}

const EMPTY = Buffer.alloc(0);

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

function malformed(detail: string): GitSealError {
  return new GitSealError(`malformed pkt-line stream: ${detail}`, 'this command speaks git\'s pkt-line protocol and is meant to be run by git');
}

/** Push-style pkt-line decoder: feed arbitrary chunks with `push`, pull packets with `next`. */
export class PktLineDecoder {
  private readonly queue = new ChunkQueue();
  private pendingPayload = -1; // payload length of a parsed header whose payload has not fully arrived

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /** Bytes pushed and not yet returned in a packet. */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  /** True when a packet has started but is incomplete (EOF now would truncate it). */
  get midPacket(): boolean {
    return this.pendingPayload >= 0 || this.queue.length > 0;
  }

  /** The next complete packet, or undefined if more bytes are needed. Throws on a malformed header. */
  next(): Packet | undefined {
    if (this.pendingPayload < 0) {
      if (this.queue.length < 4) return undefined;
      let len = 0;
      for (let i = 0; i < 4; i++) {
        const v = hexValue(this.queue.byteAt(i));
        if (v < 0) {
          const raw = this.queue.take(4);
          throw malformed(`bad length header ${JSON.stringify(raw.toString('latin1'))}`);
        }
        len = (len << 4) | v;
      }
      this.queue.take(4);
      if (len === 0) return FLUSH;
      if (len === 1) return DELIM;
      if (len === 2) return RESPONSE_END;
      if (len < 4) throw malformed(`invalid length ${len}`);
      if (len > MAX_PKT_LEN) throw malformed(`length ${len} exceeds ${MAX_PKT_LEN}`);
      this.pendingPayload = len - 4;
    }
    if (this.queue.length < this.pendingPayload) return undefined;
    const data = this.queue.take(this.pendingPayload);
    this.pendingPayload = -1;
    return { kind: 'data', data };
  }
}

type ChunkSource = AsyncIterable<Buffer | Uint8Array | string>;

function toBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Bytes buffered ahead of the reader before a stream source is paused (git sends one request at a time). */
const HIGH_WATER = 1 << 20;

/**
 * Pull-style reader over a byte stream (e.g. process.stdin). A Node stream is read through its 'data'
 * events and paused while more than 1 MiB waits unread, so its backpressure applies; a packet already
 * buffered is returned without waiting, which keeps a request's handful of packets off the event loop.
 * Other async iterables are pulled chunk by chunk.
 */
export class PktLineReader {
  private readonly decoder = new PktLineDecoder();
  private readonly iter?: AsyncIterator<Buffer | Uint8Array | string>;
  private readonly stream?: NodeJS.ReadableStream;
  private ended = false;
  private failure: unknown = null;
  private buffered = 0;
  private waiter: (() => void) | null = null;

  constructor(input: ChunkSource | NodeJS.ReadableStream) {
    const stream = input as NodeJS.ReadableStream;
    if (typeof stream.on === 'function' && typeof stream.pause === 'function') {
      this.stream = stream;
      stream.on('data', (chunk: Buffer | string) => {
        const buf = toBuffer(chunk);
        this.decoder.push(buf);
        this.buffered += buf.length;
        if (this.buffered > HIGH_WATER && !this.waiter) stream.pause();
        this.wake();
      });
      const end = (): void => {
        this.ended = true;
        this.wake();
      };
      stream.on('end', end);
      stream.on('close', end); // destroyed without an end (a socket closed by its owner)
      stream.on('error', (err: unknown) => {
        this.failure = err;
        this.wake();
      });
    } else {
      this.iter = (input as ChunkSource)[Symbol.asyncIterator]();
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** A packet already buffered, without waiting; undefined when more bytes are needed. */
  private nextNow(): Packet | undefined {
    const pkt = this.decoder.next();
    if (pkt) this.buffered = this.decoder.bufferedBytes;
    return pkt;
  }

  /** Wait for more bytes (or the end). */
  private async more(): Promise<void> {
    if (this.iter) {
      const r = await this.iter.next();
      if (r.done) this.ended = true;
      else this.decoder.push(toBuffer(r.value));
      return;
    }
    this.buffered = this.decoder.bufferedBytes;
    await new Promise<void>((resolve) => {
      this.waiter = resolve;
      this.stream!.resume();
    });
  }

  /** The next packet, or null at a clean end of stream. Throws if the stream ends mid-packet. */
  async read(): Promise<Packet | null> {
    for (;;) {
      const pkt = this.nextNow();
      if (pkt) return pkt;
      if (this.failure) throw this.failure;
      if (this.ended) {
        if (this.decoder.midPacket) throw malformed('stream ended in the middle of a packet');
        return null;
      }
      await this.more();
    }
  }

  /** Data packets up to the next flush, as text lines. Null if the stream ends before any packet. */
  async readTextList(): Promise<string[] | null> {
    const first = this.nextNow() ?? (await this.read());
    if (first === null) return null;
    const lines: string[] = [];
    for (let pkt: Packet | null = first; ; pkt = this.nextNow() ?? (await this.read())) {
      if (pkt === null) throw malformed('stream ended before the flush packet closing a list');
      if (pkt.kind === 'flush') return lines;
      if (pkt.kind !== 'data') throw malformed(`unexpected ${pkt.kind} packet in a list`);
      lines.push(packetText(pkt.data));
    }
  }

  /** Data packets up to the next flush, concatenated once. */
  async readContent(): Promise<Buffer> {
    const parts: Buffer[] = [];
    let size = 0;
    for (;;) {
      const pkt = this.nextNow() ?? (await this.read());
      if (pkt === null) throw malformed('stream ended before the flush packet closing the content');
      if (pkt.kind === 'flush') break;
      if (pkt.kind !== 'data') throw malformed(`unexpected ${pkt.kind} packet in content`);
      parts.push(pkt.data);
      size += pkt.data.length;
    }
    if (parts.length === 1) return parts[0];
    return Buffer.concat(parts, size);
  }

  /** Stop reading the source (destroys a Node Readable). */
  async close(): Promise<void> {
    this.ended = true;
    if (this.iter) await this.iter.return?.();
    else (this.stream as NodeJS.ReadableStream & { destroy?(): void }).destroy?.();
  }
}

/** Default size of one write handed to the output stream. */
const DEFAULT_SEGMENT_BYTES = 1024 * 1024;

/**
 * Queues packets and sends them with as few `write()` calls as possible: everything queued goes
 * out in writes of about `segmentBytes` (one write for a typical small response), and after each
 * write that reports a full buffer the writer waits for 'drain' before producing the next one.
 * Queuing content does not copy it; each byte is copied once when a segment is assembled.
 */
export class PktLineWriter {
  private pending: Buffer[] = [];
  private failure: Error | null = null;
  private readonly onError = (err: Error): void => {
    this.failure ??= err;
  };

  constructor(
    private readonly output: Writable | NodeJS.WritableStream,
    private readonly segmentBytes = DEFAULT_SEGMENT_BYTES,
  ) {
    output.on('error', this.onError);
  }

  private add(buf: Buffer): this {
    if (buf.length === 0) return this;
    this.pending.push(buf);
    return this;
  }

  /** Queue a text packet (`line` + LF). */
  text(line: string): this {
    return this.add(encodeTextPacket(line));
  }

  flushPkt(): this {
    return this.add(FLUSH_PKT);
  }

  /** Queue content split into max-size data packets (no trailing flush). */
  content(data: Uint8Array): this {
    for (const piece of contentPackets(data)) this.add(piece);
    return this;
  }

  /** Hand everything queued to the stream, honouring backpressure. Rejects on a stream error. */
  async send(): Promise<void> {
    const pieces = this.pending;
    this.pending = [];
    let i = 0;
    while (i < pieces.length) {
      let j = i;
      let size = 0;
      while (j < pieces.length && (size < this.segmentBytes || j === i)) size += pieces[j++].length;
      const seg = j - i === 1 ? pieces[i] : Buffer.concat(pieces.slice(i, j), size);
      i = j;
      if (this.failure) throw this.failure;
      const ok = this.output.write(seg);
      if (!ok) await waitForDrain(this.output);
      if (this.failure) throw this.failure;
    }
  }

  /** Stop listening for stream errors. */
  detach(): void {
    this.output.removeListener('error', this.onError);
  }
}

function waitForDrain(stream: Writable | NodeJS.WritableStream): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('error', onErr);
      stream.removeListener('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onErr = (err: Error): void => done(err);
    const onClose = (): void => done(new GitSealError('output stream closed while writing a response'));
    stream.on('drain', onDrain);
    stream.on('error', onErr);
    stream.on('close', onClose);
  });
}
