// The recorder: one per page. It owns the session and the views, installs
// the observers, and decides when to snapshot, pause and resume. The
// observers read its state (recording, cfg) and emit through it.

/* global TEST_HOOKS */
import { T, now, hooks } from './timing.js';
import { newId } from './ids.js';
import { currentSession, readCookie, alive, newSession } from './session.js';
import { resetIds, idOf, ensureId } from './mirror.js';
import { observeMutations, flushMutations, disconnectMutations } from './mutations.js';
import { installInputs, hookInputs } from './inputs.js';
import { installPointer, flushPointer } from './interactions.js';
import { installScroll, flushScroll } from './scroll.js';
import { installMedia } from './media.js';
import { trackStyles, resetStyles, checkStyles, hookStyles } from './styles.js';
import { tickCanvas, hookCanvas } from './canvas.js';
import { installLifecycle, hookHistory } from './navigation.js';
import { installPopovers } from './popover.js';
import { startCompressor } from './compressor.js';
import { addEvent, startView, closeSegment, takeUncompressed, unqueued, viewId } from './segments.js';
import { queued, unload, haltUploads, online } from './uploader.js';
import { begin, inDocument, found, serialize, linkSheet, text } from './serialize.js';
import { oncePerWindow, after, on, relisten } from './hooks.js';
import { levelOf } from './privacy.js';

/** The configuration (config.js), once init() ran. */
export let cfg = null;
/** Whether events are being recorded now. */
export let recording = false;
/** The session (session.js) this page records into. */
export let session = null;
/** A new view waits for the end of the current task to take its snapshot. */
export let viewPending = false;

let started = false; // start() was called and stop() was not
let halted = false; // the collector refused us for good
let paused = ''; // why capture is paused: 'idle', 'storm', 'queue', 'unsampled' or ''
let gone = false; // the page was hidden for good (pagehide)
let user = null;
let tab = '';
let tickTimer = 0;
let lastActivity = 0;
let errors = 0;
let storms = 0;
let budgetStart = 0; // storm budget: the current second...
let budgetSpent = 0; // ...and the units spent in it
let viewURL = '';
const docs = new Set(); // documents and shadow roots listened to

/** Configures the recorder (once) with the compression worker's URL. */
export function init(c, workerURL) {
  cfg = c;
  startCompressor(workerURL);
  session = currentSession(cfg);
  try {
    tab = sessionStorage.getItem('_replay_tab') || newId();
    sessionStorage.setItem('_replay_tab', tab);
  } catch (e) {
    tab = tab || newId();
  }
  // Tests: what the harness's flush, view and state hooks need
  // (recorder/harness_test.go; the logic lives there, not in the bundle).
  if (TEST_HOOKS && hooks.timing) hooks.i = [() => recording && tick(), leaving, closeSegment, () => unqueued().concat(queued()), viewId, () => [paused, recording, queued().length, halted]];
}

/** Starts recording (if this session is sampled). */
export function start() {
  if (started || halted) return;
  // A page prerendered (Speculation Rules) may never be shown: no session
  // and no upload until it is.
  if (document.prerendering) return on(document, 'prerenderingchange', start);
  session = currentSession(cfg);
  if (!session.sampled) return;
  started = true;
  const go = guarded(() => {
    if (!started) return;
    oncePerWindow(window, hookWindow);
    observe(document);
    observeAll();
    tickTimer = setInterval(guarded(tick), T.tick);
    recording = true;
    newView();
  });
  // Not kept (0): DOMContentLoaded comes again after document.open().
  if (document.readyState === 'loading') on(document, 'DOMContentLoaded', go, 0);
  else go();
}

/** Stops recording; what was recorded is still sent. */
export function stop() {
  if (!started) return;
  flushPending();
  started = false;
  recording = false;
  paused = '';
  closeSegment();
  disconnectMutations();
  clearInterval(tickTimer);
}

function hookWindow(w) {
  hookInputs(w);
  hookStyles(w);
  hookCanvas(w);
  if (w === window) {
    hookHistory(w);
    installLifecycle();
    after(w.Document.prototype, 'open', relisten);
  }
  // Open shadow roots created later are observed as they appear, and sent
  // (the replay attaches one even if it stays empty).
  after(w.Element.prototype, 'attachShadow', (host, args, root) => {
    if (recording && args[0] && args[0].mode === 'open' && idOf(host)) observe(root, 1);
  });
}

/** Listens to a document (the page or a same-origin frame) or an open shadow root, once. */
function observe(doc, attached) {
  trackStyles(doc, attached);
  if (docs.has(doc)) return;
  docs.add(doc);
  if (recording) observeMutations(doc);
  if (doc.nodeType !== 9) return;
  installInputs(doc);
  installPointer(doc);
  installScroll(doc);
  installMedia(doc);
  installPopovers(doc);
  // A frame that loads (again) is attached again; a stylesheet that loads gets its rules.
  on(doc, 'load', (e) => {
    const t = e.target;
    if (!recording || !idOf(t)) return;
    const tag = t.localName;
    if (tag === 'iframe' || tag === 'frame') attachFrame(t, levelOf(t, cfg.privacy));
    else if (tag === 'link') linkLoaded(t);
  });
}

