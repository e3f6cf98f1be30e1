// DOM mutations, batched: each MutationObserver callback becomes at most
// one Mutation event, computed from the batch's net effect in linear time.
//
// Records only tell what happened, in order; the event describes the
// difference between the replay's tree and the live tree now:
//   removes  recorded nodes that left a parent still in the document
//   adds     subtrees now in the document that were (re)inserted, flat,
//            parent first and right sibling first
//   texts, attributes  changes of nodes that were not re-added anyway
// A node that moved is removed and added again (with its ids), so nodes
// moved and removed within one batch come out right whatever the order.

import { HIDDEN, ATTR, levelOf, notePrivacyAttribute } from './privacy.js';
import { XLINK_NS, attrValue, collectExplicit, context, getAttr, serializeFlat, styleText, tagOf } from './serialize.js';
import { maskText, MASK, controlValue } from './privacy.js';

const OPTIONS = { childList: true, subtree: true, attributes: true, characterData: true };

/** Observes documents and shadow roots, and emits their mutations. */
export class Mutations {
  constructor(rec) {
    this.rec = rec;
    this.observers = [];
  }

  /** Starts observing root (a document or a shadow root). */
  observe(root) {
    const mo = new MutationObserver((records) => this.rec.guard(() => this.process(records)));
    mo.observe(root, OPTIONS);
    this.observers.push(mo);
  }

  /** Processes what the observers hold now (before another event is emitted). */
  flush() {
    let all = null;
    for (const mo of this.observers) {
      const r = mo.takeRecords();
      if (r.length) all = all ? all.concat(r) : r;
    }
    if (all) this.process(all);
  }

  /** Stops observing everything. */
  disconnect() {
    for (const mo of this.observers) mo.disconnect();
    this.observers = [];
  }

  process(records) {
    const rec = this.rec;
    if (!rec.recording) return;
    const mirror = rec.mirror;
    const removed = new Map(); // node -> parent it left first
    const added = new Set();
    const attrs = new Map(); // element -> Set of names
    const texts = new Set();
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (r.type === 'childList') {
        const rn = r.removedNodes;
        for (let j = 0; j < rn.length; j++) if (!removed.has(rn[j]) && mirror.id(rn[j])) removed.set(rn[j], r.target);
        const an = r.addedNodes;
        for (let j = 0; j < an.length; j++) added.add(an[j]);
      } else if (r.type === 'attributes') {
        let name = r.attributeName;
        if (name === 'href' && r.attributeNamespace === XLINK_NS) name = 'xlink:href';
        if (name === ATTR) notePrivacyAttribute();
        const s = attrs.get(r.target);
        if (s) s.add(name);
        else attrs.set(r.target, new Set([name]));
      } else {
        texts.add(r.target);
      }
    }
    if (!rec.spend(records.length + added.size)) return; // a mutation storm: the recorder pauses

    const def = rec.cfg.privacy;
    const levels = new Map(); // parent -> privacy level, per batch
    const level = (p) => {
      let l = levels.get(p);
      if (l === undefined) levels.set(p, (l = levelOf(p, def)));
      return l;
    };
    // Whether n is inside a subtree that is added in this batch.
    const covered = new Map();
    const isCovered = (n) => {
      const path = [];
      let res = false;
      let cur = parentOrHost(n);
      while (cur) {
        if (added.has(cur) && cur.isConnected) {
          res = true;
          break;
        }
        const c = covered.get(cur);
        if (c !== undefined) {
          res = c;
          break;
        }
        path.push(cur);
        cur = parentOrHost(cur);
      }
      for (const p of path) covered.set(p, res);
      return res;
    };

    const out = { source: 0, texts: [], attributes: [], removes: [], adds: [] };

    // An element whose privacy attribute changed is removed and added again.
    for (const [el, names] of attrs) {
      if (names.has(ATTR) && el.isConnected && mirror.id(el) && el.parentNode) {
        if (!removed.has(el)) removed.set(el, el.parentNode);
        added.add(el);
      }
    }
    for (const [el, names] of attrs) {
      if (names.has(ATTR) || !el.isConnected || !mirror.id(el) || isCovered(el)) continue;
      const lvl = level(el);
      if (lvl === HIDDEN) continue;
      const tag = tagOf(el);
      const a = {};
      let any = false;
      for (const name of names) {
        const raw = name === 'xlink:href' ? el.getAttributeNS(XLINK_NS, 'href') : getAttr(el, name);
        const v = raw === null ? null : attrValue(el, tag, name, raw, lvl, null);
        if (v === undefined) continue;
        a[name] = v;
        any = true;
        if (name === 'open' && tag === 'dialog' && raw !== null) a.rr_open_mode = el.matches(':modal') ? 'modal' : 'non-modal';
      }
      if (any) out.attributes.push({ id: mirror.id(el), attributes: a });
    }

