// Checkpoints: the whole rebuilt state as plain data (structured-cloneable),
// so the player can seek by restoring the nearest checkpoint and applying
// only the events after it.
//
// The tree uses the serialized node shape of full snapshots, so restoring
// is one build pass. Extensions that only checkpoints use: iframe elements
// carry their document in `iframeDoc`, <style> elements their current CSS
// in `_cssText` (and, when edited through the CSSOM, their rules in
// `rr_cssRules`, applied after their text), and state that is not in the DOM
// (scroll positions, constructed sheets, media) travels beside the tree.

import { attributesOf, compatModeOf, firstChild, iframeDocOf, localName, namespaceOf, nextSibling, nodeType, shadowOf, SVG_NS } from './dom.js';

/** Snapshot of rb's rebuilt state, or null when nothing was rebuilt yet. */
export function checkpointOf(rb) {
  if (rb._ids.get(rb.doc) === undefined) return null;
  const scroll = [];
  const tree = serialize(rb, rb.doc, scroll);
  const sheets = [];
  for (const [styleId, m] of rb._sheets) {
    const sheet = m.values().next().value;
    if (!sheet) continue;
    const texts = [];
    for (const r of sheet.cssRules) texts.push(r.cssText);
    sheets.push([styleId, texts.join('\n')]);
  }
  return {
    v: 1,
    ts: rb._lastTs,
    meta: { ...rb._meta },
    tree,
    scroll,
    sheets,
    adopted: [...rb._adopted].map(([id, ids]) => [id, [...ids]]),
    media: [...rb._media].map(([id, st]) => [id, { ...st }]),
    hover: rb._hoverId,
    focus: rb._focusId,
  };
}

function serialize(rb, n, scroll) {
  const id = rb._ids.get(n);
  if (id === undefined) return null;
  const pos = rb._scroll.get(id);
  if (pos) scroll.push([id, pos[0], pos[1]]);
  switch (nodeType(n)) {
    case 9:
      return { type: 0, id, compatMode: compatModeOf(n), childNodes: children(rb, n, null, scroll) };
    case 10:
      return { type: 1, id, name: n.name, publicId: n.publicId, systemId: n.systemId };
    case 3:
      return { type: 3, id, textContent: n.data };
    case 8:
      return { type: 5, id, textContent: n.data };
    case 1:
      return element(rb, n, id, scroll);
    default:
      return null;
  }
}

function children(rb, parent, skipText, scroll, isShadow) {
  const out = [];
  for (let c = firstChild(parent); c; c = nextSibling(c)) {
    if (skipText && nodeType(c) === 3) continue;
    const s = serialize(rb, c, scroll);
    if (!s) continue;
    if (isShadow) s.isShadow = true;
    out.push(s);
  }
  return out;
}

function element(rb, el, id, scroll) {
  const tag = localName(el);
  const attributes = { __proto__: null }; // an attribute may be named __proto__
  const list = attributesOf(el);
  for (let i = 0; i < list.length; i++) attributes[list[i].name] = list[i].value;
  if (attributes.class !== undefined) {
    const cls = attributes.class.split(/\s+/).filter((c) => c && c !== rb.opts.hoverClass && c !== rb.opts.focusClass).join(' ');
    if (cls) attributes.class = cls;
    else delete attributes.class;
  }
  const placeholder = rb._placeholders.has(el);
  const sn = { type: 2, id, tagName: placeholder ? 'script' : tag, attributes, childNodes: [] };
  if (namespaceOf(el) === SVG_NS) sn.isSVG = true;
  if (placeholder) return sn;
  let skipText = false;
  switch (tag) {
    case 'iframe':
    case 'frame': {
      delete attributes.sandbox;
      const d = iframeDocOf(el);
      if (d && rb._ids.has(d)) sn.iframeDoc = serialize(rb, d, scroll);
      break;
    }
    case 'input': {
      const type = String(el.type).toLowerCase();
      if (type === 'checkbox' || type === 'radio') {
        if (el.checked) attributes.checked = true;
        else delete attributes.checked;
      } else if (!/^(?:file|submit|button|reset|image|hidden)$/.test(type)) {
        // (A button's value is its value attribute, as it is: without
        // one, value = "" would replace its default label.)
        attributes.value = el.value;
      }
      break;
    }
    case 'textarea':
      attributes.value = el.value;
      skipText = true;
      break;
    case 'option':
      if (el.selected) attributes.selected = true;
      else delete attributes.selected;
      break;
    case 'select':
      // No option selected (selectedIndex = -1): rebuilt from options that
      // are not selected, a select would select its first one.
      if (el.selectedIndex < 0) attributes.rr_selectedIndex = -1;
      break;
    case 'style': {
      // A sheet edited through the CSSOM has rules its text does not
      // show: they travel in rr_cssRules and replace the rebuilt sheet's,
      // and the text children keep their text (which an <option> shows as
      // its label and value). _cssText has the rules too, for players that
      // compare it. Otherwise the first text child gets all the text.
      let css = '';
      const edited = rb._edited.has(id) && el.sheet;
      if (edited) {
        attributes.rr_cssRules = Array.from(el.sheet.cssRules, (r) => r.cssText);
        css = attributes.rr_cssRules.join('\n');
      } else {
        for (let c = el.firstChild; c; c = c.nextSibling) if (c.nodeType === 3) css += c.data;
      }
      attributes._cssText = css;
      for (let c = el.firstChild; c; c = c.nextSibling) {
        const cid = rb._ids.get(c);
        if (c.nodeType === 3 && cid !== undefined) sn.childNodes.push({ type: 3, id: cid, textContent: edited ? c.data : '', isStyle: true });
      }
      return sn;
    }
    case 'canvas': {
      let url = rb._canvas.get(id);
      if (rb._canvasDirty.has(id)) {
        try {
          url = el.toDataURL();
        } catch (e) { /* tainted */ }
      }
      if (url) attributes.rr_dataURL = url;
      break;
    }
    case 'dialog': {
      const mode = rb._dialogs.get(id);
      if (mode) attributes.rr_open_mode = mode;
      break;
    }
    default:
      break;
  }
  if (rb._popovers.has(id)) attributes.rr_popover_open = true;
  sn.childNodes = children(rb, el, skipText, scroll);
  const sr = shadowOf(el);
  if (sr) {
    sn.isShadowHost = true;
    for (const c of children(rb, sr, false, scroll, true)) sn.childNodes.push(c);
  }
  return sn;
}