// Observes the mutations of every document and shadow root again.
function observeAll() {
  disconnectMutations();
  for (const d of docs) observeMutations(d);
}

/** Serializes a same-origin frame's document and attaches it (rrweb's isAttachIframe). */
function attachFrame(frame, level) {
  let doc = null;
  try {
    doc = frame.contentDocument;
  } catch (e) { /* cross-origin */ }
  if (!doc || !doc.documentElement || !idOf(frame)) return;
  if (doc.defaultView) oncePerWindow(doc.defaultView, hookWindow);
  begin(false);
  inDocument(doc, ensureId(doc), doc);
  const node = serialize(doc, level);
  delete node.rootId;
  mutation({ adds: [{ parentId: idOf(frame), nextId: null, node }], isAttachIframe: true });
  observe(doc);
  finish();
}

/** A <link> serialized before its sheet loaded: its rules replace it now (rrweb's _cssText). */
function linkLoaded(link) {
  const attributes = linkSheet(link);
  if (!attributes) return;
  flushMutations();
  mutation({ attributes: [{ id: idOf(link), attributes }] });
}

/** Emits what the serialized nodes need next: open shadow roots observed, same-origin frames attached. */
export function finish() {
  const [frames, shadows] = found(); // attachFrame serializes again
  for (const sr of shadows) observe(sr);
  for (let i = 0; i < frames.length; i += 2) attachFrame(frames[i], frames[i + 1]);
}

/** Starts a new view: a new id, Meta, replay/view, a full snapshot. */
function newView() {
  flushPending(); // mutation records waiting for a pending view are dropped: the snapshot shows them
  viewPending = false;
  startView(newId(), session.id);
  viewURL = location.href;
  snapshot(true);
  // A tab opened in the background: the player shows it once it is seen.
  if (document.hidden) custom('replay/visibility', { state: 'hidden' });
}

/** Meta and a full snapshot (a new id space), in the current view. */
function snapshot(isNewView) {
  resetIds();
  resetStyles();
  begin(false);
  inDocument(document, 0, document); // privacy attributes noted before the title is read
  emit(4, { href: location.href, width: innerWidth, height: innerHeight, dark: matchMedia('(prefers-color-scheme:dark)').matches });
  if (isNewView) {
    // The title element found and read through the prototypes: a <form
    // name="title"> or an <img name="querySelector"> shadows the
    // document's own (DOM clobbering). Its text, as document.title
    // gives it but for runs of spaces inside.
    const t = Document.prototype.querySelector.call(document, 'title');
    custom('replay/view', {
      url: location.href, referrer: document.referrer,
      title: text(t?.text.trim() || '', levelOf(t || document, cfg.privacy)),
      tab, ...cfg.meta,
    });
    if (user) custom('replay/user', user);
  }
  const node = serialize(document, cfg.privacy);
  emit(2, { node, initialOffset: { left: scrollX, top: scrollY } }); // the viewport's, whichever element scrolls it
  // Sent at once: left open for 5 s, it went away uncompressed with a
  // visitor who left sooner, too big for a pagehide beacon.
  closeSegment();
  trackStyles(document);
  finish();
}

/** Records an event of type with data, now. */
export function emit(type, data) {
  if (recording) addEvent({ type, data, timestamp: now() });
}

/** Records an incremental snapshot (rrweb's IncrementalSnapshot). */
export const inc = (data) => emit(3, data);

/** Records a Mutation with the given parts (the others empty). */
export const mutation = (parts) => inc({ source: 0, texts: [], attributes: [], removes: [], adds: [], ...parts });

/** Records a custom event (ours: replay/*). */
export const custom = (tag, payload) => emit(5, { tag, payload });

/** Runs fn(...args); an exception of ours never reaches the page (too many stop us). */
export function guard(fn, ...args) {
  try {
    return fn(...args);
  } catch (e) {
    if (++errors === 1) console.warn('[replay]', e); // with its stack
    if (errors > 50) {
      halted = true;
      stop();
    }
  }
}

/** fn, guarded. */
export const guarded = (fn) => (...args) => guard(fn, ...args);

/** Sends pending mouse positions, scroll samples and mutation records. */
function flushPending() {
  flushMutations();
  flushPointer();
  flushScroll();
}

/**
 * Mutation-storm budget: units of work per second. Over budget, capture
 * pauses and resumes later with a full snapshot.
 */
