// Short human descriptions of rebuilt elements ("button “Add to cart”",
// "input email"), for the event list.

// Rebuilt elements are the recording's: a <form> with an <input
// name="getAttribute"> shadows form.getAttribute (and textContent, id,
// closest, ...), and the label would fail. Everything is read through the
// prototypes instead.
const desc = (proto, name) => Object.getOwnPropertyDescriptor(proto, name);
const textContentOf = desc(Node.prototype, 'textContent').get;
const nodeTypeOf = desc(Node.prototype, 'nodeType').get;
const parentElementOf = desc(Node.prototype, 'parentElement').get;
const localNameOf = desc(Element.prototype, 'localName').get;
const idOf = desc(Element.prototype, 'id').get;
const classListOf = desc(Element.prototype, 'classList').get;
const { getAttribute, closest } = Element.prototype;

function text(node, max) {
  const t = (textContentOf.call(node) || '').replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/** Describes the element (or the parent element of a text node). */
export function describeNode(node) {
  let el = node;
  if (nodeTypeOf.call(el) === 3) el = parentElementOf.call(el);
  if (!el || nodeTypeOf.call(el) !== 1) return '';
  const tag = localNameOf.call(el);
  const attrOf = (e, n) => getAttribute.call(e, n) || '';
  const attr = (n) => attrOf(el, n);
  const label = attr('aria-label') || attr('title') || attr('alt');
  if (tag === 'input' || tag === 'select' || tag === 'textarea') {
    const type = tag === 'input' ? (attr('type') || 'text') : tag;
    const name = label || attr('name') || attr('placeholder') || attr('id');
    return `${type} field${name ? ' “' + name + '”' : ''}`;
  }
  // Prefer the nearest interactive ancestor: a click on <span> inside a
  // button is a click on the button.
  const interactive = closest.call(el, 'a, button, [role=button], label, summary');
  const target = interactive || el;
  const tname = localNameOf.call(target);
  const words = attrOf(target, 'aria-label') || text(target, 40);
  const kind = tname === 'a' ? 'link' : tname === 'button' || attrOf(target, 'role') === 'button' ? 'button' : tname;
  if (words) return `${kind} “${words}”`;
  const tid = idOf.call(target);
  const id = tid ? '#' + tid : '';
  const list = classListOf.call(target);
  const cls = list.length ? '.' + [...list].slice(0, 2).join('.') : '';
  return `${kind}${id || cls}`;
}