    // Removes: moved nodes first, while their old parents still exist in the replay.
    const gone = [];
    for (const [n, p] of removed) {
      if (!p || !p.isConnected) continue; // the old parent left too: it takes n with it
      const pid = p.nodeType === 11 ? mirror.id(p.host) : mirror.id(p);
      if (!pid) continue;
      const r = p.nodeType === 11 ? { parentId: pid, id: mirror.id(n), isShadow: true } : { parentId: pid, id: mirror.id(n) };
      if (n.isConnected) out.removes.push(r);
      else gone.push(r);
    }
    for (const r of gone) out.removes.push(r);

    // Adds: the roots of what is new in the document.
    const roots = [];
    let ctx = null;
    for (const n of added) {
      if (!n.isConnected || isCovered(n)) continue;
      const p = n.parentNode;
      if (!p) continue;
      const host = p.nodeType === 11 ? p.host : null;
      const pid = mirror.id(host || p);
      if (!pid) continue;
      if (p.nodeType === 1) {
        const ptag = tagOf(p);
        if (ptag === 'script') continue;
        if (ptag === 'textarea') {
          attrs.set(p, null);
          continue;
        }
      }
      roots.push(n);
    }
    if (roots.length) {
      const pending = new Set(roots);
      ctx = context(rec, document, 0);
      ctx.newly = true;
      ctx.flat = true;
      for (const n of roots) {
        if (!pending.has(n)) continue;
        // The chain of new siblings to the right of n ends at a node the
        // replay has (or null): add it from the right.
        const chain = [];
        let cur = n;
        while (cur && pending.has(cur)) {
          chain.push(cur);
          pending.delete(cur);
          cur = cur.nextSibling;
        }
        let nextId = cur ? mirror.id(cur) || null : null;
        for (let i = chain.length - 1; i >= 0; i--) {
          const c = chain[i];
          const p = c.parentNode;
          const isShadow = p.nodeType === 11;
          const pe = isShadow ? p.host : p;
          const lvl = level(pe);
          if (lvl === HIDDEN) continue;
          const d = c.ownerDocument;
          ctx.base = d.baseURI;
          ctx.rootId = d === document ? 0 : mirror.id(d);
          ctx.explicit = null;
          if (c.nodeType === 1) collectExplicit(ctx, c);
          serializeFlat(c, mirror.id(pe), nextId, lvl, isShadow, p.nodeType === 1 ? tagOf(p) : '', p.nodeType === 1 ? p : null, ctx, out.adds);
          nextId = mirror.id(c) || nextId;
        }
      }
    }

    // Texts of nodes that were not re-added. A changed <style> sends all its
    // text children: the first carries the whole sheet.
    for (const t of texts) {
      const p = t.parentNode;
      if (p && p.nodeType === 1 && tagOf(p) === 'style') for (let c = p.firstChild; c; c = c.nextSibling) if (c.nodeType === 3) texts.add(c);
    }
    for (const t of texts) {
      if (!t.isConnected || !mirror.id(t) || isCovered(t)) continue;
      const p = t.parentNode;
      if (!p || p.nodeType !== 1) continue;
      const ptag = tagOf(p);
      if (ptag === 'script') continue;
      if (ptag === 'textarea') {
        attrs.set(p, null);
        continue;
      }
      const lvl = level(p);
      if (lvl === HIDDEN) continue;
      let v;
      if (ptag === 'style') v = styleText(p, t, p.baseURI);
      else v = lvl >= MASK ? maskText(t.data) : t.data;
      out.texts.push({ id: mirror.id(t), value: v });
    }
    // Textareas whose content changed: their value is what the replay shows.
    for (const [el, names] of attrs) {
      if (names !== null || !el.isConnected || !mirror.id(el) || isCovered(el)) continue;
      const lvl = level(el);
      if (lvl !== HIDDEN) out.attributes.push({ id: mirror.id(el), attributes: { value: controlValue(el, 'textarea', lvl) } });
    }

    if (out.removes.length || out.adds.length || out.texts.length || out.attributes.length) rec.emitIncremental(out);
    // Shadow roots and frames found in the new nodes, once the nodes exist in the replay.
    if (ctx) rec.after(ctx);
  }
}

function parentOrHost(n) {
  const p = n.parentNode;
  return p && p.nodeType === 11 ? p.host || null : p;
}

