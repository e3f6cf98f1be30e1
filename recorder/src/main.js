// Boot and public API: window.SessionReplay.
//
// The proxy injects <script async src="/__replay/recorder.<hash>.js" data-…>:
// its data- attributes configure and start the recorder. A script included
// by hand without them waits for SessionReplay.init({...}).

import { configure, fromScript } from './config.js';
import { Recorder } from './recorder.js';

/* global __WORKER_NAME__ */
const script = document.currentScript;
const scriptURL = (script && script.src) || location.href;
let workerURL = '';
try {
  // The worker is a sibling of this script: same origin, no blob: URL.
  workerURL = new URL(__WORKER_NAME__, scriptURL).href;
} catch (e) { /* no worker: compression happens on the main thread */ }

let rec = null;

function safe(fn) {
  return function (...args) {
    try {
      return fn.apply(this, args);
    } catch (e) {
      if (typeof console !== 'undefined') console.warn('[replay]', e && e.message);
      return undefined;
    }
  };
}

const api = {
  /** Configures the recorder (once) and starts it unless start is manual. */
  init: safe((options) => {
    if (rec) return;
    rec = new Recorder(configure(options || {}, scriptURL), workerURL);
    if (!rec.cfg.manual) rec.start();
  }),
  startSessionReplayRecording: safe(() => rec && rec.start()),
  stopSessionReplayRecording: safe(() => rec && rec.stop()),
  setUser: safe((user) => rec && rec.setUser(user)),
  addAction: safe((name, context) => rec && rec.action(name, context)),
  addError: safe((error, context) => rec && rec.error(error, 'custom', context)),
  getSessionId: safe(() => (rec ? rec.session.id : undefined)),
  version: 1,
};

// Calls queued before the script loaded: window.SessionReplay = {q: [[method, ...args]]}.
const queued = window.SessionReplay && Array.isArray(window.SessionReplay.q) ? window.SessionReplay.q : [];
window.SessionReplay = api;
// A same-origin frame of a recorded page is recorded by the page (as part
// of its document), not on its own.
let framed = false;
try {
  framed = window.parent !== window && !!(window.parent.SessionReplay && window.parent.SessionReplay.version);
} catch (e) { /* cross-origin parent: this frame records itself */ }
const fromTag = framed ? null : fromScript(script);
if (fromTag) api.init(fromTag);
for (const [method, ...args] of queued) if (typeof api[method] === 'function') api[method](...args);
