// Compression of segments: in the same-origin worker when it runs, else on
// the main thread with CompressionStream, else not at all (identity).

import { gzip } from './gzip.js';

let worker = null;
let keys = 0;
const pending = new Map(); // key -> [text, resolve]

/** Starts the worker from url (same origin: no blob: URL, no CSP hole). */
export function startCompressor(url) {
  try {
    if (typeof CompressionStream !== 'function' || !url) return;
    worker = new Worker(url);
    worker.onmessage = (e) => {
      const [key, buf, raw] = e.data;
      const p = pending.get(key);
      pending.delete(key);
      if (p) (buf ? Promise.resolve({ body: new Uint8Array(buf), enc: 'gzip', raw }) : here(p[0])).then(p[1]);
    };
    worker.onerror = worker.onmessageerror = fail;
  } catch (e) {
    // Blocked by CSP (worker-src) or a cross-origin script: compress here.
    worker = null;
  }
}

// The worker died or never started: the segments it held are compressed here.
function fail() {
  if (worker) worker.terminate();
  worker = null;
  for (const [text, resolve] of pending.values()) here(text).then(resolve);
  pending.clear();
}

async function here(text) {
  const blob = new Blob([text]);
  try {
    return { body: new Uint8Array(await gzip(blob)), enc: 'gzip', raw: blob.size };
  } catch (e) {
    return { body: text, enc: 'identity', raw: blob.size };
  }
}

/** Compresses text: resolves with {body (Uint8Array, or the text itself for identity), enc, raw}. */
export function compress(text) {
  return new Promise((resolve) => {
    if (!worker) return here(text).then(resolve);
    pending.set(++keys, [text, resolve]);
    worker.postMessage([keys, text]);
  });
}
