// In-place restore. Restoring a checkpoint rebuilds the whole document, and
// the browser then lays out the whole page again: on a real page that is
// most of a seek's cost. When the document on screen already shows the same
// view, most of it is identical to the checkpoint, so instead we compare the
// two by node id and apply only the differences, as ordinary rrweb events
// (a mutation, inputs, scrolls, hover, focus) through the Rebuilder's
// public apply(): the Rebuilder sanitizes and registers every node exactly
// as it does during playback, and the browser re-lays out only what
// changed.
//
// It reads the checkpoint's tree, which has the serialized node shape of a
// full snapshot (replaycore/checkpoint.js). Features whose state is not in
// that tree or not comparable here (nested frames, shadow roots, canvases,
// dialogs and popovers, constructed style sheets, media, CSSOM edits) make
// morphTo decline, and the caller restores in full.

import { EventType, Source, Mouse } from './model.js';
import { isReplaySheet } from './rebuilder.js';
import {
  adoptedSheets, attributesOf, classListOf, compatModeOf, firstChild, getAttr, localName, nextSibling, nodeType, parentOf,
} from 'replaycore/dom.js';

// The live nodes are the recording's: a <form> with an <input
// name="getAttribute"> shadows form.getAttribute, form.attributes,
// form.firstChild, and an <img name="nodeType"> shadows
// document.nodeType. The live tree is read through replaycore's
// prototype accessors, never through the nodes' own properties.
const byClassName = Document.prototype.getElementsByClassName;
const matches = Element.prototype.matches;

class Decline extends Error {}

const decline = () => { throw new Decline(); };

// Attributes that hold state restore() applies specially: rr_* and
// _cssText (checked by hand: this runs for every attribute of the page).
const isSpecial = (k) => (k.charCodeAt(0) === 114 && k.startsWith('rr_')) || k === '_cssText';

/**
 * The ids of the nodes events[from, to) can have changed (added, removed,
 * edited, or whose children changed), added to ids and returned, or null
 * when a full snapshot lies between (then everything may differ).
 */
export function touchedBetween(events, from, to, ids = new Set()) {
  const addTree = (n) => {
    if (!n) return;
    ids.add(n.id);
    for (const c of n.childNodes || []) addTree(c);
  };
  for (let i = from; i < to; i++) {
    const e = events[i];
    if (e.type === EventType.FullSnapshot || e.type === EventType.Meta) return null;
    if (e.type !== EventType.Incremental || !e.data) continue;
    const d = e.data;
    switch (d.source) {
      case Source.Mutation:
        for (const a of d.adds || []) { if (a) { ids.add(a.parentId); addTree(a.node); } }
        for (const r of d.removes || []) { if (r) { ids.add(r.parentId); ids.add(r.id); } }
        for (const x of d.texts || []) if (x) ids.add(x.id);
        for (const x of d.attributes || []) if (x) ids.add(x.id);
        break;
      case Source.Input:
      case Source.StyleSheetRule:
      case Source.StyleDeclaration:
      case Source.AdoptedStyleSheet:
      case Source.CanvasMutation:
      case Source.MediaInteraction:
        ids.add(d.id);
        break;
      default:
        // Pointer, scroll, viewport, selection: no node content changes
        // (scroll, hover and focus are restored on their own).
        break;
    }
  }
  return ids;
}

// Parent ids of a checkpoint tree's nodes, computed once per checkpoint.
const parents = new WeakMap();

function parentMap(tree) {
  let m = parents.get(tree);
  if (m) return m;
  m = new Map();
  const walk = (n) => {
    for (const c of n.childNodes || []) {
      if (!c) continue;
      m.set(c.id, n.id);
      walk(c);
    }
    // A frame's document hangs below its <iframe>: a change inside marks
    // the frame, which then declines the in-place restore.
    if (n.iframeDoc) {
      m.set(n.iframeDoc.id, n.id);
      walk(n.iframeDoc);
    }
  };
  walk(tree);
  parents.set(tree, m);
  return m;
}

