// The serializer: DOM nodes to rrweb's serialized node shape, with privacy
// applied, URLs made absolute and script content left out. The full
// snapshot uses serializeTree (nested childNodes); mutations use
// serializeFlat (one add per node, parent first, right sibling first, which
// is what rrweb's replayer expects).

import { HIDDEN, MASK, MASK_INPUT, ATTR, SELECTOR, ownLevel, maskText, maskValue, TEXT_ATTRS, controlValue, alwaysMasked, notePrivacyAttribute } from './privacy.js';
import { URL_ATTRS, absolute, absoluteSrcset, absoluteCss } from './url.js';
import { sheetText } from './css.js';

export const SVG_NS = 'http://www.w3.org/2000/svg';
export const XLINK_NS = 'http://www.w3.org/1999/xlink';

// Caps on what one node may weigh (guardrails): text nodes are truncated,
// oversized data: URLs dropped.
export const MAX_TEXT = 200000;
export const MAX_DATA_URL = 100000;
const MAX_CSS = 2000000;

// Traversal through the prototypes: a <form> with <input name="firstChild">
// shadows form.firstChild ([LegacyOverrideBuiltIns]).
const desc = (p, k) => Object.getOwnPropertyDescriptor(p, k).get;
const firstChildG = desc(Node.prototype, 'firstChild');
const nextSiblingG = desc(Node.prototype, 'nextSibling');
const nodeTypeG = desc(Node.prototype, 'nodeType');
const localNameG = desc(Element.prototype, 'localName');
const attributesG = desc(Element.prototype, 'attributes');
const getAttributeF = Element.prototype.getAttribute;
export const tagOf = (el) => localNameG.call(el);
export const getAttr = (el, name) => getAttributeF.call(el, name);

/**
 * Serialization context. mirror assigns ids; def is the configured privacy
 * level; base the document's base URL; rootId the id of the document when it
 * is a same-origin iframe's; explicit the elements carrying their own
 * privacy attribute. frames and shadows collect what the recorder must
 * attach or observe next.
 */
export function context(rec, doc, rootId) {
  return {
    mirror: rec.mirror,
    base: doc.baseURI,
    rootId,
    explicit: null,
    frames: [],
    shadows: [],
    newly: false,
    flat: false,
    // Results of serializeNode for its caller:
    level: 0,
    descend: false,
    parentTag: '',
    parent: null,
  };
}

/** Adds the elements under root with their own privacy attribute to ctx.explicit. */
export function collectExplicit(ctx, root) {
  if (root.nodeType === 1 && root.hasAttribute(ATTR)) {
    (ctx.explicit || (ctx.explicit = new Set())).add(root);
    notePrivacyAttribute();
  }
  if (!root.querySelectorAll) return;
  const list = root.querySelectorAll(SELECTOR);
  if (list.length) {
    notePrivacyAttribute();
    const s = ctx.explicit || (ctx.explicit = new Set());
    for (let i = 0; i < list.length; i++) s.add(list[i]);
  }
}

/**
 * Serializes one node without its children. level is the parent's privacy
 * level. Sets ctx.level (for the children) and ctx.descend (whether they are
 * recorded). Returns null for nodes that are not recorded.
 */
export function serializeNode(n, level, ctx) {
  ctx.descend = false;
  switch (nodeTypeG.call(n)) {
    case 1:
      return element(n, level, ctx);
    case 3: {
      const ptag = ctx.parentTag;
      if (ptag === 'script' || ptag === 'textarea') return null;
      let t = n.data;
      const sn = { type: 3, textContent: '', id: 0 };
      if (ptag === 'style') {
        t = styleText(ctx.parent, n, ctx.base);
        sn.isStyle = true;
      } else {
        if (t.length > MAX_TEXT) t = t.slice(0, MAX_TEXT);
        if (level >= MASK) t = maskText(t);
      }
      sn.textContent = t;
      sn.id = ctx.mirror.ensure(n);
      if (ctx.rootId) sn.rootId = ctx.rootId;
      return sn;
    }
    case 8: {
      const sn = { type: 5, textContent: level >= MASK ? '' : n.data.slice(0, 1000), id: ctx.mirror.ensure(n) };
      if (ctx.rootId) sn.rootId = ctx.rootId;
      return sn;
    }
    case 4: {
      const sn = { type: 4, textContent: '', id: ctx.mirror.ensure(n) };
      if (ctx.rootId) sn.rootId = ctx.rootId;
      return sn;
    }
    case 10: {
      const sn = { type: 1, name: n.name, publicId: n.publicId, systemId: n.systemId, id: ctx.mirror.ensure(n) };
      if (ctx.rootId) sn.rootId = ctx.rootId;
      return sn;
    }
    case 9:
      ctx.descend = true;
      ctx.level = level;
      return ctx.flat ? { type: 0, compatMode: n.compatMode, id: ctx.mirror.ensure(n) } : { type: 0, childNodes: [], compatMode: n.compatMode, id: ctx.mirror.ensure(n) };
    default:
      return null;
  }
}

