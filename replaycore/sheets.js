// Stylesheets a recording sends once per session. Our recorder records a
// readable <link> stylesheet as its text (_cssText) the first time a session
// meets that text, and afterwards as rr_css, the text's key. A player that
// collects the texts of every view of a session (collectStylesheets) and
// gives them to its Rebuilders (the stylesheets option) rebuilds each view
// on its own; without them, a link with rr_css keeps its href and loads.

/** The key of a stylesheet's text, as the recorder computes it (docs/FORMAT.md). */
export function stylesheetKey(css) {
  let h = 0x811c9dc5;
  for (let i = 0; i < css.length; i++) h = Math.imul(h ^ css.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36) + '.' + css.length.toString(36);
}

/**
 * Adds the stylesheet texts found in events (full snapshots and mutations:
 * every _cssText) to into, a Map from key to text, and returns it. Call it
 * with each batch of events as they load, then pass the Map to Rebuilders
 * as options.stylesheets.
 */
export function collectStylesheets(events, into = new Map()) {
  const visit = (sn) => {
    const stack = [sn];
    while (stack.length) {
      const n = stack.pop();
      if (!n || typeof n !== 'object') continue;
      note(n.attributes);
      if (Array.isArray(n.childNodes)) stack.push(...n.childNodes);
    }
  };
  const note = (attrs) => {
    const css = attrs && typeof attrs === 'object' ? attrs._cssText : undefined;
    if (typeof css === 'string' && css) into.set(stylesheetKey(css), css);
  };
  for (const e of Array.isArray(events) ? events : []) {
    const d = e && e.data;
    if (!d || typeof d !== 'object') continue;
    if (e.type === 2) visit(d.node);
    else if (e.type === 3 && d.source === 0) {
      for (const a of Array.isArray(d.adds) ? d.adds : []) visit(a && a.node);
      for (const a of Array.isArray(d.attributes) ? d.attributes : []) note(a && a.attributes);
    }
  }
  return into;
}