// The ids to visit: touched nodes present in the tree and their ancestors.
// touched is a list of id sets.
function dirtySet(tree, touched) {
  const up = parentMap(tree);
  const dirty = new Set([tree.id]);
  for (const ids of touched) {
    for (let id of ids) {
      if (!up.has(id)) continue;
      while (id !== undefined && !dirty.has(id)) {
        dirty.add(id);
        id = up.get(id);
      }
    }
  }
  return dirty;
}

/**
 * Brings rb's document to checkpoint cp by applying the differences.
 * scroll is the live scroll state (id → [x, y]) the caller keeps; it is
 * updated. touched, when known (a list of id sets: touchedBetween the
 * document's state and the checkpoint's), limits the comparison to the
 * nodes that can differ.
 * Scroll changes are not applied but left in pending (id → Scroll event)
 * for the caller to apply once everything else has changed: each one
 * makes the browser lay out the page at once (see Playback.renderTo).
 * Returns false, having changed nothing, when the checkpoint cannot be
 * applied in place.
 */
export function morphTo(rb, cp, scroll, { hoverClass, focusClass, touched, pending }) {
  if (!cp || cp.v !== 1 || !cp.tree) return false;
  if ((cp.sheets && cp.sheets.length) || (cp.adopted && cp.adopted.length) || (cp.media && cp.media.length)) return false;
  const doc = rb.node(cp.tree.id);
  if (!doc || nodeType(doc) !== 9 || (cp.tree.compatMode && compatModeOf(doc) !== cp.tree.compatMode)) return false;
  // Sheets adopted on screen that the checkpoint predates: only a rebuild
  // drops them. (Shadow roots and frames that adopted any decline where
  // they are compared.)
  if (adoptedSheets(doc).some((s) => !isReplaySheet(s))) return false;
  const m = { source: Source.Mutation, texts: [], attributes: [], removes: [], adds: [] };
  const inputs = [];
  const ctx = { rb, m, inputs, pointerClasses: new Set([hoverClass, focusClass]), dirty: touched ? dirtySet(cp.tree, touched) : null };
  try {
    diffChildren(ctx, doc, cp.tree);
  } catch (e) {
    if (e instanceof Decline) return false;
    throw e;
  }
  const ts = cp.ts || 0;
  const inc = (data) => rb.apply({ type: EventType.Incremental, timestamp: ts, data });
  const scrollTo = (id, x, y) => pending.set(id, { type: EventType.Incremental, timestamp: ts, data: { source: Source.Scroll, id, x, y } });
  rb.apply({ type: EventType.Meta, timestamp: ts, data: cp.meta || {} });
  if (m.removes.length || m.adds.length || m.texts.length || m.attributes.length) inc(m);
  for (const i of inputs) inc({ source: Source.Input, ...i });
  // Scroll positions: the checkpoint's, and back to the top for whatever
  // was scrolled before and is not scrolled there.
  const want = new Map();
  for (const e of cp.scroll || []) want.set(e[0], [e[1], e[2]]);
  for (const [id, pos] of scroll) {
    if (!want.has(id) && (pos[0] || pos[1]) && rb.node(id)) scrollTo(id, 0, 0);
  }
  const had = new Map(scroll);
  scroll.clear();
  for (const [id, pos] of want) {
    // Only where it changes.
    const cur = had.get(id) || [0, 0];
    if (cur[0] !== pos[0] || cur[1] !== pos[1]) scrollTo(id, pos[0], pos[1]);
    scroll.set(id, pos);
  }
  // Hover and focus, as the checkpoint had them (-1 clears), unless they
  // are already so: moving the hover classes touches <html> and <body>,
  // and the browser then restyles the whole page.
  const hover = cp.hover >= 0 ? cp.hover : -1;
  if (!marked(rb, doc, hover, hoverClass, true)) inc({ source: Source.MouseMove, positions: [{ x: 0, y: 0, id: hover, timeOffset: 0 }] });
  const focus = cp.focus >= 0 ? cp.focus : -1;
  if (!marked(rb, doc, focus, focusClass, false)) inc({ source: Source.MouseInteraction, type: Mouse.Focus, id: focus });
  return true;
}

