// replaycore: rebuilds a document from rrweb-model events.
//
// The Rebuilder touches only the Document it is given (the document of an
// <iframe sandbox="allow-same-origin">, where scripts never run). Recorded
// markup is hostile: every node and attribute goes through sanitize.js, and
// nothing here ever throws into the caller.

import { EventType, IncrementalSource, MouseInteractions, MediaInteractions, NodeType } from './constants.js';
import {
  adoptedSheets, append, attachShadow, attributesOf, classListOf, clearChildren, detach, documentElementOf,
  doctypeOf, firstChild, getAttr, nextSibling, hostOf, iframeDocOf, insertBefore, isConnected, localName, namespaceOf, nodeType,
  ownerDoc, parentOf, removeAttr, removeAttrNS, scrollingElementOf, setAttr, shadowOf, styleOf, windowOf,
  SVG_NS, XLINK_NS,
} from './dom.js';
import { MAX_DEPTH, buildNode, setAttribute, setStyleText } from './build.js';
import { sanitizeAttribute, safeURL } from './sanitize.js';
import { adaptCss } from './css.js';
import { checkpointOf } from './checkpoint.js';
import { withReplaySheet } from './noscript.js';
import { showCanvas } from './canvas.js';
import { reachable } from './reach.js';
import { modeMarkup, setMode } from './mode.js';

export { EventType, IncrementalSource, MouseInteractions, MediaInteractions, NodeType };

// Nodes at least this deep have their depth remembered (see _depthOf).
const DEPTH_MEMO = 64;
export { collectStylesheets, stylesheetKey } from './sheets.js';
export { isReplaySheet } from './noscript.js';

/**
 * Rebuilds a recorded document inside doc from events applied in timestamp
 * order.
 */
export class Rebuilder {
  /**
   * @param {Document} doc the document of an <iframe sandbox="allow-same-origin">.
   * @param {object} [options]
   * @param {(url: string, kind: string) => string} [options.resolveURL] maps every
   *   resource URL ('stylesheet', 'image', 'font', 'media', 'other') before use.
   *   What it returns is dropped if it is at a private address or name
   *   other than the host of the document doc belongs to (see reach.js): a
   *   mapping to the player's own origin (an archived copy) is kept.
   * @param {string} [options.hoverClass] class that :hover rules also match
   *   (default 'replay-hover'); put on the element under the recorded cursor.
   * @param {string} [options.focusClass] class that :focus rules also match
   *   (default 'replay-focus'); put on the recorded focused element.
   * @param {{get(key: string): string | undefined}} [options.stylesheets]
   *   stylesheet texts by key (a Map from collectStylesheets over the
   *   session's events): a <link> recorded as rr_css (a text sent in an
   *   earlier view) is rebuilt from it; without it the link loads its href.
   * @param {(message: string, event: any) => void} [options.onWarning]
   */
  constructor(doc, options = {}) {
    this.doc = doc;
    const resolve = typeof options.resolveURL === 'function' ? safeResolver(options.resolveURL) : null;
    // What a resource URL becomes (the caller's resolveURL may map it, e.g.
    // to an archived copy) passes reach: a recording must not make the
    // operator's browser fetch from the operator's own network (reach.js).
    const reach = reachable(() => this.doc.baseURI);
    this.opts = {
      resolveURL: (url, kind) => {
        const out = resolve ? resolve(url, kind) : url;
        return reach(out) ? out : '';
      },
      hoverClass: cssIdent(options.hoverClass) || 'replay-hover',
      focusClass: cssIdent(options.focusClass) || 'replay-focus',
      stylesheets: options.stylesheets && typeof options.stylesheets.get === 'function' ? options.stylesheets : null,
    };
    this._onWarning = typeof options.onWarning === 'function' ? options.onWarning : null;
    this._meta = { href: '', width: 0, height: 0, dark: false };
    this._lastTs = 0;
    this._listening = new WeakSet();
    this._frameOf = new WeakMap(); // rebuilt frame Document -> its <iframe> element
    this._reset();
  }

  _reset() {
    this._nodes = new Map(); // id -> Node
    this._ids = new WeakMap(); // Node -> id
    this._placeholders = new WeakSet(); // inert elements standing for scripts
    this._scroll = new Map(); // id -> [x, y]
    this._scrollQueued = false; // a pass over the scroll positions waits for the next frame
    this._sheets = new Map(); // styleId -> Map<Document, CSSStyleSheet>
    this._adopted = new Map(); // target id (document or shadow host) -> styleIds
    this._edited = new Set(); // ids of <style> elements edited through the CSSOM
    this._canvas = new Map(); // id -> data: URL of the last full frame
    this._canvasSeq = new Map(); // id -> number of the last frame drawn (frames decode asynchronously)
    this._canvasDirty = new Set(); // ids drawn by commands other than full frames
    this._canvasQueue = new Map(); // id -> command lists waiting for the frame being decoded
    this._media = new Map(); // id -> media state
    this._dialogs = new Map(); // id -> 'modal' | 'non-modal'
    this._popovers = new Set(); // ids of open popovers
    this._hoverEls = [];
    this._hoverId = -1;
    this._focusEl = null;
    this._focusId = -1;
    this._waiting = new Map(); // id -> adds waiting for that node (out-of-order adds)
    this._depths = new WeakMap(); // Node -> its depth in the page, for deep nodes (see _depthOf)
    this._depthNode = null; // the node _depthOf answered last, and its depth
    this._depthValue = 0;
    this._queue = null; // adds of the mutation being applied
    this._late = null; // what waits for the later adds of the mutation being applied (build.js)
  }

  /**
   * {href, width, height, dark} from the last Meta or ViewportResize event;
   * dark tells whether the visitor preferred a dark color scheme.
   */
  get meta() {
    return { ...this._meta };
  }

