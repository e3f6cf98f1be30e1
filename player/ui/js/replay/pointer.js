// The visitor's pointer drawn over the replay: cursor, a short fading
// trail and click ripples. (:hover and :focus are emulated by the
// Rebuilder itself, from the same pointer events, so they survive
// checkpoints.)
//
// Everything is a pure function of the playback time, so pausing,
// seeking and speed changes draw the same frame a straight playback would.

import { lastAtOrBefore } from './recording.js';

const TRAIL_MS = 450;
const NO_OFFSET = { x: 0, y: 0 };
const RIPPLE_MS = 650;
// Interpolate between sampled pointer positions closer than this.
const SMOOTH_MS = 400;

/** Draws pointer effects for one stage. */
export class Pointer {
  constructor(stage) {
    this.stage = stage;
    this.ctx = stage.canvas.getContext('2d');
  }

  /** Draws the state at time t of view v, rebuilt by rb. */
  update(v, t, rb) {
    const k = v ? v.pointerAt(t) : -1;
    const ctx = this.ctx;
    const s = this.stage.scale * (window.devicePixelRatio || 1);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.stage.canvas.width, this.stage.canvas.height);
    if (k < 0) {
      this.stage.cursor.hidden = true;
    } else {
      let x = v.px[k], y = v.py[k];
      if (k + 1 < v.pt.length && v.pt[k + 1] - v.pt[k] < SMOOTH_MS && v.pt[k + 1] > v.pt[k]) {
        const f = (t - v.pt[k]) / (v.pt[k + 1] - v.pt[k]);
        x += (v.px[k + 1] - x) * f;
        y += (v.py[k + 1] - y) * f;
      }
      const off = v.topCoords ? NO_OFFSET : this.offset(v.pid[k], rb);
      x += off.x; y += off.y;
      this.stage.cursor.hidden = false;
      this.stage.cursor.style.transform = `translate(${x}px, ${y}px)`;
      ctx.setTransform(s, 0, 0, s, 0, 0);
      this.drawTrail(v, k, t, x, y, off);
    }
    if (v) this.drawRipples(v, t, rb);
  }

  // Positions rrweb recorded inside a nested iframe are relative to that
  // frame: shift them by the frame's place in the top document.
  offset(id, rb) {
    let x = 0, y = 0;
    const node = id >= 0 ? rb.node(id) : null;
    let doc = node && node.ownerDocument;
    const top = this.stage.doc;
    for (let guard = 0; doc && doc !== top && guard < 10; guard++) {
      const frame = doc.defaultView && doc.defaultView.frameElement;
      if (!frame) break;
      const r = frame.getBoundingClientRect();
      x += r.left; y += r.top;
      doc = frame.ownerDocument;
    }
    return { x, y };
  }

  drawTrail(v, k, t, x, y, off) {
    const ctx = this.ctx;
    let j = k;
    while (j > 0 && t - v.pt[j - 1] < TRAIL_MS) j--;
    if (j >= k) return;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    let px = v.px[j] + off.x, py = v.py[j] + off.y;
    for (let i = j + 1; i <= k + 1; i++) {
      const nx = i <= k ? v.px[i] + off.x : x, ny = i <= k ? v.py[i] + off.y : y;
      const age = t - (i <= k ? v.pt[i] : t);
      const a = Math.max(0, 1 - age / TRAIL_MS);
      ctx.strokeStyle = `rgba(239, 68, 68, ${0.55 * a})`;
      ctx.lineWidth = 2 + 3 * a;
      ctx.beginPath();
      ctx.moveTo(px, py);
      ctx.lineTo(nx, ny);
      ctx.stroke();
      px = nx; py = ny;
    }
  }

  drawRipples(v, t, rb) {
    const ctx = this.ctx;
    const s = this.stage.scale * (window.devicePixelRatio || 1);
    ctx.setTransform(s, 0, 0, s, 0, 0);
    for (let i = lastAtOrBefore(v.clickT, t); i >= 0; i--) {
      const c = v.clicks[i];
      const p = (t - c.t) / RIPPLE_MS;
      if (p >= 1) break;
      const off = v.topCoords ? NO_OFFSET : this.offset(c.id, rb);
      const r = 6 + 26 * p;
      ctx.beginPath();
      ctx.arc(c.x + off.x, c.y + off.y, r, 0, Math.PI * 2);
      ctx.fillStyle = `rgba(239, 68, 68, ${0.22 * (1 - p)})`;
      ctx.fill();
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = `rgba(239, 68, 68, ${0.85 * (1 - p)})`;
      ctx.stroke();
    }
  }
}
