// Building DOM nodes from serialized nodes (rrweb's serialized node shape),
// for full snapshots, mutation adds and checkpoint restores alike.

import {
  SVG_NS, XLINK_NS, append, attachShadow, createComment, createElement, createElementNS,
  createText, getAttr, implementationOf, localName, ownerDoc, setAttr, setAttrNS, shadowOf,
} from './dom.js';
import { sanitizeAttribute, safeURL } from './sanitize.js';
import { adaptCss } from './css.js';
import { showBlankCanvas } from './canvas.js';

// rrweb lower-cases SVG tag names when recording; SVG needs them camel-cased.
const SVG_TAGS = {};
for (const t of ['altGlyph', 'altGlyphDef', 'altGlyphItem', 'animateColor', 'animateMotion', 'animateTransform',
  'clipPath', 'feBlend', 'feColorMatrix', 'feComponentTransfer', 'feComposite', 'feConvolveMatrix',
  'feDiffuseLighting', 'feDisplacementMap', 'feDistantLight', 'feDropShadow', 'feFlood', 'feFuncA', 'feFuncB',
  'feFuncG', 'feFuncR', 'feGaussianBlur', 'feImage', 'feMerge', 'feMergeNode', 'feMorphology', 'feOffset',
  'fePointLight', 'feSpecularLighting', 'feSpotLight', 'feTile', 'feTurbulence', 'foreignObject', 'glyphRef',
  'linearGradient', 'radialGradient', 'textPath']) SVG_TAGS[t.toLowerCase()] = t;

const PX = /^-?\d+(?:\.\d+)?px$/;

/**
 * The deepest a rebuilt node may be, counting the elements above it in its
 * document, the shadow hosts and frames its tree hangs from, up to the
 * top document. Building, checkpoints and the player's morphing walk trees
 * recursively, and a hostile recording nests as deep as it likes (one
 * mutation can add 100,000 nested <div>s): past this depth children are
 * dropped, so no walk runs out of stack. Chromium's HTML parser stops
 * nesting at 512; no real page we met comes near this, and the checkpoint
 * walk ran out of Chromium's stack past about 1,400.
 */
export const MAX_DEPTH = 1000;

/**
 * The tag to create for a serialized element and whether it is the inert
 * placeholder of a script.
 */
export function tagFor(sn) {
  let tag = String(sn.tagName || 'div').trim();
  // createElementNS reads "x:script" as the prefix x and the local name
  // script: a real SVG <script>, or a <set> the SMIL rules would not
  // recognize. An SVG element is made from its local name alone.
  if (sn.isSVG && tag.lastIndexOf(':') >= 0) tag = tag.slice(tag.lastIndexOf(':') + 1) || 'g';
  let lower = tag.toLowerCase();
  if (lower === 'link' && typeof (sn.attributes && sn.attributes._cssText) === 'string') lower = tag = 'style';
  if (sn.isSVG && SVG_TAGS[lower]) tag = SVG_TAGS[lower];
  else if (!sn.isSVG) tag = lower;
  return { tag, lower, script: lower === 'script' };
}

/**
 * Builds sn and its children in doc. rb is the Rebuilder (ids, state,
 * options); post collects operations that need the node to be connected
 * (scroll, dialogs, iframe documents, media, canvas). Returns the node, or
 * null when sn is not a buildable node.
 */
export function buildNode(rb, sn, doc, post, depth = 0) {
  if (!sn || typeof sn !== 'object') return null;
  const id = sn.id;
  if (!Number.isSafeInteger(id)) {
    rb._warn('serialized node without a valid id', sn);
    return null;
  }
  let node;
  switch (sn.type) {
    case 1: {
      // A name createDocumentType refuses (a hostile recording) would lose the whole snapshot.
      const name = /^[^\s>\u0000]+$/.test(String(sn.name)) ? String(sn.name) : 'html';
      try {
        node = implementationOf(doc).createDocumentType(name, String(sn.publicId || ''), String(sn.systemId || ''));
      } catch (e) {
        node = implementationOf(doc).createDocumentType('html', '', '');
      }
      break;
    }
    case 3: {
      const text = String(sn.textContent ?? '');
      node = createText(doc, sn.isStyle ? adaptCss(text, rb.opts) : text);
      break;
    }
    case 4: // CDATA sections cannot exist in HTML documents: the parser makes text of them.
      node = createText(doc, String(sn.textContent ?? ''));
      break;
    case 5:
      node = createComment(doc, String(sn.textContent ?? ''));
      break;
    case 2:
      node = buildElement(rb, sn, doc, post, depth);
      break;
    default:
      rb._warn('unexpected serialized node type ' + sn.type, sn);
      return null;
  }
  if (node) rb._register(id, node);
  return node;
}