/**
 * The CSS of a <style>'s text node. The first text child carries the whole
 * sheet as the CSSOM has it (CSSOM edits included); other text children are
 * empty. Without a readable sheet, the text itself.
 */
export function styleText(style, text, base) {
  let css = null;
  if (style && style.sheet) {
    let first = style.firstChild;
    while (first && first.nodeType !== 3) first = first.nextSibling;
    if (first !== text) return '';
    css = sheetText(style.sheet);
  }
  if (css === null) css = absoluteCss(text.data, base);
  return css.length > MAX_CSS ? '' : css;
}

/**
 * The recorded value of attribute name (raw value v) of element el, or
 * undefined when it is not recorded.
 */
export function attrValue(el, tag, name, v, level, base) {
  if (name.charCodeAt(0) === 111 && name.charCodeAt(1) === 110) return undefined; // on* handlers
  if (URL_ATTRS[name] === 1) {
    v = absolute(v, base || el.baseURI);
    return v.length > MAX_DATA_URL && v.startsWith('data:') ? '' : v;
  }
  switch (name) {
    case 'srcset':
    case 'imagesrcset':
      v = absoluteSrcset(v, base || el.baseURI);
      return v.length > MAX_DATA_URL ? '' : v;
    case 'style':
      v = absoluteCss(v, base || el.baseURI);
      return v.length > MAX_DATA_URL ? '' : v;
    case 'value':
      if (tag === 'input' && (level >= MASK_INPUT || alwaysMasked(el))) {
        const type = (el.type || '').toLowerCase();
        if (type !== 'checkbox' && type !== 'radio' && type !== 'submit' && type !== 'button' && type !== 'reset') return maskValue(v);
      }
      return v;
    case 'nonce':
      return undefined;
    default:
      return level >= MASK && TEXT_ATTRS[name] === 1 ? maskText(v) : v;
  }
}

function element(el, level, ctx) {
  const tag = localNameG.call(el);
  // Flat adds (mutations) carry no childNodes: each child is its own add.
  const sn = ctx.flat ? { type: 2, tagName: tag, attributes: {}, id: 0 } : { type: 2, tagName: tag, attributes: {}, childNodes: [], id: 0 };
  if (ctx.explicit !== null && ctx.explicit.has(el)) {
    const l = ownLevel(el);
    if (l >= 0) level = l;
  }
  const attrs = sn.attributes;
  if (el.namespaceURI === SVG_NS) sn.isSVG = true;
  if (ctx.rootId) sn.rootId = ctx.rootId;
  if (level === HIDDEN) {
    // A box of the same size; nothing of the content.
    const r = el.getBoundingClientRect();
    const cls = getAttributeF.call(el, 'class');
    const eid = getAttributeF.call(el, 'id');
    if (cls) attrs.class = cls;
    if (eid) attrs.id = eid;
    attrs[ATTR] = 'hidden';
    attrs.rr_width = r.width + 'px';
    attrs.rr_height = r.height + 'px';
    sn.id = ctx.mirror.ensure(el);
    return sn;
  }
  sn.id = ctx.mirror.ensure(el);
  if (tag === 'script') return sn; // never anything of a script
  const list = attributesG.call(el);
  const base = ctx.base;
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    const v = attrValue(el, tag, a.name, a.value, level, base);
    if (v !== undefined) attrs[a.name] = v;
  }
  let descend = true;
  switch (tag) {
    case 'input': {
      const type = (el.type || '').toLowerCase();
      const v = controlValue(el, tag, level);
      if (type === 'checkbox' || type === 'radio') {
        if (v !== null) {
          if (el.checked) attrs.checked = true;
          else delete attrs.checked;
        }
      } else if (v) attrs.value = v;
      else delete attrs.value;
      break;
    }
    case 'textarea': {
      const v = controlValue(el, tag, level);
      if (v) attrs.value = v;
      descend = false;
      break;
    }
    case 'option': {
      const select = level < MASK_INPUT ? el.closest('select') : null;
      if (level < MASK_INPUT && !(select && alwaysMasked(select))) {
        if (el.selected) attrs.selected = true;
        else delete attrs.selected;
      }
      break;
    }
    case 'style':
      // A style element without text (rules from insertRule) carries them as rrweb's _cssText.
      if (el.sheet && !hasText(el)) {
        const css = sheetText(el.sheet);
        if (css) attrs._cssText = css;
      }
      break;
    case 'link':
      if (el.sheet && /(?:^|\s)stylesheet(?:\s|$)/i.test(attrs.rel || '')) {
        const css = sheetText(el.sheet);
        if (css !== null && css.length <= MAX_CSS) {
          attrs._cssText = css;
          delete attrs.href;
          delete attrs.rel;
        }
      }
      break;
    case 'canvas':
      if (level < MASK) {
        const url = canvasData(el);
        if (url) attrs.rr_dataURL = url;
      }
      break;
    case 'video':
    case 'audio':
      attrs.rr_mediaState = el.paused ? 'paused' : 'played';
      attrs.rr_mediaCurrentTime = el.currentTime;
      attrs.rr_mediaPlaybackRate = el.playbackRate;
      attrs.rr_mediaMuted = el.muted;
      attrs.rr_mediaLoop = el.loop;
      attrs.rr_mediaVolume = el.volume;
      break;
    case 'dialog':
      if (el.open) attrs.rr_open_mode = el.matches(':modal') ? 'modal' : 'non-modal';
      break;
    case 'iframe':
    case 'frame': {
      let doc = null;
      try {
        doc = el.contentDocument;
      } catch (e) { /* cross-origin */ }
      if (doc) ctx.frames.push(el, level);
      else if (attrs.src) attrs.rr_src = attrs.src;
      delete attrs.src;
      delete attrs.srcdoc;
      break;
    }
    default:
      break;
  }
  if (attrs.popover !== undefined) {
    try {
      if (el.matches(':popover-open')) attrs.rr_popover_open = true;
    } catch (e) { /* no popover support */ }
  }
  if (!ctx.newly) {
    const sl = el.scrollLeft;
    const st = el.scrollTop;
    if (sl) attrs.rr_scrollLeft = sl;
    if (st) attrs.rr_scrollTop = st;
  }
  const sr = el.shadowRoot;
  if (sr) {
    sn.isShadowHost = true;
    ctx.shadows.push(sr);
  }
  ctx.level = level;
  ctx.descend = descend;
  return sn;
}