  // Takes a Meta event's data (or a checkpoint's meta). The visitor's
  // color scheme preference goes on the frame element that holds the
  // rebuilt document: in a frame, prefers-color-scheme answers with the
  // used color-scheme of the frame element, so the page's dark-mode rules
  // (@media, <picture> sources, link media) apply as they did live,
  // whatever the operator's own preference.
  _setMeta(d) {
    this._meta = { href: String(d.href || ''), width: +d.width || 0, height: +d.height || 0, dark: d.dark === true };
    let frame = null;
    try {
      frame = this.doc.defaultView && this.doc.defaultView.frameElement;
    } catch (e) { /* a cross-origin embedder: it sets the scheme itself */ }
    if (frame && frame.style) frame.style.colorScheme = this._meta.dark ? 'dark' : 'light';
  }

  /** The rebuilt Node for a serialized id, or null. */
  node(id) {
    return this._nodes.get(id) || null;
  }

  /**
   * Whether the sheet of element id (a <style>) was changed through the
   * CSSOM (insertRule, deleteRule, setProperty): its text no longer tells
   * its rules.
   */
  sheetEdited(id) {
    return this._edited.has(id);
  }

  /** The id of a rebuilt node, or -1. */
  idOf(node) {
    const id = node && typeof node === 'object' ? this._ids.get(node) : undefined;
    return id === undefined ? -1 : id;
  }

  /**
   * Applies one event. Events must come in timestamp order; a FullSnapshot
   * resets the document. Never throws.
   */
  apply(event) {
    try {
      if (!event || typeof event !== 'object') return;
      if (Number.isFinite(event.timestamp)) this._lastTs = event.timestamp;
      const d = event.data && typeof event.data === 'object' ? event.data : {};
      switch (event.type) {
        case EventType.Meta:
          this._setMeta(d);
          break;
        case EventType.FullSnapshot:
          this._fullSnapshot(d);
          break;
        case EventType.IncrementalSnapshot:
          this._incremental(d, event);
          break;
        default:
          // DomContentLoaded, Load, Custom and Plugin events change nothing in the DOM.
          break;
      }
    } catch (e) {
      this._warn('event could not be applied: ' + (e && e.message), event);
    }
  }

  /**
   * A structured-cloneable snapshot of the whole rebuilt state, for restore().
   */
  checkpoint() {
    return checkpointOf(this);
  }

  /** Rebuilds the document from a checkpoint. Never throws. */
  restore(cp) {
    try {
      if (!cp || typeof cp !== 'object' || cp.v !== 1 || !cp.tree) {
        this._warn('not a checkpoint', cp);
        return;
      }
      this._fullSnapshot({ node: cp.tree }, cp);
    } catch (e) {
      this._warn('checkpoint could not be restored: ' + (e && e.message), null);
    }
  }

  // ---- full snapshots and checkpoints ----

  _fullSnapshot(d, cp) {
    const root = d.node;
    if (!root || root.type !== NodeType.Document || !Number.isSafeInteger(root.id)) {
      this._warn('full snapshot without a document node', d);
      return;
    }
    this._reset();
    if (cp) {
      this._setMeta(cp.meta || {});
      this._lastTs = +cp.ts || this._lastTs;
    }
    const post = [];
    this._fillDocument(this.doc, root, post);
    this._runPost(post);
    // After the post-build steps: they build the same-origin frames'
    // documents, whose nodes (a frame's document, a shadow host in it)
    // adopted sheets and media state name.
    if (cp) this._restoreState(cp);
    if (cp) {
      for (const e of Array.isArray(cp.scroll) ? cp.scroll : []) {
        if (!Array.isArray(e) || !Number.isSafeInteger(e[0])) continue;
        this._scroll.set(e[0], [+e[1] || 0, +e[2] || 0]);
        this._applyScroll(e[0]);
      }
    }
    const off = d.initialOffset;
    if (off && (off.left || off.top)) {
      this._scroll.set(root.id, [+off.left || 0, +off.top || 0]);
      this._applyScroll(root.id);
    }
    if (cp) {
      if (cp.hover >= 0) this._setHover(cp.hover);
      if (cp.focus >= 0) this._setFocus(cp.focus);
    }
  }

  /**
   * Empties doc and builds the serialized document sn into it; depth is
   * how deep doc hangs in the rebuilt page (0 for the top document).
   */
  _fillDocument(doc, sn, post, depth = 0) {
    const kids = Array.isArray(sn.childNodes) ? sn.childNodes : [];
    try {
      // doc.open() removed the document's listeners: they are added again below.
      if (setMode(doc, modeMarkup(sn, kids))) this._listening.delete(doc);
    } catch (e) {
      this._warn('cannot set the rendering mode of the target document', null);
    }
    clearChildren(doc);
    try {
      adoptedSheets(doc, withReplaySheet(doc, []));
    } catch (e) { /* not supported */ }
    if (!this._listening.has(doc)) {
      // Images and fonts that load later change the layout: scroll
      // positions clamped before are applied again.
      this._listening.add(doc);
      doc.addEventListener('load', () => this._reapplyScroll(), true);
    }
    this._register(sn.id, doc);
    for (const k of kids) {
      const n = buildNode(this, k, doc, post, depth);
      if (!n) continue;
      try {
        append(doc, n);
      } catch (e) {
        this._warn('cannot append to the document: ' + e.message, k);
      }
    }
  }

  /** Builds a serialized document into an iframe element of the rebuilt page. */
  _attachDocument(iframe, sn) {
    if (!sn || sn.type !== NodeType.Document || !Number.isSafeInteger(sn.id)) return;
    const doc = iframeDocOf(iframe);
    if (!doc) {
      this._warn('iframe has no document to rebuild into', sn);
      return;
    }
    const depth = this._depthOf(iframe) + 1;
    if (depth > MAX_DEPTH) {
      this._warn('frame nested deeper than ' + MAX_DEPTH + ' levels: its document is not built', sn);
      return;
    }
    this._frameOf.set(doc, iframe);
    // The frame loaded another document: the ids of the one it replaces
    // (the same Document object here) and their state (a scroll position
    // applied again whenever an image loads) go with it, and the new page
    // starts at the top, as it did live (the frame's viewport keeps its
    // offset across the rebuild). A frame built for the first time is at
    // the top already: no scroll, no layout, in a restore.
    if (this._ids.has(doc)) {
      this._forget(doc);
      try {
        const w = windowOf(doc);
        if (w) w.scrollTo(0, 0);
      } catch (e) { /* ignore */ }
    }
    const post = [];
    this._fillDocument(doc, sn, post, depth);
    this._runPost(post);
    this._resolveWaiting(sn.id);
  }

