// The serializer: DOM nodes to rrweb's serialized node shape, with privacy
// applied, URLs made absolute and script content left out. Full snapshots
// nest children in childNodes; mutations get one flat add per node, parent
// first and siblings in document order.

import { HIDDEN, MASK, ATTR, ownLevel, maskText, TEXT_ATTRS, controlValue, stateMasked, notePrivacy, privacyUsed, editable } from './privacy.js';
import { URL_ATTRS, absolute, absoluteSrcset, absoluteCss } from './url.js';
import { sheetText, isStylesheet } from './css.js';
import { ensureId } from './mirror.js';
import { snapshotCanvas } from './canvas.js';
import { MEDIA } from './media.js';
import { cssKey, sheetSent } from './sheets.js';

export const XLINK_NS = 'http://www.w3.org/1999/xlink';

// Caps on what one node may weigh (guardrails): text nodes are truncated,
// oversized data: URLs and stylesheets dropped.
const MAX_TEXT = 2e5;
export const MAX_DATA_URL = 1e5;
export const MAX_CSS = 2e6;

// Traversal through the prototypes: a <form> with <input name="firstChild">
// shadows form.firstChild ([LegacyOverrideBuiltIns]). In the compression
// worker (the same script) there is no DOM, and nothing to get.
const getter = (C, k) => C && Object.getOwnPropertyDescriptor(C.prototype, k).get;
const firstChildG = getter(self.Node, 'firstChild');
const nextSiblingG = getter(self.Node, 'nextSibling');
const nodeTypeG = getter(self.Node, 'nodeType');
const localNameG = getter(self.Element, 'localName');
const attributesG = getter(self.Element, 'attributes');
const getAttributeF = self.Element?.prototype.getAttribute;
export const tagOf = (el) => localNameG.call(el);
export const getAttr = (el, name) => getAttributeF.call(el, name);
export const nodeTypeOf = (n) => nodeTypeG.call(n);

// Attribute maps: objects whose prototype chain is one empty object, not
// Object.prototype (an attribute may be named __proto__, and a page's
// setters or toJSON on Object.prototype must not see them). Made by a
// constructor: V8 keeps {__proto__: null} objects in dictionary mode,
// slower to fill and to stringify.
export function Attrs() {}
Attrs.prototype = Object.create(null);

// The serialization in progress. base is the document's base URL; rootId
// the id of the document when it is a same-origin iframe's; newly is set
// for nodes just added (no layout is read). frames and shadows collect what
// the recorder must attach or observe next. level and descend are
// serializeNode's results for the children; ptag and parent describe the
// parent of the node being serialized.
let base = '';
let rootId = 0;
let newly = false;
let frames = [];
let shadows = [];
let level = 0;
let descend = false;
let ptag = '';
let parent = null;

/** Starts a serialization (newly: of nodes just added); what it finds is found() after. */
export function begin(isNew) {
  newly = isNew;
  frames = [];
  shadows = [];
}

/** Serializes root (a node of doc) next; rootId is the id of a frame's document, else 0. */
export function inDocument(doc, root, node) {
  base = doc.baseURI;
  rootId = root;
  notePrivacy(node);
}

/** The same-origin frames ([frame, level, ...]) and open shadow roots met since begin(). */
export const found = () => [frames, shadows];

/**
 * Serializes one node without its children. lvl is the parent's privacy
 * level. Sets level (for the children) and descend (whether they are
 * recorded). Returns null for nodes that are not recorded.
 */
function serializeNode(n, lvl) {
  descend = false;
  let sn;
  switch (nodeTypeG.call(n)) {
    case 1:
      return element(n, lvl);
    case 3:
      if (ptag === 'script' || ptag === 'textarea') return null;
      sn = { type: 3, textContent: textOf(n, lvl, ptag, parent, base), isStyle: ptag === 'style' || undefined };
      break;
    case 8:
      sn = { type: 5, textContent: textOf(n, lvl) };
      break;
    case 4:
      sn = { type: 4, textContent: '' };
      break;
    case 10:
      sn = { type: 1, name: n.name, publicId: n.publicId, systemId: n.systemId };
      break;
    case 9:
      descend = true;
      level = lvl;
      sn = { type: 0, compatMode: n.compatMode };
      break;
    default:
      return null;
  }
  sn.id = ensureId(n);
  return sn;
}

/**
 * What a text node or comment n records at level lvl; ptg, par and baseURL
 * describe its parent: a <style>'s text is CSS.
 */
