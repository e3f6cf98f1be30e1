// Boot and public API: window.SessionReplay.
//
// The proxy injects <script async src="/__replay/recorder.<hash>.js" data-…>:
// its data- attributes configure and start the recorder. A script included
// by hand without them waits for SessionReplay.init({...}). The same
// script, started as a Worker, is the recorder's compression worker.

import { configure, fromScript } from './config.js';
import { init, start, stop, setUser, action, error, guard, cfg, session } from './recorder.js';
import { serveCompression } from './compressor.js';

function boot() {
  // Loaded twice (a page that includes the recorder itself and is injected
  // too): the first keeps recording, as two would record everything twice.
  if (window.SessionReplay?.version) return;
  const script = document.currentScript;
  const src = script?.src;

  // Every method is guarded (it never throws into the page) and does nothing before init.
  const safe = (fn) => (...args) => cfg && guard(fn, ...args);

  const api = {
    /** Configures the recorder (once) and starts it unless start is manual. */
    init: (options) => {
      if (!cfg) {
        guard(() => {
          // The worker is this script (same origin, no blob: URL); without
          // one (an inline copy) compression happens on the main thread.
          init(configure(options || {}, src || location.href), src);
          if (!cfg.manual) start();
        });
      }
    },
    startSessionReplayRecording: safe(start),
    stopSessionReplayRecording: safe(stop),
    setUser: safe(setUser),
    addAction: safe(action),
    addError: safe((err, context) => error(err, 'custom', context)),
    getSessionId: safe(() => session.id),
    version: 1,
  };

  // Calls queued before the script loaded: window.SessionReplay = {q: [[method, ...args]]}.
  const queued = window.SessionReplay?.q;
  window.SessionReplay = api;
  // A same-origin frame of a recorded page is recorded by the page (as part
  // of its document), not on its own.
  let framed;
  try {
    framed = window.parent !== window && !!window.parent.SessionReplay?.version;
  } catch (e) { /* cross-origin parent: this frame records itself */ }
  const fromTag = !framed && fromScript(script);
  if (fromTag) api.init(fromTag);
  // Each guarded: an entry that is not [method, ...args] (null, an
  // object, an unknown or inherited name) threw into the page, and the
  // calls after it were lost.
  for (const c of Array.isArray(queued) ? queued : []) guard(([method, ...args]) => api[method](...args), c);
}

if (typeof window == 'object') boot();
else serveCompression();
