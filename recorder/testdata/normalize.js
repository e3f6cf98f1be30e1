// Test helper (never part of the product): a canonical text form of a
// document, so the live page and the document rebuilt by replaycore can be
// compared. Loaded into the live page through CDP and into the replay page
// as a script. Defines window.__normalize(doc, opts) -> {dom, forms, scroll}.
//
// opts.privacy: the recorder's default level (what the live side expects
// to be masked); opts.isPlaceholder(el): the replay side's script
// placeholders; opts.isOwnSheet(sheet): the replay side's own adopted
// sheets (not the recording's); opts.unrecorded(doc): a replay-side frame
// document that stands for a cross-origin frame (the live side cannot read
// those); opts.replay: true on the replay side.
(function () {
  const LEVELS = { allow: 0, 'mask-user-input': 1, mask: 2, hidden: 3 };
  const URL_ATTRS = ['src', 'href', 'action', 'formaction', 'poster', 'background', 'data', 'cite', 'xlink:href', 'longdesc'];
  const SKIP_ATTRS = /^(?:on.*|nonce|value|checked|selected|autofocus|sandbox|srcdoc|rr_.*|data-replay-privacy)$/i;

  function abs(v, base) {
    v = v.trim();
    if (!v || v[0] === '#' || /^data:/i.test(v)) return v;
    try {
      return new URL(v, base).href;
    } catch (e) {
      return v;
    }
  }

  function absCss(css, base) {
    return css.replace(/url\(\s*(["']?)([^"')]*)\1\s*\)/g, (m, q, u) => 'url("' + abs(u, base) + '")');
  }

  function srcset(v, base) {
    return v.split(/,\s+/).map((c) => {
      const [u, ...d] = c.trim().split(/\s+/);
      return [abs(u, base), ...d].join(' ');
    }).join(', ');
  }

  // Undo replaycore's :hover/:focus adaptation.
  const unadapt = (css) => css.replace(/:is\(:(hover|focus), \.replay-(?:hover|focus)\)/g, ':$1');

  // The replayed rules went through the CSS parser once more, and its
  // serialization is not always stable (background: padding-box rgb(…)
  // reads back as padding-box padding-box rgb(…); transition: x linear 1s
  // as x 1s linear): the live side's rules are parsed once more too.
  let reparse = false;
  let scratch = null;
  function again(text) {
    if (!reparse) return text;
    try {
      scratch = scratch || new CSSStyleSheet();
      scratch.replaceSync(text);
    } catch (e) {
      return text;
    }
    return scratch.cssRules.length === 1 ? scratch.cssRules[0].cssText : text; // @import: not in constructed sheets
  }

  function sheetRules(sheet, base) {
    let rules;
    try {
      rules = sheet.cssRules;
    } catch (e) {
      return ['<unreadable ' + sheet.href + '>'];
    }
    const out = [];
    for (const r of rules) {
      if (r.type === 3 && r.styleSheet) {
        // The recorder inlines readable imports as one @media rule.
        out.push('@media ' + (r.media.mediaText || 'all') + ' {' + sheetRules(r.styleSheet, r.styleSheet.href).join(' ') + '}');
        continue;
      }
      out.push(unadapt(again(absCss(r.cssText, sheet.href || base))));
    }
    return out.map((t) => t.replace(/@media ([^{]*)\{\s*/g, '@media $1 { ').replace(/\s+/g, ' '));
  }

  // The mean colour of a canvas, in steps of 32 (frames are lossy WebP).
  function canvasMean(c) {
    try {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const sum = [0, 0, 0, 0];
      for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 4; k++) sum[k] += d[i + k];
      return sum.map((v) => Math.round(v / (d.length / 4) / 32)).join(',');
    } catch (e) {
      return 'unreadable';
    }
  }

  function level(el, def) {
    let l = def;
    for (let e = el; e; e = e.parentNode && e.parentNode.host ? e.parentNode.host : e.parentElement) {
      const v = e.getAttribute && e.getAttribute('data-replay-privacy');
      if (v !== null && v !== undefined && LEVELS[v] !== undefined) return LEVELS[v];
    }
    return l;
  }

  function normalize(doc, opts) {
    opts = opts || {};
    const def = LEVELS[opts.privacy || 'allow'];
    reparse = !opts.replay;
    const lines = [];
    const forms = [];
    const scroll = [];
    const media = [];
    const isPh = opts.isPlaceholder || (() => false);
    const path = [];

    function elementLine(el, depth, lvl) {
      const tag = el.namespaceURI === 'http://www.w3.org/2000/svg' ? el.localName : el.localName.toLowerCase();
      const base = el.ownerDocument.baseURI;
      if (lvl === 3) return ['<' + tag + ' HIDDEN>', false];
      const isScript = opts.replay ? isPh(el) : tag === 'script';
      if (isScript) return ['<script>', false];
      let name = tag;
      const attrs = [];
      let isSheet = false;
      if (tag === 'style' || (tag === 'link' && /\bstylesheet\b/i.test(el.rel) && el.sheet)) {
        name = 'STYLESHEET';
        isSheet = true;
        if (el.media) attrs.push('media=' + el.media);
      } else {
        for (const a of Array.from(el.attributes)) {
          // A button's value is its label, what the page shows (never masked).
          if (SKIP_ATTRS.test(a.name) && !(a.name === 'value' && tag === 'input' && /^(?:submit|button|reset)$/.test(el.type))) continue;
          if (tag === 'iframe' && a.name === 'src') continue;
          // At level mask images and links are not recorded, and a masked image is a box of its size.
          if (lvl >= 2 && (/^(?:src|srcset|href|xlink:href)$/.test(a.name) && /^(?:img|source|image|a|area)$/.test(tag) || a.name === 'style' && tag === 'img')) continue;
          let v = a.value;
          if (URL_ATTRS.includes(a.name)) v = abs(v, base);
          else if (a.name === 'srcset') v = srcset(v, base);
          else if (a.name === 'style') v = absCss(v, base);
          else if (a.name === 'class') {
            v = v.split(/\s+/).filter((c) => c && c !== 'replay-hover' && c !== 'replay-focus').join(' ');
            if (!v) continue;
          }
          if (lvl >= 2 && !opts.replay && /^(placeholder|title|alt|aria-label|aria-description|aria-placeholder|aria-roledescription|aria-valuetext|label|data-.*)$/.test(a.name)) v = v.replace(/\S/g, 'x');
          attrs.push(a.name + '=' + JSON.stringify(v));
        }
      }
      if (tag === 'dialog') attrs.push('OPEN=' + el.open + (el.open ? '/' + el.matches(':modal') : ''));
      if (el.hasAttribute('popover')) {
        try {
          attrs.push('POPOVER=' + el.matches(':popover-open'));
        } catch (e) { /* ignore */ }
      }
      attrs.sort();
      let line = '<' + name + (attrs.length ? ' ' + attrs.join(' ') : '') + '>';
      if (isSheet) {
        const rules = el.sheet ? sheetRules(el.sheet, base) : ['<no sheet>'];
        line += ' ' + JSON.stringify(rules);
      }
      return [line, !isSheet];
    }

    function walk(n, depth, lvl) {
      const pad = ' '.repeat(depth);
      switch (n.nodeType) {
        case 9:
          lines.push(pad + '#document');
          for (const c of n.childNodes) walk(c, depth + 1, lvl);
          adopted(n, depth + 1);
          return;
        case 10:
          lines.push(pad + '<!doctype ' + n.name + '>');
          return;
        case 3: {
          const p = n.parentNode;
          if (p && p.nodeType === 1 && /^(script|style|textarea)$/.test(p.localName)) return;
          let t = n.data;
          if (lvl >= 2 && !opts.replay) t = t.replace(/\S/g, 'x');
          lines.push(pad + '#text ' + JSON.stringify(t));
          return;
        }
        case 8:
          lines.push(pad + '#comment ' + JSON.stringify(lvl >= 2 ? '' : n.data.slice(0, 1000)));
          return;
        case 1: {
          const own = n.getAttribute('data-replay-privacy');
          let l = lvl;
          if (own !== null && LEVELS[own] !== undefined) l = LEVELS[own];
          // Text typed into an editing host is user input: masked where inputs are.
          if (l === 1 && n.isContentEditable) l = 2;
          const [line, descend] = elementLine(n, depth, l);
          lines.push(pad + line);
          const tag = n.localName;
          if (!descend || /^(script|noscript|textarea)$/.test(tag) && (tag !== 'noscript' || (opts.replay && isPh(n)))) {
            if (tag === 'textarea' || tag === 'input' || tag === 'select') formState(n, l);
            return;
          }
          if (tag === 'input' || tag === 'select') formState(n, l);
          if (tag === 'canvas') media.push('canvas ' + canvasMean(n));
          if (tag === 'video' || tag === 'audio') media.push(tag + ' paused=' + n.paused + (n.paused ? ' t=' + n.currentTime.toFixed(1) : '') + ' volume=' + n.volume + ' muted=' + n.muted + ' rate=' + n.playbackRate);
          if (n.scrollTop || n.scrollLeft) scroll.push(path.join('.') + ' ' + tag + ' ' + Math.round(n.scrollLeft) + ',' + Math.round(n.scrollTop));
          let i = 0;
          for (const c of n.childNodes) {
            path.push(i++);
            walk(c, depth + 1, l);
            path.pop();
          }
          if (n.shadowRoot) {
            lines.push(pad + ' #shadow-root');
            for (const c of n.shadowRoot.childNodes) walk(c, depth + 2, l);
            adopted(n.shadowRoot, depth + 2);
          }
          if (tag === 'iframe') {
            let d = null;
            try {
              d = n.contentDocument;
            } catch (e) { /* cross-origin */ }
            if (d && d.documentElement && !(opts.unrecorded && opts.unrecorded(d))) walk(d, depth + 1, l);
          }
          return;
        }
        default:
          return;
      }
    }

    function adopted(root, depth) {
      const list = (root.adoptedStyleSheets || []).filter((s) => !(opts.isOwnSheet && opts.isOwnSheet(s)));
      if (!list.length) return;
      lines.push(' '.repeat(depth) + '#adopted ' + JSON.stringify(list.map((s) => sheetRules(s, location.href))));
    }

    function formState(el, lvl) {
      const tag = el.localName;
      const type = tag === 'input' ? el.type : tag;
      let v = el.value;
      let c = el.checked;
      const secret = /^(password|email|tel|hidden)$/.test(el.getAttribute('type') || '') || /cc-|current-password|new-password|one-time-code/.test(el.getAttribute('autocomplete') || '');
      if (!opts.replay) {
        if (type === 'checkbox' || type === 'radio' || tag === 'select') {
          if (lvl >= 1 || secret) {
            v = '(masked)';
            c = '(masked)';
          }
        } else if (type !== 'submit' && type !== 'button' && (lvl >= 1 || secret)) v = '*'.repeat(v.length);
      } else if ((type === 'checkbox' || type === 'radio' || tag === 'select') && (lvl >= 1 || secret)) {
        v = '(masked)';
        c = '(masked)';
      }
      forms.push(tag + '[' + (el.name || el.id) + '] ' + JSON.stringify(v) + (type === 'checkbox' || type === 'radio' ? ' ' + c : ''));
    }

    walk(doc, 0, def);
    const se = doc.scrollingElement;
    scroll.unshift('document ' + Math.round(se.scrollLeft) + ',' + Math.round(se.scrollTop));
    return { dom: lines.join('\n'), forms: forms.join('\n'), scroll: scroll.join('\n'), media: media.join('\n') };
  }

  // A page may define Array.prototype.toJSON (Prototype.js, in
  // hostile_page_test.go): the normalizer's JSON is its own, set aside.
  window.__normalize = (...args) => {
    const own = Array.prototype.toJSON;
    delete Array.prototype.toJSON;
    try {
      return normalize(...args);
    } finally {
      if (own) Array.prototype.toJSON = own;
    }
  };
})();
