// Fast seek. In the background, every view's events are applied to a
// Rebuilder in a hidden iframe (display:none: never laid out or painted,
// but a real document, so nested frames, constructed style sheets and
// canvases rebuild as they do on screen), and the rebuilt state is
// checkpointed whenever enough work has accumulated since the last one. A
// seek restores the nearest checkpoint before the target and applies only
// the few events after it — never the whole session.
//
// The same pass describes the elements that clicks and inputs targeted
// (the DOM as it was at that moment), for the event list.
import { EventType } from './model.js';
import { describeNode } from './describe.js';
import { touchedBetween } from './morph.js';

// A checkpoint is taken once applying events since the last one has cost
// this much here, or half what taking a checkpoint costs, whichever is
// more. Applying the same events on screen costs two to three times more
// than in this hidden frame (the page is styled and laid out there), and
// a seek applies up to one spacing of them after restoring: this keeps it
// to about a restore's cost, for checkpoints that take at most about
// twice the time of the work they save (and a few hundred KB each) ...
const WORK_MS = 12;
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
  /**
   * makeRebuilder(doc) returns a Rebuilder for a document; host is the
   * element the hidden iframes go in.
   */
  constructor(rec, makeRebuilder, host) {
    super();
    this.rec = rec;
    this.makeRebuilder = makeRebuilder;
    this.host = host;
    this.cpCost = 0;
    // Total work and events applied, for the cost of one event here.
    this.workTotal = 0;
    this.eventsTotal = 0;
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
      // The same sandbox as the replay frame: nothing in it ever runs.
      const frame = document.createElement('iframe');
      frame.setAttribute('sandbox', 'allow-same-origin');
      frame.setAttribute('aria-hidden', 'true');
      frame.tabIndex = -1;
      frame.style.display = 'none';
      this.host.append(frame);
      s = { frame, rb: this.makeRebuilder(frame.contentDocument), next: 0, cps: [], work: 0, since: 0, markerNext: 0, touched: new Set() };
      this.states.set(v, s);
    }
    return s;
  }

  // Frees the hidden frame of a view whose events are all indexed once
  // nothing more can arrive.
  _release(s) {
    if (s.frame) {
      s.frame.remove();
      s.frame = null;
      s.rb = null;
    }
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
    for (const s of this.states.values()) this._release(s);
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

  /** Measured ms per event applied in the background. */
  get msPerEvent() {
    return this.eventsTotal ? this.workTotal / this.eventsTotal : 0;
  }

  /**
   * The ids of the nodes v's events [a, b) can have changed, as
   * touchedBetween (morph.js) computes them, in a list of sets (an id
   * can be in several), or null. Each checkpoint
   * keeps the ids of the events since the one before, so a seek across a
   * long session does not walk every event in between.
   */
  touchedBetween(v, a, b) {
    const s = this.states.get(v);
    const cps = s ? s.cps : [];
    // A list of the sets, not their union: across a long session they
    // hold tens of thousands of ids (mostly of nodes long removed), and
    // merging them cost a seek several milliseconds.
    const out = [];
    let pos = a;
    for (let k = lastCheckpoint(cps, a) + 1; k < cps.length && cps[k].index <= b; k++) {
      const cp = cps[k];
      if ((k > 0 ? cps[k - 1].index : 0) >= pos) {
        if (!cp.touched) return null;
        out.push(cp.touched);
      } else {
        const part = touchedBetween(v.events, pos, cp.index);
        if (!part) return null;
        out.push(part);
      }
      pos = cp.index;
    }
    if (pos < b) {
      const part = touchedBetween(v.events, pos, b);
      if (!part) return null;
      out.push(part);
    }
    return out;
  }

  /** Estimated ms to apply v's events from index a to index b (here). */
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
      if (this.rec.complete && s.next >= v.events.length) this._release(s);
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
      const before = s.next;
      let snapshot = false;
      while (s.next < stop) {
        const e = events[s.next];
        s.rb.apply(e);
        s.next++;
        s.since++;
        if (e.type === EventType.FullSnapshot) { snapshot = true; break; }
      }
      const spent = performance.now() - t0;
      if (s.touched) s.touched = touchedBetween(events, before, s.next, s.touched);
      s.work += spent;
      this.workTotal += spent;
      this.eventsTotal += s.next - before;
      this._describe(v, s);
      if (snapshot || s.work >= Math.max(WORK_MS, this.cpCost / 2) || s.since >= MAX_EVENTS) this._checkpoint(v, s, snapshot);
    }
    return false;
  }

  _checkpoint(v, s, snapshot) {
    // After a full snapshot the work before it is irrelevant: nothing
    // before a snapshot is needed to rebuild what follows.
    const t0 = performance.now();
    const data = s.rb.checkpoint();
    // Smoothed cost of a checkpoint (about that of a restore: both walk
    // the whole document).
    this.cpCost = this.cpCost ? this.cpCost * 0.7 + (performance.now() - t0) * 0.3 : performance.now() - t0;
    s.cps.push({ index: s.next, time: v.times[s.next - 1], data, work: snapshot ? 0 : s.work, touched: s.touched });
    s.touched = new Set();
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
