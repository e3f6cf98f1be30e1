// Uploads: one request at a time, in order, retried with exponential
// backoff (honouring Retry-After) on network errors, 408, 429 and 5xx. The
// queue is bounded; when it is full the recorder pauses and later resumes
// with a full snapshot. At pagehide what is left goes out with sendBeacon or
// fetch keepalive, within the browser's 64 KB budget.

import { T, now, BEACON_BYTES, QUEUE_BYTES } from './timing.js';
import { text } from './segments.js';
import { cfg, guard, pause, resume, rejected, halt, sessionGone } from './recorder.js';

let q = [];
let bytes = 0;
let busy = false; // a request is in flight
let timer = 0;
let attempt = 0;
let halted = false;

/** The segments waiting for upload (the one in flight first). */
export const queued = () => q;

function request(s, body, beacon) {
  const e = cfg.endpoint;
  const gz = s.enc === 'gzip';
  const url = e + (e.includes('?') ? '&' : '?') + new URLSearchParams(s.q) + (beacon || !gz ? '&enc=' + s.enc : '') + (cfg.clientToken ? '&ct=' + encodeURIComponent(cfg.clientToken) : '');
  if (beacon) {
    try {
      if (navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }))) return;
    } catch (e) { /* fall back to fetch */ }
  }
  const headers = { 'Content-Type': 'application/json' };
  if (gz) headers['Content-Encoding'] = 'gzip';
  return fetch(url, { method: 'POST', body, headers, keepalive: beacon || body.length < 60000 });
}

/** Queues a compressed segment; when the queue is full the recorder pauses instead. */
export function push(s) {
  const size = s.body.length;
  if (halted) return;
  if (q.length >= T.queueLength || bytes + size > QUEUE_BYTES) return pause('queue');
  q.push(s);
  bytes += size;
  pump();
}

function pump() {
  if (busy || timer || !q.length || halted) return;
  const s = q[0];
  busy = true;
  new Promise((resolve) => resolve(request(s, s.body))).then((res) => answer(s, res.status, res.headers.get('Retry-After')), () => answer(s, 0));
}

function shift() {
  const s = q.shift();
  if (s) bytes -= s.body.length;
}

function answer(s, status, retryAfter) {
  guard(() => {
    busy = false;
    if (q[0] !== s) return pump(); // sent at pagehide meanwhile
    if (status === 0 || status === 408 || status === 429 || status >= 500) {
      const delay = Math.min(T.retryMax, T.retryBase * 2 ** attempt++) * (0.75 + Math.random() / 4);
      timer = setTimeout(() => {
        timer = 0;
        guard(pump);
      }, Math.max(delay, Math.min(retryDelay(retryAfter), 10 * T.retryMax)));
      return;
    }
    shift();
    attempt = 0;
    if (status < 300) {
      if (!q.length) resume('queue');
    } else if (status === 410) sessionGone();
    else if (/^(?:400|409|411|413|415)$/.test(status)) rejected();
    else halt(); // 403 and anything unexpected: stop for this page
    pump();
  });
}

/** Connectivity is back: retry now rather than at the end of the backoff. */
export function online() {
  if (!timer) return;
  clearTimeout(timer);
  timer = 0;
  attempt = 0;
  pump();
}

/** Drops everything and sends nothing more. */
export function haltUploads() {
  halted = true;
  q = [];
  bytes = 0;
  clearTimeout(timer);
  timer = 0;
}

/**
 * pagehide: sends the queue and the uncompressed segments with beacons
 * within budget (those not yet compressed as JSON, enc=identity).
 */
export function unload(uncompressed) {
  if (halted) return;
  let budget = BEACON_BYTES;
  const send = (s, body) => {
    const size = new Blob([body]).size;
    if (size > budget) return false;
    try {
      const p = request(s, body, true);
      if (p) p.catch(() => {});
    } catch (e) {
      return false; // over the keepalive quota
    }
    budget -= size;
    return true;
  };
  // The segment in flight stays: its answer still comes.
  q = q.filter((s, i) => (busy && !i) || !send(s, s.body));
  bytes = q.reduce((a, s) => a + s.body.length, 0);
  for (const s of uncompressed) {
    const body = text(s);
    s.enc = 'identity';
    s.q.raw = new Blob([body]).size;
    send(s, body);
  }
}

/** Milliseconds a Retry-After header asks to wait (seconds or an HTTP date). */
export function retryDelay(v) {
  // A number of seconds (null and '' read as 0), else a date; NaN, from
  // neither, ends as 0.
  const s = +v;
  return (s >= 0 ? s * 1000 : Math.max(0, Date.parse(v) - now())) || 0;
}
