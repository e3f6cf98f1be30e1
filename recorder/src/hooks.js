// Patching browser prototypes without ever changing what they do: the
// original runs first and its result or exception is the caller's; our
// observer runs after it and cannot throw.

const patched = new WeakSet();

/** Runs install(win) once per window (realm). */
export function oncePerWindow(win, install) {
  if (patched.has(win)) return;
  patched.add(win);
  try {
    install(win);
  } catch (e) { /* a browser without some API: record what we can */ }
}

/** After obj[name](...args) returns, calls after(this, args, result). */
export function after(obj, name, fn) {
  const orig = obj && obj[name];
  if (typeof orig !== 'function') return;
  obj[name] = function (...args) {
    const r = orig.apply(this, args);
    try {
      fn(this, args, r);
    } catch (e) { /* never into the page */ }
    return r;
  };
}

/** After the setter proto[prop] = v, calls fn(this, v). */
export function afterSet(proto, prop, fn) {
  const d = proto && Object.getOwnPropertyDescriptor(proto, prop);
  if (!d || !d.set) return;
  Object.defineProperty(proto, prop, {
    configurable: true,
    enumerable: d.enumerable,
    get: d.get,
    set(v) {
      d.set.call(this, v);
      try {
        fn(this, v);
      } catch (e) { /* never into the page */ }
    },
  });
}

/** Adds a listener and returns the function that removes it. */
export function on(target, type, fn, opts) {
  const o = opts || { capture: true, passive: true };
  target.addEventListener(type, fn, o);
  return () => target.removeEventListener(type, fn, o);
}
