// The compression worker: segments arrive as JSON event strings and leave
// as one gzip body each, compressed off the main thread with
// CompressionStream. Messages in: [0, key, text] appends one event,
// [1, key] ends the segment. Messages out: [key, compressedBytesSoFar]
// while compressing, [key, ArrayBuffer, rawBytes] when done.

const streams = new Map();
const encoder = new TextEncoder();

function open(key) {
  const cs = new CompressionStream('gzip');
  const s = { w: cs.writable.getWriter(), n: 0, raw: 0, chunks: [], size: 0 };
  s.done = (async () => {
    const r = cs.readable.getReader();
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      s.chunks.push(value);
      s.size += value.length;
      postMessage([key, s.size]);
    }
    const out = new Uint8Array(s.size);
    let o = 0;
    for (const c of s.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out.buffer;
  })();
  streams.set(key, s);
  return s;
}

function write(s, text) {
  const bytes = encoder.encode(text);
  s.raw += bytes.length;
  s.w.write(bytes).catch(() => {});
}

onmessage = (e) => {
  const [op, key, text] = e.data;
  const s = streams.get(key) || open(key);
  if (op === 0) {
    write(s, (s.n++ ? ',' : '[') + text);
    return;
  }
  write(s, s.n ? ']' : '[]');
  s.w.close().catch(() => {});
  s.done.then((buf) => {
    streams.delete(key);
    postMessage([key, buf, s.raw], [buf]);
  }, () => {
    streams.delete(key);
    postMessage([key, null, 0]);
  });
};
