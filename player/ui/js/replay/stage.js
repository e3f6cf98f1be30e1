// The stage: a browser-like frame showing the page URL and recorded
// viewport, the sandboxed iframe the page is rebuilt in, scaled to fit,
// and the overlay layer (cursor, trail, ripples) and status messages on
// top of it.
import { h, replace } from '../dom.js';
import { icon } from '../icons.js';

/** Creates the stage; attach .el to the document before using .doc. */
export class Stage {
  constructor() {
    this.width = 1280;
    this.height = 800;
    this.dark = false;
    this.scale = 1;
    // allow-same-origin only: the player can reach into the document to
    // rebuild it, but nothing in it can run, submit, navigate the player
    // or open windows. It is about:blank, so it inherits the player's
    // strict CSP as a second wall.
    this.iframe = h('iframe', {
      class: 'replay-frame', sandbox: 'allow-same-origin', title: 'Session replay (read-only)', tabindex: '-1',
      referrerpolicy: 'no-referrer', inert: true,
    });
    this.canvas = h('canvas', { class: 'fx', 'aria-hidden': 'true' });
    this.cursor = h('div', { class: 'cursor', 'aria-hidden': 'true' },
      h('svg:svg', { viewBox: '0 0 20 24', width: '20', height: '24' },
        h('svg:path', { d: 'M2 1.5v18.2l4.6-4.3 3 6.9 3.2-1.4-3-6.7 6.3-.2z', class: 'cursor-shape' })));
    this.scaler = h('div', { class: 'scaler' }, this.iframe, this.canvas, this.cursor);
    this.box = h('div', { class: 'frame-box' }, this.scaler);
    this.area = h('div', { class: 'stage-area' }, this.box);
    this.message = h('div', { class: 'stage-message', hidden: true });
    this.badge = h('div', { class: 'stage-badge', hidden: true });
    this.urlText = h('span', { class: 'url-text ellipsis' }, '');
    this.size = h('span', { class: 'vp-size num', title: "Recorded viewport (CSS pixels), zoom, and 'dark mode' when the visitor preferred a dark color scheme" });
    this.chrome = h('div', { class: 'browser-bar' },
      h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
      h('div', { class: 'url' }, icon('link'), this.urlText),
      this.size);
    this.el = h('div', { class: 'stage' }, this.chrome, this.area, this.message, this.badge);
    this.resizeObserver = new ResizeObserver(() => this.fit());
    this.resizeObserver.observe(this.area);
  }

  /** The document the page is rebuilt in. */
  get doc() {
    return this.iframe.contentDocument;
  }

  /**
   * Notes whether the visitor preferred a dark color scheme (the replay
   * core already rebuilds the page so): the bar says so, since a dark page
   * in the player might otherwise pass for the player's own theme.
   */
  setScheme(dark) {
    if (dark === this.dark) return;
    this.dark = dark;
    this.fit();
  }

  /** Sets the recorded viewport size (CSS px) and refits. */
  setViewport(w, h) {
    if (!(w > 0 && h > 0) || (w === this.width && h === this.height)) return;
    this.width = w;
    this.height = h;
    this.fit();
  }

  /** Scales the page to fit the stage area, never above 100%. */
  fit() {
    const r = this.area.getBoundingClientRect();
    const pad = 24;
    const s = Math.min(1, (r.width - pad * 2) / this.width, (r.height - pad * 2) / this.height);
    this.scale = s > 0 ? s : 0.1;
    const w = this.width, hgt = this.height;
    this.scaler.style.width = w + 'px';
    this.scaler.style.height = hgt + 'px';
    this.scaler.style.transform = `scale(${this.scale})`;
    this.box.style.width = Math.round(w * this.scale) + 'px';
    this.box.style.height = Math.round(hgt * this.scale) + 'px';
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(w * this.scale * dpr));
    this.canvas.height = Math.max(1, Math.round(hgt * this.scale * dpr));
    this.canvas.style.width = w + 'px';
    this.canvas.style.height = hgt + 'px';
    this.size.textContent = `${w} × ${hgt} · ${Math.round(this.scale * 100)}%` + (this.dark ? ' · dark mode' : '');
    this.dispatchResize();
  }

  dispatchResize() {
    if (this.onresize) this.onresize();
  }

  /** Shows the page's URL in the address bar. */
  setURL(url) {
    if (this.urlText.textContent !== url) {
      this.urlText.textContent = url || '';
      this.urlText.title = url || '';
    }
  }

  /**
   * Shows a message over the stage: kind is 'loading', 'buffering',
   * 'error' or 'info'; null hides it.
   */
  showMessage(kind, title, detail, action) {
    if (!kind) { this.message.hidden = true; this.el.dataset.message = ''; return; }
    this.el.dataset.message = kind;
    this.message.className = 'stage-message msg-' + kind;
    replace(this.message,
      h('div', { class: 'msg-card' },
        kind === 'loading' || kind === 'buffering' ? h('div', { class: 'spinner', 'aria-hidden': 'true' }) : icon(kind === 'error' ? 'alert' : 'eye'),
        h('div', null, h('div', { class: 'msg-title' }, title), detail ? h('div', { class: 'msg-detail' }, detail) : null),
        action || null));
    this.message.hidden = false;
  }

  /** Shows a short-lived badge ("Skipping inactivity"). */
  flashBadge(text) {
    this.badge.textContent = text;
    this.badge.hidden = false;
    clearTimeout(this.badgeTimer);
    this.badgeTimer = setTimeout(() => { this.badge.hidden = true; }, 1200);
  }

  destroy() {
    this.resizeObserver.disconnect();
    clearTimeout(this.badgeTimer);
  }
}