  _runPost(post) {
    // Operations may add more (a nested iframe's own documents).
    for (let i = 0; i < post.length; i++) {
      try {
        post[i]();
      } catch (e) {
        this._warn('post-build step failed: ' + e.message, null);
      }
    }
  }

  /**
   * How deep node is in the rebuilt page: its ancestors, through shadow
   * hosts and frames, up to the top document. Counts at most MAX_DEPTH + 1
   * steps, so a hostile tree costs no more than that per call.
   */
  _depthOf(node) {
    // A rebuilt node never moves (an add under an id that exists builds a
    // new node), so a depth once known stays true. The last answer is
    // kept (the adds of a mutation come in runs under one parent), and
    // deep nodes' depths are kept in a map, so that a walk up a hostile
    // chain stops after a few steps; ordinary pages never need the map.
    if (node === this._depthNode) return this._depthValue;
    let d = 0;
    for (let n = node; n && d <= MAX_DEPTH; d++) {
      if (d >= DEPTH_MEMO) {
        const up = this._depths.get(n);
        if (up !== undefined) {
          d += up;
          break;
        }
      }
      const t = nodeType(n);
      if (t === 9) {
        if (n === this.doc) break;
        n = this._frameOf.get(n) || null;
      } else if (t === 11) {
        n = hostOf(n);
      } else {
        n = parentOf(n);
      }
    }
    if (d >= DEPTH_MEMO) this._depths.set(node, d);
    this._depthNode = node;
    this._depthValue = d;
    return d;
  }

  /** Whether node is ancestor or under it (through shadow hosts and frames). */
  _isInside(node, ancestor) {
    let d = 0;
    for (let n = node; n && d <= MAX_DEPTH + 1; d++) {
      if (n === ancestor) return true;
      const t = nodeType(n);
      if (t === 9) n = this._frameOf.get(n) || null;
      else if (t === 11) n = hostOf(n);
      else n = parentOf(n);
    }
    return false;
  }

  _register(id, node) {
    const old = this._nodes.get(id);
    if (old && old !== node) this._ids.delete(old);
    this._nodes.set(id, node);
    this._ids.set(node, id);
  }

  /** Forgets the ids of node and everything under it (shadow roots and frames too). */
  _forget(node) {
    const stack = [node];
    while (stack.length) {
      const n = stack.pop();
      const id = this._ids.get(n);
      if (id !== undefined) {
        if (this._nodes.get(id) === n) {
          this._nodes.delete(id);
          this._scroll.delete(id);
          this._canvas.delete(id);
          this._canvasDirty.delete(id);
          this._canvasQueue.delete(id);
          this._media.delete(id);
          this._dialogs.delete(id);
          this._popovers.delete(id);
          this._edited.delete(id);
          this._adopted.delete(id);
        }
        this._ids.delete(n);
      }
      for (let c = firstChild(n); c; c = nextSibling(c)) stack.push(c);
      if (nodeType(n) === 1) {
        const sr = shadowOf(n);
        if (sr) for (let c = firstChild(sr); c; c = nextSibling(c)) stack.push(c);
        const tag = localName(n);
        if (tag === 'iframe' || tag === 'frame') {
          const d = iframeDocOf(n);
          if (d && this._ids.has(d)) stack.push(d);
        }
      }
    }
  }

  // ---- incremental snapshots ----

  _incremental(d, event) {
    switch (d.source) {
      case IncrementalSource.Mutation:
        this._mutation(d);
        break;
      case IncrementalSource.MouseMove:
      case IncrementalSource.TouchMove:
      case IncrementalSource.Drag: {
        const p = Array.isArray(d.positions) ? d.positions[d.positions.length - 1] : null;
        if (p && Number.isSafeInteger(p.id)) this._setHover(p.id);
        break;
      }
      case IncrementalSource.MouseInteraction:
        if (d.type === MouseInteractions.Focus) this._setFocus(d.id);
        else if (d.type === MouseInteractions.Blur) {
          if (this._focusId === d.id) this._setFocus(-1);
        } else if (d.type !== MouseInteractions.TouchEnd && d.type !== MouseInteractions.TouchCancel && Number.isSafeInteger(d.id)) {
          this._setHover(d.id);
        }
        break;
      case IncrementalSource.Scroll:
        if (!Number.isSafeInteger(d.id)) break;
        this._scroll.set(d.id, [+d.x || 0, +d.y || 0]);
        this._applyScroll(d.id);
        break;
      case IncrementalSource.ViewportResize:
        this._meta = { ...this._meta, width: +d.width || 0, height: +d.height || 0 };
        break;
      case IncrementalSource.Input:
        this._input(d);
        break;
      case IncrementalSource.MediaInteraction:
        this._mediaInteraction(d);
        break;
      case IncrementalSource.StyleSheetRule:
        this._sheetRule(d);
        break;
      case IncrementalSource.StyleDeclaration:
        this._styleDeclaration(d);
        break;
      case IncrementalSource.AdoptedStyleSheet:
        this._adoptedSheets(d);
        break;
      case IncrementalSource.CanvasMutation:
        this._canvasMutation(d);
        break;
      default:
        // Selection, Font, Log, CustomElement: nothing to rebuild.
        break;
    }
  }

