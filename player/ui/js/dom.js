// Tiny DOM construction helpers. Text always goes in as text nodes (never
// as markup): recorded URLs, titles and messages are attacker-controlled.

/**
 * Creates an element. props: class, dataset, style (object), on<event>
 * listeners, properties (non-string values or known props) and attributes.
 * Children: nodes, strings (text), arrays, null/false (skipped).
 */
export function h(tag, props, ...children) {
  const el = tag.includes(':')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(tag.indexOf(':') + 1))
    : document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style') Object.assign(el.style, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (typeof v !== 'string' && typeof v !== 'number' && v !== true) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (nodes, strings, nested arrays) to el. */
export function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces el's children. */
export function replace(el, ...children) {
  el.textContent = '';
  return append(el, children);
}