function buildElement(rb, sn, doc, post, depth) {
  const css = sn.attributes && sn.attributes.rr_css !== undefined && sn.attributes._cssText === undefined ? rb._stylesheet(sn.attributes.rr_css) : null;
  if (css !== null) {
    // A stylesheet link whose text was sent before (rr_css): as if it came with it.
    const { href, rel, rr_css: key, ...rest } = sn.attributes;
    sn = { ...sn, attributes: { ...rest, _cssText: css } };
  }
  const { tag, lower, script } = tagFor(sn);
  const attrs = sn.attributes && typeof sn.attributes === 'object' ? sn.attributes : {};
  const isSVG = !!sn.isSVG || lower === 'svg';
  let el;
  try {
    if (script) el = isSVG ? createElementNS(doc, SVG_NS, 'noscript') : createElement(doc, 'noscript');
    else el = isSVG ? createElementNS(doc, SVG_NS, tag) : createElement(doc, tag);
  } catch (e) {
    rb._warn('invalid tag name ' + JSON.stringify(tag), sn);
    el = isSVG ? createElementNS(doc, SVG_NS, 'g') : createElement(doc, 'span');
  }
  if (script) rb._placeholders.add(el);
  const special = applyAttributes(rb, el, lower, attrs, isSVG);
  const id = sn.id;
  if (sn.isShadowHost) {
    try {
      if (!shadowOf(el)) attachShadow(el);
    } catch (e) {
      rb._warn('cannot attach a shadow root to <' + lower + '>', sn);
    }
  }
  if (lower === 'iframe' || lower === 'frame') {
    // The player's sandbox is inherited; this makes it explicit for nested frames.
    setAttr(el, 'sandbox', 'allow-same-origin');
    if (sn.iframeDoc) post.push(() => rb._attachDocument(el, sn.iframeDoc));
  }
  if (special) applySpecial(rb, el, lower, id, special, post);
  if (lower === 'canvas' && typeof special?.rr_dataURL !== 'string') post.push(() => showBlankCanvas(el));
  // Children. Scripts keep no content; a textarea's content is its value.
  const kids = Array.isArray(sn.childNodes) ? sn.childNodes : null;
  if (kids && kids.length && !script) {
    if (depth > MAX_DEPTH) {
      rb._warn('document nested deeper than ' + MAX_DEPTH + ' levels: children dropped', sn);
    } else {
      const childDoc = ownerDoc(el);
      for (const k of kids) {
        if (lower === 'textarea' && k && k.type === 3) continue;
        const c = buildNode(rb, k, childDoc, post, depth + 1);
        if (!c) continue;
        // Text in a <style> is CSS even when the recording did not say so (isStyle).
        if (lower === 'style' && k.type === 3 && !k.isStyle) c.data = adaptCss(c.data, rb.opts);
        try {
          if (k.isShadow) {
            let root = shadowOf(el);
            if (!root) root = attachShadow(el);
            append(root, c);
          } else {
            append(el, c);
          }
        } catch (e) {
          rb._warn('cannot append child: ' + e.message, k);
        }
      }
    }
  }
  if (lower === 'style' && Array.isArray(attrs.rr_cssRules)) {
    // A checkpoint's sheet edited through the CSSOM: its text children as
    // they were, its rules once it is connected (and has a sheet).
    const rules = attrs.rr_cssRules;
    post.push(() => setSheetRules(rb, el, id, rules));
  } else if (typeof attrs._cssText === 'string' && (lower === 'style' || lower === 'link')) {
    setStyleText(rb, el, attrs._cssText);
  }
  if (lower === 'textarea' && typeof attrs.value === 'string') {
    append(el, createText(ownerDoc(el), attrs.value));
    try {
      el.value = attrs.value;
    } catch (e) { /* ignore */ }
  }
  return el;
}

/**
 * Replaces the rules of a connected style element's sheet with rules (CSS
 * texts, adapted), and notes the sheet as edited through the CSSOM.
 */
function setSheetRules(rb, el, id, rules) {
  const sheet = el.sheet;
  if (!sheet) return;
  rb._edited.add(id);
  try {
    while (sheet.cssRules.length) sheet.deleteRule(0);
  } catch (e) { /* an unreadable sheet: a <style> never is */ }
  for (const r of rules) {
    try {
      sheet.insertRule(adaptCss(String(r), rb.opts), sheet.cssRules.length);
    } catch (e) { /* an invalid rule */ }
  }
}

/** Puts css (adapted) into a style element: its first text child, or a new one. */
export function setStyleText(rb, el, css) {
  const text = adaptCss(css, rb.opts);
  let first = null;
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (c.nodeType !== 3) continue;
    if (!first) first = c;
    else c.data = '';
  }
  if (first) first.data = text;
  else append(el, createText(ownerDoc(el), text));
}

/**
 * Sets the serialized attributes of el, sanitized. Returns the rrweb special
 * attributes (rr_*) for applySpecial, or null.
 */