  _mutation(d) {
    const removes = Array.isArray(d.removes) ? d.removes : [];
    const adds = Array.isArray(d.adds) ? d.adds : [];
    const texts = Array.isArray(d.texts) ? d.texts : [];
    const attributes = Array.isArray(d.attributes) ? d.attributes : [];
    for (const r of removes) {
      if (!r) continue;
      const n = this._nodes.get(r.id);
      if (!n) continue; // already gone with an ancestor
      if (nodeType(n) === 9) continue; // documents are replaced by attaching, not removed
      try {
        detach(n);
      } catch (e) { /* not a child any more */ }
      this._forget(n);
    }
    // Adds usually arrive parent first and next sibling first; the others
    // wait for the node they reference and are queued again when it appears.
    this._queue = adds.slice();
    this._late = [];
    for (let i = 0; i < this._queue.length; i++) this._add(this._queue[i]);
    this._queue = null;
    // What waits for the children that later adds bring (build.js).
    const late = this._late;
    this._late = null;
    this._runPost(late);
    for (const t of texts) {
      if (!t) continue;
      const n = this._nodes.get(t.id);
      if (!n) {
        this._warn('text of unknown node ' + t.id, d);
        continue;
      }
      const nt = nodeType(n);
      if (nt !== 3 && nt !== 8) continue;
      let v = t.value === null || t.value === undefined ? '' : String(t.value);
      const p = parentOf(n);
      if (p && nodeType(p) === 1 && localName(p) === 'style') v = adaptCss(v, this.opts);
      n.data = v;
    }
    for (const a of attributes) {
      if (!a || !a.attributes || typeof a.attributes !== 'object') continue;
      const el = this._nodes.get(a.id);
      if (!el || nodeType(el) !== 1) {
        this._warn('attributes of unknown node ' + (a && a.id), d);
        continue;
      }
      for (const name in a.attributes) {
        if (Object.prototype.hasOwnProperty.call(a.attributes, name)) this._setAttribute(el, a.id, name, a.attributes[name]);
      }
    }
    if (this._waiting.size) {
      for (const list of this._waiting.values()) for (const a of list) this._warn('add for a missing node dropped', a);
      this._waiting.clear();
    }
  }

  _add(a) {
    if (!a || !a.node || typeof a.node !== 'object') return;
    const parent = this._nodes.get(a.parentId);
    if (!parent) return this._wait(a.parentId, a);
    // Attaching a document to an iframe (rrweb's isAttachIframe).
    if (a.node.type === NodeType.Document) {
      if (nodeType(parent) === 1 && /^i?frame$/.test(localName(parent))) this._attachDocument(parent, a.node);
      return;
    }
    let next = null;
    if (a.nextId !== null && a.nextId !== undefined && a.nextId !== -1) {
      next = this._nodes.get(a.nextId);
      if (!next) return this._wait(a.nextId, a);
    }
    let target = parent;
    if (a.node.isShadow && nodeType(parent) === 1) {
      target = shadowOf(parent);
      if (!target) {
        try {
          target = attachShadow(parent);
        } catch (e) {
          this._warn('cannot attach a shadow root', a);
          return;
        }
      }
    }
    const pt = nodeType(target);
    if (pt !== 1 && pt !== 9 && pt !== 11) return;
    if (pt === 1 && this._placeholders.has(target)) return; // nothing goes into a script placeholder
    // A node that is still somewhere else under the same id (a broken or
    // hostile recording) is removed first, so no ghost copy stays behind.
    // A document's id keeps naming its document, and a node cannot move
    // into itself: it would land in the detached copy, out of the page.
    const old = this._nodes.get(a.node.id);
    if (old) {
      if (nodeType(old) === 9 || this._isInside(target, old)) {
        this._warn('add that would move a node into itself, or replace a document, dropped', a);
        return;
      }
      try {
        detach(old);
      } catch (e) { /* ignore */ }
      this._forget(old);
    }
    const doc = pt === 9 ? target : ownerDoc(target);
    // Nodes added one inside the other, a level per add, nest as deep as
    // a hostile recording likes: the same bound as in a snapshot.
    const depth = this._depthOf(target);
    if (depth > MAX_DEPTH) {
      this._warn('add nested deeper than ' + MAX_DEPTH + ' levels dropped', a);
      return;
    }
    const post = [];
    const built = buildNode(this, a.node, doc, post, depth);
    if (!built) return;
    try {
      if (pt === 9) {
        // A document holds one doctype and one element.
        const bt = nodeType(built);
        const prev = bt === 10 ? doctypeOf(target) : bt === 1 ? documentElementOf(target) : null;
        if (prev) {
          detach(prev);
          this._forget(prev);
        }
      } else if (pt === 1 && localName(target) === 'textarea') {
        if (nodeType(built) === 3) {
          target.value = built.data;
          for (let c = firstChild(target); c; c = nextSibling(c)) if (nodeType(c) === 3) c.data = '';
        }
      } else if (pt === 1 && localName(target) === 'style' && nodeType(built) === 3) {
        built.data = adaptCss(built.data, this.opts);
      }
      insertBefore(target, built, next && parentOf(next) === target ? next : null);
    } catch (e) {
      this._warn('cannot insert node: ' + e.message, a);
      this._forget(built);
      return;
    }
    this._runPost(post);
    this._resolveWaiting(a.node.id);
    if (Array.isArray(a.node.childNodes)) this._resolveSubtree(a.node);
  }

  _wait(id, a) {
    if (!Number.isSafeInteger(id)) {
      this._warn('add with an invalid reference', a);
      return;
    }
    const list = this._waiting.get(id);
    if (list) list.push(a);
    else this._waiting.set(id, [a]);
  }

  _resolveWaiting(id) {
    const list = this._waiting.get(id);
    if (!list) return;
    this._waiting.delete(id);
    if (this._queue) for (const a of list) this._queue.push(a);
  }

