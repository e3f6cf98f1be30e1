// Page lifecycle: SPA navigations (pushState, replaceState, popstate) start
// a new view; visibility changes are recorded and flush; pagehide sends
// what is left; uncaught errors become replay/error events.

import { after, on } from './hooks.js';

/** Installs the lifecycle listeners of the top window. */
export function installLifecycle(rec) {
  const g = (fn) => (e) => rec.guard(() => fn(e));
  return [
    on(window, 'popstate', g(() => rec.navigated())),
    on(document, 'visibilitychange', g(() => rec.visibility(document.visibilityState))),
    // A navigation starts: compress what is pending now, so that at
    // pagehide (when the next page arrives) it can leave compressed.
    on(window, 'beforeunload', g(() => rec.leaving())),
    on(window, 'pagehide', g((e) => rec.pageHide(e.persisted))),
    on(window, 'pageshow', g((e) => e.persisted && rec.pageShow())),
    on(window, 'online', g(() => rec.uploader.online())),
    on(window, 'error', g((e) => {
      if (!(e instanceof ErrorEvent)) return; // resource load errors have no message
      rec.error(e.error || e.message, 'error');
    }), { passive: true }),
    on(window, 'unhandledrejection', g((e) => rec.error(e.reason, 'unhandledrejection')), { passive: true }),
  ];
}

/** Hooks the History API once. */
export function hookHistory(win, current) {
  const nav = () => {
    const r = current();
    if (r && r.recording) r.navigated();
  };
  after(win.History.prototype, 'pushState', nav);
  after(win.History.prototype, 'replaceState', nav);
}
