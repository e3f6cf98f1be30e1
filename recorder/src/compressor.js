// Gzip for segments: in the same-origin worker when it runs, else on the
// main thread with CompressionStream, else not at all (identity).

/** Compresses segments; each segment keeps its JSON parts until compressed. */
export class Compressor {
  constructor(workerURL, onSize) {
    this.pending = new Map(); // key -> [segment, resolve]
    this.onSize = onSize;
    this.local = typeof CompressionStream === 'function';
    this.worker = null;
    if (!this.local || !workerURL) return;
    try {
      const w = new Worker(workerURL);
      w.onmessage = (e) => this.message(e.data);
      w.onerror = () => this.fail();
      w.onmessageerror = () => this.fail();
      this.worker = w;
    } catch (e) {
      // Blocked by CSP (worker-src) or a cross-origin script: compress here.
    }
  }

  /** Streams one event's JSON of segment s to the worker. */
  write(s, json) {
    if (this.worker) this.worker.postMessage([0, s.key, json]);
  }

  /**
   * Ends segment s: resolves with {body, enc, raw} (body an Uint8Array, or
   * a string for identity).
   */
  close(s) {
    return new Promise((resolve) => {
      if (this.worker) {
        this.pending.set(s.key, [s, resolve]);
        this.worker.postMessage([1, s.key]);
      } else {
        this.compressHere(s).then(resolve);
      }
    });
  }

  message(m) {
    const p = this.pending.get(m[0]);
    if (m.length === 2) {
      if (this.onSize) this.onSize(m[0], m[1]);
      return;
    }
    if (!p) return;
    this.pending.delete(m[0]);
    if (m[1]) p[1]({ body: new Uint8Array(m[1]), enc: 'gzip', raw: m[2] });
    else this.compressHere(p[0]).then(p[1]);
  }

  /** The worker died or never started: the segments it held are redone here. */
  fail() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const [s, resolve] of all) this.compressHere(s).then(resolve);
  }

  async compressHere(s) {
    const text = '[' + s.parts.join(',') + ']';
    const bytes = new TextEncoder().encode(text);
    if (!this.local) return { body: text, enc: 'identity', raw: bytes.length };
    try {
      const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
      const buf = await new Response(stream).arrayBuffer();
      return { body: new Uint8Array(buf), enc: 'gzip', raw: bytes.length };
    } catch (e) {
      return { body: text, enc: 'identity', raw: bytes.length };
    }
  }
}
