// The recorder: one per page. It owns the session, the views, the observers
// and the transport, and decides when to snapshot, pause and resume.

import { T, now, hooks } from './timing.js';
import { newId } from './ids.js';
import { currentSession, readCookie, alive, forceNewSession } from './session.js';
import { Mirror } from './mirror.js';
import { Mutations } from './mutations.js';
import { Inputs, hookInputs } from './inputs.js';
import { Interactions } from './interactions.js';
import { Scroll } from './scroll.js';
import { Media } from './media.js';
import { Styles, hookStyles } from './styles.js';
import { Canvas, hookCanvas } from './canvas.js';
import { installLifecycle, hookHistory } from './navigation.js';
import { installPopovers } from './popover.js';
import { Compressor } from './compressor.js';
import { Segments } from './segments.js';
import { Uploader } from './uploader.js';
import { collectExplicit, context, serializeTree } from './serialize.js';
import { sheetText } from './css.js';
import { oncePerWindow, after } from './hooks.js';
import { MASK, maskText, levelOf } from './privacy.js';

let current = null;
const getCurrent = () => current;

/** Records the page for one configuration. */
export class Recorder {
  constructor(cfg, workerURL) {
    current = this;
    this.cfg = cfg;
    this.recording = false; // events are being emitted
    this.started = false; // start() was called and stop() was not
    this.halted = false; // the collector refused us for good
    this.paused = ''; // why capture is paused: 'idle', 'storm', 'queue' or ''
    this.mirror = new Mirror();
    this.mutations = new Mutations(this);
    this.inputs = new Inputs(this);
    this.pointer = new Interactions(this);
    this.scroll = new Scroll(this);
    this.media = new Media(this);
    this.styles = new Styles(this);
    this.canvas = new Canvas(this);
    this.uploader = new Uploader(this);
    this.compressor = new Compressor(workerURL, (k, size) => this.segments.sized(k, size));
    this.segments = new Segments(this, this.compressor);
    this.session = currentSession(cfg, true);
    this.user = null;
    this.offs = [];
    this.docs = new Set();
    this.tickTimer = 0;
    this.lastActivity = 0;
    this.errors = 0;
    this.storms = 0;
    this.window = [0, 0]; // storm budget: [window start, units spent]
    this.viewURL = '';
    this.tab = tabId();
    this.cssSent = new WeakSet();
    if (hooks.timing) {
      // Tests: wait for everything recorded so far to be uploaded.
      hooks.flush = () => this.flushAll();
      hooks.view = () => this.segments.vid;
      hooks.state = () => ({ paused: this.paused, recording: this.recording, queue: this.uploader.q.length, halted: this.halted });
    }
  }

  /** Closes the open segment and resolves when every segment was answered (tests). */
  flushAll() {
    this.guard(() => {
      if (this.recording) this.tick();
      if (this.recording) this.flushPending();
      this.segments.close();
    });
    return new Promise((resolve) => {
      const check = () => (this.segments.open.size || this.uploader.q.length || this.uploader.busy ? setTimeout(check, 20) : resolve(true));
      check();
    });
  }