  _resolveSubtree(sn) {
    if (!this._waiting.size) return;
    const stack = [...sn.childNodes];
    while (stack.length) {
      const k = stack.pop();
      if (!k || typeof k !== 'object') continue;
      this._resolveWaiting(k.id);
      if (Array.isArray(k.childNodes)) stack.push(...k.childNodes);
    }
  }

  _setAttribute(el, id, name, value) {
    // The sanitizer's rules name elements in lower case (SVG's are camel case).
    const tag = localName(el).toLowerCase();
    const isSVG = namespaceOf(el) === SVG_NS;
    if (name.startsWith('rr_')) return this._setSpecial(el, id, tag, name, value);
    if (name === '_cssText') {
      if (typeof value === 'string' && (tag === 'style' || tag === 'link')) this._replaceCss(el, id, tag, value);
      return;
    }
    if (value !== null && typeof value === 'object') {
      if (name === 'style') this._styleDiff(el, value);
      return;
    }
    // A frame keeps the sandbox the rebuilder gave it: removed or
    // rewritten, it could only allow more.
    if ((tag === 'iframe' || tag === 'frame') && name.toLowerCase() === 'sandbox') return;
    if (value === null || value === undefined || value === false) {
      try {
        if (isSVG && name === 'xlink:href') removeAttrNS(el, XLINK_NS, 'href');
        else removeAttr(el, name);
      } catch (e) { /* invalid name */ }
      if (name === 'open' && tag === 'dialog') {
        this._dialogs.delete(id);
        try {
          el.close();
        } catch (e) { /* ignore */ }
      }
      if (name === 'class') this._reapplyPointerClasses(el);
      return;
    }
    const v = value === true ? '' : String(value);
    if (tag === 'textarea' && name === 'value') {
      try {
        el.value = v;
      } catch (e) { /* ignore */ }
      return;
    }
    if (this._placeholders.has(el) && !/^(?:id|class|type)$/i.test(name)) return;
    const ctx = {
      rel: getAttr(el, 'rel'),
      as: getAttr(el, 'as'),
      attributeName: name.toLowerCase() === 'attributename' ? v : getAttr(el, 'attributeName'),
    };
    const safe = sanitizeAttribute(tag, name, v, ctx, this.opts.resolveURL);
    if (safe === null) {
      try {
        removeAttr(el, name);
      } catch (e) { /* ignore */ }
    } else {
      setAttribute(el, name, safe, isSVG);
      // An input's value attribute is its current value (as in a
      // snapshot): the attribute alone no longer changes what an input
      // shows once its value was set, by building or by an Input event.
      if (tag === 'input' && name === 'value') {
        try {
          el.value = safe;
        } catch (e) { /* file inputs refuse values */ }
      }
    }
    if (name.toLowerCase() === 'attributename') this._checkAnimation(el, tag);
    if (name === 'class') this._reapplyPointerClasses(el);
  }

  /** An animation whose target became dangerous loses its values. */
  _checkAnimation(el, tag) {
    const ctx = { attributeName: getAttr(el, 'attributeName') };
    for (const n of ['to', 'from', 'values', 'by']) {
      const v = getAttr(el, n);
      if (v !== null && sanitizeAttribute(tag, n, v, ctx, null) === null) removeAttr(el, n);
    }
  }

  _setSpecial(el, id, tag, name, value) {
    switch (name) {
      case 'rr_open_mode':
        if (tag !== 'dialog') return;
        if (value === 'modal' || value === 'non-modal') {
          this._dialogs.set(id, value);
          this._applyDialog(id);
        } else this._dialogs.delete(id);
        return;
      case 'rr_popover_open':
        if (value) this._popovers.add(id);
        else this._popovers.delete(id);
        this._applyPopover(id);
        return;
      case 'rr_css': {
        // A stylesheet link that loaded after the snapshot, with a text sent before.
        const css = tag === 'link' && this._stylesheet(value);
        if (css) this._replaceCss(el, id, tag, css);
        return;
      }
      case 'rr_selectedIndex':
        // No option selected (the select's value, "", could name an option).
        if (tag === 'select' && value === -1) el.selectedIndex = -1;
        return;
      case 'rr_dataURL':
        if (tag === 'canvas' && typeof value === 'string' && /^data:image\//i.test(value) && safeURL(value, 'image') !== null) {
          this._canvas.set(id, value);
          this._canvasDirty.delete(id);
          this._drawCanvas(id, value);
        }
        return;
      default:
        return;
    }
  }

  _styleDiff(el, diff) {
    const st = styleOf(el);
    if (!st) return;
    for (const p in diff) {
      if (!Object.prototype.hasOwnProperty.call(diff, p)) continue;
      const v = diff[p];
      try {
        if (v === false) st.removeProperty(p);
        else if (Array.isArray(v)) st.setProperty(p, String(v[0]), String(v[1] || ''));
        else st.setProperty(p, String(v));
      } catch (e) { /* ignore */ }
    }
  }

  /** rrweb's _cssText attribute change: the stylesheet text was replaced. */
  _replaceCss(el, id, tag, css) {
    if (tag === 'style') {
      setStyleText(this, el, css);
      this._edited.delete(id);
      return;
    }
    // A <link> becomes a <style> holding the CSS, under the same id,
    // with the link's other attributes, as when built from a snapshot:
    // its media (print, a dark color scheme) still decides where it applies.
    const post = [];
    const attrs = {};
    const list = attributesOf(el);
    for (let i = 0; i < list.length; i++) {
      const n = list[i].name;
      if (n !== 'href' && n !== 'rel' && n !== 'rr_css') attrs[n] = list[i].value;
    }
    attrs._cssText = css;
    const built = buildNode(this, { type: NodeType.Element, id, tagName: 'style', attributes: attrs, childNodes: [] }, ownerDoc(el), post);
    const p = parentOf(el);
    if (built && p) {
      insertBefore(p, built, el);
      detach(el);
    }
  }