export function spend(units) {
  const t = now();
  if (t - budgetStart > 1000) {
    budgetStart = t;
    budgetSpent = 0;
  }
  if ((budgetSpent += units) <= T.stormBudget) return true;
  pause('storm');
  setTimeout(guarded(resume), T.stormPause * 2 ** Math.min(storms++, 5), 'storm');
  return false;
}

/** Pauses capture (why: 'storm', 'queue' or 'idle'); resume(why) ends it. */
export function pause(why) {
  if (paused || !recording) return;
  flushPointer();
  custom('replay/paused', { reason: why });
  closeSegment();
  paused = why;
  recording = false;
  disconnectMutations();
}

/** Resumes capture paused for why, with a full snapshot (in a new view if the URL changed). */
export function resume(why) {
  if (paused !== why || !started) return;
  paused = '';
  recording = true;
  observeAll();
  if (samePage() && !viewPending && why != 'queue') snapshot(false);
  else newView();
}

/** The collector refuses this page for good (403, 404, ...), or we broke. */
export function halt() {
  halted = true;
  haltUploads();
  stop();
}

/**
 * The collector says session sid was deleted (or is full): a new one
 * starts, once (the queue may hold more of sid's segments, refused alike).
 */
export function sessionGone(sid) {
  if (sid != session.id) return;
  session = newSession(cfg);
  viewURL = ''; // paused, the resume starts a view in the new session
  if (!session.sampled) stop();
  else if (recording) newView();
}

/** Visitor activity: extends the session, or starts a new one after expiry. */
export function activity() {
  const t = now();
  if (!started || t - lastActivity < 1000) return;
  lastActivity = t;
  const s = currentSession(cfg);
  if (s.id !== session.id) switchSession(s);
  else resume('idle');
}

function switchSession(s) {
  flushPending();
  closeSegment();
  session = s;
  recording = s.sampled;
  paused = recording ? '' : 'unsampled';
  if (!recording) return disconnectMutations();
  observeAll();
  newView();
}

function tick() {
  const s = readCookie();
  if (!alive(s, now())) pause('idle'); // no activity for 15 min (or 4 h passed): capture stops until the visitor is back
  else if (s.id !== session.id) switchSession(s); // another tab started a new session
  if (recording) {
    // A router's pushState wrapper may call the original it captured before
    // we hooked History.prototype: the URL changed all the same.
    navigated();
    checkStyles();
    tickCanvas();
  }
}

const strip = (u) => u.split('#')[0];
const samePage = () => strip(location.href) === strip(viewURL);

/**
 * SPA navigation: a new URL (path or query) is a new view. The app renders
 * the new route after pushState, so the snapshot waits for the end of this
 * task; meanwhile the old view's segment stays open for what happens.
 */
export function navigated() {
  if (!recording || samePage()) return;
  flushMutations();
  viewURL = location.href;
  if (!viewPending) {
    viewPending = true;
    setTimeout(guarded(() => viewPending && recording && newView())); // if paused, resume() starts the view
  }
}

/** The page became hidden or visible. */
export function visibility(state) {
  if (!recording || gone) return;
  custom('replay/visibility', { state });
  if (state === 'hidden') leaving();
  else activity();
}

/** A navigation starts, or the page is hidden: what is pending leaves now. */
export function leaving() {
  if (!recording) return;
  if (viewPending) newView();
  flushPending();
  closeSegment();
}

/** pagehide: nothing more comes from this page unless it comes back from the back/forward cache. */
export function pageHide() {
  gone = true;
  if (recording) flushPending();
  unload(takeUncompressed());
}

/** pageshow from the back/forward cache. */
export function pageShow() {
  gone = false;
  online();
  if (recording) activity();
}

/** SessionReplay.setUser: string values only, bounded. */
export function setUser(u) {
  const out = {};
  let n = 0;
  for (const k in typeof u == 'object' ? u : null) {
    const v = u[k];
    if (v == null || typeof v == 'object' || typeof v == 'function') continue;
    if (++n > 20) break;
    out[String(k).slice(0, 64)] = String(v).slice(0, 256);
  }
  user = n ? out : null;
  if (user) custom('replay/user', user);
}

/** SessionReplay.addAction. */
export const action = (name, context) => custom('replay/action', { name: String(name).slice(0, 256), context: plain(context) });

/** An error: SessionReplay.addError (source 'custom'), uncaught errors and rejections. */
export function error(err, source, context) {
  const o = err && typeof err == 'object';
  custom('replay/error', { message: String(o && err.message || err).slice(0, 1000), stack: String(o && err.stack || '').slice(0, 4000), source, context: plain(context) });
}

/** A JSON-safe copy of a context object, at most 4 KB, else {}. */
function plain(v) {
  try {
    const s = JSON.stringify(v ?? {});
    return s && s.length <= 4096 ? JSON.parse(s) : {};
  } catch (e) {
    return {};
  }
}
