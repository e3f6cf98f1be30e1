// Scroll positions of the document and of scrollable elements, and the
// viewport size. Both sampled, the final position always sent.

import { T } from './timing.js';
import { on } from './hooks.js';

/** Records scrolling and viewport changes. */
export class Scroll {
  constructor(rec) {
    this.rec = rec;
    this.timers = new Map(); // target -> timer of its trailing sample
    this.last = new WeakMap(); // target -> time of its last sample
    this.resizeTimer = 0;
  }

  install(doc) {
    const rec = this.rec;
    const offs = [on(doc, 'scroll', (e) => rec.guard(() => this.onScroll(e.target)))];
    if (doc === document) offs.push(on(window, 'resize', () => rec.guard(() => this.onResize())));
    return offs;
  }

  onScroll(target) {
    const rec = this.rec;
    rec.activity();
    if (!rec.recording || this.timers.has(target)) return;
    const t = Date.now();
    const wait = (this.last.get(target) || 0) + T.scrollSample - t;
    if (wait <= 0) return this.emit(target);
    this.timers.set(target, setTimeout(() => rec.guard(() => this.emit(target)), wait));
  }

  emit(target) {
    this.timers.delete(target);
    this.last.set(target, Date.now());
    const rec = this.rec;
    if (!rec.recording) return;
    const id = rec.mirror.id(target);
    if (!id) return;
    const el = target.nodeType === 9 ? target.scrollingElement || target.documentElement : target;
    if (!el) return;
    rec.emitIncremental({ source: 3, id, x: Math.round(el.scrollLeft), y: Math.round(el.scrollTop) });
  }

  /** Sends the pending samples now. */
  flush() {
    for (const [target, timer] of this.timers) {
      clearTimeout(timer);
      this.emit(target);
    }
  }

  onResize() {
    if (this.resizeTimer) return;
    this.resizeTimer = setTimeout(() => this.rec.guard(() => {
      this.resizeTimer = 0;
      if (this.rec.recording) this.rec.emitIncremental({ source: 4, width: window.innerWidth, height: window.innerHeight });
    }), 200);
  }
}
