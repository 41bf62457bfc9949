// The floor for git-seal's filter: a minimal long-running process filter (gitattributes(5), "Long
// Running Filter Process") in Node that answers every clean and smudge with the bytes it was given.
// Same process model, protocol and runtime as git-seal's filter, no work: what a git command costs with
// a Node process filter at all. Used by bench/git-checkout.bench.mjs as `filter.echo.process`.
const FLUSH = Buffer.from('0000');
const text = (line) => {
  const body = Buffer.from(`${line}\n`);
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
};

let buf = Buffer.alloc(0);
let packets = []; // packets of the current message, up to its flush; null payload = flush
const messages = []; // complete pkt-line lists
function parse() {
  let off = 0;
  while (buf.length - off >= 4) {
    const len = parseInt(buf.toString('latin1', off, off + 4), 16);
    if (len === 0) {
      off += 4;
      messages.push(packets);
      packets = [];
      continue;
    }
    if (buf.length - off < len) break;
    packets.push(buf.subarray(off + 4, off + len));
    off += len;
  }
  buf = buf.subarray(off);
}

// States: hello, caps, then alternating headers and content.
let state = 'hello';
let headers = null;
function handle(list) {
  if (state === 'hello') {
    process.stdout.write(Buffer.concat([text('git-filter-server'), text('version=2'), FLUSH]));
    state = 'caps';
  } else if (state === 'caps') {
    process.stdout.write(Buffer.concat([text('capability=clean'), text('capability=smudge'), FLUSH]));
    state = 'headers';
  } else if (state === 'headers') {
    headers = list;
    state = 'content';
  } else {
    // Echo: status, the same content packets, flush, empty list (keep status=success).
    const out = [text('status=success'), FLUSH];
    for (const p of list) out.push(Buffer.from((p.length + 4).toString(16).padStart(4, '0')), p);
    out.push(FLUSH, FLUSH);
    process.stdout.write(Buffer.concat(out));
    headers = null;
    state = 'headers';
  }
}

process.stdin.on('data', (chunk) => {
  buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
  parse();
  while (messages.length) handle(messages.shift());
});
