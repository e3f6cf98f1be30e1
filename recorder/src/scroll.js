// Scroll positions of the document and of scrollable elements, and the
// viewport size. Both sampled, the final position always sent, a position
// already sent never sent again.

import { now, SCROLL_SAMPLE } from './timing.js';
import { on } from './hooks.js';
import { idOf } from './mirror.js';
import { recording, inc, guarded, activity } from './recorder.js';

const timers = new Map(); // target -> timer of its trailing sample
const last = new WeakMap(); // target -> [time, position] of its last sample
let resizeTimer = 0;

/** Listens to doc's scrolling (and the top window's resizes). */
export function installScroll(doc) {
  on(doc, 'scroll', (e) => {
    const target = e.target;
    activity();
    // Scrolled while capture is paused: the position sent last is stale
    // (the snapshot that resumes capture has the new one), so the next
    // sample is sent whatever it is.
    if (!recording) return last.delete(target);
    if (timers.has(target)) return;
    const wait = ((last.get(target) || [0])[0]) + SCROLL_SAMPLE - now();
    if (wait <= 0) sample(target);
    else timers.set(target, setTimeout(guarded(sample), wait, target));
  });
  if (doc === document) {
    on(window, 'resize', () => {
      resizeTimer = resizeTimer || setTimeout(guarded(() => {
        resizeTimer = 0;
        inc({ source: 4, width: innerWidth, height: innerHeight });
      }), 200);
    });
  }
}

function sample(target) {
  timers.delete(target);
  const el = target.nodeType === 9 ? target.scrollingElement || target.documentElement : target;
  const id = recording && el && idOf(target);
  if (!id) return;
  const x = Math.round(el.scrollLeft);
  const y = Math.round(el.scrollTop);
  const pos = x + ',' + y;
  const prev = last.get(target);
  last.set(target, [now(), pos]);
  if (prev?.[1] !== pos) inc({ source: 3, id, x, y });
}

/** Sends the pending samples now. */
export function flushScroll() {
  for (const [target, timer] of timers) {
    clearTimeout(timer);
    sample(target);
  }
}
