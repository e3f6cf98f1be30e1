// Patching browser prototypes without ever changing what they do: the
// original runs first and its result or exception is the caller's; our
// observer runs after it and cannot throw. And event listeners, which stay
// for the life of the page (they return at once while nothing is recorded).

import { guarded } from './recorder.js';

const patched = new WeakSet();

/** Runs install(win) once per window (realm). */
export function oncePerWindow(win, install) {
  if (patched.has(win)) return;
  patched.add(win);
  try {
    install(win);
  } catch (e) { /* a browser without some API: record what we can */ }
}

/** After obj[name](...args) returns, calls fn(this, args, result). */
export function after(obj, name, fn) {
  const orig = obj && obj[name];
  if (typeof orig === 'function') {
    obj[name] = function (...args) {
      const r = orig.apply(this, args);
      try {
        fn(this, args, r);
      } catch (e) { /* never into the page */ }
      return r;
    };
  }
}

/** After the setter proto[prop] = v, calls fn(this). */
export function afterSet(proto, prop, fn) {
  const d = proto && Object.getOwnPropertyDescriptor(proto, prop);
  if (d?.set) {
    Object.defineProperty(proto, prop, {
      ...d,
      set(v) {
        d.set.call(this, v);
        try {
          fn(this);
        } catch (e) { /* never into the page */ }
      },
    });
  }
}

const CAPTURE = { capture: true, passive: true };
// The prototype's: an element named addEventListener shadows the
// document's, and one with that id the window's.
const listen = EventTarget.prototype.addEventListener;

// Our listeners on the window and the page's document: document.open()
// erases every listener on both, and relisten adds them again.
const kept = [];

/**
 * Adds fn, guarded, as a listener (capturing and passive unless opts says
 * otherwise; opts 0: bubbling, and not kept).
 */
export const on = (target, type, fn, opts = CAPTURE) => {
  fn = guarded(fn);
  if (opts && (target == self || target == document)) kept.push([target, type, fn, opts]);
  listen.call(target, type, fn, opts);
};

/** After document.open(): our listeners again (one already there is not added twice). */
export const relisten = () => kept.map((a) => listen.call(...a));
