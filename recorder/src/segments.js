// Segments: consecutive slices of one view's events. A segment is closed 5 s
// after its first event, when it reaches about 60 KB compressed, on a view
// change, when the page is hidden, and at pagehide.

import { T, SEGMENT_BYTES } from './timing.js';
import { compress } from './compressor.js';
import { push } from './uploader.js';
import { guard, guarded } from './recorder.js';

let cur = null; // the segment being filled
let sid = '';
let vid = '';
let seq = 0;
let timer = 0;
let ratio = 6; // characters per byte sent of the last segment, to estimate the open one's size
let closing = []; // closed segments being compressed, in order (uploads keep it)

/** The current view's id. */
export const viewId = () => vid;

/** The segments not handed to the uploader yet. */
export const unqueued = () => (cur ? closing.concat(cur) : closing);

/** Starts numbering a new view's segments (closing the open one). */
export function startView(view, session) {
  closeSegment();
  vid = view;
  sid = session;
  seq = 0;
}

/** Adds an event to the open segment (opening one if needed). */
export function addEvent(ev) {
  // A page's Array.prototype.toJSON (Prototype.js) or Object.prototype.toJSON
  // would turn the event's arrays or objects into whatever it returns: the
  // replacer gets the value toJSON gave, and this[k] is the original. Only
  // then: a replacer takes V8 off its fast path. (Primitives' toJSON is
  // never called.)
  const json = JSON.stringify(ev, [].toJSON && function (k) {
    return this[k];
  });
  let s = cur;
  if (!s) {
    // q holds the upload's query parameters (end is set below, raw once compressed).
    s = cur = { q: { v: 1, sid, vid, seq: seq++, start: ev.timestamp, full: 0, n: 0 }, parts: [], chars: 2 };
    timer = setTimeout(guarded(closeSegment), T.flush);
  }
  s.parts.push(json);
  s.q.n++;
  s.q.end = ev.timestamp;
  if (ev.type == 2) s.q.full = 1;
  s.chars += json.length + 1;
  if (s.chars / ratio >= SEGMENT_BYTES) closeSegment();
}

/** Closes the open segment; it is compressed and queued for upload. */
export function closeSegment() {
  const s = cur;
  if (!s) return;
  cur = null;
  clearTimeout(timer);
  closing.push(s);
  compress(s.parts).then((r) => {
    s.r = r;
    // Compressed segments go to the uploader in order.
    guard(() => {
      while (closing.length && closing[0].r) queue(closing.shift());
    });
  });
}

// Hands a compressed segment to the uploader.
function queue(s) {
  const r = s.r;
  s.parts = null;
  s.body = r.body;
  // A parameter too (a beacon cannot set Content-Encoding); quoted, so that
  // the bundle's property mangling (embed.go: enc) keeps its name.
  s.q['enc'] = r.enc;
  s.q.raw = r.raw;
  // Characters per byte sent: 60 KB of JSON a segment when not compressed.
  ratio = Math.min(30, s.chars / r.body.length);
  push(s);
}

/** The JSON text of a segment's events. */
export const text = (s) => '[' + s.parts.join(',') + ']';

/**
 * Closes the open segment (pagehide): the compressed ones go to the
 * uploader, and those not compressed yet are returned.
 */
export function takeUncompressed() {
  closeSegment();
  const all = closing;
  closing = [];
  return all.filter((s) => !s.r || queue(s));
}
