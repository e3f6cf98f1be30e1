// Test helper: hostile recordings for replaycore. Every vector here would
// run code, navigate, or load /canary if rebuilt literally. The tests rebuild
// them into an iframe WITHOUT a sandbox, so only replaycore's sanitizing
// stands between them and execution.
(function () {
  let id = 100;
  const n = () => ++id;
  const el = (tagName, attributes, childNodes, extra) => Object.assign({ type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: n() }, extra || {});
  const text = (t) => ({ type: 3, textContent: t, id: n() });
  const C = (tag) => "fetch('/canary?" + tag + "')";

  function body() {
    return [
      el('script', {}, [text(C('script-text'))]),
      el('script', { src: '/canary?script-src' }),
      el('script', { type: 'module' }, [text("import('/canary?module')")]),
      el('img', { src: '/nope.png', onerror: C('onerror') }),
      el('img', { src: 'javascript:' + C('img-js') }),
      el('img', { srcset: 'javascript:' + C('srcset') + ' 1x, /canary?srcset-ok 2x'.replace('/canary?srcset-ok', 'data:text/html,x') }),
      el('svg', { onload: C('svg-onload') }, [
        el('script', {}, [text(C('svg-script'))], { isSVG: true }),
        el('a', { 'xlink:href': 'javascript:' + C('svg-a') }, [
          el('set', { attributeName: 'href', to: 'javascript:' + C('svg-set') }, [], { isSVG: true }),
          el('animate', { attributeName: 'xlink:href', values: 'javascript:' + C('svg-animate'), dur: '0.01s', fill: 'freeze' }, [], { isSVG: true }),
          el('text', { x: '1', y: '10' }, [text('click')], { isSVG: true }),
        ], { isSVG: true }),
        el('use', { href: 'data:image/svg+xml,<svg id="x" xmlns="http://www.w3.org/2000/svg"><image href="x" onerror="' + C('use-data') + '"/></svg>#x' }, [], { isSVG: true }),
        el('foreignObject', { width: '10', height: '10' }, [el('img', { src: 'x', onerror: C('foreign') })], { isSVG: true }),
        // A prefix makes createElementNS's local name script or set.
        el('x:script', {}, [text(C('svg-prefixed-script'))], { isSVG: true }),
        el('a', { href: '#fine', id: 'svg-prefixed-a' }, [
          el('svg:set', { attributeName: 'href', to: 'javascript:' + C('svg-prefixed-set'), begin: '0s', fill: 'freeze' }, [], { isSVG: true }),
          el('text', { x: '1', y: '20' }, [text('prefixed')], { isSVG: true }),
        ], { isSVG: true }),
      ], { isSVG: true }),
      el('img', { src: '/nope.png?referrer', referrerpolicy: 'unsafe-url' }),
      el('iframe', { sandbox: 'allow-scripts allow-top-navigation allow-popups' }),
      el('a', { id: 'js-link', href: 'javascript:' + C('a-js') }, [text('a js')]),
      el('a', { href: ' java\tscript:' + C('a-ws') }, [text('a ws')]),
      el('a', { href: 'JaVaScRiPt:' + C('a-case') }, [text('a case')]),
      el('a', { href: 'vbscript:msgbox(1)' }, [text('vb')]),
      el('a', { href: 'data:text/html,<script>' + C('a-data') + '</script>' }, [text('data')]),
      el('area', { href: 'javascript:' + C('area') }),
      el('iframe', { srcdoc: '<script>' + C('srcdoc') + '</script>' }),
      el('iframe', { src: '/canary?iframe-src' }),
      el('iframe', { src: 'javascript:' + C('iframe-js') }),
      el('frame', { src: '/canary?frame' }),
      el('object', { data: '/canary?object' }),
      el('embed', { src: '/canary?embed' }),
      // A canvas's pixels become its CSS content: the URL must not end the string.
      el('canvas', { width: '10', height: '10', rr_dataURL: 'data:image/png,x"), url("/canary?canvas-content'}),
      el('canvas', { width: '10', height: '10', rr_dataURL: "data:image/png,x'), url('/canary?canvas-content2" }),
      el('canvas', { width: '10', height: '10', rr_dataURL: 'data:image/png,x") image-set("/canary?canvas-content3" 1x) url("data:image/png,x' }),
      el('canvas', { width: '10', height: '10', rr_dataURL: 'data:image/png,x") url("/canary?canvas-content4' }),
      el('applet', { code: 'x', codebase: '/canary?applet' }),
      el('form', { action: 'javascript:' + C('form-action') }, [
        el('input', { name: 'appendChild' }),
        el('input', { name: 'firstChild' }),
        el('button', { formaction: 'javascript:' + C('formaction') }, [text('submit')]),
        el('input', { type: 'image', src: '/nope.png', formaction: 'javascript:' + C('input-image') }),
      ]),
      el('details', { open: '', ontoggle: C('ontoggle') }, [el('summary', {}, [text('s')])]),
      el('video', { poster: 'javascript:' + C('poster'), src: '/nope.webm', onerror: C('video-error') }),
      el('link', { rel: 'prefetch', href: '/canary?prefetch' }),
      el('link', { rel: 'preload', as: 'script', href: '/canary?preload' }),
      el('link', { rel: 'modulepreload', href: '/canary?modulepreload' }),
      el('link', { rel: 'import', href: '/canary?import' }),
      el('link', { rel: 'serviceworker', href: '/canary?serviceworker' }),
      el('link', { rel: 'stylesheet preload', as: 'script', href: 'javascript:' + C('link-js') }),
      el('a', { href: '/fine', ping: '/canary?ping' }, [text('ping')]),
      el('script', { type: 'text/x-template' }, [text('<img src=x onerror="' + C('template-script') + '">')]),
      el('table', { background: 'javascript:' + C('table-background') }),
      el('img', { src: '/nope.png', srcset: 'vbscript:x 1x, javascript:' + C('srcset2') + ' 2x', lowsrc: 'javascript:' + C('lowsrc') }),
      el('div', { style: 'background:url(javascript:' + C('style') + ')', onclick: C('onclick'), onmouseover: C('mouseover') }, [text('div')]),
      el('math', {}, [el('maction', { actiontype: 'statusline', 'xlink:href': 'javascript:' + C('maction') }, [text('m')])]),
      el('noscript', {}, [el('img', { src: 'x', onerror: C('noscript-img') })]),
      el('img', { name: 'createElement' }),
      el('img', { name: 'documentElement' }),
      el('portal', { src: '/canary?portal' }),
      el('input', { autofocus: '', onfocus: C('autofocus') }),
      el('p', { id: 'after-clobber' }, [text('still built')]),
    ];
  }

  /** A full snapshot event with the hostile document. */
  function snapshot() {
    id = 100;
    return {
      type: 2,
      timestamp: 1,
      data: {
        node: {
          type: 0,
          id: 1,
          childNodes: [
            { type: 1, name: 'html', publicId: '', systemId: '', id: 2 },
            el('html', {}, [
              el('head', {}, [
                el('meta', { 'http-equiv': 'refresh', content: '0;url=/canary?refresh' }),
                el('meta', { 'http-equiv': 'Content-Security-Policy', content: "default-src 'none'" }),
                el('meta', { 'http-equiv': 'Set-Cookie', content: 'replay=pwned; path=/' }),
                el('base', { href: 'http://canary.invalid/', target: '_top' }),
                el('meta', { name: 'referrer', content: 'unsafe-url' }),
                el('style', {}, [text('body{color:black}')]),
              ]),
              el('body', { onload: C('body-onload') }, body()),
            ]),
          ],
        },
        initialOffset: { left: 0, top: 0 },
      },
    };
  }

  /** Incremental events that try the same through mutations. */
  function mutations(targetId, iframeId, metaId, scriptId) {
    const m = (d) => ({ type: 3, timestamp: 2, data: Object.assign({ source: 0, texts: [], attributes: [], removes: [], adds: [] }, d) });
    return [
      m({ attributes: [{ id: targetId, attributes: { onclick: C('mut-onclick'), href: 'javascript:' + C('mut-href'), style: 'color:red' } }] }),
      m({ attributes: [{ id: iframeId, attributes: { src: '/canary?mut-iframe', srcdoc: '<script>' + C('mut-srcdoc') + '</script>' } }] }),
      m({ attributes: [{ id: iframeId, attributes: { sandbox: null } }] }),
      m({ attributes: [{ id: iframeId, attributes: { SANDBOX: 'allow-scripts allow-same-origin allow-top-navigation' } }] }),
      m({ attributes: [{ id: metaId, attributes: { name: ' Referrer', content: 'unsafe-url' } }] }),
      m({ attributes: [{ id: targetId, attributes: { referrerpolicy: 'unsafe-url' } }] }),
      m({ attributes: [{ id: metaId, attributes: { 'http-equiv': 'refresh', content: '0;url=/canary?mut-refresh' } }] }),
      m({ adds: [{ parentId: scriptId, nextId: null, node: { type: 3, textContent: C('mut-script-text'), id: 5000 } }] }),
      m({ adds: [{ parentId: targetId, nextId: null, node: { type: 2, tagName: 'script', attributes: { src: '/canary?mut-script' }, childNodes: [{ type: 3, textContent: C('mut-script2'), id: 5002 }], id: 5001 } }] }),
      m({ adds: [{ parentId: targetId, nextId: null, node: { type: 2, tagName: 'img', attributes: { src: 'x', onerror: C('mut-img') }, childNodes: [], id: 5003 } }] }),
      m({ adds: [{ parentId: targetId, nextId: null, node: { type: 2, tagName: 'svg', isSVG: true, attributes: {}, childNodes: [{ type: 2, tagName: 'set', isSVG: true, attributes: { attributeName: 'fill', to: 'javascript:' + C('mut-set') }, childNodes: [], id: 5005 }], id: 5004 } }] }),
      m({ attributes: [{ id: 5005, attributes: { attributeName: 'href' } }] }),
      m({ texts: [{ id: scriptId, value: C('mut-text') }] }),
      m({ adds: [{ parentId: iframeId, nextId: null, node: { type: 0, id: 6000, childNodes: [{ type: 2, tagName: 'html', id: 6001, attributes: {}, childNodes: [{ type: 2, tagName: 'body', id: 6002, attributes: { onload: C('frame-body') }, childNodes: [{ type: 2, tagName: 'script', id: 6003, attributes: {}, childNodes: [{ type: 3, id: 6004, textContent: C('frame-script') }] }, { type: 2, tagName: 'img', id: 6005, attributes: { src: 'x', onerror: C('frame-img') }, childNodes: [] }] }] }] } }], isAttachIframe: true }),
      { type: 3, timestamp: 3, data: { source: 8, id: 106, adds: [{ rule: 'body { background: url("javascript:' + C('css') + '") }', index: 0 }] } },
    ];
  }

  /** Garbage: wrong types, missing fields, cycles, huge numbers. Nothing may throw. */
  function garbage(seed) {
    let s = seed;
    const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pick = (a) => a[Math.floor(rnd() * a.length)];
    const values = [null, undefined, 0, -1, 1.5, 1e308, NaN, '', 'x', 'script', '<img onerror=x>', [], {}, [1, 2], { id: 1 }, true, 'javascript:alert(1)', 2, 3, 101, 102, 103, 110];
    const rv = () => {
      const v = pick(values);
      return Array.isArray(v) ? v.slice() : v && typeof v === 'object' ? Object.assign({}, v) : v;
    };
    const out = [];
    for (let i = 0; i < 400; i++) {
      const e = { type: pick([0, 1, 2, 3, 3, 3, 4, 5, 6, 7, rv()]), timestamp: rv(), data: {} };
      const d = e.data;
      d.source = pick([0, 0, 0, 1, 2, 3, 5, 7, 8, 9, 13, 15, rv()]);
      for (const k of ['id', 'x', 'y', 'text', 'isChecked', 'type', 'styleId', 'index', 'rule', 'replaceSync', 'node', 'width', 'height', 'href']) if (rnd() < 0.3) d[k] = rv();
      if (rnd() < 0.5) d.adds = [{ parentId: rv(), nextId: rv(), node: { type: pick([0, 1, 2, 3, 5, rv()]), tagName: pick(['div', 'script', 'iframe', 'svg', '1bad', rv()]), id: rv(), attributes: pick([{ onclick: 'x' }, { src: 'javascript:x' }, rv()]), childNodes: pick([[], rv(), [{ type: 2, id: rv(), tagName: 'b' }]]), isShadow: rv(), isSVG: rv() } }];
      if (rnd() < 0.3) d.removes = [{ parentId: rv(), id: rv() }, rv()];
      if (rnd() < 0.3) d.texts = [{ id: rv(), value: rv() }, rv()];
      if (rnd() < 0.3) d.attributes = [{ id: rv(), attributes: rv() }, { id: rv(), attributes: { style: { color: ['red', 'important'] }, onclick: 'x', rr_open_mode: rv() } }];
      if (rnd() < 0.2) d.positions = [{ x: rv(), y: rv(), id: rv() }];
      if (rnd() < 0.2) d.commands = [{ property: pick(['fillRect', 'drawImage', 'constructor', '__proto__', rv()]), args: [rv(), rv()] }];
      if (rnd() < 0.2) d.styles = [{ styleId: rv(), rules: [{ rule: rv(), index: rv() }] }];
      if (rnd() < 0.1) e.data = rv();
      out.push(e);
    }
    return out;
  }

  /** Everything dangerous still present in doc (and its frames). */
  function audit(doc) {
    const bad = [];
    const urlAttr = /^(?:href|src|action|formaction|xlink:href|poster|background|data|codebase|srcset|lowsrc|to|values|from)$/i;
    const walk = (root, where) => {
      for (const e of root.querySelectorAll('*')) {
        const tag = e.localName.toLowerCase();
        if (tag === 'script') bad.push(where + ': <script>');
        if (tag === 'base' && (e.hasAttribute('href') || e.hasAttribute('target'))) bad.push(where + ': <base href>');
        if (tag === 'meta' && e.hasAttribute('http-equiv')) bad.push(where + ': meta http-equiv');
        if (tag === 'meta' && /^\s*referrer\s*$/i.test(e.getAttribute('name') || '')) bad.push(where + ': meta name=referrer');
        if (e.hasAttribute('referrerpolicy')) bad.push(where + ': ' + tag + ' referrerpolicy');
        if (e.hasAttribute('ping')) bad.push(where + ': ' + tag + ' ping');
        if (tag === 'link' && e.hasAttribute('href') && !/\bstylesheet\b|icon/i.test(e.getAttribute('rel') || '')) bad.push(where + ': link rel=' + e.getAttribute('rel') + ' href');
        if ((tag === 'iframe' || tag === 'frame') && e.getAttribute('sandbox') !== 'allow-same-origin') bad.push(where + ': ' + tag + ' sandbox=' + e.getAttribute('sandbox'));
        if (e.namespaceURI === 'http://www.w3.org/2000/svg' && e.localName === 'a' && e.href && /script:/i.test(e.href.animVal)) bad.push(where + ': animated svg href ' + e.href.animVal);
        if ((tag === 'iframe' || tag === 'frame' || tag === 'portal') && (e.hasAttribute('src') || e.hasAttribute('srcdoc'))) bad.push(where + ': ' + tag + ' src/srcdoc');
        if (tag === 'object' && e.hasAttribute('data')) bad.push(where + ': object data');
        if (tag === 'embed' && e.hasAttribute('src')) bad.push(where + ': embed src');
        if (tag === 'noscript' && e.firstChild && e.firstChild.nodeType === 1) {
          // Children of a real <noscript> are fine only when sanitized like everything else.
        }
        if ((tag === 'set' || tag === 'animate') && /href|^on/i.test(e.getAttribute('attributeName') || '')) bad.push(where + ': animation of ' + e.getAttribute('attributeName'));
        for (const a of Array.from(e.attributes)) {
          if (/^on/i.test(a.name)) bad.push(where + ': ' + tag + ' ' + a.name);
          if (a.name === 'srcdoc') bad.push(where + ': srcdoc');
          if (urlAttr.test(a.name)) {
            const v = a.value.replace(/[\u0000-\u0020]/g, '').toLowerCase();
            if (/(^|,)(javascript|vbscript):|data:text\/html/.test(v)) bad.push(where + ': ' + tag + ' ' + a.name + '=' + a.value);
          }
        }
        if (e.shadowRoot) walk(e.shadowRoot, where + ' shadow');
        if (tag === 'iframe' && e.contentDocument) walk(e.contentDocument, where + ' frame');
      }
    };
    walk(doc, 'doc');
    return bad;
  }

  window.Hostile = { snapshot, mutations, garbage, audit };
})();
