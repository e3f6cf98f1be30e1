// CSSOM edits that leave the DOM untouched: insertRule/deleteRule (also in
// @media and other grouping rules), replace/replaceSync, declarations set
// through setProperty/removeProperty, and adopted style sheets of
// documents and shadow roots (constructed sheets get numeric style ids).

import { after, afterSet } from './hooks.js';
import { ruleText, sheetText, noteReads } from './css.js';
import { absoluteCss } from './url.js';
import { idOf } from './mirror.js';
import { flushMutations } from './mutations.js';
import { recording, inc } from './recorder.js';

let ids; // constructed sheet -> styleId, once its rules were sent
let next; // the last styleId given
let targets; // document or shadow root -> its adopted sheets as last sent
resetStyles();

/** A full snapshot starts over: every adopted sheet is sent again. */
export function resetStyles() {
  ids = new WeakMap();
  next = 0;
  targets = new Map();
}

// Emits an edit of sheet, by the id of its owner node or its styleId.
// (inc sends nothing while not recording.)
function emitRule(sheet, data, source) {
  // DOM changes made before this edit come first (they may give its <style>
  // its id); when they serialize the sheet again (its <style> added or
  // moved, its text changed), it has the edit already.
  const read = noteReads();
  flushMutations();
  const owner = sheet.ownerNode;
  const id = owner ? idOf(owner) : ids.get(sheet);
  if (id && !read.has(sheet)) inc({ source, [owner ? 'id' : 'styleId']: id, ...data });
}

/**
 * Watches target (document or shadow root) and sends its adopted sheets if
 * any, or if attached says the shadow root is new to the replay: the event
 * makes the replay attach it, even when it stays empty (it then hides the
 * host's light DOM, which the replay must hide too).
 */
export function trackStyles(target, attached) {
  targets.set(target, []);
  if (attached || target.adoptedStyleSheets?.length) emitAdopted(target);
}

function emitAdopted(target) {
  const id = idOf(target.host || target);
  if (!recording || !id) return;
  const sheets = [...target.adoptedStyleSheets];
  targets.set(target, sheets);
  const styles = [];
  const styleIds = sheets.map((s) => {
    if (!ids.has(s)) {
      ids.set(s, ++next);
      styles.push({ styleId: next, rules: Array.from(s.cssRules, (r, index) => ({ rule: ruleText(r, location.href), index })) });
    }
    return ids.get(s);
  });
  flushMutations();
  inc({ source: 15, id, styleIds, styles: styles.length ? styles : undefined }); // JSON leaves undefined out
}

/** Catches adoptedStyleSheets changed in place (push/splice), which no setter sees. */
export function checkStyles() {
  for (const [t, prev] of targets) {
    const cur = t.adoptedStyleSheets;
    if (!t.isConnected && t.nodeType !== 9) targets.delete(t);
    else if (cur && (prev.length !== cur.length || prev.some((s, i) => s !== cur[i]))) emitAdopted(t);
  }
}

/** Index path of rule from its sheet (rrweb's index: number[]), or null. */
function pathOf(rule) {
  const path = [];
  for (let r = rule; r; r = r.parentRule) {
    const list = (r.parentRule || r.parentStyleSheet)?.cssRules;
    if (!list) return null;
    path.unshift([].indexOf.call(list, r));
  }
  return path;
}

function sheetOf(rule) {
  while (rule.parentRule) rule = rule.parentRule;
  return rule.parentStyleSheet;
}

/** Hooks one window's CSSOM. */
export function hookStyles(win) {
  const S = win.CSSStyleSheet.prototype;
  const base = (sheet) => sheet.href || win.location.href;
  // insertRule/deleteRule on a sheet (index: a number) or a grouping rule (index: its path + the number).
  for (const P of [S, win.CSSGroupingRule?.prototype]) {
    const where = (owner, i) => {
      const path = P === S || pathOf(owner);
      return path === true ? [owner, i] : path && [sheetOf(owner), path.concat(i)];
    };
    after(P, 'insertRule', (owner, args, i) => {
      const w = recording && where(owner, i);
      if (w) emitRule(w[0], { adds: [{ rule: ruleText(owner.cssRules[i], base(w[0])), index: w[1] }] }, 8);
    });
    after(P, 'deleteRule', (owner, args) => {
      const w = recording && where(owner, +args[0] || 0);
      if (w) emitRule(w[0], { removes: [{ index: w[1] }] }, 8);
    });
  }
  after(S, 'replaceSync', (sheet, args) => recording && emitRule(sheet, { replaceSync: absoluteCss(String(args[0]), base(sheet)) }, 8));
  // replace() applies the text when its promise resolves; the rules are then readable.
  after(S, 'replace', (sheet, args, promise) => recording && promise.then(() => emitRule(sheet, { replaceSync: sheetText(sheet) }, 8), () => {}));
  const D = win.CSSStyleDeclaration.prototype;
  const declaration = (decl, data) => {
    const rule = recording && decl.parentRule;
    const index = rule && pathOf(rule);
    if (index) emitRule(sheetOf(rule), { index, ...data }, 13);
  };
  after(D, 'setProperty', (decl, [property, value, priority]) => declaration(decl, { set: { property: String(property), value: value == null ? null : String(value), priority: priority ? String(priority) : '' } }));
  after(D, 'removeProperty', (decl, [property]) => declaration(decl, { remove: { property: String(property) } }));
  const adopted = (target) => recording && targets.has(target) && emitAdopted(target);
  afterSet(win.Document.prototype, 'adoptedStyleSheets', adopted);
  if (win.ShadowRoot) afterSet(win.ShadowRoot.prototype, 'adoptedStyleSheets', adopted);
}
