// The timeline: the session from first to last event, with what is loaded,
// inactive stretches (hatched), page boundaries, and markers for
// navigations, clicks, inputs, errors and rage clicks. Click or drag to
// seek; hover for the time and the nearest marker.
import { h } from '../dom.js';
import { clock } from '../format.js';

// Drawing order: later kinds are drawn on top.
const kinds = ['resize', 'visibility', 'paused', 'user', 'action', 'input', 'click', 'nav', 'rage', 'error'];
const colorVar = { click: '--m-click', nav: '--m-nav', error: '--m-error', input: '--m-input', rage: '--m-rage', action: '--m-other', resize: '--m-other', visibility: '--m-other', paused: '--m-other', user: '--m-other' };
const PAD = 6;
export const shownOnTimeline = new Set(['click', 'nav', 'error', 'input', 'rage', 'action']);

/** The seek bar of a Playback. */
export class Timeline {
  constructor(playback, rec) {
    this.pb = playback;
    this.rec = rec;
    this.canvas = h('canvas', { class: 'tl-canvas', 'aria-hidden': 'true' });
    this.played = h('div', { class: 'tl-played' });
    this.head = h('div', { class: 'tl-head' });
    this.tip = h('div', { class: 'tl-tip', hidden: true });
    this.el = h('div', {
      class: 'timeline', role: 'slider', tabindex: '0', 'aria-label': 'Playback position',
      'aria-valuemin': '0',
    }, this.canvas, this.played, this.head, this.tip);
    this.dragging = false;
    this.resume = false;
    this.pendingSeek = null;
    this.el.addEventListener('pointerdown', (e) => this.down(e));
    this.el.addEventListener('pointermove', (e) => this.move(e));
    this.el.addEventListener('pointerup', (e) => this.up(e));
    this.el.addEventListener('pointercancel', (e) => this.up(e));
    this.el.addEventListener('pointerleave', () => { if (!this.dragging) this.tip.hidden = true; });
    this.ro = new ResizeObserver(() => this.draw());
    this.ro.observe(this.el);
    // The canvas holds the theme's colors as they were when drawn: a theme
    // picked with the toggle (or the system's switching) repaints it, or
    // a loaded session kept the other theme's track and markers.
    this.redraw = () => this.draw();
    this.themeObserver = new MutationObserver(this.redraw);
    this.themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    this.scheme = matchMedia('(prefers-color-scheme: dark)');
    this.scheme.addEventListener('change', this.redraw);
  }

  get span() {
    const s = this.pb.start, e = this.pb.end;
    return { s, len: Math.max(1, e - s) };
  }

  timeAt(clientX) {
    const r = this.el.getBoundingClientRect();
    // The canvas overhangs the element by PAD on both sides, so markers at
    // the very start and end are drawn whole; positions use the element.
    const f = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
    const { s, len } = this.span;
    return s + f * len;
  }

  down(e) {
    if (e.button !== 0 || !Number.isFinite(this.pb.start)) return;
    this.el.setPointerCapture(e.pointerId);
    this.dragging = true;
    this.resume = this.pb.playing;
    if (this.resume) this.pb.pause();
    this.el.classList.add('dragging');
    this.pb.seek(this.timeAt(e.clientX));
  }

  move(e) {
    if (!Number.isFinite(this.pb.start)) return;
    this.showTip(e.clientX);
    if (!this.dragging) return;
    // Seek at most once per frame while dragging.
    const first = this.pendingSeek === null;
    this.pendingSeek = this.timeAt(e.clientX);
    if (first) requestAnimationFrame(() => { const t = this.pendingSeek; this.pendingSeek = null; if (t !== null) this.pb.seek(t); });
  }

  up(e) {
    if (!this.dragging) return;
    this.dragging = false;
    this.el.classList.remove('dragging');
    if (this.pendingSeek !== null) { this.pb.seek(this.pendingSeek); this.pendingSeek = null; }
    else if (e.type === 'pointerup') this.pb.seek(this.timeAt(e.clientX));
    // play() at the end starts over: a seek to the end shows the end.
    const atEnd = this.pb.rec.complete && this.pb.t >= this.pb.end - 1;
    if (this.resume && !atEnd) this.pb.play();
  }

  showTip(clientX) {
    const r = this.el.getBoundingClientRect();
    const t = this.timeAt(clientX);
    const { s, len } = this.span;
    // The nearest marker within 5 px names what happened there.
    const tol = (5 / r.width) * len;
    let best = null, bestD = Infinity;
    for (const m of this.rec.markers) {
      if (!shownOnTimeline.has(m.kind) || m.folded) continue;
      // Where the marker is drawn (clamped to the track), not its time.
      const d = Math.abs(Math.min(s + len, Math.max(s, m.t)) - t);
      if (d <= tol && d < bestD) { best = m; bestD = d; }
    }
    this.tip.textContent = clock(t - s) + (best ? ' · ' + best.label + (best.target ? ' ' + best.target : best.detail ? ' ' + best.detail : '') : '');
    this.tip.hidden = false;
    const x = Math.min(r.width - 8, Math.max(8, clientX - r.left));
    this.tip.style.left = x + 'px';
  }