export const textOf = (n, lvl, ptg, par, baseURL) =>
  n.nodeType === 8 ? (lvl >= MASK ? '' : n.data.slice(0, 1000)) : ptg === 'style' ? styleText(par, n, baseURL) : text(n.data, lvl);

/** Page text as recorded at level: capped, masked at mask and above. */
export const text = (t, lvl) => (lvl >= MASK ? maskText(t.slice(0, MAX_TEXT)) : t.slice(0, MAX_TEXT));

/**
 * The CSS of a <style>'s text node. The first text child carries the whole
 * sheet as the CSSOM has it (CSSOM edits included); other text children are
 * empty (a <style>'s own rules are always readable). Without a sheet (not
 * in a document, not CSS), the text itself; in an <option> too, whose label
 * and value it is part of (CSSOM edits go as events only).
 */
function styleText(style, t, baseURL) {
  const css = style.sheet && !style.closest('option')
    ? [].find.call(style.childNodes, (c) => c.nodeType === 3) === t ? sheetText(style.sheet) : ''
    : absoluteCss(t.data, baseURL);
  return css.length > MAX_CSS ? '' : css;
}

/**
 * The recorded value of attribute name (raw value v) of element el, or
 * undefined when it is not recorded.
 */
export function attrValue(el, tag, name, v, lvl, baseURL) {
  if (name.startsWith('on') || name === 'nonce') return undefined; // event handlers
  // Which box is checked or which option chosen is user input, whoever chose it.
  if ((name === 'checked' || name === 'selected') && stateMasked(el, lvl)) return undefined;
  if (lvl >= MASK && MASKED.test(tag + ' ' + name)) return '';
  if (URL_ATTRS.test(name)) {
    v = absolute(v, baseURL || el.baseURI);
    return v.length > MAX_DATA_URL && v.startsWith('data:') ? '' : v;
  }
  if (name === 'srcset' || name === 'imagesrcset' || name === 'style') {
    v = (name === 'style' ? absoluteCss : absoluteSrcset)(v, baseURL || el.baseURI);
    return v.length > MAX_DATA_URL ? '' : v;
  }
  // An input's value attribute: its value as recorded (the replay shows it).
  if (name === 'value' && tag === 'input') return controlValue(el, tag, lvl) ?? '';
  return lvl >= MASK && TEXT_ATTRS.test(name) ? maskText(v) : v;
}

// Emptied at level mask ("tag attribute"): the spec's wireframe has no
// images and no links, and an option's value may be what a datalist shows.
const MASKED = /^(?:(?:img|source|image|a|area) (?:src|srcset|href|xlink:href)|option value)$/;

// Records el's box (a hidden element, a masked image): the replay keeps its size.
function box(el, attrs) {
  const r = el.getBoundingClientRect();
  attrs.rr_width = r.width + 'px';
  attrs.rr_height = r.height + 'px';
}

