// The visitor's pointer: mouse and touch moves (sampled, batched, the last
// position always kept), clicks, double clicks, context menus, touches,
// focus and blur. Every one of them is also session activity.

import { T, now } from './timing.js';
import { on } from './hooks.js';
import { HIDDEN, MASK, levelOf, maskText } from './privacy.js';

const MOUSE_MOVE = 1;
const TOUCH_MOVE = 6;
const TYPES = { mouseup: 0, mousedown: 1, click: 2, contextmenu: 3, dblclick: 4, focus: 5, blur: 6, touchstart: 7, touchend: 9, touchcancel: 10 };

/** Records pointer movement and interactions. */
export class Interactions {
  constructor(rec) {
    this.rec = rec;
    this.positions = [];
    this.source = MOUSE_MOVE;
    this.lastSample = 0;
    this.trailing = null; // the newest position not yet sampled
    this.trailTimer = 0;
    this.batchTimer = 0;
  }

  install(doc) {
    const rec = this.rec;
    const g = (fn) => (e) => rec.guard(() => fn(e));
    const offs = [
      on(doc, 'mousemove', g((e) => this.move(e, MOUSE_MOVE, e.clientX, e.clientY, doc))),
      on(doc, 'touchmove', g((e) => {
        const t = e.touches && e.touches[0];
        if (t) this.move(e, TOUCH_MOVE, t.clientX, t.clientY, doc);
      })),
      on(doc, 'keydown', g(() => rec.activity())),
    ];
    for (const type in TYPES) {
      if (type === 'mouseup' || type === 'mousedown') continue; // clicks say enough, at a fraction of the bytes
      offs.push(on(doc, type, g((e) => this.interaction(e, type, doc))));
    }
    return offs;
  }

  /** The id of the nearest recorded node at or above n (hidden boxes included). */
  idNear(n) {
    const m = this.rec.mirror;
    while (n) {
      const id = m.id(n);
      if (id) return id;
      n = n.parentNode && n.parentNode.nodeType === 11 ? n.parentNode.host : n.parentNode;
    }
    return -1;
  }

  move(e, source, x, y, doc) {
    const rec = this.rec;
    rec.activity();
    if (!rec.recording) return;
    const off = frameOffset(doc);
    const p = { x: Math.round(x + off[0]), y: Math.round(y + off[1]), id: this.idNear(e.composedPath()[0]), t: now() };
    if (source !== this.source) {
      this.flush();
      this.source = source;
    }
    if (p.t - this.lastSample < T.mouseSample) {
      // Too soon for a sample: keep it as the trailing position.
      this.trailing = p;
      if (!this.trailTimer) this.trailTimer = setTimeout(() => rec.guard(() => this.takeTrailing()), T.mouseSample);
      return;
    }
    this.sample(p);
  }

  takeTrailing() {
    this.trailTimer = 0;
    if (this.trailing) this.sample(this.trailing);
  }

  sample(p) {
    this.trailing = null;
    this.lastSample = p.t;
    this.positions.push(p);
    if (!this.batchTimer) this.batchTimer = setTimeout(() => this.rec.guard(() => this.flush()), T.mouseBatch);
  }

  /** Emits the positions collected so far (the trailing one included). */
  flush() {
    if (this.trailTimer) {
      clearTimeout(this.trailTimer);
      this.trailTimer = 0;
    }
    if (this.trailing) {
      this.positions.push(this.trailing);
      this.trailing = null;
    }
    if (this.batchTimer) {
      clearTimeout(this.batchTimer);
      this.batchTimer = 0;
    }
    if (!this.positions.length) return;
    const t = now();
    const positions = this.positions.map((p) => ({ x: p.x, y: p.y, id: p.id, timeOffset: p.t - t }));
    this.positions = [];
    if (this.rec.recording) this.rec.emitIncremental({ source: this.source, positions });
  }

  interaction(e, type, doc) {
    const rec = this.rec;
    rec.activity();
    if (!rec.recording) return;
    const target = e.composedPath()[0];
    const id = this.idNear(target);
    if (id < 0 && (type === 'focus' || type === 'blur')) return;
    this.flush(); // positions before the click that follows them
    const data = { source: 2, type: TYPES[type], id };
    if (type !== 'focus' && type !== 'blur') {
      const pt = e.changedTouches ? e.changedTouches[0] : e;
      if (pt) {
        const off = frameOffset(doc);
        data.x = Math.round(pt.clientX + off[0]);
        data.y = Math.round(pt.clientY + off[1]);
      }
    }
    rec.emitIncremental(data);
    if (type === 'click' && rec.cfg.trackInteractions) {
      const name = actionName(target, rec.cfg.privacy);
      if (name !== null) rec.emitCustom('replay/action', { name, context: { type: 'click' }, auto: true });
    }
  }
}

/** Position of a same-origin frame's viewport in the top viewport. */
function frameOffset(doc) {
  let x = 0;
  let y = 0;
  let w = doc.defaultView;
  try {
    while (w && w !== w.parent && w.frameElement) {
      const r = w.frameElement.getBoundingClientRect();
      x += r.left;
      y += r.top;
      w = w.parent;
    }
  } catch (e) { /* cross-origin parent */ }
  return [x, y];
}

const ACTIONABLE = 'button,a,[role=button],[role=link],[role=menuitem],[role=tab],input[type=submit],input[type=button],summary,label,select';

/** A short name for a click: the label of the control clicked, masked like its text. */
function actionName(target, def) {
  const el = target && target.nodeType === 1 ? target.closest(ACTIONABLE) || target : target && target.parentElement;
  if (!el) return null;
  const level = levelOf(el, def);
  if (level === HIDDEN) return '';
  let s = el.getAttribute('aria-label') || (el.tagName === 'INPUT' ? el.value : el.textContent) || '';
  s = s.replace(/\s+/g, ' ').trim().slice(0, 100);
  return level >= MASK ? maskText(s) : s;
}