  /** Moves the playhead (every frame). */
  update() {
    const { s, len } = this.span;
    const f = Number.isFinite(this.pb.t) ? Math.min(1, Math.max(0, (this.pb.t - s) / len)) : 0;
    const pct = (f * 100).toFixed(3) + '%';
    this.played.style.width = pct;
    this.head.style.left = pct;
    this.el.setAttribute('aria-valuemax', String(Math.round(len / 1000)));
    this.el.setAttribute('aria-valuenow', String(Math.round((this.pb.t - s) / 1000) || 0));
    this.el.setAttribute('aria-valuetext', clock(this.pb.t - s) + ' of ' + clock(len));
  }

  /** Redraws markers, loaded and inactive ranges (when data changes). */
  draw() {
    const r = this.el.getBoundingClientRect();
    if (!r.width) return;
    const dpr = window.devicePixelRatio || 1;
    const W = r.width, H = r.height;
    this.canvas.width = Math.round((W + 2 * PAD) * dpr);
    this.canvas.height = Math.round(H * dpr);
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, PAD * dpr, 0);
    ctx.clearRect(-PAD, 0, W + 2 * PAD, H);
    const css = getComputedStyle(this.el);
    const color = (v) => css.getPropertyValue(v).trim() || '#888';
    const { s, len } = this.span;
    if (!Number.isFinite(s)) return;
    const X = (t) => ((t - s) / len) * W;
    const trackY = H - 12, trackH = 6;
    // Track, then the loaded part.
    ctx.fillStyle = color('--surface-3');
    roundRect(ctx, 0, trackY, W, trackH, 3);
    const loaded = this.rec.complete ? W : Math.max(0, Math.min(W, X(this.rec.loadedUntil)));
    ctx.fillStyle = color('--border-strong');
    roundRect(ctx, 0, trackY, loaded, trackH, 3);
    // Inactive stretches: hatched.
    ctx.save();
    ctx.beginPath();
    for (const [a, b] of this.rec.inactive) ctx.rect(X(a), trackY - 2, Math.max(1, X(b) - X(a)), trackH + 4);
    ctx.clip();
    ctx.fillStyle = color('--surface-2');
    ctx.fillRect(0, trackY - 2, W, trackH + 4);
    ctx.strokeStyle = color('--border-strong');
    ctx.lineWidth = 1;
    // One path for all the hatch lines: a stroke per line cost ~200 strokes per draw.
    ctx.beginPath();
    for (let x = -H; x < W + H; x += 5) { ctx.moveTo(x, trackY + trackH + 2); ctx.lineTo(x + trackH + 4, trackY - 2); }
    ctx.stroke();
    ctx.restore();
    // Page boundaries.
    ctx.fillStyle = color('--surface');
    for (const [t] of this.rec.switches.slice(1)) ctx.fillRect(X(t) - 1, trackY - 1, 2, trackH + 2);
    // Markers: one per pixel column and kind.
    const seen = new Set();
    for (const kind of kinds) {
      if (!shownOnTimeline.has(kind)) continue;
      ctx.fillStyle = color(colorVar[kind]);
      for (const m of this.rec.markers) {
        if (m.kind !== kind || m.folded) continue;
        // Clamped: a page's view marker comes a few milliseconds before
        // its first frame (where the timeline starts), and was drawn
        // off the left end, out of sight.
        const x = Math.round(Math.min(W, Math.max(0, X(m.t))));
        const key = kind + ':' + x;
        if (seen.has(key)) continue;
        seen.add(key);
        drawMarker(ctx, kind, x, trackY - 9);
      }
    }
  }

  destroy() {
    this.ro.disconnect();
    this.themeObserver.disconnect();
    this.scheme.removeEventListener('change', this.redraw);
  }
}

function roundRect(ctx, x, y, w, h, r) {
  if (w <= 0) return;
  ctx.beginPath();
  ctx.roundRect(x, y, w, h, Math.min(r, w / 2));
  ctx.fill();
}

function drawMarker(ctx, kind, x, y) {
  ctx.beginPath();
  if (kind === 'nav') {
    ctx.moveTo(x, y - 5); ctx.lineTo(x + 4, y); ctx.lineTo(x, y + 5); ctx.lineTo(x - 4, y); ctx.closePath();
  } else if (kind === 'error' || kind === 'rage') {
    ctx.moveTo(x, y - 5); ctx.lineTo(x + 4.5, y + 3.5); ctx.lineTo(x - 4.5, y + 3.5); ctx.closePath();
  } else if (kind === 'input') {
    ctx.rect(x - 2.5, y - 2.5, 5, 5);
  } else {
    ctx.arc(x, y, 2.75, 0, Math.PI * 2);
  }
  ctx.fill();
}
