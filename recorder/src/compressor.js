// Compression of segments: in the worker when it runs, else on the main
// thread with CompressionStream, else not at all (identity). The worker is
// the recorder's own script (same origin, no blob: URL, already cached),
// started with new Worker(its URL); there it runs serveCompression.
//
// Messages: page → worker [key, the events' JSON texts]; worker → page
// [key, result], result being what here() resolves with. The worker joins
// the texts: the main thread only copies them once, into the message.

let worker = null;
let keys = 0;
const pending = new Map(); // key -> [parts, resolve]

/**
 * Compresses the JSON array of the events' JSON texts (parts) on this
 * thread: resolves with {body (a Uint8Array), enc ('gzip' or 'identity'),
 * raw (bytes)}. The body is bytes even when not compressed: its length is
 * what the keepalive limit (64 KB) and the segment size count, and a
 * string's length is in characters (a third of the bytes in Japanese).
 */
export async function here(parts) {
  const blob = new Blob(['[' + parts.join(',') + ']']);
  let enc = 'gzip';
  let body;
  try {
    body = await new Response(blob.stream().pipeThrough(new CompressionStream(enc))).arrayBuffer();
  } catch (e) {
    body = await blob.arrayBuffer();
    enc = 'identity';
  }
  return { body: new Uint8Array(body), enc, raw: blob.size };
}

/** In the worker: compresses the segments the page posts. */
export function serveCompression() {
  onmessage = async (e) => {
    const r = await here(e.data[1]);
    postMessage([e.data[0], r], [r.body.buffer]);
  };
}

/** Starts the worker from url (the recorder's script). */
export function startCompressor(url) {
  try {
    if (!self.CompressionStream || !url) return;
    worker = new Worker(url);
    worker.onmessage = ({ data: [k, r] }) => {
      pending.get(k)?.[1](r);
      pending.delete(k);
    };
    worker.onerror = worker.onmessageerror = fail;
  } catch (e) {
    // Blocked by CSP (worker-src) or a cross-origin script: compress here.
    worker = null;
  }
}

// The worker died or never started: the segments it held are compressed here.
function fail() {
  worker?.terminate();
  worker = null;
  for (const [parts, resolve] of pending.values()) here(parts).then(resolve);
  pending.clear();
}

/** Compresses parts (see here), in the worker if there is one. */
export function compress(parts) {
  return new Promise((resolve) => {
    if (!worker) return here(parts).then(resolve);
    pending.set(++keys, [parts, resolve]);
    worker.postMessage([keys, parts]);
  });
}
