// Canvas frames: a canvas drawn on is marked dirty (2D and WebGL draw calls
// are hooked), and at most once per second its pixels are sent as one
// image (rrweb's CanvasMutation with a clearRect and a drawImage of an
// encoded ImageBitmap), unless they are the ones the replay has. A canvas
// the replay shows blank (a chart drawn just after the snapshot) gets its
// first frame a tenth of that later: waiting for the next second lost the
// charts of pages left within it.

import { T, now } from './timing.js';
import { after } from './hooks.js';
import { MASK, levelOf } from './privacy.js';
import { idOf } from './mirror.js';
import { recording, cfg, inc, guarded } from './recorder.js';

const DRAW = ['fill', 'fillRect', 'fillText', 'stroke', 'strokeRect', 'strokeText', 'drawImage', 'putImageData', 'clearRect', 'drawFocusIfNeeded', 'reset', 'drawArrays', 'drawElements', 'clear', 'drawArraysInstanced', 'drawElementsInstanced'];

const dirty = new Set();
const sent = new WeakMap(); // canvas -> [time, data URL] of the last frame recorded
const blank = new Map(); // "w x h" -> the data URL of a blank canvas of that size

/** A canvas's pixels as a data: URL, or '' when it is blank, too big or unreadable. */
function pixels(el) {
  const w = el.width;
  const h = el.height;
  if (!w || !h || w * h > 4e6) return '';
  try {
    const url = el.toDataURL('image/webp', 0.6);
    if (!blank.has(w + 'x' + h)) {
      const c = document.createElement('canvas');
      c.width = w;
      c.height = h;
      blank.set(w + 'x' + h, c.toDataURL('image/webp', 0.6));
    }
    return url === blank.get(w + 'x' + h) || url.length > 2e5 ? '' : url;
  } catch (e) {
    return ''; // tainted by a cross-origin image
  }
}

/** The pixels of a canvas being serialized (the replay then has them). */
export function snapshotCanvas(el) {
  const url = pixels(el);
  sent.set(el, [now(), url]);
  return url;
}

/** Sends a frame of every dirty canvas whose last frame is old enough (or blank). */
export function tickCanvas() {
  const t = now();
  for (const c of dirty) {
    const id = idOf(c);
    const last = sent.get(c);
    if (id && c.isConnected && last?.[1] && t - last[0] < T.canvasFrame) continue;
    dirty.delete(c);
    if (!id || !c.isConnected || levelOf(c, cfg.privacy) >= MASK) continue;
    const url = pixels(c);
    if (last?.[1] === url) continue;
    sent.set(c, [t, url]);
    const m = /^data:(image\/[a-z]+);base64,(.*)$/.exec(url);
    inc({
      source: 9, id, type: 0,
      commands: [{ property: 'clearRect', args: [0, 0, c.width, c.height] }].concat(m ? {
        property: 'drawImage',
        args: [{ rr_type: 'ImageBitmap', args: [{ rr_type: 'Blob', data: [{ rr_type: 'ArrayBuffer', base64: m[2] }], type: m[1] }] }, 0, 0, c.width, c.height],
      } : []),
    });
  }
}

/** Hooks one window's canvas drawing calls. */
export function hookCanvas(win) {
  const mark = ({ canvas: c }) => {
    if (recording && c?.nodeType === 1 && !dirty.has(c)) {
      dirty.add(c);
      setTimeout(guarded(tickCanvas), T.canvasFrame / 10); // for a canvas the replay shows blank
    }
  };
  for (const C of [win.CanvasRenderingContext2D, win.WebGLRenderingContext, win.WebGL2RenderingContext]) {
    for (const m of DRAW) after(C?.prototype, m, mark);
  }
}
