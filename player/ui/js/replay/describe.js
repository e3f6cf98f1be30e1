// Short human descriptions of rebuilt elements ("button “Add to cart”",
// "input email"), for the event list.

function text(node, max) {
  const t = (node.textContent || '').replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/** Describes the element (or the parent element of a text node). */
export function describeNode(node) {
  let el = node;
  if (el.nodeType === 3) el = el.parentElement;
  if (!el || el.nodeType !== 1) return '';
  const tag = el.localName;
  const attr = (n) => el.getAttribute(n) || '';
  const label = attr('aria-label') || attr('title') || attr('alt');
  if (tag === 'input' || tag === 'select' || tag === 'textarea') {
    const type = tag === 'input' ? (attr('type') || 'text') : tag;
    const name = label || attr('name') || attr('placeholder') || attr('id');
    return `${type} field${name ? ' “' + name + '”' : ''}`;
  }
  // Prefer the nearest interactive ancestor: a click on <span> inside a
  // button is a click on the button.
  const interactive = el.closest && el.closest('a, button, [role=button], label, summary');
  const target = interactive || el;
  const tname = target.localName;
  const words = target.getAttribute('aria-label') || text(target, 40);
  const kind = tname === 'a' ? 'link' : tname === 'button' || target.getAttribute('role') === 'button' ? 'button' : tname;
  if (words) return `${kind} “${words}”`;
  const id = target.id ? '#' + target.id : '';
  const cls = target.classList && target.classList.length ? '.' + [...target.classList].slice(0, 2).join('.') : '';
  return `${kind}${id || cls}`;
}
