// Canvas frames: a canvas drawn on is marked dirty (2D and WebGL draw calls
// are hooked), and at most once per second its pixels are sent as one
// image (rrweb's CanvasMutation with a clearRect and a drawImage of an
// encoded ImageBitmap).

import { T, now } from './timing.js';
import { after } from './hooks.js';
import { MASK, levelOf } from './privacy.js';
import { canvasData } from './serialize.js';

const DRAW_2D = ['fill', 'fillRect', 'fillText', 'stroke', 'strokeRect', 'strokeText', 'drawImage', 'putImageData', 'clearRect', 'drawFocusIfNeeded', 'reset', 'roundRect'];
const DRAW_GL = ['drawArrays', 'drawElements', 'clear', 'drawArraysInstanced', 'drawElementsInstanced'];

/** Records canvas contents, throttled. */
export class Canvas {
  constructor(rec) {
    this.rec = rec;
    this.dirty = new Set();
    this.sent = new WeakMap(); // canvas -> [time, data URL] of the last frame
  }

  mark(canvas) {
    if (canvas && canvas.nodeType === 1) this.dirty.add(canvas);
  }

  /** Sends a frame of every dirty canvas whose last frame is old enough. */
  tick() {
    const rec = this.rec;
    if (!rec.recording) return;
    const t = now();
    for (const c of this.dirty) {
      const id = rec.mirror.id(c);
      if (!id || !c.isConnected) {
        this.dirty.delete(c);
        continue;
      }
      const last = this.sent.get(c);
      if (last && t - last[0] < T.canvasFrame) continue;
      this.dirty.delete(c);
      if (levelOf(c, rec.cfg.privacy) >= MASK) continue;
      const url = canvasData(c);
      if (last && last[1] === url) continue;
      this.sent.set(c, [t, url]);
      const commands = [{ property: 'clearRect', args: [0, 0, c.width, c.height] }];
      const m = /^data:(image\/[a-z]+);base64,(.*)$/.exec(url);
      if (m) {
        commands.push({
          property: 'drawImage',
          args: [{ rr_type: 'ImageBitmap', args: [{ rr_type: 'Blob', data: [{ rr_type: 'ArrayBuffer', base64: m[2] }], type: m[1] }] }, 0, 0, c.width, c.height],
        });
      }
      rec.emitIncremental({ source: 9, id, type: 0, commands });
    }
  }
}

/** Hooks one window's canvas drawing calls. */
export function hookCanvas(win, current) {
  const mark = (ctx) => {
    const r = current();
    if (r && r.recording) r.canvas.mark(ctx.canvas);
  };
  for (const proto of [win.CanvasRenderingContext2D, win.WebGLRenderingContext, win.WebGL2RenderingContext]) {
    if (!proto) continue;
    for (const m of proto === win.CanvasRenderingContext2D ? DRAW_2D : DRAW_GL) after(proto.prototype, m, mark);
  }
}
