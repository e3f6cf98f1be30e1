// The playback engine: a clock (play, pause, speed, skip inactivity), and
// renderTo(t), which brings the rebuilt page to time t by applying events
// forward, or by restoring the nearest checkpoint and applying the few
// events after it.
import { Pointer } from './pointer.js';
import { morphTo } from './morph.js';
import { EventType, Source } from './model.js';

export const SPEEDS = [0.5, 1, 2, 4, 8, 16];

/**
 * Indices in events[from, to) whose effect a later event in the range
 * replaces entirely: pointer moves before the last one (before a full
 * snapshot or a click, which also set the hover target, they still count),
 * and scrolls of an element it scrolls again.
 */
export function supersededIn(events, from, to) {
  const out = new Set();
  const scrolled = new Set();
  let moveSeen = false;
  for (let i = to - 1; i >= from; i--) {
    const e = events[i];
    if (e.type === EventType.FullSnapshot || e.type === EventType.Meta) {
      scrolled.clear();
      moveSeen = false;
      continue;
    }
    if (e.type !== EventType.Incremental || !e.data) continue;
    const src = e.data.source;
    if (src === Source.MouseMove || src === Source.TouchMove || src === Source.Drag) {
      if (moveSeen) out.add(i);
      moveSeen = true;
    } else if (src === Source.MouseInteraction) {
      moveSeen = false;
    } else if (src === Source.Scroll) {
      if (scrolled.has(e.data.id)) out.add(i);
      else scrolled.add(e.data.id);
    } else if (src === Source.Mutation && e.data.removes && e.data.removes.length) {
      // A removed node's id may come back as another node: scrolls
      // before the removal stand on their own.
      scrolled.clear();
    }
  }
  return out;
}

/**
 * Whether a mutation's removes take away a node (or an ancestor of a
 * node) that a held-back scroll is for: that scroll must happen first.
 */
// Node.prototype's, not the node's own: a recorded <form> with an
// <input name="contains"> shadows form.contains.
const containsNode = Node.prototype.contains;

function removesScrolled(rb, removes, pending) {
  if (!removes || !removes.length) return false;
  for (const r of removes) {
    const gone = r && rb.node(r.id);
    if (!gone) continue;
    for (const id of pending.keys()) {
      const n = rb.node(id);
      if (n && (n === gone || containsNode.call(gone, n))) return true;
    }
  }
  return false;
}

const HOVER = 'replay-hover';
const FOCUS = 'replay-focus';
// Never apply more events than this to move forward when a checkpoint is
// closer to the target.
const MAX_FORWARD = 5000;

/**
 * Plays a Recording on a Stage. Events: 'frame' (every rendered frame),
 * 'seek' (a seek is done: lastSeek describes it),
 * 'state' (play/pause/speed/skip/buffering/ended changes), 'view' (another
 * view is on screen).
 */
export class Playback extends EventTarget {
  constructor(rec, indexer, stage, Rebuilder) {
    super();
    this.rec = rec;
    this.indexer = indexer;
    this.stage = stage;
    this.warnings = 0;
    this.live = new Rebuilder(stage.doc, {
      resolveURL: (url) => url,
      stylesheets: rec.stylesheets,
      hoverClass: HOVER,
      focusClass: FOCUS,
      onWarning: () => { this.warnings++; },
    });
    this.pointer = new Pointer(stage);
    this.view = null;
    this.next = 0;
    this.t = -Infinity;
    this.rendered = false;
    this.playing = false;
    this.wantPlay = false;
    this.speed = 1;
    this.skip = true;
    this.buffering = false;
    this.ended = false;
    this.restoreCost = 8;
    this.applied = 0;
    this.liveMsPerEvent = 0;
    // Scroll positions on screen (id → [x, y]), for in-place restores.
    this.scroll = new Map();
    // Scroll events held back until the rest of a frame's changes are in
    // (id → event): setting a scroll position makes the browser lay out
    // the page at once, and a seek that scrolled between DOM changes paid
    // for a whole-page layout each time.
    this.pending = new Map();
    this.lastSeek = { events: 0, ms: 0, restore: 'none' };
    this.lastRestore = '';
    this.lastFrame = 0;
    this.raf = 0;
    this.destroyed = false;
    this.onTick = (now) => this.tick(now);
    stage.onresize = () => this.redrawPointer();
  }

  /** Session time bounds for the UI. */
  get start() { return this.rec.firstFrame; }
  get end() { return Math.max(this.rec.end, this.rec.firstFrame); }