  _input(d) {
    const el = this._nodes.get(d.id);
    if (!el || nodeType(el) !== 1) return;
    const tag = localName(el);
    try {
      if (tag === 'input') {
        const type = String(el.type).toLowerCase();
        if (type === 'checkbox' || type === 'radio') {
          if (typeof d.isChecked === 'boolean') el.checked = d.isChecked;
        } else if (type !== 'file' && d.text !== undefined) {
          el.value = String(d.text);
        }
      } else if (tag === 'textarea' || tag === 'select') {
        if (d.text !== undefined) el.value = String(d.text);
      } else if (tag === 'option') {
        if (typeof d.isChecked === 'boolean') el.selected = d.isChecked;
      }
    } catch (e) { /* ignore */ }
  }

  // ---- scroll, dialogs, popovers, media, canvas ----

  _applyScroll(id) {
    const n = this._nodes.get(id);
    const pos = this._scroll.get(id);
    if (!n || !pos) return;
    try {
      if (nodeType(n) === 9) {
        const se = scrollingElementOf(n);
        if (se) {
          se.scrollLeft = pos[0];
          se.scrollTop = pos[1];
        } else {
          const w = windowOf(n);
          if (w) w.scrollTo(pos[0], pos[1]);
        }
      } else if (nodeType(n) === 1) {
        n.scrollLeft = pos[0];
        n.scrollTop = pos[1];
      }
    } catch (e) { /* ignore */ }
  }

  _reapplyScroll() {
    // Once per frame, however many images load in it: each pass sets
    // every scroll position, and each set forces a layout.
    if (this._scrollQueued) return;
    this._scrollQueued = true;
    const later = typeof requestAnimationFrame === 'function' ? requestAnimationFrame : (f) => setTimeout(f, 16);
    later(() => {
      this._scrollQueued = false;
      try {
        for (const id of this._scroll.keys()) this._applyScroll(id);
      } catch (e) { /* never into the caller */ }
    });
  }

  _applyDialog(id) {
    const el = this._nodes.get(id);
    const mode = this._dialogs.get(id);
    if (!el || !mode || !isConnected(el)) return;
    try {
      if (mode === 'modal') {
        if (el.matches(':modal')) return;
        if (el.open) removeAttr(el, 'open');
        el.showModal();
      } else if (!el.open) {
        el.show();
      }
    } catch (e) {
      this._warn('cannot open dialog: ' + e.message, null);
    }
  }

  _applyPopover(id) {
    const el = this._nodes.get(id);
    if (!el || !isConnected(el) || typeof el.showPopover !== 'function') return;
    try {
      const open = el.matches(':popover-open');
      if (this._popovers.has(id) && !open) el.showPopover();
      else if (!this._popovers.has(id) && open) el.hidePopover();
    } catch (e) { /* no popover attribute */ }
  }

  _mediaInteraction(d) {
    const el = this._nodes.get(d.id);
    if (!el) return;
    const prev = this._media.get(d.id) || { paused: true, time: 0, at: this._lastTs, rate: 1, volume: 1, muted: false, loop: false };
    const st = { ...prev, at: this._lastTs };
    if (Number.isFinite(d.currentTime)) st.time = d.currentTime;
    else if (!prev.paused) st.time = prev.time + ((this._lastTs - prev.at) / 1000) * prev.rate;
    if (d.type === MediaInteractions.Play) st.paused = false;
    if (d.type === MediaInteractions.Pause) st.paused = true;
    if (Number.isFinite(d.volume)) st.volume = d.volume;
    if (typeof d.muted === 'boolean') st.muted = d.muted;
    if (Number.isFinite(d.playbackRate)) st.rate = d.playbackRate;
    if (typeof d.loop === 'boolean') st.loop = d.loop;
    this._media.set(d.id, st);
    this._applyMedia(d.id);
  }

  _applyMedia(id) {
    const el = this._nodes.get(id);
    const st = this._media.get(id);
    if (!el || !st) return;
    try {
      el.playbackRate = st.rate > 0 && st.rate <= 16 ? st.rate : 1;
      el.volume = Math.min(1, Math.max(0, st.volume));
      el.muted = st.muted;
      el.loop = st.loop;
      const t = st.paused ? st.time : st.time + ((this._lastTs - st.at) / 1000) * st.rate;
      if (Math.abs(el.currentTime - t) > 0.25) el.currentTime = t;
      if (st.paused) el.pause();
      else {
        const p = el.play();
        if (p && p.catch) p.catch(() => {});
      }
    } catch (e) { /* ignore */ }
  }

  _drawCanvas(id, url) {
    const el = this._nodes.get(id);
    if (!el) return;
    const seq = (this._canvasSeq.get(id) || 0) + 1;
    this._canvasSeq.set(id, seq);
    // Commands that come while the frame decodes draw over it once it is
    // drawn (a seek applies seconds of frames and commands at once).
    this._canvasQueue.set(id, []);
    showCanvas(el, url);
    const img = new Image();
    img.onload = () => {
      if (this._canvasSeq.get(id) !== seq || this._nodes.get(id) !== el) return; // a later frame won
      const queued = this._canvasQueue.get(id) || [];
      this._canvasQueue.delete(id);
      try {
        const ctx = el.getContext('2d');
        ctx.clearRect(0, 0, el.width, el.height);
        ctx.drawImage(img, 0, 0, el.width, el.height);
      } catch (e) { /* not a 2D canvas */ }
      if (queued.length) {
        for (const cmds of queued) this._drawCommands(el, cmds);
        this._canvasDirty.add(id);
        try {
          showCanvas(el, el.toDataURL());
        } catch (e) { /* ignore */ }
      }
    };
    img.src = url;
  }

  // Whether cmds start by clearing the whole canvas: what was drawn
  // before, a frame still decoding included, no longer shows.
  _clearsAll(el, cmds) {
    const c = cmds[0];
    if (!c || c.property !== 'clearRect' || !Array.isArray(c.args)) return false;
    const [x, y, w, h] = c.args.map(Number);
    return x <= 0 && y <= 0 && x + w >= el.width && y + h >= el.height;
  }

