// Uploads: one request at a time, in order, retried with exponential
// backoff (honouring Retry-After) on network errors, 408, 429 and 5xx. The
// queue is bounded; when it is full the recorder pauses and later resumes
// with a full snapshot. At pagehide what is left goes out with sendBeacon or
// fetch keepalive, within the browser's 64 KB budget.

import { T, now } from './timing.js';

const GZIP = { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' };
const JSON_TYPE = { 'Content-Type': 'application/json' };

/** Sends segments to the collector. */
export class Uploader {
  constructor(rec) {
    this.rec = rec;
    this.q = [];
    this.bytes = 0;
    this.busy = false;
    this.timer = 0;
    this.attempt = 0;
    this.halted = false;
  }

  url(s, beacon) {
    const cfg = this.rec.cfg;
    let u = cfg.endpoint + (cfg.endpoint.indexOf('?') < 0 ? '?' : '&') +
      'v=1&sid=' + s.sid + '&vid=' + s.vid + '&seq=' + s.seq + '&start=' + s.start + '&end=' + s.end +
      '&full=' + s.full + '&n=' + s.n + '&raw=' + s.raw;
    if (beacon || s.enc !== 'gzip') u += '&enc=' + s.enc;
    if (cfg.clientToken) u += '&ct=' + encodeURIComponent(cfg.clientToken);
    return u;
  }

  /** Queues a compressed segment; false (and the recorder pauses) when the queue is full. */
  push(s) {
    if (this.halted) return false;
    const size = s.body.length;
    if (this.q.length >= T.queueLength || this.bytes + size > T.queueBytes) {
      this.rec.overflow();
      return false;
    }
    this.q.push(s);
    this.bytes += size;
    this.pump();
    return true;
  }

  pump() {
    if (this.busy || this.timer || !this.q.length || this.halted) return;
    const s = this.q[0];
    this.busy = true;
    let p;
    try {
      p = fetch(this.url(s, false), {
        method: 'POST',
        body: s.body,
        headers: s.enc === 'gzip' ? GZIP : JSON_TYPE,
        keepalive: s.body.length < 60000,
        credentials: 'same-origin',
      });
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((res) => this.answer(s, res.status, res.headers.get('Retry-After')), () => this.answer(s, 0, null));
  }

  shift() {
    const s = this.q.shift();
    if (s) this.bytes -= s.body.length;
  }

  answer(s, status, retryAfter) {
    this.rec.guard(() => {
      this.busy = false;
      if (this.q[0] !== s) return this.pump(); // sent at pagehide meanwhile
      if (status >= 200 && status < 300) {
        this.shift();
        this.attempt = 0;
        if (!this.q.length) this.rec.drained();
        return this.pump();
      }
      if (status === 0 || status === 408 || status === 429 || status >= 500) {
        let delay = Math.min(T.retryMax, T.retryBase * 2 ** this.attempt) * (0.75 + Math.random() / 4);
        const ra = retryDelay(retryAfter);
        if (ra > delay) delay = Math.min(ra, 10 * T.retryMax);
        this.attempt++;
        this.timer = setTimeout(() => {
          this.timer = 0;
          this.rec.guard(() => this.pump());
        }, delay);
        return;
      }
      this.shift();
      this.attempt = 0;
      if (status === 410) this.rec.sessionGone();
      else if (status === 400 || status === 409 || status === 411 || status === 413 || status === 415) this.rec.rejected();
      else this.rec.halt(status); // 403 and anything unexpected: stop for this page
      this.pump();
    });
  }

  /** Connectivity is back: retry now rather than at the end of the backoff. */
  online() {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = 0;
    this.attempt = 0;
    this.pump();
  }

  /** Drops everything and sends nothing more. */
  halt() {
    this.halted = true;
    this.q = [];
    this.bytes = 0;
    clearTimeout(this.timer);
    this.timer = 0;
  }

  /**
   * pagehide: sends the queue and the uncompressed segments with beacons
   * within budget. Returns the number of segments handed to the browser.
   */
  unload(uncompressed) {
    if (this.halted) return 0;
    let budget = T.beaconBytes;
    let sent = 0;
    const send = (s, body) => {
      const size = typeof body === 'string' ? new Blob([body]).size : body.length;
      if (size > budget) return false;
      const url = this.url(s, true);
      let ok = false;
      try {
        ok = navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }));
      } catch (e) { /* fall back to fetch */ }
      if (!ok) {
        try {
          fetch(url, { method: 'POST', body, headers: s.enc === 'gzip' ? GZIP : JSON_TYPE, keepalive: true, credentials: 'same-origin' }).catch(() => {});
          ok = true;
        } catch (e) { /* over the keepalive quota */ }
      }
      if (ok) {
        budget -= size;
        sent++;
      }
      return ok;
    };
    const rest = [];
    for (const s of this.q) if (!(this.busy && s === this.q[0]) && !send(s, s.body)) rest.push(s);
    if (this.busy && this.q.length) rest.unshift(this.q[0]);
    this.q = rest;
    this.bytes = rest.reduce((a, s) => a + s.body.length, 0);
    for (const s of uncompressed) {
      const text = '[' + s.parts.join(',') + ']';
      s.enc = 'identity';
      s.raw = new Blob([text]).size;
      send(s, text);
    }
    return sent;
  }
}

/** Milliseconds a Retry-After header asks to wait (seconds or an HTTP date). */
export function retryDelay(v) {
  if (!v) return 0;
  if (/^\s*\d+\s*$/.test(v)) return +v * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now()) : 0;
}
