// Node ids: every recorded node gets a numeric id, unique within the page,
// that events refer to. A full snapshot starts a new map (the replay starts
// over too); ids keep increasing so a stale id never names another node.

let ids = new WeakMap();
let counter = 0;

/** The id of n, or 0 when n is not recorded. */
export const idOf = (n) => ids.get(n) || 0;

/** The id of n, assigning a new one if it has none. */
export function ensureId(n) {
  let id = ids.get(n);
  if (!id) ids.set(n, (id = ++counter));
  return id;
}

/** The parent of n in the flattened tree (a shadow root's host). */
export function parentOf(n) {
  const p = n.parentNode;
  return p?.nodeType === 11 ? p.host : p;
}

/** The id of the nearest recorded node at or above n (hidden boxes included), or -1. */
export function idNear(n) {
  for (; n; n = parentOf(n)) if (ids.has(n)) return ids.get(n);
  return -1;
}

/** Forgets n and every node under it. */
export function forget(n) {
  ids.delete(n);
  for (const c of n.childNodes) forget(c);
}

/** Forgets every node (a full snapshot starts a new id space). */
export function resetIds() {
  ids = new WeakMap();
}
