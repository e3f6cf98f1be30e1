// Segments: consecutive slices of one view's events. A segment is closed 5 s
// after its first event, when it reaches about 60 KB compressed, on a view
// change, when the page is hidden, and at pagehide.

import { T } from './timing.js';

let keys = 0;

/** Cuts a view's event stream into segments and hands them to the uploader. */
export class Segments {
  constructor(rec, compressor) {
    this.rec = rec;
    this.compressor = compressor;
    this.cur = null;
    this.vid = '';
    this.seq = 0;
    this.timer = 0;
    this.ratio = 6; // raw/compressed of the last segment, to estimate the open one
    this.open = new Map(); // key -> segment being compressed
  }

  /** Starts numbering a new view's segments (closing the open one). */
  startView(vid) {
    this.close();
    this.vid = vid;
    this.seq = 0;
  }

  add(ev) {
    const json = JSON.stringify(ev);
    let s = this.cur;
    if (!s) {
      s = this.cur = {
        key: ++keys, sid: this.rec.session.id, vid: this.vid, seq: this.seq++, start: ev.timestamp, end: ev.timestamp,
        full: 0, n: 0, chars: 2, compressed: 0, parts: [],
      };
      this.open.set(s.key, s);
      this.timer = setTimeout(() => this.rec.guard(() => this.close()), T.flush);
    }
    s.parts.push(json);
    s.n++;
    s.end = ev.timestamp;
    if (ev.type === 2) s.full = 1;
    s.chars += json.length + 1;
    this.compressor.write(s, json);
    if (Math.max(s.compressed, s.chars / this.ratio) >= T.segmentBytes) this.close();
  }

  /** Drops the open segment: after a loss its events cannot be replayed. */
  discard() {
    const s = this.cur;
    if (!s) return;
    this.cur = null;
    clearTimeout(this.timer);
    this.open.delete(s.key);
    this.compressor.close(s).then(() => {}, () => {});
  }

  /** The worker reports compressed bytes so far. */
  sized(key, size) {
    const s = this.open.get(key);
    if (s) s.compressed = size;
  }

  /** Closes the open segment; it is compressed and queued for upload. */
  close() {
    const s = this.cur;
    if (!s) return;
    this.cur = null;
    clearTimeout(this.timer);
    this.compressor.close(s).then((r) => this.rec.guard(() => {
      if (!this.open.has(s.key)) return; // already sent uncompressed at pagehide
      this.open.delete(s.key);
      s.parts = null;
      s.body = r.body;
      s.enc = r.enc;
      s.raw = r.raw;
      const size = typeof r.body === 'string' ? r.body.length : r.body.length;
      if (r.enc === 'gzip' && size) this.ratio = Math.max(2, Math.min(30, r.raw / size));
      this.rec.uploader.push(s);
    }));
  }

  /** Closes the open segment and takes every segment not yet compressed (pagehide). */
  takeUncompressed() {
    this.close();
    const all = [...this.open.values()];
    this.open.clear();
    return all;
  }
}
