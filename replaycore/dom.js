// DOM operations through the prototypes, never through the target objects.
//
// Recorded markup is hostile. A document with <img name="createElement">
// shadows document.createElement ([LegacyOverrideBuiltIns]), and a form with
// <input name="appendChild"> shadows form.appendChild. Calling the prototype
// functions directly keeps a hostile recording from breaking the rebuild.

const get = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
const fn = (proto, name) => proto[name];

const N = Node.prototype;
const E = Element.prototype;
const D = Document.prototype;

const parentNodeGet = get(N, 'parentNode');
const firstChildGet = get(N, 'firstChild');
const nextSiblingGet = get(N, 'nextSibling');
const nodeTypeGet = get(N, 'nodeType');
const ownerDocumentGet = get(N, 'ownerDocument');
const isConnectedGet = get(N, 'isConnected');
const appendChildFn = fn(N, 'appendChild');
const insertBeforeFn = fn(N, 'insertBefore');
const removeChildFn = fn(N, 'removeChild');
const localNameGet = get(E, 'localName');
const namespaceURIGet = get(E, 'namespaceURI');
const shadowRootGet = get(E, 'shadowRoot');
const attachShadowFn = fn(E, 'attachShadow');
const setAttributeFn = fn(E, 'setAttribute');
const setAttributeNSFn = fn(E, 'setAttributeNS');
const removeAttributeFn = fn(E, 'removeAttribute');
const removeAttributeNSFn = fn(E, 'removeAttributeNS');
const getAttributeFn = fn(E, 'getAttribute');
const attributesGet = get(E, 'attributes');
const createElementFn = fn(D, 'createElement');
const createElementNSFn = fn(D, 'createElementNS');
const createTextNodeFn = fn(D, 'createTextNode');
const createCommentFn = fn(D, 'createComment');
const implementationGet = get(D, 'implementation');
const defaultViewGet = get(D, 'defaultView');
const documentElementGet = get(D, 'documentElement');
const doctypeGet = get(D, 'doctype');
const scrollingElementGet = get(D, 'scrollingElement');
const adoptedGet = Object.getOwnPropertyDescriptor(D, 'adoptedStyleSheets');
const shadowAdopted = typeof ShadowRoot !== 'undefined' ? Object.getOwnPropertyDescriptor(ShadowRoot.prototype, 'adoptedStyleSheets') : null;
const hostGet = typeof ShadowRoot !== 'undefined' ? get(ShadowRoot.prototype, 'host') : null;

export const SVG_NS = 'http://www.w3.org/2000/svg';
export const XLINK_NS = 'http://www.w3.org/1999/xlink';

export const parentOf = (n) => parentNodeGet.call(n);
export const firstChild = (n) => firstChildGet.call(n);
export const nextSibling = (n) => nextSiblingGet.call(n);
export const nodeType = (n) => nodeTypeGet.call(n);
export const ownerDoc = (n) => (nodeTypeGet.call(n) === 9 ? n : ownerDocumentGet.call(n));
export const isConnected = (n) => isConnectedGet.call(n);
export const append = (p, c) => appendChildFn.call(p, c);
export const insertBefore = (p, c, ref) => insertBeforeFn.call(p, c, ref);
export const localName = (el) => localNameGet.call(el);
export const namespaceOf = (el) => namespaceURIGet.call(el);
export const shadowOf = (el) => shadowRootGet.call(el);
export const hostOf = (root) => hostGet.call(root);
export const attachShadow = (el) => attachShadowFn.call(el, { mode: 'open' });
export const setAttr = (el, name, value) => setAttributeFn.call(el, name, value);
export const setAttrNS = (el, ns, name, value) => setAttributeNSFn.call(el, ns, name, value);
export const removeAttr = (el, name) => removeAttributeFn.call(el, name);
export const removeAttrNS = (el, ns, name) => removeAttributeNSFn.call(el, ns, name);
export const getAttr = (el, name) => getAttributeFn.call(el, name);
export const attributesOf = (el) => attributesGet.call(el);
export const createElement = (doc, tag) => createElementFn.call(doc, tag);
export const createElementNS = (doc, ns, tag) => createElementNSFn.call(doc, ns, tag);
export const createText = (doc, text) => createTextNodeFn.call(doc, text);
export const createComment = (doc, text) => createCommentFn.call(doc, text);
export const implementationOf = (doc) => implementationGet.call(doc);
export const windowOf = (doc) => defaultViewGet.call(doc);
export const documentElementOf = (doc) => documentElementGet.call(doc);
export const doctypeOf = (doc) => doctypeGet.call(doc);
export const scrollingElementOf = (doc) => scrollingElementGet.call(doc);

/** Detaches n from its parent, if it has one. */
export function detach(n) {
  const p = parentNodeGet.call(n);
  if (p) removeChildFn.call(p, n);
}

/** Removes every child of n. */
export function clearChildren(n) {
  let c;
  while ((c = firstChildGet.call(n))) removeChildFn.call(n, c);
}

/** Reads or writes the adopted style sheets of a Document or ShadowRoot. */
export function adoptedSheets(target, sheets) {
  const d = nodeTypeGet.call(target) === 9 ? adoptedGet : shadowAdopted;
  if (!d) return [];
  if (sheets) d.set.call(target, sheets);
  return d.get.call(target);
}

const classListGet = get(E, 'classList');
const htmlStyleGet = get(HTMLElement.prototype, 'style');
const svgStyleGet = typeof SVGElement !== 'undefined' ? get(SVGElement.prototype, 'style') : null;
const compatModeGet = get(D, 'compatMode');
const contentDocGet = get(HTMLIFrameElement.prototype, 'contentDocument');

export const classListOf = (el) => classListGet.call(el);
export const compatModeOf = (doc) => compatModeGet.call(doc);
export const iframeDocOf = (el) => {
  try {
    return contentDocGet.call(el);
  } catch (e) {
    return null;
  }
};

/** The CSSStyleDeclaration of an HTML or SVG element, or null. */
export function styleOf(el) {
  try {
    return htmlStyleGet.call(el);
  } catch (e) {
    try {
      return svgStyleGet ? svgStyleGet.call(el) : null;
    } catch (e2) {
      return null;
    }
  }
}
