// Stylesheet text from the CSSOM: what the browser actually applies
// (including rules added with insertRule), with absolute URLs. Falls back
// to null when the sheet cannot be read (cross-origin without CORS).

import { absoluteCss } from './url.js';

/** Whether a <link> loads a stylesheet. */
export const isStylesheet = (link) => /(?:^|\s)stylesheet(?:\s|$)/i.test(link.rel);

let read; // the sheets whose text was read since noteReads last ran

/** Notes from now on the sheets whose text is read, in the set it returns. */
export const noteReads = () => (read = new WeakSet());

/** The CSS text of sheet, or null when its rules are not readable. */
export function sheetText(sheet, depth = 0) {
  read?.add(sheet);
  let rules;
  try {
    rules = sheet.cssRules;
  } catch (e) { /* cross-origin */ }
  if (!rules) return null;
  const base = sheet.href || sheet.ownerNode?.baseURI || location.href;
  let out = '';
  for (const r of rules) out += ruleText(r, base, depth);
  return out;
}

/**
 * One rule's text. A readable @import is inlined as one @media rule, so the
 * rule indices that CSSOM edits refer to stay the same in the replay.
 */
export function ruleText(rule, base, depth = 0) {
  const inner = rule.type === 3 && rule.styleSheet && depth < 8 ? sheetText(rule.styleSheet, depth + 1) : null;
  return inner !== null ? '@media ' + (rule.media?.mediaText || 'all') + '{' + inner + '}' : absoluteCss(rule.cssText, base);
}