  // Replays 2D commands with plain arguments on el.
  _drawCommands(el, cmds) {
    let ctx;
    try {
      ctx = el.getContext('2d');
    } catch (e) {
      return;
    }
    if (!ctx) return;
    for (const c of cmds) {
      if (!c || typeof c.property !== 'string' || !Array.isArray(c.args)) continue;
      if (c.args.some((x) => x !== null && typeof x === 'object')) continue;
      try {
        if (c.setter) ctx[c.property] = c.args[0];
        else if (typeof ctx[c.property] === 'function' && c.property !== 'constructor') ctx[c.property](...c.args);
      } catch (e) { /* ignore */ }
    }
  }

  _canvasMutation(d) {
    const el = this._nodes.get(d.id);
    if (!el || nodeType(el) !== 1 || localName(el) !== 'canvas') return;
    const cmds = Array.isArray(d.commands) ? d.commands : [d];
    // Our recorder sends whole frames: a clearRect and a drawImage of an
    // encoded image ({rr_type:'ImageBitmap', args:[{rr_type:'Blob', data:[{base64}], type}]}).
    const frame = frameURL(cmds);
    if (frame) {
      this._canvas.set(d.id, frame);
      this._canvasDirty.delete(d.id);
      this._drawCanvas(d.id, frame);
      return;
    }
    // Other recorders' 2D commands with plain arguments are replayed
    // directly, and so is our blank frame (a clearRect alone).
    if (d.type !== 0 && d.type !== undefined) return;
    const queue = this._canvasQueue.get(d.id);
    if (queue && !this._clearsAll(el, cmds)) {
      // They draw over a frame that is still decoding: after it.
      queue.push(cmds);
      return;
    }
    if (queue) {
      // The whole canvas is cleared first: the decoding frame never shows.
      this._canvasSeq.set(d.id, (this._canvasSeq.get(d.id) || 0) + 1);
      this._canvasQueue.delete(d.id);
      this._canvas.delete(d.id);
    }
    this._drawCommands(el, cmds);
    this._canvasDirty.add(d.id);
    try {
      showCanvas(el, el.toDataURL());
    } catch (e) { /* ignore */ }
  }

  // ---- CSSOM ----

  _sheetFor(d) {
    if (d.styleId !== undefined && d.styleId !== null) {
      const m = this._sheets.get(d.styleId);
      return m ? [...m.values()] : [];
    }
    const el = this._nodes.get(d.id);
    if (!el || nodeType(el) !== 1) return [];
    const s = el.sheet;
    if (!s) return [];
    this._edited.add(d.id);
    return [s];
  }

  _sheetRule(d) {
    for (const sheet of this._sheetFor(d)) {
      try {
        if (typeof d.replace === 'string') sheet.replace(adaptCss(d.replace, this.opts)).catch(() => {});
        if (typeof d.replaceSync === 'string') sheet.replaceSync(adaptCss(d.replaceSync, this.opts));
      } catch (e) {
        this._warn('replace failed: ' + e.message, d);
      }
      for (const r of Array.isArray(d.removes) ? d.removes : []) {
        try {
          const [list, i] = ruleList(sheet, r.index);
          list.deleteRule(i);
        } catch (e) {
          this._warn('deleteRule failed: ' + e.message, d);
        }
      }
      for (const a of Array.isArray(d.adds) ? d.adds : []) {
        if (!a || typeof a.rule !== 'string') continue;
        try {
          const [list, i] = ruleList(sheet, a.index);
          const idx = i === undefined ? list.cssRules.length : Math.min(i, list.cssRules.length);
          list.insertRule(adaptCss(a.rule, this.opts), idx);
        } catch (e) {
          this._warn('insertRule failed: ' + e.message, d);
        }
      }
    }
  }

  _styleDeclaration(d) {
    for (const sheet of this._sheetFor(d)) {
      try {
        const path = Array.isArray(d.index) ? d.index : [d.index];
        let rules = sheet.cssRules;
        let rule = null;
        for (const i of path) {
          rule = rules[i];
          if (!rule) break;
          rules = rule.cssRules;
        }
        if (!rule || !rule.style) continue;
        if (d.set && typeof d.set.property === 'string') rule.style.setProperty(d.set.property, d.set.value === null ? null : String(d.set.value ?? ''), String(d.set.priority || ''));
        if (d.remove && typeof d.remove.property === 'string') rule.style.removeProperty(d.remove.property);
      } catch (e) {
        this._warn('style declaration failed: ' + e.message, d);
      }
    }
  }

  _adoptedSheets(d) {
    const host = this._nodes.get(d.id);
    if (!host) return;
    let target = host;
    if (nodeType(host) === 1) {
      target = shadowOf(host);
      if (!target) {
        try {
          target = attachShadow(host);
        } catch (e) {
          return;
        }
      }
    }
    const doc = ownerDoc(host);
    for (const s of Array.isArray(d.styles) ? d.styles : []) {
      if (!s || s.styleId === undefined) continue;
      const sheet = this._constructedSheet(s.styleId, doc, true);
      if (!sheet) continue;
      try {
        sheet.replaceSync('');
        const rules = Array.isArray(s.rules) ? s.rules : [];
        for (const r of rules) {
          if (!r || typeof r.rule !== 'string') continue;
          try {
            sheet.insertRule(adaptCss(r.rule, this.opts), Number.isSafeInteger(r.index) ? Math.min(r.index, sheet.cssRules.length) : sheet.cssRules.length);
          } catch (e) { /* invalid rule */ }
        }
        // Other documents' copies of the same sheet get the same rules.
        const all = this._sheets.get(s.styleId);
        for (const [dd, other] of all) if (other !== sheet) copyRules(sheet, other);
      } catch (e) { /* ignore */ }
    }
    const ids = Array.isArray(d.styleIds) ? d.styleIds.filter((x) => this._sheets.has(x)) : [];
    this._adopted.set(d.id, ids);
    try {
      const sheets = ids.map((x) => this._constructedSheet(x, doc, false)).filter(Boolean);
      adoptedSheets(target, nodeType(target) === 9 ? withReplaySheet(target, sheets) : sheets);
    } catch (e) {
      this._warn('cannot adopt style sheets: ' + e.message, d);
    }
  }

