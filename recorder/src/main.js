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
  const script = document.currentScript;
  const scriptURL = script?.src || location.href;

  // Every method is guarded (it never throws into the page) and does nothing before init.
  const safe = (fn) => (...args) => (cfg ? guard(fn, ...args) : undefined);

  const api = {
    /** Configures the recorder (once) and starts it unless start is manual. */
    init: (options) => {
      if (!cfg) {
        guard(() => {
          // The worker is this script (same origin, no blob: URL); without
          // one (an inline copy) compression happens on the main thread.
          init(configure(options || {}, scriptURL), script && script.src);
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
  let framed = false;
  try {
    framed = window.parent !== window && !!window.parent.SessionReplay?.version;
  } catch (e) { /* cross-origin parent: this frame records itself */ }
  const fromTag = framed ? null : fromScript(script);
  if (fromTag) api.init(fromTag);
  for (const [method, ...args] of Array.isArray(queued) ? queued : []) if (typeof api[method] === 'function') api[method](...args);
}

if (typeof window == 'object') boot();
else serveCompression();
