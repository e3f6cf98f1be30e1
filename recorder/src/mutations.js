// DOM mutations, batched: each MutationObserver callback becomes at most
// one Mutation event, computed from the batch's net effect in linear time.
//
// Records only tell what happened, in order; the event describes the
// difference between the replay's tree and the live tree now:
//   removes  recorded nodes that left a parent still in the document
//   adds     subtrees now in the document that were (re)inserted, flat,
//            parent first, new siblings in document order
//   texts, attributes  changes of nodes that were not re-added anyway
// A node that moved is removed and added again (with its ids), so nodes
// moved and removed within one batch come out right whatever the order.

import { HIDDEN, ATTR, levelOf, notePrivacy, controlValue, privacyUsed } from './privacy.js';
import { XLINK_NS, Attrs, attrValue, begin, inDocument, getAttr, serialize, tagOf, openMode, textOf } from './serialize.js';
import { idOf, parentOf, forget } from './mirror.js';
import { recording, cfg, viewPending, spend, guard, mutation, finish } from './recorder.js';

const OPTIONS = { childList: true, subtree: true, attributes: true, characterData: true };
let observers = [];

/** Starts observing root (a document or a shadow root). */
export function observeMutations(root) {
  const mo = new MutationObserver((records) => guard(take, records));
  mo.observe(root, OPTIONS);
  observers.push(mo);
}

// One batch is what every observer holds: a node moved between a shadow
// root and the light DOM leaves from one observer's records and arrives in
// the other's, and must be removed and added in one event (the adds of one
// batch and the removes of the next would take it out of the replay).
function take(all) {
  for (const mo of observers) {
    const r = mo.takeRecords();
    if (r.length) all = all.concat(r);
  }
  if (all.length) process(all);
}

/** Processes what the observers hold now (before another event is emitted). */
export const flushMutations = () => take([]);

/** Stops observing everything. */
export function disconnectMutations() {
  for (const mo of observers) mo.disconnect();
  observers = [];
}

