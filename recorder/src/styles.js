// CSSOM edits that leave the DOM untouched: insertRule/deleteRule (also in
// @media and other grouping rules), replace/replaceSync, declarations set
// through setProperty/removeProperty, and adopted style sheets of
// documents and shadow roots (constructed sheets get numeric style ids).

import { after, afterSet } from './hooks.js';
import { ruleText, sheetText } from './css.js';
import { absoluteCss } from './url.js';

/** Records CSSOM changes and adopted style sheets. */
export class Styles {
  constructor(rec) {
    this.rec = rec;
    this.reset();
  }

  /** A full snapshot starts over: every adopted sheet is sent again. */
  reset() {
    this.ids = new WeakMap(); // constructed sheet -> styleId
    this.next = 0;
    this.sent = new WeakSet();
    this.targets = new Set(); // documents and shadow roots to check for adoptedStyleSheets changes
    this.seen = new WeakMap(); // target -> the array last sent
  }

  /** {id} or {styleId} of the sheet's owner in the recording, or null. */
  targetOf(sheet) {
    const owner = sheet.ownerNode;
    if (owner) {
      const id = this.rec.mirror.id(owner);
      return id ? { id } : null;
    }
    const styleId = this.ids.get(sheet);
    return styleId && this.sent.has(sheet) ? { styleId } : null;
  }

  emitRule(sheet, data, source) {
    const rec = this.rec;
    if (!rec.recording || !sheet) return;
    const t = this.targetOf(sheet);
    if (!t) return;
    rec.mutations.flush(); // DOM changes made before this edit come first
    rec.emitIncremental(Object.assign({ source }, t, data));
  }

  /** Watches target (document or shadow root) and sends its adopted sheets if any. */
  track(target) {
    this.targets.add(target);
    const list = target.adoptedStyleSheets;
    if (list && list.length) this.emitAdopted(target);
    else this.seen.set(target, list ? [] : null);
  }

  emitAdopted(target) {
    const rec = this.rec;
    if (!rec.recording) return;
    const host = target.nodeType === 11 ? target.host : target;
    const id = rec.mirror.id(host);
    if (!id) return;
    const sheets = Array.from(target.adoptedStyleSheets || []);
    this.seen.set(target, sheets);
    const styles = [];
    const styleIds = sheets.map((s) => {
      let sid = this.ids.get(s);
      if (!sid) this.ids.set(s, (sid = ++this.next));
      if (!this.sent.has(s)) {
        this.sent.add(s);
        const rules = [];
        for (let i = 0; i < s.cssRules.length; i++) rules.push({ rule: ruleText(s.cssRules[i], location.href), index: i });
        styles.push({ styleId: sid, rules });
      }
      return sid;
    });
    rec.mutations.flush();
    rec.emitIncremental(styles.length ? { source: 15, id, styleIds, styles } : { source: 15, id, styleIds });
  }

  /** Catches adoptedStyleSheets changed in place (push/splice), which no setter sees. */
  check() {
    for (const t of this.targets) {
      if (!t.isConnected && t.nodeType !== 9) {
        this.targets.delete(t);
        continue;
      }
      const prev = this.seen.get(t);
      const cur = t.adoptedStyleSheets;
      if (!cur) continue;
      if (!prev || prev.length !== cur.length || prev.some((s, i) => s !== cur[i])) this.emitAdopted(t);
    }
  }
}

/** Index path of rule from its sheet (rrweb's index: number[]). */
function pathOf(rule) {
  const path = [];
  for (let r = rule; r; r = r.parentRule) {
    const list = r.parentRule ? r.parentRule.cssRules : r.parentStyleSheet && r.parentStyleSheet.cssRules;
    if (!list) return null;
    path.unshift(Array.prototype.indexOf.call(list, r));
  }
  return path;
}

function sheetOf(rule) {
  let r = rule;
  while (r.parentRule) r = r.parentRule;
  return r.parentStyleSheet;
}

/** Hooks one window's CSSOM. */
export function hookStyles(win, current) {
  const styles = () => {
    const r = current();
    return r && r.recording ? r.styles : null;
  };
  const S = win.CSSStyleSheet.prototype;
  const base = (sheet) => sheet.href || win.location.href;
  after(S, 'insertRule', (sheet, args, index) => {
    const st = styles();
    if (st) st.emitRule(sheet, { adds: [{ rule: ruleText(sheet.cssRules[index], base(sheet)), index }] }, 8);
  });
  after(S, 'deleteRule', (sheet, args) => {
    const st = styles();
    if (st) st.emitRule(sheet, { removes: [{ index: +args[0] || 0 }] }, 8);
  });
  after(S, 'replaceSync', (sheet, args) => {
    const st = styles();
    if (st) st.emitRule(sheet, { replaceSync: absoluteCss(String(args[0]), base(sheet)) }, 8);
  });
  after(S, 'replace', (sheet, args, promise) => {
    const st = styles();
    if (!st || !promise || !promise.then) return;
    // The text is applied when the promise resolves; its rules are then readable.
    promise.then(() => {
      const s2 = styles();
      if (s2) s2.emitRule(sheet, { replaceSync: sheetText(sheet) || '' }, 8);
    }, () => {});
    void args;
  });
  const G = win.CSSGroupingRule && win.CSSGroupingRule.prototype;
  after(G, 'insertRule', (group, args, index) => {
    const st = styles();
    const path = st && pathOf(group);
    if (path) st.emitRule(sheetOf(group), { adds: [{ rule: ruleText(group.cssRules[index], base(sheetOf(group))), index: path.concat(index) }] }, 8);
  });
  after(G, 'deleteRule', (group, args) => {
    const st = styles();
    const path = st && pathOf(group);
    if (path) st.emitRule(sheetOf(group), { removes: [{ index: path.concat(+args[0] || 0) }] }, 8);
  });
  const D = win.CSSStyleDeclaration.prototype;
  after(D, 'setProperty', (decl, args) => {
    const st = styles();
    const rule = st && decl.parentRule;
    const path = rule && pathOf(rule);
    if (path) st.emitRule(sheetOf(rule), { index: path, set: { property: String(args[0]), value: args[1] === null || args[1] === undefined ? null : String(args[1]), priority: args[2] ? String(args[2]) : '' } }, 13);
  });
  after(D, 'removeProperty', (decl, args) => {
    const st = styles();
    const rule = st && decl.parentRule;
    const path = rule && pathOf(rule);
    if (path) st.emitRule(sheetOf(rule), { index: path, remove: { property: String(args[0]) } }, 13);
  });
  const adopted = (target) => {
    const st = styles();
    if (st && st.targets.has(target)) st.emitAdopted(target);
  };
  afterSet(win.Document.prototype, 'adoptedStyleSheets', adopted);
  if (win.ShadowRoot) afterSet(win.ShadowRoot.prototype, 'adoptedStyleSheets', adopted);
}
