// Page lifecycle: SPA navigations (pushState, replaceState, popstate) start
// a new view; visibility changes are recorded and flush; pagehide sends
// what is left; uncaught errors become replay/error events.

import { after, on } from './hooks.js';
import { online } from './uploader.js';
import { guarded, navigated, visibility, leaving, pageHide, pageShow, error } from './recorder.js';

/** Installs the lifecycle listeners of the top window (once). */
export function installLifecycle() {
  on(window, 'popstate', guarded(navigated));
  on(document, 'visibilitychange', guarded(() => visibility(document.visibilityState)));
  // A navigation starts: compress what is pending now, so that at
  // pagehide (when the next page arrives) it can leave compressed.
  on(window, 'beforeunload', guarded(leaving));
  on(window, 'pagehide', guarded(pageHide));
  on(window, 'pageshow', guarded((e) => e.persisted && pageShow()));
  on(window, 'online', guarded(online));
  // Not capturing: resource load errors (no ErrorEvent, no message) would come too.
  const bubbling = { passive: true };
  on(window, 'error', guarded((e) => e instanceof ErrorEvent && error(e.error || e.message, 'error')), bubbling);
  on(window, 'unhandledrejection', guarded((e) => error(e.reason, 'unhandledrejection')), bubbling);
}

/** Hooks the History API of the top window. */
export function hookHistory(win) {
  for (const m of ['pushState', 'replaceState']) after(win.History.prototype, m, guarded(navigated));
}