  /** Starts recording (if this session is sampled). */
  start() {
    if (this.started || this.halted) return;
    this.session = currentSession(this.cfg, true);
    if (!this.session.sampled) return;
    this.started = true;
    const go = () => this.guard(() => {
      if (!this.started) return;
      this.install();
      this.recording = true;
      this.newView();
    });
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go, { once: true });
    else go();
  }

  /** Stops recording; what was recorded is still sent. */
  stop() {
    if (!this.started) return;
    this.flushPending();
    this.started = false;
    this.recording = false;
    this.paused = '';
    this.segments.close();
    this.uninstall();
  }

  install() {
    oncePerWindow(window, (w) => this.hookWindow(w));
    this.offs.push(...installLifecycle(this));
    this.observeDocument(document);
    this.tickTimer = setInterval(() => this.guard(() => this.tick()), T.tick);
  }

  uninstall() {
    for (const off of this.offs) off();
    this.offs = [];
    this.mutations.disconnect();
    this.docs.clear();
    clearInterval(this.tickTimer);
    this.tickTimer = 0;
  }

  hookWindow(w) {
    hookInputs(w, getCurrent);
    hookStyles(w, getCurrent);
    hookCanvas(w, getCurrent);
    if (w === window) hookHistory(w, getCurrent);
    // Open shadow roots created later are observed as they appear.
    after(w.Element.prototype, 'attachShadow', (host, args, root) => {
      const r = getCurrent();
      if (r && r.recording && args[0] && args[0].mode === 'open' && r.mirror.id(host)) r.observeShadow(root);
    });
  }

  /** Listens to a document (the page or a same-origin frame), once. */
  observeDocument(doc) {
    this.styles.track(doc);
    if (this.docs.has(doc)) return;
    this.docs.add(doc);
    this.mutations.observe(doc);
    this.offs.push(...this.inputs.install(doc), ...this.pointer.install(doc), ...this.scroll.install(doc), ...this.media.install(doc), ...installPopovers(this, doc));
    // A frame that loads (again) is attached again; a stylesheet that loads gets its rules.
    const onLoad = (e) => this.guard(() => {
      const t = e.target;
      if (!this.recording || !t || t.nodeType !== 1) return;
      const tag = t.localName;
      if ((tag === 'iframe' || tag === 'frame') && this.mirror.id(t)) this.attachFrame(t, levelOf(t, this.cfg.privacy));
      else if (tag === 'link' && this.mirror.id(t) && t.sheet) this.linkLoaded(t);
    });
    doc.addEventListener('load', onLoad, true);
    this.offs.push(() => doc.removeEventListener('load', onLoad, true));
  }

  /** Observes an open shadow root's mutations (once) and adopted sheets. */
  observeShadow(root) {
    this.styles.track(root);
    if (this.docs.has(root)) return;
    this.docs.add(root);
    this.mutations.observe(root);
  }

  /** Serializes a same-origin frame's document and attaches it (rrweb's isAttachIframe). */
  attachFrame(frame, level) {
    let doc = null;
    try {
      doc = frame.contentDocument;
    } catch (e) { /* cross-origin */ }
    if (!doc || !doc.documentElement) return;
    const frameId = this.mirror.id(frame);
    if (!frameId) return;
    const win = doc.defaultView;
    if (win) oncePerWindow(win, (w) => this.hookWindow(w));
    const ctx = context(this, doc, 0);
    ctx.rootId = this.mirror.ensure(doc);
    collectExplicit(ctx, doc);
    const node = serializeTree(doc, level, ctx);
    delete node.rootId;
    this.emitIncremental({ source: 0, adds: [{ parentId: frameId, nextId: null, node }], removes: [], texts: [], attributes: [], isAttachIframe: true });
    this.observeDocument(doc);
    this.after(ctx);
  }

  /** A <link> serialized before its sheet loaded: its rules replace it now (rrweb's _cssText). */
  linkLoaded(link) {
    if (!/(?:^|\s)stylesheet(?:\s|$)/i.test(link.rel) || this.cssSent.has(link)) return;
    const css = sheetText(link.sheet);
    if (css === null) return;
    this.cssSent.add(link);
    this.mutations.flush();
    this.emitIncremental({ source: 0, texts: [], removes: [], adds: [], attributes: [{ id: this.mirror.id(link), attributes: { _cssText: css, href: null, rel: null } }] });
  }

  /** Emits the events a snapshot needs after the tree: frames, shadows, adopted sheets. */
  after(ctx) {
    for (const sr of ctx.shadows) this.observeShadow(sr);
    for (let i = 0; i < ctx.frames.length; i += 2) this.attachFrame(ctx.frames[i], ctx.frames[i + 1]);
  }

  /** Starts a new view: a new id, Meta, replay/view, a full snapshot. */
  newView() {
    this.flushPending();
    this.segments.startView(newId());
    this.viewURL = location.href;
    this.snapshot(true);
  }

  /** Meta and a full snapshot (a new id space), in the current view. */
  snapshot(isNewView) {
    this.mirror = new Mirror();
    this.styles.reset();
    this.emit(4, { href: location.href, width: window.innerWidth, height: window.innerHeight });
    if (isNewView) {
      const c = this.cfg;
      this.emitCustom('replay/view', {
        url: location.href, referrer: document.referrer,
        title: this.cfg.privacy >= MASK ? maskText(document.title) : document.title,
        tab: this.tab, service: c.service, env: c.env, version: c.version, applicationId: c.applicationId,
        userAgent: navigator.userAgent, sdk: 'caddy-replay/1',
      });
      if (this.user) this.emitCustom('replay/user', this.user);
    }
    const ctx = context(this, document, 0);
    collectExplicit(ctx, document);
    const node = serializeTree(document, this.cfg.privacy, ctx);
    const se = document.scrollingElement || document.documentElement;
    this.emit(2, { node, initialOffset: { left: se ? se.scrollLeft : 0, top: se ? se.scrollTop : 0 } });
    this.styles.track(document);
    this.after(ctx);
  }

  emit(type, data) {
    if (!this.recording) return;
    this.segments.add({ type, data, timestamp: now() });
  }

  emitIncremental(data) {
    this.emit(3, data);
  }

  emitCustom(tag, payload) {
    this.emit(5, { tag, payload });
  }

  /** Runs fn; an exception of ours never reaches the page (too many stop us). */
  guard(fn) {
    try {
      return fn();
    } catch (e) {
      this.errors++;
      if (this.errors === 1 && typeof console !== 'undefined') console.warn('[replay] recorder error:', e && e.message);
      if (this.errors > 50) {
        this.halted = true;
        this.stop();
      }
    }
  }

  /** Sends pending mouse positions, scroll samples and mutation records. */
  flushPending() {
    this.mutations.flush();
    this.pointer.flush();
    this.scroll.flush();
  }

  /**
   * Mutation-storm budget: units of work per second. Over budget, capture
   * pauses and resumes later with a full snapshot.
   */
  spend(units) {
    const t = now();
    if (t - this.window[0] > 1000) this.window = [t, 0];
    this.window[1] += units;
    if (this.window[1] <= T.stormBudget) return true;
    this.pause('storm');
    const wait = T.stormPause * 2 ** Math.min(this.storms++, 5);
    setTimeout(() => this.guard(() => this.resume('storm')), wait);
    return false;
  }

  pause(why) {
    if (this.paused || !this.recording) return;
    this.pointer.flush();
    this.emitCustom('replay/paused', { reason: why });
    this.segments.close();
    this.paused = why;
    this.recording = false;
    this.mutations.disconnect();
  }

  resume(why) {
    if (this.paused !== why || !this.started) return;
    this.paused = '';
    this.recording = true;
    for (const d of this.docs) this.mutations.observe(d);
    this.snapshot(false);
  }

  /** The upload queue is full: pause until it drains. */
  overflow() {
    this.pause('queue');
  }

  /** The upload queue is empty. */
  drained() {
    this.resume('queue');
  }

  /** The collector rejected a segment: what follows must start from a full snapshot. */
  rejected() {
    if (!this.recording) return;
    this.flushPending();
    this.segments.discard();
    this.snapshot(false);
  }

  /** The collector refuses this page for good (403, 404, ...). */
  halt() {
    this.halted = true;
    this.uploader.halt();
    this.stop();
  }

  /** The collector says the session was deleted: a new one starts. */
  sessionGone() {
    this.session = forceNewSession(this.cfg);
    if (!this.session.sampled) return this.stop();
    if (this.recording) this.newView();
  }

  /** Visitor activity: extends the session, or starts a new one after expiry. */
  activity() {
    const t = now();
    if (t - this.lastActivity < 1000) return;
    this.lastActivity = t;
    const s = currentSession(this.cfg, true);
    if (s.id !== this.session.id) this.switchSession(s);
    else if (this.paused === 'idle') this.resume('idle');
  }

  switchSession(s) {
    this.flushPending();
    this.segments.close();
    this.session = s;
    if (!s.sampled) {
      this.recording = false;
      this.paused = 'unsampled';
      this.mutations.disconnect();
      return;
    }
    if (this.paused) {
      this.paused = '';
      for (const d of this.docs) this.mutations.observe(d);
    }
    this.recording = true;
    this.newView();
  }

  tick() {
    const s = readCookie();
    const t = now();
    if (!alive(s, t)) {
      // No activity for 15 min (or 4 h passed): capture stops until the visitor is back.
      if (this.recording) this.pause('idle');
    } else if (s.id !== this.session.id) {
      this.switchSession(s); // another tab started a new session
    }
    if (!this.recording) return;
    this.styles.check();
    this.canvas.tick();
  }

  /** SPA navigation: a new URL (path or query) is a new view. */
  navigated() {
    const strip = (u) => u.replace(/#.*$/, '');
    if (strip(location.href) === strip(this.viewURL)) return;
    this.newView();
  }

  visibility(state) {
    if (!this.recording || this.gone) return;
    this.emitCustom('replay/visibility', { state });
    if (state === 'hidden') {
      this.flushPending();
      this.segments.close();
    } else this.activity();
  }

  leaving() {
    if (!this.recording) return;
    this.flushPending();
    this.segments.close();
  }

  pageHide() {
    if (!this.started) return;
    this.gone = true; // nothing more from this page unless it comes back from the back/forward cache
    if (this.recording) this.flushPending();
    this.uploader.unload(this.segments.takeUncompressed());
  }

  pageShow() {
    this.gone = false;
    if (this.recording) this.activity();
  }

  setUser(user) {
    const u = {};
    let n = 0;
    if (user && typeof user === 'object') {
      for (const k in user) {
        const v = user[k];
        if (v === null || v === undefined || typeof v === 'object' || typeof v === 'function') continue;
        if (++n > 20) break;
        u[String(k).slice(0, 64)] = String(v).slice(0, 256);
      }
    }
    this.user = n ? u : null;
    if (this.user) this.emitCustom('replay/user', this.user);
  }

  action(name, context) {
    this.emitCustom('replay/action', { name: String(name).slice(0, 256), context: plain(context) });
  }

  error(err, source, context) {
    const message = err && typeof err === 'object' ? String(err.message || err) : String(err);
    const stack = err && typeof err === 'object' && err.stack ? String(err.stack).slice(0, 4000) : '';
    this.emitCustom('replay/error', { message: message.slice(0, 1000), stack, source, context: plain(context) });
  }
}

/** A JSON-safe copy of a context object, at most 4 KB, else {}. */
function plain(v) {
  if (v === undefined || v === null) return {};
  try {
    const s = JSON.stringify(v);
    return s && s.length <= 4096 ? JSON.parse(s) : {};
  } catch (e) {
    return {};
  }
}

function tabId() {
  try {
    let t = sessionStorage.getItem('_replay_tab');
    if (!t) sessionStorage.setItem('_replay_tab', (t = newId()));
    return t;
  } catch (e) {
    return newId();
  }
}