// Whether exactly node id (and, for hover, its ancestors) carry cls now.
function marked(rb, doc, id, cls, chain) {
  const have = byClassName.call(doc, cls);
  const el = id >= 0 ? rb.node(id) : null;
  if (!el || nodeType(el) !== 1) return have.length === 0;
  let n = 0;
  for (let e = el; e && nodeType(e) === 1; e = parentOf(e)) {
    if (!classListOf(e).contains(cls)) return false;
    n++;
    if (!chain) break;
  }
  return have.length === n;
}

// Compares the children of live node parent with serialized node sn.
function diffChildren(ctx, parent, sn) {
  const { rb, dirty } = ctx;
  const want = sn.childNodes || [];
  // Most children are where they were: walk both lists together and
  // compare node by node, falling back to matching by id at the first
  // difference.
  let c = firstChild(parent);
  let i = 0;
  for (; i < want.length && c; i++, c = nextSibling(c)) {
    const w = want[i];
    if (!w || rb.idOf(c) !== w.id || !compatible(c, w)) break;
  }
  if (i === want.length && !c) {
    c = firstChild(parent);
    for (let k = 0; k < want.length; k++, c = nextSibling(c)) {
      if (!dirty || dirty.has(want[k].id)) diffNode(ctx, c, want[k]);
    }
    return;
  }
  reorder(ctx, parent, want.filter(Boolean));
}

// Matches children by id, keeps the longest run already in order, and
// removes and re-adds the rest.
function reorder(ctx, parent, want) {
  const { rb, m, dirty } = ctx;
  const live = [];
  for (let c = firstChild(parent); c; c = nextSibling(c)) {
    // A node the Rebuilder does not know is not ours to reason about.
    if (rb.idOf(c) < 0) decline();
    live.push(c);
  }
  const liveIndex = new Map();
  live.forEach((c, i) => liveIndex.set(rb.idOf(c), i));
  // Want-children that exist here, as a node that can be kept: their
  // live positions, in wanted order.
  const cand = [];
  for (let i = 0; i < want.length; i++) {
    const j = liveIndex.get(want[i].id);
    if (j !== undefined && compatible(live[j], want[i])) cand.push([i, j]);
  }
  const keep = new Set(longestIncreasing(cand).map(([i]) => i));
  const kept = new Set([...keep].map((i) => liveIndex.get(want[i].id)));
  const parentId = rb.idOf(parent);
  for (let j = 0; j < live.length; j++) {
    if (!kept.has(j)) m.removes.push({ parentId, id: rb.idOf(live[j]) });
  }
  for (let i = 0; i < want.length; i++) {
    if (keep.has(i)) continue;
    check(want[i]);
    m.adds.push({ parentId, nextId: i + 1 < want.length ? want[i + 1].id : null, node: want[i] });
  }
  for (const i of keep) {
    if (!dirty || dirty.has(want[i].id)) diffNode(ctx, live[liveIndex.get(want[i].id)], want[i]);
  }
}

// Whether live node n can stand for serialized node sn (same kind).
function compatible(n, sn) {
  switch (sn.type) {
    case 1: return nodeType(n) === 10 && n.name === sn.name;
    case 2: return nodeType(n) === 1 && (sn.tagName === 'script' || localName(n) === sn.tagName || localName(n) === String(sn.tagName).toLowerCase());
    case 3: return nodeType(n) === 3;
    case 4: return nodeType(n) === 4;
    case 5: return nodeType(n) === 8;
    default: return false;
  }
}

// Declines subtrees with state outside the tree, anywhere they are added.
function check(sn) {
  if (sn.type !== 2) return;
  checkElement(sn, String(sn.tagName).toLowerCase());
  for (const c of sn.childNodes || []) if (c) check(c);
}

const unsupported = new Set(['iframe', 'frame', 'canvas', 'dialog', 'video', 'audio']);

// tag is the element's lowercase name.
function checkElement(sn, tag) {
  if (sn.iframeDoc || sn.isShadowHost || sn.isShadow) decline();
  if (unsupported.has(tag)) decline();
  for (const k in sn.attributes) if (k.charCodeAt(0) === 114 && k.startsWith('rr_')) decline();
}