function process(records) {
  // While a new view waits for its snapshot, the snapshot will show these changes.
  if (!recording || viewPending) return;
  const removed = new Map(); // node -> parent it left first
  const added = new Set();
  const attrs = new Map(); // element -> Set of names
  const texts = new Set();
  const areas = new Set(); // textareas whose content changed
  const privacy = []; // elements whose privacy level may have changed (privacy attribute, contenteditable)
  let lastEl = null;
  let names = null;
  for (const r of records) {
    const t = r.target;
    // Only attribute records have a name: one read instead of two for
    // them (a batch of attribute churn has thousands).
    let name = r.attributeName;
    if (name !== null) {
      if (name == 'href' && r.attributeNamespace === XLINK_NS) name = 'xlink:href';
      else if (name === ATTR || name == 'contenteditable') {
        privacy.push(t);
        notePrivacy(t);
      }
      // Changes to one element usually come in a row: look it up once.
      if (t !== lastEl) {
        lastEl = t;
        names = attrs.get(t);
        if (!names) attrs.set(t, (names = new Set()));
      }
      names.add(name);
    } else if (r.type == 'childList') {
      // A node without an id that leaves may be a textarea's text (its
      // default value): the textarea is looked at below.
      for (const n of r.removedNodes) if (!idOf(n)) areas.add(t);
      else if (!removed.has(n)) removed.set(n, t);
      for (const n of r.addedNodes) added.add(n);
      // A <style> whose children changed sends its texts again: another
      // one may now be first, the one that carries the whole sheet.
      if (t.sheet) for (const c of t.childNodes) c.nodeType === 3 && texts.add(c);
    } else texts.add(t);
  }
  if (!spend(records.length + added.size)) return; // a mutation storm: the recorder pauses

  const def = cfg.privacy;
  const levels = new Map(); // element -> privacy level, per batch
  const level = (p) => {
    if (!privacyUsed) return def; // no privacy attribute on the page: no walk up, no cache
    let l = levels.get(p);
    if (l === undefined) levels.set(p, (l = levelOf(p, def)));
    return l;
  };
  // Whether n is inside a subtree that is added in this batch.
  const covered = new Map();
  // The walk up stops at an added node or one whose answer is known.
  const isCovered = (n) => {
    if (!added.size) return false;
    const path = [];
    let res;
    for (let cur = parentOf(n); cur && (res = (added.has(cur) && cur.isConnected) || covered.get(cur)) === undefined; cur = parentOf(cur)) path.push(cur);
    res = !!res;
    for (const p of path) covered.set(p, res);
    return res;
  };
  // The id of n if it is recorded, in the document, not re-added anyway and not hidden.
  const live = (n, p) => {
    const id = idOf(n);
    return id && n.isConnected && !isCovered(n) && level(p) !== HIDDEN ? id : 0;
  };

  const out = { texts: [], attributes: [], removes: [], adds: [] };

  // An element whose level may have changed is removed and added again.
  for (const el of privacy) {
    if (el.isConnected && idOf(el)) { // an element in the document has a parent
      if (!removed.has(el)) removed.set(el, el.parentNode);
      added.add(el);
    }
  }
  for (const [el, set] of attrs) {
    const id = set.has(ATTR) ? 0 : live(el, el);
    if (!id) continue;
    const tag = tagOf(el);
    const lvl = level(el);
    const a = new Attrs();
    let any = false;
    for (const name of set) {
      const raw = name == 'xlink:href' ? el.getAttributeNS(XLINK_NS, 'href') : getAttr(el, name);
      const v = raw === null ? null : attrValue(el, tag, name, raw, lvl, null);
      if (v !== undefined) {
        a[name] = v;
        any = true;
        if (name == 'open' && tag == 'dialog' && v !== null) a.rr_open_mode = openMode(el);
      }
    }
    if (any) out.attributes.push({ id, attributes: a });
  }

  // Removes: moved nodes first, while their old parents still exist in the replay.
  const gone = [];
  for (const [n, p] of removed) {
    if (!p.isConnected) continue; // the old parent left too: it takes n with it
    const shadow = p.nodeType === 11;
    const pid = idOf(shadow ? p.host : p);
    if (pid) (n.isConnected ? out.removes : gone).push({ parentId: pid, id: idOf(n), isShadow: shadow || undefined }); // JSON leaves undefined out
  }
  out.removes.push(...gone);

  // Adds: the roots of what is new in the document, in chains of new
  // siblings; each chain goes before the first node after it that the
  // replay has (a chain to its left then goes before it).
  const roots = [];
  for (const n of added) {
    const p = n.parentNode;
    if (!p || !n.isConnected || isCovered(n)) continue;
    const ptag = p.nodeType === 1 ? tagOf(p) : '';
    // Nothing in a textarea or a script is in the replay, nor under a
    // node that has no id (deeper in one, in a hidden element): a node
    // moved there forgets its ids (and those under it), or what is added
    // under it later, or its text, would go to nodes the replay removed.
    if (ptag == 'textarea' || ptag == 'script') areas.add(p);
    else if (idOf(parentOf(n))) {
      roots.push(n);
      continue;
    }
    forget(n);
  }
  const pending = new Set(roots);
  begin(true);
  for (const n of roots) {
    const chain = []; // empty when n is in an earlier root's chain
    let next = n;
    for (; next && pending.delete(next); next = next.nextSibling) chain.push(next);
    const p = n.parentNode;
    const shadow = p.nodeType === 11;
    const pe = parentOf(n);
    const lvl = level(pe);
    if (lvl === HIDDEN) continue;
    const nextId = next ? idOf(next) || null : null;
    for (const c of chain) {
      const d = c.ownerDocument;
      inDocument(d, d === document ? 0 : idOf(d), c);
      serialize(c, lvl, out.adds, idOf(pe), nextId, shadow, p.nodeType == 1 ? tagOf(p) : '', shadow ? null : p);
    }
  }

  // Texts of nodes that were not re-added. A changed <style> sends all its
  // text children: the first carries the whole sheet.
  for (const t of texts) {
    const p = t.parentNode;
    if (p?.sheet) for (const c of p.childNodes) c.nodeType === 3 && texts.add(c);
  }
  for (const t of texts) {
    const p = t.parentNode;
    const pe = p && parentOf(t);
    const ptag = p?.nodeType === 1 ? tagOf(p) : '';
    if (ptag == 'textarea') areas.add(p);
    const id = pe && live(t, pe); // a script's or textarea's text has none
    if (!id) continue;
    out.texts.push({ id, value: textOf(t, level(pe), ptag, p, p.baseURI) });
  }
  // Textareas whose content changed: their value is what the replay shows.
  for (const el of areas) {
    const id = el.localName == 'textarea' && live(el, el);
    if (id) out.attributes.push({ id, attributes: { value: controlValue(el, 'textarea', level(el)) } });
  }

  if (Object.values(out).some((a) => a.length)) mutation(out);
  // Shadow roots and frames found in the new nodes, once the nodes exist in the replay.
  if (roots.length) finish();
}
