// The player's state lives in the query string (?session=…&t=…, or the
// list's filters), so every screen has a link that can be shared or
// bookmarked, and relative URLs keep working under any mount prefix.

const listeners = new Set();

/** Current query parameters as a plain object. */
export function current() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

function build(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null && v !== false) q.set(k, String(v));
  const s = q.toString();
  return location.pathname + (s ? '?' + s : '');
}

/** A link (relative to the player) for params. */
export function href(params) {
  return build(params);
}

/**
 * Goes to a new state. replace: edit the current history entry (filters
 * typed, time updates) instead of adding one.
 */
export function go(params, { replace = false, silent = false } = {}) {
  const url = build(params);
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  if (!silent) emit();
}

/** Calls fn on every navigation (links, back and forward). */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit() {
  for (const fn of listeners) fn(current());
}

addEventListener('popstate', emit);

/** Makes in-app <a> elements navigate without a reload. */
export function link(a) {
  a.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const u = new URL(a.href);
    if (u.origin !== location.origin || u.pathname !== location.pathname) return;
    e.preventDefault();
    go(Object.fromEntries(u.searchParams));
  });
  return a;
}