function hasText(el) {
  for (let c = el.firstChild; c; c = c.nextSibling) if (c.nodeType === 3) return true;
  return false;
}

const blank = new Map();

/** A canvas's pixels as a data: URL, or '' when it is blank or unreadable. */
export function canvasData(el) {
  if (!el.width || !el.height || el.width * el.height > 4e6) return '';
  try {
    const url = el.toDataURL('image/webp', 0.6);
    const key = el.width + 'x' + el.height;
    let b = blank.get(key);
    if (b === undefined) {
      const c = document.createElement('canvas');
      c.width = el.width;
      c.height = el.height;
      b = c.toDataURL('image/webp', 0.6);
      blank.set(key, b);
    }
    return url === b || url.length > 2 * MAX_DATA_URL ? '' : url;
  } catch (e) {
    return ''; // tainted by a cross-origin image
  }
}

/** Serializes n and its subtree (full snapshots). */
export function serializeTree(n, level, ctx) {
  const sn = serializeNode(n, level, ctx);
  if (sn === null || !ctx.descend) return sn;
  const lvl = ctx.level;
  const tag = sn.type === 2 ? sn.tagName : '';
  const kids = sn.childNodes;
  for (let c = firstChildG.call(n); c !== null; c = nextSiblingG.call(c)) {
    ctx.parentTag = tag;
    ctx.parent = n;
    const s = serializeTree(c, lvl, ctx);
    if (s !== null) kids.push(s);
  }
  if (sn.isShadowHost === true) {
    const sr = n.shadowRoot;
    if (sr.querySelector(SELECTOR)) collectExplicit(ctx, sr);
    for (let c = firstChildG.call(sr); c !== null; c = nextSiblingG.call(c)) {
      ctx.parentTag = '';
      ctx.parent = null;
      const s = serializeTree(c, lvl, ctx);
      if (s !== null) {
        s.isShadow = true;
        kids.push(s);
      }
    }
  }
  return sn;
}

/**
 * Serializes root and its subtree as flat mutation adds into out: each
 * node after its parent and after its right sibling, with nextId.
 */
export function serializeFlat(root, parentId, nextId, level, isShadow, parentTag, parentNode, ctx, out) {
  // Stack entries: node, parentId, right sibling (or null), level, isShadow, parent tag, parent node.
  const stack = [root, parentId, null, level, isShadow, parentTag, parentNode];
  let first = true;
  while (stack.length) {
    const pnode = stack.pop();
    const ptag = stack.pop();
    const shadow = stack.pop();
    const lvl = stack.pop();
    const right = stack.pop();
    const pid = stack.pop();
    const n = stack.pop();
    ctx.parentTag = ptag;
    ctx.parent = pnode;
    const sn = serializeNode(n, lvl, ctx);
    if (sn === null) continue;
    if (shadow) sn.isShadow = true;
    const hasKids = sn.type === 2 || sn.type === 0;
    let nid;
    if (first) {
      nid = nextId;
      first = false;
    } else {
      nid = right === null ? null : ctx.mirror.id(right) || null;
    }
    out.push({ parentId: pid, nextId: nid, node: sn });
    if (!hasKids || !ctx.descend) continue;
    const cl = ctx.level;
    const tag = sn.type === 2 ? sn.tagName : '';
    // Children pushed left to right pop right to left: a node's right
    // sibling (and its subtree) is always added before it.
    let c = firstChildG.call(n);
    while (c !== null) {
      const nx = nextSiblingG.call(c);
      stack.push(c, sn.id, nx, cl, false, tag, n);
      c = nx;
    }
    if (sn.isShadowHost === true) {
      const sr = n.shadowRoot;
      for (c = firstChildG.call(sr); c !== null; c = nextSiblingG.call(c)) stack.push(c, sn.id, nextSiblingG.call(c), cl, true, '', null);
    }
  }
}
