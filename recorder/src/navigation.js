// Page lifecycle: SPA navigations (pushState, replaceState, popstate) start
// a new view; visibility changes are recorded and flush; pagehide sends
// what is left; uncaught errors become replay/error events.

import { after, on } from './hooks.js';
import { online } from './uploader.js';
import { navigated, visibility, leaving, pageHide, pageShow, error } from './recorder.js';

/** Installs the lifecycle listeners of the top window (once). */
export function installLifecycle() {
  on(window, 'popstate', navigated);
  on(document, 'visibilitychange', () => visibility(document.visibilityState));
  // A navigation starts: compress what is pending now, so that at
  // pagehide (when the next page arrives) it can leave compressed.
  on(window, 'beforeunload', leaving);
  on(window, 'pagehide', pageHide);
  on(window, 'pageshow', (e) => e.persisted && pageShow());
  on(window, 'online', online);
  // Not capturing: resource load errors (no ErrorEvent, no message) would come too.
  const bubbling = { passive: true };
  on(window, 'error', (e) => e instanceof ErrorEvent && error(e.error || e.message, e.type), bubbling);
  on(window, 'unhandledrejection', (e) => error(e.reason, e.type), bubbling);
}

/** Hooks the History API of the top window. */
export function hookHistory(win) {
  for (const m of ['pushState', 'replaceState']) after(win.History.prototype, m, navigated);
}
