// Privacy levels and masking.
//
// Levels (inherited; the nearest data-replay-privacy attribute wins):
//   0 allow            everything but the always-masked fields
//   1 mask-user-input  form values, checkbox/radio state and selections masked
//   2 mask             also all text, placeholder/title/alt/aria-label
//   3 hidden           the element becomes an empty box of the same size

export const MASK_INPUT = 1;
export const MASK = 2;
export const HIDDEN = 3;

export const ATTR = 'data-replay-privacy';
export const SELECTOR = '[data-replay-privacy]';
/** The levels' names, by level. */
export const LEVELS = ['allow', 'mask-user-input', 'mask', 'hidden'];

/**
 * Whether any element with a privacy attribute was ever recorded. Until one
 * is, every node has the configured level and levelOf costs nothing.
 */
export let privacyUsed = false;

/** Notes whether root (any node) or a descendant has a privacy attribute. */
export function notePrivacy(root) {
  privacyUsed = privacyUsed || (root.nodeType === 1 && root.hasAttribute(ATTR)) || !!(root.querySelector && root.querySelector(SELECTOR));
}

/** The level named v (any case, trimmed), or -1. */
export const levelNamed = (v) => LEVELS.indexOf(String(v).trim().toLowerCase());

/** The level an element's own attribute asks for, or -1. */
export const ownLevel = (el) => levelNamed(el.getAttribute(ATTR));

// The element above el in the flattened tree: its parent, the host of its
// shadow root, or the element of its same-origin frame.
function up(el) {
  const root = el.getRootNode();
  if (root.host) return root.host;
  const w = root.defaultView;
  try {
    return w && w !== w.parent ? w.frameElement : null;
  } catch (e) {
    return null;
  }
}

/**
 * The effective level of node (element, text or document), walking up
 * through shadow hosts and same-origin frame elements. def is the
 * configured level.
 */
export function levelOf(node, def) {
  if (!privacyUsed) return def;
  let el = node.nodeType === 9 ? up(node) : node.nodeType === 1 ? node : node.parentElement || (node.parentNode && node.parentNode.host) || null;
  while (el) {
    const c = el.closest(SELECTOR);
    const l = c ? ownLevel(c) : -1;
    if (l >= 0) return l;
    el = c ? c.parentElement || up(c) : up(el);
  }
  return def;
}

const AUTOCOMPLETE = /(?:^|\s)(?:cc-[a-z-]+|current-password|new-password|one-time-code)(?:\s|$)/i;
const SECRET_TYPES = /^(?:password|email|tel|hidden)$/i;

/** Whether an input/textarea/select is masked at every level. */
export const alwaysMasked = (el) => SECRET_TYPES.test(el.getAttribute('type')) || AUTOCOMPLETE.test(el.getAttribute('autocomplete'));

/** Masked text keeps its shape: whitespace stays, every other character becomes x. */
export const maskText = (s) => s.replace(/\S/g, 'x');

/** Masked input values keep their length. */
export const maskValue = (s) => '*'.repeat(s.length);

/** Attributes that carry visible text, masked at level mask. */
export const TEXT_ATTRS = /^(?:placeholder|title|alt|label|aria-(?:label|description|placeholder|roledescription|valuetext))$/;

// Input types whose value is a button's label or nothing the visitor typed.
const BUTTONS = /^(?:submit|button|reset|image|file)$/;

/** The lower-case type of an input. */
export const typeOf = (el) => String(el.type).toLowerCase();

/**
 * The recordable value of a form control at level, or null when its value
 * must not be recorded at all (checkbox, radio and select state when masked).
 */
export function controlValue(el, tag, level) {
  const type = tag === 'input' ? typeOf(el) : tag;
  const masked = level >= MASK_INPUT || alwaysMasked(el);
  if (type === 'checkbox' || type === 'radio' || tag === 'select') return masked ? null : el.value;
  if (BUTTONS.test(type)) return type === 'file' ? '' : el.value;
  return masked ? maskValue(el.value) : el.value;
}
