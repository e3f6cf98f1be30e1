// The visitor's pointer: mouse and touch moves (sampled, batched, the last
// position always kept), clicks, double clicks, context menus, touches,
// focus and blur. Every one of them is also session activity.

import { T, now, MOUSE_SAMPLE } from './timing.js';
import { on } from './hooks.js';
import { HIDDEN, MASK, levelOf, maskText } from './privacy.js';
import { idNear } from './mirror.js';
import { recording, cfg, inc, custom, guarded, activity } from './recorder.js';

// MouseInteraction types. Mouse down/up are not recorded: clicks say
// enough, at a fraction of the bytes.
const TYPES = { click: 2, contextmenu: 3, dblclick: 4, focus: 5, blur: 6, touchstart: 7, touchend: 9, touchcancel: 10 };

let positions = []; // sampled, not sent yet
let source = 1; // MouseMove or TouchMove
let newest = null; // the newest position, not sampled yet
let sampleTimer = 0;
let batchTimer = 0;

/** Listens to doc's pointer, touch, focus and keyboard events. */
export function installPointer(doc) {
  on(doc, 'mousemove', (e) => move(e, 1, e, doc));
  on(doc, 'touchmove', (e) => e.touches[0] && move(e, 6, e.touches[0], doc));
  on(doc, 'keydown', activity);
  for (const type in TYPES) on(doc, type, (e) => interaction(e, type, doc));
}

// A point of an event (or touch) in doc, in top-level viewport coordinates:
// the offsets of same-origin frames are added.
function point(pt, doc) {
  let x = pt.clientX;
  let y = pt.clientY;
  try {
    for (let w = doc.defaultView; w && w !== w.parent && w.frameElement; w = w.parent) {
      const r = w.frameElement.getBoundingClientRect();
      x += r.left;
      y += r.top;
    }
  } catch (e) { /* cross-origin parent */ }
  return [Math.round(x), Math.round(y)];
}

// At most one position per MOUSE_SAMPLE: the first move is taken at once,
// then the newest one when the sample period ends (so the last position of
// a movement is always kept).
function move(e, src, pt, doc) {
  activity();
  if (!recording) return;
  if (src !== source) {
    flushPointer();
    source = src;
  }
  const [x, y] = point(pt, doc);
  newest = { x, y, id: idNear(e.composedPath()[0]), timeOffset: now() }; // made relative when sent
  if (!sampleTimer) take();
}

function take() {
  sampleTimer = 0;
  if (!newest) return;
  positions.push(newest);
  newest = null;
  sampleTimer = setTimeout(guarded(take), MOUSE_SAMPLE);
  if (!batchTimer) batchTimer = setTimeout(guarded(flushPointer), T.mouseBatch);
}

/** Emits the positions collected so far (the newest one included). */
export function flushPointer() {
  clearTimeout(batchTimer);
  batchTimer = 0;
  if (newest) positions.push(newest);
  newest = null;
  if (!positions.length) return;
  const t = now();
  for (const p of positions) p.timeOffset -= t;
  inc({ source, positions });
  positions = [];
}

function interaction(e, type, doc) {
  activity();
  if (!recording) return;
  const target = e.composedPath()[0];
  const id = idNear(target);
  const focus = type === 'focus' || type === 'blur';
  if (id < 0 && focus) return;
  flushPointer(); // positions before the interaction that follows them
  const data = { source: 2, type: TYPES[type], id };
  const pt = focus ? null : e.changedTouches ? e.changedTouches[0] : e;
  if (pt) [data.x, data.y] = point(pt, doc);
  inc(data);
  if (type === 'click' && cfg.track) {
    const name = actionName(target, cfg.privacy);
    if (name !== null) custom('replay/action', { name, context: { type: 'click' }, auto: true });
  }
}

const ACTIONABLE = 'button,a,[role=button],[role=link],[role=menuitem],[role=tab],[type=submit],[type=button],summary,label,select';

/** A short name for a click: the label of the control clicked, masked like its text. */
function actionName(target, def) {
  const el = target?.nodeType === 1 ? target.closest(ACTIONABLE) || target : target?.parentElement;
  if (!el) return null;
  const level = levelOf(el, def);
  if (level === HIDDEN) return '';
  // A field's value is never a name (a button's is its label); a textarea's text is its value.
  const tag = el.localName;
  const s = (el.getAttribute('aria-label') || (tag === 'input' || tag === 'textarea' ? (/^(?:submit|button|reset)$/.test(el.type) ? el.value : '') : el.textContent) || '').replace(/\s+/g, ' ').trim().slice(0, 100);
  return level >= MASK ? maskText(s) : s;
}