function element(el, lvl) {
  const tag = localNameG.call(el);
  const attrs = new Attrs();
  const sn = { type: 2, tagName: tag, attributes: attrs, id: ensureId(el) };
  if (privacyUsed) {
    const l = ownLevel(el);
    lvl = editable(el, l >= 0 ? l : lvl);
  }
  if ('ownerSVGElement' in el) sn.isSVG = true; // every SVG element, and only those
  if (lvl === HIDDEN) {
    // A box of the same size; nothing of the content.
    for (const k of ['class', 'id']) attrs[k] = getAttributeF.call(el, k) || undefined;
    attrs[ATTR] = 'hidden';
    box(el, attrs);
    return sn;
  }
  if (tag === 'script') return sn; // never anything of a script
  const list = attributesG.call(el);
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    // undefined (an attribute left out) is left out of the JSON too.
    attrs[a.name] = attrValue(el, tag, a.name, a.value, lvl, base);
  }
  let deep = true; // the children are recorded
  switch (tag) {
    case 'input': {
      const type = el.type;
      const v = controlValue(el, tag, lvl);
      if (type === 'checkbox' || type === 'radio') {
        if (v !== null) attrs.checked = el.checked || undefined; // left out of the JSON
      } else if (v) {
        // The current value. A value attribute is recorded as the current
        // value already: an empty one stays (on a button it is an empty
        // label, not "Submit"); without one, an empty value is left out.
        attrs.value = v;
      }
      break;
    }
    case 'textarea':
      attrs.value = controlValue(el, tag, lvl) || undefined;
      deep = false;
      break;
    case 'select':
    case 'option':
      if (!stateMasked(el, lvl)) {
        attrs.selected = el.selected || undefined; // an option's, else left out of the JSON
        // A select with no option selected (selectedIndex = -1, set by a
        // script): rebuilt from options none of which is selected, the
        // replay's would select its first.
        if (el.selectedIndex < 0) attrs.rr_selectedIndex = -1;
      }
      break;
    case 'img':
      if (lvl >= MASK) box(el, attrs);
      break;
    case 'style':
      // A style element without text (rules from insertRule) carries them as rrweb's _cssText.
      if (el.sheet && ![].find.call(el.childNodes, (c) => c.nodeType === 3)) {
        attrs._cssText = sheetText(el.sheet) || undefined;
      }
      break;
    case 'link':
      // Own keys only: a page's enumerable Object.prototype properties
      // would come with a for-in.
      for (const [k, v] of Object.entries(linkSheet(el) || 0)) {
        if (v === null) delete attrs[k];
        else attrs[k] = v;
      }
      break;
    case 'canvas':
      if (lvl < MASK) attrs.rr_dataURL = snapshotCanvas(el) || undefined;
      break;
    case 'video':
    case 'audio':
      attrs.rr_mediaState = el.paused ? 'paused' : 'played';
      for (const k of MEDIA) attrs['rr_media' + k[0].toUpperCase() + k.slice(1)] = el[k];
      break;
    case 'dialog':
      if (el.open) attrs.rr_open_mode = openMode(el);
      break;
    case 'iframe':
    case 'frame': {
      let doc = null;
      try {
        doc = el.contentDocument;
      } catch (e) { /* cross-origin */ }
      if (doc) frames.push(el, lvl);
      else if (attrs.src) attrs.rr_src = attrs.src;
      delete attrs.src;
      delete attrs.srcdoc;
    }
  }
  if (attrs.popover !== undefined) {
    try {
      if (el.matches(':popover-open')) attrs.rr_popover_open = true;
    } catch (e) { /* no popover support */ }
  }
  if (!newly) {
    attrs.rr_scrollLeft = el.scrollLeft || undefined;
    attrs.rr_scrollTop = el.scrollTop || undefined;
  }
  if (el.shadowRoot) {
    sn.isShadowHost = true;
    shadows.push(el.shadowRoot);
  }
  level = lvl;
  descend = deep;
  return sn;
}

/**
 * How a readable stylesheet link is recorded: as its text (rrweb's
 * _cssText, replacing href and rel) the first time this session meets that
 * text, else as rr_css, the key of the text sent before. Null when the
 * sheet is not readable (the link stays as it is).
 */
export function linkSheet(el) {
  const css = el.sheet && isStylesheet(el) ? sheetText(el.sheet) : null;
  if (css === null || css.length > MAX_CSS) return null;
  const key = cssKey(css);
  return sheetSent(key) ? { rr_css: key } : { _cssText: css, href: null, rel: null };
}

/** How an open dialog was opened (rrweb's rr_open_mode). */
export const openMode = (el) => (el.matches(':modal') ? 'modal' : 'non-modal');

/**
 * Serializes n and its subtree. Without out (full snapshots) the result
 * nests children in childNodes; with out (mutations) every node is pushed
 * into out as an add {parentId, nextId, node}: the root before nextId
 * (null: at the end), its descendants after their parents, in document
 * order, appended. ptg and par describe n's parent; shadow says n is a
 * child of a shadow root.
 */
export function serialize(n, lvl, out, pid, next, shadow, ptg, par) {
  ptag = ptg;
  parent = par;
  const sn = serializeNode(n, lvl);
  if (sn === null) return null;
  if (rootId) sn.rootId = rootId;
  if (shadow) sn.isShadow = true;
  const kids = out || sn.type > 2 || sn.type === 1 ? null : (sn.childNodes = []);
  if (out) out.push({ parentId: pid, nextId: next, node: sn });
  if (descend) {
    const l = level;
    children(firstChildG.call(n), l, out, sn.id, false, sn.tagName || '', n, kids);
    if (sn.isShadowHost) {
      notePrivacy(n.shadowRoot);
      children(n.shadowRoot.firstChild, l, out, sn.id, true, '', null, kids);
    }
  }
  return sn;
}

// Serializes c and its next siblings, children of pid.
function children(c, lvl, out, pid, shadow, ptg, par, kids) {
  for (; c !== null; c = nextSiblingG.call(c)) {
    const s = serialize(c, lvl, out, pid, null, shadow, ptg, par);
    if (s !== null && kids) kids.push(s);
  }
}
