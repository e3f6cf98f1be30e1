// Privacy levels and masking.
//
// Levels (inherited; the nearest data-replay-privacy attribute wins):
//   0 allow            everything but the always-masked fields
//   1 mask-user-input  form values, checkbox/radio state and selections masked
//   2 mask             also all text, placeholder/title/alt/aria-label
//   3 hidden           the element becomes an empty box of the same size

export const ALLOW = 0;
export const MASK_INPUT = 1;
export const MASK = 2;
export const HIDDEN = 3;

export const ATTR = 'data-replay-privacy';
export const SELECTOR = '[data-replay-privacy]';
const NAMES = { allow: ALLOW, 'mask-user-input': MASK_INPUT, mask: MASK, hidden: HIDDEN };

// Whether any element with a privacy attribute was ever recorded. Until one
// is, every node has the configured level and levelOf costs nothing.
let seen = false;

/** Notes that the page uses privacy attributes. */
export function notePrivacyAttribute() {
  seen = true;
}

/** The level an element's own attribute asks for, or -1. */
export function ownLevel(el) {
  const v = el.getAttribute(ATTR);
  if (v === null) return -1;
  const l = NAMES[v.trim().toLowerCase()];
  return l === undefined ? -1 : l;
}

/**
 * The effective level of node (element or text), walking up through
 * shadow hosts and same-origin frame elements. def is the configured level.
 */
export function levelOf(node, def) {
  if (!seen) return def;
  let el;
  if (node.nodeType === 9) {
    const w = node.defaultView;
    el = w && w !== w.parent ? safeFrameElement(w) : null;
  } else {
    el = node.nodeType === 1 ? node : node.parentElement || (node.parentNode && node.parentNode.host) || null;
  }
  while (el) {
    const c = el.closest(SELECTOR);
    if (c) {
      const l = ownLevel(c);
      if (l >= 0) return l;
      el = c.parentElement || (c.parentNode && c.parentNode.host) || null;
      continue;
    }
    const root = el.getRootNode();
    if (root.host) el = root.host;
    else {
      const w = root.defaultView;
      el = w && w !== w.parent ? safeFrameElement(w) : null;
    }
  }
  return def;
}

function safeFrameElement(w) {
  try {
    return w.frameElement;
  } catch (e) {
    return null;
  }
}

const AUTOCOMPLETE = /(?:^|\s)(?:cc-[a-z-]+|current-password|new-password|one-time-code)(?:\s|$)/i;
const SECRET_TYPES = { password: 1, email: 1, tel: 1, hidden: 1 };

/** Whether an input/textarea/select is masked at every level. */
export function alwaysMasked(el) {
  const type = (el.getAttribute('type') || '').toLowerCase();
  return SECRET_TYPES[type] === 1 || AUTOCOMPLETE.test(el.getAttribute('autocomplete') || '');
}

/** Masked text keeps its shape: whitespace stays, every other character becomes x. */
export const maskText = (s) => s.replace(/\S/g, 'x');

/** Masked input values keep their length. */
export const maskValue = (s) => '*'.repeat(s.length);

/** Attributes that carry visible text, masked at level mask. */
export const TEXT_ATTRS = { placeholder: 1, title: 1, alt: 1, 'aria-label': 1, 'aria-description': 1, 'aria-placeholder': 1, 'aria-roledescription': 1, 'aria-valuetext': 1, label: 1 };

/**
 * The recordable value of a form control at level, or null when its value
 * must not be recorded at all (checkbox, radio and select state when masked).
 */
export function controlValue(el, tag, level) {
  const type = tag === 'input' ? (el.type || '').toLowerCase() : tag;
  if (type === 'checkbox' || type === 'radio' || tag === 'select') return level >= MASK_INPUT || alwaysMasked(el) ? null : el.value;
  const v = el.value;
  if (type === 'submit' || type === 'button' || type === 'reset' || type === 'image' || type === 'file') return type === 'file' ? '' : v;
  if (level >= MASK_INPUT || alwaysMasked(el)) return maskValue(v);
  return v;
}