function applyAttributes(rb, el, lower, attrs, isSVG) {
  let special = null;
  const resolve = rb.opts.resolveURL;
  for (const name in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, name)) continue;
    let v = attrs[name];
    if (name.charCodeAt(0) === 114 && name.startsWith('rr_')) {
      (special || (special = {}))[name] = v;
      continue;
    }
    if (name === '_cssText') continue;
    if (v === null || v === undefined || v === false || typeof v === 'object') continue;
    if (v === true) v = '';
    else v = String(v);
    if (lower === 'textarea' && name === 'value') continue;
    const safe = sanitizeAttribute(lower, name, v, attrs, resolve);
    if (safe === null) continue;
    setAttribute(el, name, safe, isSVG);
    if (name === 'value' && lower === 'input') {
      try {
        el.value = safe;
      } catch (e) { /* file inputs refuse values */ }
    }
  }
  return special;
}

/** Sets an already sanitized attribute, in the XLink namespace when needed. */
export function setAttribute(el, name, value, isSVG) {
  try {
    if (isSVG && name === 'xlink:href') setAttrNS(el, XLINK_NS, 'xlink:href', value);
    else setAttr(el, name, value);
  } catch (e) {
    parsedAttribute(el, name, value);
  }
}

/**
 * Sets an attribute whose name setAttribute refuses but the HTML parser
 * makes from malformed markup (<td ="f('x')">, seen on real pages): parsed
 * in an inert template, then moved over. A name the parser would read
 * otherwise (whitespace, '/', '>', a later '=', upper case) is skipped, as
 * are names no markup can make.
 */
function parsedAttribute(el, name, value) {
  if (!name || /[\s/>\u0000]/.test(name) || name.indexOf('=', 1) > 0) return;
  try {
    const t = createElement(ownerDoc(el), 'template');
    t.innerHTML = '<b ' + name + '></b>';
    const b = t.content.firstChild;
    const a = b && b.attributes.length === 1 ? b.attributes[0] : null;
    if (!a || a.name !== name) return;
    b.removeAttributeNode(a);
    a.value = value;
    el.setAttributeNode(a);
  } catch (e) {
    // Skipped: the name cannot exist in an HTML document.
  }
}

function applySpecial(rb, el, lower, id, sp, post) {
  if (sp.rr_width !== undefined || sp.rr_height !== undefined) {
    // A hidden element: a box of the recorded size.
    const w = PX.test(String(sp.rr_width)) ? 'width:' + sp.rr_width + ';' : '';
    const h = PX.test(String(sp.rr_height)) ? 'height:' + sp.rr_height + ';' : '';
    const prev = getAttr(el, 'style');
    setAttr(el, 'style', (prev ? prev + ';' : '') + w + h);
  }
  if (sp.rr_scrollLeft !== undefined || sp.rr_scrollTop !== undefined) {
    const x = +sp.rr_scrollLeft || 0;
    const y = +sp.rr_scrollTop || 0;
    rb._scroll.set(id, [x, y]);
    post.push(() => rb._applyScroll(id));
  }
  if (typeof sp.rr_dataURL === 'string' && /^data:image\//i.test(sp.rr_dataURL) && safeURL(sp.rr_dataURL, 'image') !== null) {
    if (lower === 'canvas') {
      rb._canvas.set(id, sp.rr_dataURL);
      post.push(() => rb._drawCanvas(id, sp.rr_dataURL));
    } else if (lower === 'img') {
      setAttr(el, 'src', sp.rr_dataURL);
    }
  }
  if (lower === 'select' && sp.rr_selectedIndex === -1) {
    // Once its options are in: they select the first one as they come. In
    // a Mutation they are adds of their own, after this one (rb._late).
    (rb._late || post).push(() => {
      el.selectedIndex = -1;
    });
  }
  if (lower === 'dialog' && (sp.rr_open_mode === 'modal' || sp.rr_open_mode === 'non-modal')) {
    rb._dialogs.set(id, sp.rr_open_mode);
    post.push(() => rb._applyDialog(id));
  }
  if (sp.rr_popover_open) {
    rb._popovers.add(id);
    post.push(() => rb._applyPopover(id));
  }
  if ((lower === 'video' || lower === 'audio') && sp.rr_mediaState !== undefined) {
    rb._media.set(id, {
      paused: sp.rr_mediaState !== 'played',
      time: +sp.rr_mediaCurrentTime || 0,
      at: rb._lastTs,
      rate: +sp.rr_mediaPlaybackRate || 1,
      volume: sp.rr_mediaVolume === undefined ? 1 : +sp.rr_mediaVolume,
      muted: !!sp.rr_mediaMuted,
      loop: !!sp.rr_mediaLoop,
    });
    post.push(() => rb._applyMedia(id));
  }
}
