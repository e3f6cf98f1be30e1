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

// What makes levelOf walk up: a privacy attribute, or an editing host
// (typing into one is user input).
const NOTED = SELECTOR + ',[contenteditable]';

/**
 * Notes whether root (any node) or a descendant has a privacy attribute or
 * is editable. When the query fails (an <img name="querySelector"> shadows
 * the document's), every node's level is looked up.
 */
export function notePrivacy(root) {
  try {
    privacyUsed = privacyUsed || !!(root.matches?.(NOTED) || root.querySelector?.(NOTED));
  } catch (e) {
    privacyUsed = true;
  }
}

/** The level named v (any case, trimmed), or -1. */
export const levelNamed = (v) => LEVELS.indexOf(String(v).trim().toLowerCase());

/** The level an element's own attribute asks for, or -1. */
export const ownLevel = (el) => levelNamed(el.getAttribute(ATTR));

// The element above el's root: the host of its shadow root, or the element
// of its same-origin frame (frameElement is null in a top window and
// across origins; it does not throw).
function up(el) {
  const root = el.getRootNode();
  return root.host || root.defaultView?.frameElement;
}

/**
 * The effective level of node (element, text or document), walking up
 * through shadow hosts and same-origin frame elements. def is the
 * configured level.
 */
export function levelOf(node, def) {
  if (!privacyUsed) return def;
  let el = node.nodeType === 9 ? up(node) : node.nodeType === 1 ? node : node.parentElement || node.parentNode?.host;
  const start = el;
  let l = -1;
  while (el && l < 0) {
    const c = el.closest(SELECTOR);
    l = c ? ownLevel(c) : -1;
    el = c ? c.parentElement || up(c) : up(el);
  }
  return editable(start, l < 0 ? def : l);
}

/** Level lvl of el, raised to mask inside an editing host when only user input is masked. */
export const editable = (el, lvl) => (lvl === MASK_INPUT && el?.isContentEditable ? MASK : lvl);

const AUTOCOMPLETE = /(?:^|\s)(?:cc-[a-z-]+|current-password|new-password|one-time-code)(?:\s|$)/i;
const SECRET_TYPES = /^(?:password|email|tel|hidden)$/i;

// Fields seen as secret once stay masked: a "show password" button turns
// a password field into a text field while the visitor types.
const secrets = new WeakSet();

/** Whether an input/textarea/select is masked at every level. */
export const alwaysMasked = (el) => secrets.has(el) || ((SECRET_TYPES.test(el.getAttribute('type')) || AUTOCOMPLETE.test(el.getAttribute('autocomplete'))) && !!secrets.add(el));

/** Whether the checked or selected state of el (an input or option) is masked at level. */
export const stateMasked = (el, level) => level >= MASK_INPUT || alwaysMasked(el.closest('select') || el);

/** Masked text keeps its shape: whitespace stays, every other character becomes x. */
export const maskText = (s) => s.replace(/\S/g, 'x');

/** Masked input values keep their length. */
export const maskValue = (s) => '*'.repeat(s.length);

/** Attributes that carry visible text, and data- attributes (the spec's), masked at level mask. */
export const TEXT_ATTRS = /^(?:placeholder|title|alt|label|data-(?!replay-privacy$).*|aria-(?:label|description|placeholder|roledescription|valuetext))$/;

// Input types whose value is a button's label or nothing the visitor typed.
const BUTTONS = /^(?:submit|button|reset|image|file)$/;


/**
 * The recordable value of a form control at level, or null when its value
 * must not be recorded at all (checkbox, radio and select state when masked).
 */
export function controlValue(el, tag, level) {
  const type = tag === 'input' ? el.type : tag; // type is the canonical lower-case keyword
  const masked = level >= MASK_INPUT || alwaysMasked(el);
  if (type === 'checkbox' || type === 'radio' || tag === 'select') return masked ? null : el.value;
  if (BUTTONS.test(type)) return type === 'file' ? '' : el.value;
  return masked ? maskValue(el.value) : el.value;
}