  /** Starts playing (from the start again when at the end). */
  play() {
    if (this.t >= this.end - 1 && this.rec.complete) this.seek(this.start);
    this.wantPlay = true;
    this.playing = true;
    this.ended = false;
    this.lastFrame = performance.now();
    this.loop();
    this.emitState();
  }

  /** Pauses, at the moment the pause happens (not at the last frame). */
  pause() {
    if (this.playing) this.advance(performance.now());
    this.wantPlay = false;
    this.playing = false;
    this.emitState();
  }

  /** Play or pause. */
  toggle() {
    if (this.playing) this.pause(); else this.play();
  }

  /** Sets the playback speed. */
  setSpeed(s) {
    // Time played so far counts at the old speed.
    if (this.playing) this.advance(performance.now());
    this.speed = s;
    this.emitState();
  }

  /** Turns skipping of inactive stretches on or off. */
  setSkip(on) {
    this.skip = on;
    this.emitState();
  }

  /** Jumps to time t (ms since the epoch) and renders it now. */
  seek(t) {
    const mark = performance.now();
    const applied = this.applied;
    this.lastRestore = '';
    t = Math.max(this.start, Math.min(t, this.end));
    this.ended = false;
    this.renderTo(t, true);
    // What the seek cost, for the UI's diagnostics and the benchmarks.
    this.lastSeek = { events: this.applied - applied, ms: performance.now() - mark, restore: this.lastRestore || 'none' };
    performance.measure('replay:seek', { start: mark, end: performance.now() });
    // The seek's frame went out before it was measured.
    this.dispatchEvent(new Event('seek'));
  }

  /** Seeks relative to the current time. */
  seekBy(ms) {
    this.seek((this.t > -Infinity ? this.t : this.start) + ms);
  }

  loop() {
    if (!this.raf && !this.destroyed) this.raf = requestAnimationFrame(this.onTick);
  }

  tick(now) {
    this.raf = 0;
    if (this.destroyed) return;
    if (this.playing) {
      this.advance(now);
      if (this.playing) this.loop();
    }
  }

  // Moves the clock to wall time now and renders.
  advance(now) {
    // A hidden tab gets no frames: do not jump ahead by the time away
    // (a busy machine's slow frames still count in full).
    const dt = Math.min(now - this.lastFrame, 1000);
    this.lastFrame = now;
    let t = this.t + dt * this.speed;
    if (this.skip) {
      const r = this.rec.inactiveAt(t);
      if (r) { t = r[1]; this.stage.flashBadge('Skipping inactivity'); }
    }
    const loadedEdge = this.rec.complete ? Infinity : this.rec.loadedUntil;
    const buffering = t >= loadedEdge;
    if (buffering) t = Math.max(this.t, loadedEdge - 1);
    if (buffering !== this.buffering) { this.buffering = buffering; this.emitState(); }
    if (this.rec.complete && t >= this.end) {
      t = this.end;
      this.playing = false;
      this.wantPlay = false;
      this.ended = true;
      this.emitState();
    }
    this.renderTo(t, false);
  }

