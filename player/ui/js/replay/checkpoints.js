// Fast seek. In the background, every view's events are applied to a
// Rebuilder on an inert document (no rendering, no network), and the
// rebuilt state is checkpointed whenever enough work has accumulated since
// the last one. A seek restores the nearest checkpoint before the target
// and applies only the few events after it — never the whole session.
//
// The same pass describes the elements that clicks and inputs targeted
// (the DOM as it was at that moment), for the event list.
import { EventType } from './model.js';
import { describeNode } from './describe.js';

// A checkpoint is taken once applying events since the last one has cost
// this much (so a seek applies at most about this much work) ...
const WORK_MS = 24;
// ... or after this many events, whichever comes first.
const MAX_EVENTS = 3000;
// Time slice per run, so playback and the UI stay smooth.
const SLICE_MS = 12;

/** Index of the last checkpoint with index ≤ count, or -1. */
function lastCheckpoint(cps, count) {
  let lo = 0, hi = cps.length - 1, r = -1;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (cps[m].index <= count) { r = m; lo = m + 1; } else hi = m - 1;
  }
  return r;
}

/** Builds and serves checkpoints for a Recording. */
export class Indexer extends EventTarget {
  /** makeRebuilder(doc) returns a Rebuilder for an inert document. */
  constructor(rec, makeRebuilder) {
    super();
    this.rec = rec;
    this.makeRebuilder = makeRebuilder;
    this.states = new Map();
    this.priority = null;
    this.scheduled = false;
    this.stopped = false;
    this.channel = new MessageChannel();
    this.channel.port1.onmessage = () => this._run();
    rec.addEventListener('change', () => this.kick());
  }

  _state(v) {
    let s = this.states.get(v);
    if (!s) {
      const doc = document.implementation.createHTMLDocument('');
      s = { doc, rb: this.makeRebuilder(doc), next: 0, cps: [], work: 0, since: 0, markerNext: 0 };
      this.states.set(v, s);
    }
    return s;
  }

  /** Indexes view v first (the one on screen). */
  focus(v) {
    this.priority = v;
    this.kick();
  }

  /** Schedules work if there is any. */
  kick() {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.channel.port2.postMessage(0);
  }

  /** Stops background work for good. */
  stop() {
    this.stopped = true;
    this.channel.port1.onmessage = null;
    this.channel.port1.close();
  }

  /** True when every loaded event has been indexed. */
  get idle() {
    return this.rec.views.every((v) => (this.states.get(v)?.next || 0) >= v.events.length);
  }

  /** Fraction of loaded events indexed so far. */
  get progress() {
    let all = 0, done = 0;
    for (const v of this.rec.views) { all += v.events.length; done += Math.min(v.events.length, this.states.get(v)?.next || 0); }
    return all ? done / all : 1;
  }

  /** The checkpoint of v with the largest index ≤ count, or null. */
  nearest(v, count) {
    const s = this.states.get(v);
    if (!s) return null;
    const k = lastCheckpoint(s.cps, count);
    return k < 0 ? null : s.cps[k];
  }

  /** Estimated ms to apply v's events from index a to index b. */
  workBetween(v, a, b) {
    const s = this.states.get(v);
    if (!s) return Infinity;
    let w = 0;
    for (let k = lastCheckpoint(s.cps, a) + 1; k < s.cps.length && s.cps[k].index <= b; k++) w += s.cps[k].work;
    return w;
  }

  _run() {
    this.scheduled = false;
    if (this.stopped) return;
    const deadline = performance.now() + SLICE_MS;
    const order = this.priority ? [this.priority, ...this.rec.views.filter((v) => v !== this.priority)] : this.rec.views;
    let more = false;
    for (const v of order) {
      if (performance.now() >= deadline) { more = true; break; }
      const s = this._state(v);
      if (s.next < v.events.length) more = this._advance(v, s, deadline) || more;
    }
    if (this.labelled) {
      this.labelled = false;
      this.dispatchEvent(new Event('labels'));
    }
    if (more) this.kick();
    else this.dispatchEvent(new Event('idle'));
  }

  // Applies v's events until the deadline; true when some remain.
  _advance(v, s, deadline) {
    const events = v.events;
    while (s.next < events.length) {
      if (performance.now() >= deadline) return true;
      const t0 = performance.now();
      // A chunk of events between clock reads keeps timing overhead low.
      const stop = Math.min(events.length, s.next + 64);
      let snapshot = false;
      while (s.next < stop) {
        const e = events[s.next];
        s.rb.apply(e);
        s.next++;
        s.since++;
        if (e.type === EventType.FullSnapshot) { snapshot = true; break; }
      }
      s.work += performance.now() - t0;
      this._describe(v, s);
      if (snapshot || s.work >= WORK_MS || s.since >= MAX_EVENTS) this._checkpoint(v, s, snapshot);
    }
    return false;
  }

  _checkpoint(v, s, snapshot) {
    // After a full snapshot the work before it is irrelevant: nothing
    // before a snapshot is needed to rebuild what follows.
    s.cps.push({ index: s.next, time: v.times[s.next - 1], data: s.rb.checkpoint(), work: snapshot ? 0 : s.work });
    s.work = 0;
    s.since = 0;
  }

  // Labels the markers whose events were just applied with the element
  // they targeted.
  _describe(v, s) {
    const ms = v.markers;
    while (s.markerNext < ms.length && ms[s.markerNext].index < s.next) {
      const m = ms[s.markerNext++];
      if (m.nodeId == null || m.target) continue;
      const node = s.rb.node(m.nodeId);
      if (node) {
        m.target = describeNode(node);
        this.labelled = true;
      }
    }
  }
}
