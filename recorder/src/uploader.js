// Uploads: one request at a time, in order, retried with exponential
// backoff (honouring Retry-After) on network errors, 408, 429 and 5xx. The
// queue is bounded; when it is full the recorder pauses and later resumes
// with a full snapshot. At pagehide what is left goes out with sendBeacon or
// fetch keepalive, within the browser's 64 KB budget.

import { T, now, BEACON_BYTES, QUEUE_BYTES } from './timing.js';
import { text } from './segments.js';
import { cfg, guard, pause, resume, halt, sessionGone } from './recorder.js';

let q = [];
let bytes = 0;
let busy; // a request is in flight
let timer = 0;
let attempt = 0;
let halted;
let gap; // a segment was dropped: nothing but a full snapshot may follow it

/** The segments waiting for upload (the one in flight first). */
export const queued = () => q;

function request(s, beacon) {
  // text/plain with the encoding as a parameter, for fetch and beacon
  // alike: a beacon can set no header, and one form is less code.
  const body = new Blob([s.body], { type: 'text/plain' });
  // t: the clock now, at each attempt, so that the collector can move a
  // far-off clock's times to its own (docs/FORMAT.md, Clocks). (The
  // second argument is ignored: it only sets t first.)
  const url = cfg.upload + new URLSearchParams(s.q, s.q.t = now());
  if (beacon) {
    try {
      // false: over the keepalive quota (64 KB in flight in all, beacons
      // and keepalive fetches alike), which a fetch is refused as well.
      return navigator.sendBeacon(url, body);
    } catch (e) { /* no sendBeacon: fetch */ }
  }
  return fetch(url, { method: 'POST', body, keepalive: beacon || body.size < 60000 });
}

/** Queues a compressed segment; when the queue is full the recorder pauses instead. */
export function push(s) {
  const size = s.body.length;
  // After a dropped segment the events that follow cannot be replayed
  // (their nodes were in it): they are dropped too, up to the full snapshot
  // that resume() takes.
  if (halted || gap && !s.q.full) return;
  // A lone segment is queued whatever its size (it is in memory anyway; the
  // collector refuses it if too large): an empty queue is never full, and
  // the pause always ends when the queue empties.
  if (gap = q.length >= T.queueLength || q.length && bytes + size > QUEUE_BYTES) return pause('queue');
  q.push(s);
  bytes += size;
  pump();
}

function pump() {
  if (busy || timer || !q.length || halted) return;
  const s = q[0];
  busy = true;
  new Promise((resolve) => resolve(request(s))).then((res) => answer(s, res.status, res.headers.get('Retry-After')), () => answer(s, 0));
}

function answer(s, status, retryAfter) {
  guard(() => {
    busy = false;
    if (q[0] != s) return pump(); // sent at pagehide meanwhile
    if (!status || status == 408 || status == 429 || status > 499) {
      const delay = Math.min(T.retryMax, T.retryBase * 2 ** attempt++) * (0.75 + Math.random() / 4);
      timer = setTimeout(() => {
        timer = 0;
        guard(pump);
      }, Math.max(delay, Math.min(retryDelay(retryAfter), 10 * T.retryMax)));
      return;
    }
    q.shift(); // s
    bytes -= s.body.length;
    attempt = 0;
    if (status == 410) sessionGone(s.q.sid);
    else if (/^(?:400|409|411|413|415)$/.test(status)) {
      // Refused: what follows it cannot be replayed without it, so what
      // is queued is dropped but full snapshots, and so is every segment
      // to come until the full snapshot taken when the queue empties (as
      // for a full queue). A refused full snapshot would be refused again
      // (a page too large, a clock far off): this page is not recorded.
      keep((x) => x.q.full);
      gap = 1;
      s.q.full ? halt() : pause('queue');
    }
    else if (status > 299) halt(); // 403 and anything unexpected: stop for this page
    // A pause for the full queue ends when it empties, whatever the last answer.
    if (!q.length) resume('queue');
    pump();
  });
}

// Keeps the queued segments that pass f.
function keep(f) {
  q = q.filter(f);
  bytes = q.reduce((a, s) => a + s.body.length, 0);
}

/**
 * Connectivity is back, or the page came back from the back/forward
 * cache: retry now rather than at the end of the backoff, send what unload
 * left, and end a pause for the queue if unload emptied it (no answer will).
 */
export function online() {
  clearTimeout(timer);
  timer = attempt = 0;
  q.length || resume('queue');
  pump();
}

/** Drops everything and sends nothing more (a pending retry finds it halted). */
export function haltUploads() {
  halted = true;
  q = [];
}

/**
 * pagehide: sends the queue and the uncompressed segments with beacons
 * within budget (those not yet compressed as JSON, enc=identity).
 */
export function unload(uncompressed) {
  if (halted) return;
  let budget = BEACON_BYTES;
  // Whether the segment went: a beacon refused (over the browser's
  // quota) takes nothing off the budget, so a smaller one may still fit.
  const send = (s) => {
    const size = s.body.length;
    let p;
    try {
      p = size <= budget && request(s, true);
      p.catch?.(() => {});
    } catch (e) {
      p = 0; // over the keepalive quota
    }
    if (p) budget -= size;
    return p;
  };
  // The segment in flight stays: its answer still comes.
  keep((s, i) => (busy && !i) || !send(s));
  for (const s of uncompressed) {
    s.q['enc'] = 'identity';
    s.q.raw = (s.body = new TextEncoder().encode(text(s))).length;
    // Not sent (over the budget), it is lost: should the page come back
    // from the back/forward cache, a full snapshot comes first.
    send(s) || pause('queue', gap = 1);
  }
}

/** Milliseconds a Retry-After header asks to wait (seconds or an HTTP date). */
export function retryDelay(v) {
  // A number of seconds (null and '' read as 0), else a date (past, it is
  // below the backoff, which wins); NaN, from neither, ends as 0.
  const s = +v;
  return (s >= 0 ? s * 1000 : Date.parse(v) - now()) || 0;
}