  /** Renders time t. Returns false when nothing can be shown yet. */
  renderTo(t, force) {
    const rec = this.rec;
    const v = rec.viewAt(t);
    if (!v) return false;
    const count = v.countAt(t);
    let jumped = false;
    if (v !== this.view || count < this.next) {
      if (!this.jump(v, count)) return false;
      jumped = true;
    } else if (count > this.next) {
      // Far ahead: restoring a checkpoint beats applying everything. The
      // background measures its own cost per event; applying on screen
      // costs more, by the factor measured here.
      const cp = this.indexer.nearest(v, count);
      if (cp && cp.index > this.next) {
        const idx = this.indexer.msPerEvent;
        const factor = idx > 0 && this.liveMsPerEvent > 0 ? Math.max(1, this.liveMsPerEvent / idx) : 4;
        if (this.indexer.workBetween(v, this.next, cp.index) * factor > this.restoreCost || cp.index - this.next > MAX_FORWARD) {
          this.restore(v, cp);
          jumped = true;
        }
      }
    }
    const events = v.events;
    const live = this.live;
    const n = count - this.next;
    this.applied += n;
    const t0 = n >= 20 ? performance.now() : 0;
    const scroll = this.scroll;
    // Jumping over many events, only the last pointer move and the last
    // scroll of each element matter: a scroll makes the browser lay out
    // the page at once, and a pointer move restyles its whole ancestry.
    const skip = n > 1 ? supersededIn(events, this.next, count) : null;
    const pending = this.pending;
    while (this.next < count) {
      const i = this.next++;
      const e = events[i];
      if (skip && skip.has(i)) continue;
      if (e.type === EventType.Incremental && e.data) {
        const src = e.data.source;
        if (src === Source.Scroll) {
          scroll.set(e.data.id, [+e.data.x || 0, +e.data.y || 0]);
          pending.set(e.data.id, e);
          continue;
        }
        if (pending.size && src === Source.Mutation && removesScrolled(live, e.data.removes, pending)) this.flushScrolls();
      } else if (e.type === EventType.FullSnapshot || e.type === EventType.Meta) {
        // A new document: scrolls of the old one are void.
        pending.clear();
      }
      live.apply(e);
      if (e.type === EventType.FullSnapshot) {
        scroll.clear();
        const off = e.data && e.data.initialOffset;
        if (off && (off.left || off.top) && e.data.node) scroll.set(e.data.node.id, [+off.left || 0, +off.top || 0]);
      }
    }
    this.flushScrolls();
    if (n >= 20) {
      const rate = (performance.now() - t0) / n;
      this.liveMsPerEvent = this.liveMsPerEvent ? this.liveMsPerEvent * 0.7 + rate * 0.3 : rate;
    }
    const prevT = this.t;
    this.t = t;
    if (!this.playing) {
      // Paused past what is loaded: say so until the data arrives.
      const buffering = !rec.complete && t >= rec.loadedUntil;
      if (buffering !== this.buffering) { this.buffering = buffering; this.emitState(); }
    }
    if (v !== this.view) {
      this.view = v;
      this.indexer.focus(v);
      this.dispatchEvent(new Event('view'));
    }
    const meta = live.meta || {};
    const vp = v.viewportAt(t);
    this.stage.setViewport(meta.width || vp.width, meta.height || vp.height);
    this.stage.setScheme(meta.dark === true);
    this.stage.setURL(meta.href || v.url);
    this.pointer.update(v, t, live);
    if (!this.rendered) {
      this.rendered = true;
      performance.mark('replay:first-frame');
      this.emitState();
    }
    if (force || jumped || t !== prevT) this.dispatchEvent(new Event('frame'));
    return true;
  }

  // Brings the live document to view v at event count `count` from
  // scratch: the nearest checkpoint, else the view's last restart point.
  jump(v, count) {
    const cp = this.indexer.nearest(v, count);
    const r = v.restartBefore(count);
    if (cp && cp.index >= r) {
      this.restore(v, cp);
      return true;
    }
    if (r < 0) return false;
    // Not indexed that far yet: replaying from the restart point's full
    // snapshot resets the document.
    this.resetViewport();
    this.next = r;
    return true;
  }

  // The viewport's scroll position belongs to the frame, not to the
  // document rebuilt in it: start from the top, as the recorded page did,
  // before a snapshot's own scroll positions are applied.
  resetViewport() {
    const win = this.stage.doc && this.stage.doc.defaultView;
    if (win) win.scrollTo(0, 0);
  }

  restore(v, cp) {
    const t0 = performance.now();
    // The same view on screen: change only what differs. Otherwise (or
    // when the checkpoint holds state that cannot be compared in place)
    // rebuild the document.
    // Only nodes the events between the two states touched can differ.
    const touched = v === this.view ? this.indexer.touchedBetween(v, Math.min(this.next, cp.index), Math.max(this.next, cp.index)) : null;
    const inPlace = v === this.view && this.rendered &&
      morphTo(this.live, cp.data, this.scroll, { hoverClass: HOVER, focusClass: FOCUS, touched, pending: this.pending });
    if (!inPlace) {
      this.pending.clear();
      this.resetViewport();
      this.live.restore(cp.data);
      this.scroll = new Map((cp.data && cp.data.scroll || []).map((e) => [e[0], [e[1], e[2]]]));
    }
    this.lastRestore = inPlace ? 'in-place' : 'rebuild';
    this.next = cp.index;
    // Smoothed cost of a restore, to decide between restoring and
    // applying forward.
    this.restoreCost = this.restoreCost * 0.7 + (performance.now() - t0) * 0.3;
  }

  // Applies the scroll events held back, in the order they came.
  flushScrolls() {
    if (!this.pending.size) return;
    const list = [...this.pending.values()];
    this.pending.clear();
    for (const e of list) this.live.apply(e);
  }

  /** Redraws pointer effects (after the stage was resized). */
  redrawPointer() {
    if (this.view && this.rendered) this.pointer.update(this.view, this.t, this.live);
  }

  emitState() {
    this.dispatchEvent(new Event('state'));
  }

  destroy() {
    this.destroyed = true;
    if (this.raf) cancelAnimationFrame(this.raf);
  }
}