function diffNode(ctx, n, sn) {
  const { rb, m, inputs, pointerClasses } = ctx;
  const id = sn.id;
  if (sn.type === 3 || sn.type === 4 || sn.type === 5) {
    if (n.data !== sn.textContent) {
      // A style sheet's text node: its CSS travels in the element's
      // _cssText and is compared there.
      if (sn.isStyle) return;
      m.texts.push({ id, value: sn.textContent });
    }
    return;
  }
  if (sn.type !== 2) return;
  const tag = localName(n);
  checkElement(sn, tag);
  // A script stands as an inert placeholder: nothing to compare.
  if (sn.tagName === 'script') return;
  const want = sn.attributes || {};
  const changed = {};
  let any = false;
  const isInput = tag === 'input' || tag === 'textarea' || tag === 'select';
  for (const k in want) {
    if (isSpecial(k)) continue;
    if (isInput && (k === 'value' || k === 'checked')) continue;
    if (tag === 'option' && k === 'selected') continue;
    let v = want[k];
    v = v === true ? '' : String(v);
    let cur = getAttr(n, k);
    if (k === 'class') cur = withoutPointerClasses(cur, pointerClasses);
    if (cur !== v) { changed[k] = v; any = true; }
  }
  const attrs = attributesOf(n);
  for (let ai = 0; ai < attrs.length; ai++) {
    const a = attrs[ai];
    const k = a.name;
    if (Object.prototype.hasOwnProperty.call(want, k)) continue;
    if (isInput && (k === 'value' || k === 'checked')) continue;
    if (tag === 'option' && k === 'selected') continue;
    if (k === 'class' && withoutPointerClasses(a.value, pointerClasses) === null) continue;
    changed[k] = null;
    any = true;
  }
  // A popover open here and closed in the checkpoint: its open state is
  // no attribute of the live node (rr_popover_open is applied, not set),
  // so the comparison above cannot see it. (Open in the checkpoint
  // declines in checkElement.)
  if (want.rr_popover_open === undefined && getAttr(n, 'popover') !== null && matches.call(n, ':popover-open')) {
    changed.rr_popover_open = null;
    any = true;
  }
  if (any) m.attributes.push({ id, attributes: changed });
  if (tag === 'style') {
    let css = '';
    for (let c = firstChild(n); c; c = nextSibling(c)) if (nodeType(c) === 3) css += c.data;
    // Same source text, or decline (the Rebuilder adapts CSS: only a
    // match of what it wrote counts). A sheet edited through the CSSOM
    // has rules its text does not show: the same text proves nothing.
    if (want._cssText !== undefined && (want._cssText !== css || rb.sheetEdited(id))) decline();
    return;
  }
  if (tag === 'input') {
    const type = String(n.type).toLowerCase();
    if (type === 'checkbox' || type === 'radio') {
      const on = want.checked === true || want.checked === '' || want.checked === 'true';
      if (n.checked !== on) inputs.push({ id, text: n.value, isChecked: on });
    } else if (type !== 'file' && want.value !== undefined && n.value !== String(want.value)) {
      inputs.push({ id, text: String(want.value), isChecked: false });
    }
  } else if (tag === 'textarea') {
    if (want.value !== undefined && n.value !== String(want.value)) inputs.push({ id, text: String(want.value), isChecked: false });
    return;
  } else if (tag === 'option') {
    const on = want.selected === true || want.selected === '';
    if (n.selected !== on) decline();
  }
  diffChildren(ctx, n, sn);
}

// The class attribute without the player's hover and focus classes; null
// when nothing else is left.
function withoutPointerClasses(v, pointerClasses) {
  if (v === null) return null;
  const rest = v.split(/\s+/).filter((c) => c && !pointerClasses.has(c)).join(' ');
  return rest === '' ? null : rest;
}

// The longest subsequence of pairs [i, j] (i increasing) whose j also
// increases: the children that keep their relative order.
function longestIncreasing(pairs) {
  const n = pairs.length;
  if (n < 2) return pairs;
  const tails = [];
  const prev = new Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    const j = pairs[k][1];
    let lo = 0, hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tails[mid]][1] < j) lo = mid + 1; else hi = mid;
    }
    if (lo > 0) prev[k] = tails[lo - 1];
    tails[lo] = k;
  }
  const out = [];
  for (let k = tails[tails.length - 1]; k >= 0; k = prev[k]) out.push(pairs[k]);
  return out.reverse();
}
