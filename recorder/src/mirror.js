// Node ids: every recorded node gets a numeric id, unique within the page,
// that events refer to. A full snapshot starts a new map (the replay starts
// over too); ids keep increasing so a stale id never names another node.

let counter = 0;

/** Maps recorded nodes to their ids. */
export class Mirror {
  constructor() {
    this.ids = new WeakMap();
  }

  /** The id of n, or 0 when n is not recorded. */
  id(n) {
    return this.ids.get(n) || 0;
  }

  /** The id of n, assigning a new one if it has none. */
  ensure(n) {
    let id = this.ids.get(n);
    if (!id) this.ids.set(n, (id = ++counter));
    return id;
  }
}
