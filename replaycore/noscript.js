// The rebuilt document's own stylesheet. The recorded page ran with
// scripts, so its <noscript> elements never rendered; the replay frame is
// sandboxed without scripts, where a <noscript> renders its content (the
// fallback markup, kept as text). An adopted sheet hides them again
// without adding a node to the rebuilt tree.

import { windowOf } from './dom.js';

const RULES = 'noscript{display:none!important}';
const own = new WeakMap(); // Document -> its sheet
const all = new WeakSet();

/** The replay sheet of doc (created once per document), or null without constructable sheets. */
export function replaySheet(doc) {
  let sheet = own.get(doc);
  if (!sheet) {
    const w = windowOf(doc);
    if (!w || !w.CSSStyleSheet) return null;
    try {
      sheet = new w.CSSStyleSheet();
      sheet.replaceSync(RULES);
    } catch (e) {
      return null;
    }
    own.set(doc, sheet);
    all.add(sheet);
  }
  return sheet;
}

/** Whether sheet is a replay sheet rather than one of the recording's. */
export const isReplaySheet = (sheet) => all.has(sheet);

/** The sheets to adopt in doc: the replay sheet first, then the recording's. */
export function withReplaySheet(doc, sheets) {
  const s = replaySheet(doc);
  return s ? [s, ...sheets] : sheets;
}