  /** The constructed sheet styleId for doc (sheets belong to one document). */
  _constructedSheet(styleId, doc, create) {
    let m = this._sheets.get(styleId);
    if (!m) {
      if (!create) return null;
      m = new Map();
      this._sheets.set(styleId, m);
    }
    let sheet = m.get(doc);
    if (!sheet) {
      const w = windowOf(doc);
      if (!w || !w.CSSStyleSheet) return null;
      sheet = new w.CSSStyleSheet();
      const any = m.values().next().value;
      if (any) copyRules(any, sheet);
      m.set(doc, sheet);
    }
    return sheet;
  }

  _restoreState(cp) {
    for (const [styleId, css] of Array.isArray(cp.sheets) ? cp.sheets : []) {
      const sheet = this._constructedSheet(styleId, this.doc, true);
      try {
        if (sheet) sheet.replaceSync(adaptCss(String(css), this.opts));
      } catch (e) { /* ignore */ }
    }
    for (const [id, styleIds] of Array.isArray(cp.adopted) ? cp.adopted : []) {
      this._adoptedSheets({ id, styleIds });
    }
    for (const [id, st] of Array.isArray(cp.media) ? cp.media : []) {
      if (st && typeof st === 'object') {
        this._media.set(id, { ...st });
        this._applyMedia(id);
      }
    }
  }

  // ---- :hover and :focus emulation ----

  _setHover(id) {
    if (id === this._hoverId) return;
    const cls = this.opts.hoverClass;
    for (const el of this._hoverEls) {
      try {
        classListOf(el).remove(cls);
        if (getAttr(el, 'class') === '') removeAttr(el, 'class');
      } catch (e) { /* ignore */ }
    }
    this._hoverEls = [];
    this._hoverId = id;
    let n = this._nodes.get(id);
    while (n) {
      const t = nodeType(n);
      if (t === 1) {
        try {
          classListOf(n).add(cls);
          this._hoverEls.push(n);
        } catch (e) { /* ignore */ }
        n = parentOf(n);
      } else if (t === 11) {
        n = hostOf(n);
      } else if (t === 3 || t === 8) {
        n = parentOf(n);
      } else if (t === 9) {
        // Over a frame's content, the <iframe> and what holds it are
        // hovered too.
        n = this._frameOf.get(n) || null;
      } else break;
    }
  }

  _setFocus(id) {
    const cls = this.opts.focusClass;
    if (this._focusEl) {
      try {
        classListOf(this._focusEl).remove(cls);
        if (getAttr(this._focusEl, 'class') === '') removeAttr(this._focusEl, 'class');
      } catch (e) { /* ignore */ }
    }
    this._focusEl = null;
    this._focusId = id;
    const n = this._nodes.get(id);
    if (n && nodeType(n) === 1) {
      try {
        classListOf(n).add(cls);
        this._focusEl = n;
      } catch (e) { /* ignore */ }
    }
  }

  _reapplyPointerClasses(el) {
    try {
      if (this._hoverEls.includes(el)) classListOf(el).add(this.opts.hoverClass);
      if (this._focusEl === el) classListOf(el).add(this.opts.focusClass);
    } catch (e) { /* ignore */ }
  }

  /** The text of the stylesheet with key (rr_css), or null. */
  _stylesheet(key) {
    try {
      const css = this.opts.stylesheets && typeof key === 'string' ? this.opts.stylesheets.get(key) : null;
      return typeof css === 'string' ? css : null;
    } catch (e) {
      return null;
    }
  }

  _warn(message, event) {
    if (!this._onWarning) return;
    try {
      this._onWarning(message, event);
    } catch (e) { /* the callback's own errors are not ours to throw */ }
  }
}

/** [CSSRuleList owner, index] for an rrweb rule index (number or path). */
function ruleList(sheet, index) {
  if (!Array.isArray(index)) return [sheet, Number.isSafeInteger(index) ? index : undefined];
  let owner = sheet;
  for (let i = 0; i < index.length - 1; i++) {
    const r = owner.cssRules[index[i]];
    if (!r || !r.cssRules) throw new Error('no grouping rule at ' + index.join('.'));
    owner = r;
  }
  return [owner, index[index.length - 1]];
}

function copyRules(from, to) {
  const texts = [];
  for (const r of from.cssRules) texts.push(r.cssText);
  to.replaceSync(texts.join('\n'));
}

function frameURL(cmds) {
  for (const c of cmds) {
    if (!c || c.property !== 'drawImage' || !Array.isArray(c.args)) continue;
    const a = c.args[0];
    if (!a || a.rr_type !== 'ImageBitmap' || !Array.isArray(a.args)) continue;
    const blob = a.args[0];
    if (!blob || blob.rr_type !== 'Blob' || !Array.isArray(blob.data) || !blob.data[0]) continue;
    const b64 = blob.data[0].base64;
    const type = String(blob.type || 'image/png');
    if (typeof b64 !== 'string' || !/^image\/(?:png|webp|jpeg)$/.test(type) || !/^[A-Za-z0-9+/=]*$/.test(b64)) continue;
    return 'data:' + type + ';base64,' + b64;
  }
  return null;
}

function safeResolver(fn) {
  return (url, kind) => {
    try {
      const out = fn(url, kind);
      return typeof out === 'string' ? out : url;
    } catch (e) {
      return url;
    }
  };
}

function cssIdent(s) {
  return typeof s === 'string' && /^-?[_a-zA-Z][_a-zA-Z0-9-]*$/.test(s) ? s : '';
}

