// Fixture of recorder/hostile_page_test.go: a page whose scripts patch,
// break or take away what the recorder uses (?case=<name>), before it
// loads (before, parsed) or after it started (after). The page notes every
// exception its own code sees in window.__pageErrors.
window.__pageErrors = [];
(function () {
  const kase = new URLSearchParams(location.search).get('case') || '';
  const note = (where, e) => __pageErrors.push(where + ': ' + ((e && e.message) || e));
  addEventListener('error', (e) => note('uncaught', e.message));
  addEventListener('unhandledrejection', (e) => note('unhandled rejection', e.reason));
  window.__calls = 0;
  // The page's own elements, made through the prototype: in case clobber,
  // an <img name="createElement"> shadows document.createElement.
  const make = (tag) => Document.prototype.createElement.call(document, tag);
  // wrap replaces obj[name] with a wrapper that counts and calls through.
  const wrap = (obj, name) => {
    const orig = obj[name];
    obj[name] = function (...args) {
      __calls++;
      return Reflect.apply(orig, this, args);
    };
  };
  const weakMapPolyfill = () => {
    // An old polyfill's WeakMap: the value lives on the key, under a hidden name.
    let n = 0;
    window.WeakMap = function () { this.k = '__wm' + n++; };
    WeakMap.prototype.set = function (o, v) { Object.defineProperty(o, this.k, { value: v, configurable: true, writable: true }); return this; };
    WeakMap.prototype.get = function (o) { return Object.prototype.hasOwnProperty.call(o, this.k) ? o[this.k] : undefined; };
    WeakMap.prototype.has = function (o) { return Object.prototype.hasOwnProperty.call(o, this.k); };
    WeakMap.prototype.delete = function (o) { return delete o[this.k]; };
  };
  const wrapCollections = () => {
    for (const C of [Map, Set, WeakMap, WeakSet]) for (const m of ['get', 'set', 'has', 'add', 'delete']) if (C.prototype[m]) wrap(C.prototype, m);
  };
  const framework = () => {
    // A router's own pushState: the original it captured, then its listeners.
    const orig = history.pushState;
    history.pushState = function (...args) {
      orig.apply(this, args);
      window.__routed = (window.__routed || 0) + 1;
    };
  };
  const cases = {
    plain: {},
    arrayWrap: { before: () => ['push', 'concat', 'map'].forEach((m) => wrap(Array.prototype, m)) },
    arrayWrapAfter: { after: () => ['push', 'concat', 'map'].forEach((m) => wrap(Array.prototype, m)) },
    // Prototype.js 1.6: arrays serialize themselves as a string.
    // Prototype.js 1.6: toJSON on Array (every array becomes a string of
    // JSON), String, Number and Boolean.
    arrayToJSON: {
      before: () => {
        Array.prototype.toJSON = function () { return '[' + Array.from(this, (x) => JSON.stringify(x)).join(', ') + ']'; };
        for (const C of [String, Number, Boolean]) C.prototype.toJSON = function () { return 'toJSON ' + this; };
      },
    },
    arrayToJSONAfter: { after: () => cases.arrayToJSON.before() },
    // A library's Object.prototype.toJSON (not enumerable): every object
    // but an array (the test's own normalization stringifies arrays in the
    // page) gains a key.
    objectToJSON: { before: () => Object.defineProperty(Object.prototype, 'toJSON', { value() { return Array.isArray(this) ? this : { ...this, polluted: true }; }, writable: true, configurable: true }) },
    jsonWrap: { before: () => wrap(JSON, 'stringify'), after: () => wrap(JSON, 'parse') },
    // Enumerable Object.prototype properties (for-in and the in operator
    // see them); a submit button without a value shows its default label.
    protoType: {
      before: () => { Object.prototype.type = 1; Object.prototype.id = 1; Object.prototype.value = 'polluted'; Object.prototype.checked = true; Object.prototype.rootId = 7; },
      parsed: () => document.body.insertAdjacentHTML('beforeend', '<input type="submit" name="go">'),
    },
    protoGetter: { before: () => { for (const k of ['attributes', 'childNodes', 'tagName', 'textContent', 'source', 'parentId', 'nextId', 'data', 'isSVG']) Object.defineProperty(Object.prototype, k, { get() { return 'polluted'; }, set(v) { Object.defineProperty(this, k, { value: v, writable: true, enumerable: true, configurable: true }); }, configurable: true }); } },
    protoThen: { before: () => { Object.prototype.then = 'polluted'; } },
    promiseShim: { before: () => { const P = Promise; window.Promise = class ZoneAwarePromise extends P { then(a, b) { __calls++; return super.then(a, b); } }; } },
    collections: { before: wrapCollections },
    collectionsAfter: { after: wrapCollections },
    weakMapPolyfill: { before: weakMapPolyfill },
    callApply: { before: () => { wrap(Function.prototype, 'call'); wrap(Function.prototype, 'apply'); } },
    listenerWrap: { before: () => wrap(EventTarget.prototype, 'addEventListener') },
    listenerThrows: { before: () => { EventTarget.prototype.addEventListener = function () { throw new Error('no listeners here'); }; } },
    pushStateBefore: { before: framework },
    pushStateAfter: { after: framework },
    shadowWrap: { before: () => { wrap(Element.prototype, 'attachShadow'); wrap(CSSStyleSheet.prototype, 'insertRule'); } },
    shadowWrapAfter: { after: () => { wrap(Element.prototype, 'attachShadow'); wrap(CSSStyleSheet.prototype, 'insertRule'); } },
    noMutationObserver: { before: () => { delete window.MutationObserver; } },
    noWorker: { before: () => { delete window.Worker; } },
    workerThrows: { before: () => { window.Worker = function () { throw new Error('workers are off'); }; } },
    noCompressionStream: { before: () => { delete window.CompressionStream; } },
    fetchWrap: { before: () => wrap(window, 'fetch') },
    fetchThrows: { after: () => { window.fetch = () => { throw new TypeError('fetch is off'); }; } },
    noSendBeacon: { before: () => { delete Navigator.prototype.sendBeacon; } },
    cookieThrows: { before: () => Object.defineProperty(document, 'cookie', { get() { throw new DOMException('no cookies', 'SecurityError'); }, set() { throw new DOMException('no cookies', 'SecurityError'); } }) },
    cookieIgnored: { before: () => Object.defineProperty(document, 'cookie', { get() { return ''; }, set() {} }) },
    sessionStorageThrows: { before: () => Object.defineProperty(window, 'sessionStorage', { get() { throw new DOMException('no storage', 'SecurityError'); } }) },
    xhtml: {},
    sandboxed: {
      // The frame reports to its parent (hostile-frame.html) once it worked.
      parsed: () => addEventListener('load', () => setTimeout(() => {
        hostile.work();
        setTimeout(() => parent.postMessage({ errors: __pageErrors, started: !!(window.__replayTestHooks && __replayTestHooks.view && __replayTestHooks.view()) }, '*'), 500);
      }, 500)),
    },
    frozenAPI: { before: () => Object.defineProperty(window, 'SessionReplay', { value: Object.freeze({ mine: true }), writable: false, configurable: false }) },
    cspWorker: {}, // the CSP is in the response (hostile_page_test.go)
    noHeadBody: {
      after: () => {
        const root = document.documentElement;
        for (const n of Array.from(document.body.childNodes)) if (n.localName !== 'script') root.appendChild(n);
        document.head.remove();
        document.body.remove();
      },
    },
    manyNodes: {
      parsed: () => {
        const f = document.createDocumentFragment();
        for (let i = 0; i < 50000; i++) {
          const s = document.createElement('i');
          s.textContent = i % 10;
          f.appendChild(s);
        }
        document.body.appendChild(f);
      },
    },
    bigText: { parsed: () => document.body.appendChild(document.createElement('pre')).appendChild(document.createTextNode('BIGTEXT' + 'x'.repeat(5 * 1024 * 1024))) },
    oddNames: {
      parsed: () => {
        const d = document.body.appendChild(document.createElement('div'));
        for (const n of ['constructor', 'hasOwnProperty', 'toString', 'valueOf', 'toJSON']) d.setAttribute(n, 'attr ' + n);
        d.id = 'toString';
        for (const n of ['valueOf', 'hasOwnProperty', '__proto__', 'constructor']) document.body.appendChild(document.createElement('p')).id = n;
      },
      after: () => {
        const d = document.getElementById('toString');
        d.setAttribute('constructor', 'changed');
      },
    },
    // An attribute named __proto__ (replaycore's checkpoints lose it: no round trip).
    protoAttr: {
      parsed: () => document.body.appendChild(document.createElement('div')).setAttribute('__proto__', 'PROTO_ATTR_PARSED'),
      after: () => document.body.lastElementChild.setAttribute('__proto__', 'PROTO_ATTR_CHANGED'),
    },
    clobber: {
      parsed: () => {
        // Named elements shadow document and window members (DOM clobbering).
        document.body.insertAdjacentHTML('beforeend', '<img name="querySelector"><img name="createElement"><img name="createTreeWalker"><img name="addEventListener"><img name="cookie"><form name="title"></form><form name="body"></form>' +
          '<div id="addEventListener"></div><div id="setTimeout"></div><div id="location"></div><div id="matchMedia"></div><div id="innerWidth"></div><div id="scrollX"></div><div id="getComputedStyle"></div><div id="MutationObserver"></div><div id="crypto"></div><div id="CSSStyleSheet"></div>');
      },
    },
    customElementThrows: {
      parsed: () => {
        customElements.define('x-bad', class extends HTMLElement { constructor() { super(); throw new Error('bad constructor'); } });
        document.body.insertAdjacentHTML('beforeend', '<x-bad id="bad">bad element</x-bad>');
      },
      after: () => document.body.insertAdjacentHTML('beforeend', '<x-bad>another bad element</x-bad>'),
    },
    docWrite: {
      after: () => {
        document.open();
        document.write('<!DOCTYPE html><html><head><title>Written</title></head><body><h1>Written after load</h1><input id="w" value="w"></body></html>');
        document.close();
      },
    },
    replaceRoot: {
      after: () => {
        const html = document.createElement('html');
        html.innerHTML = '<head><title>New root</title></head><body><h1>A new root element</h1></body>';
        document.replaceChild(html, document.documentElement);
      },
    },
  };
  const c = cases[kase];
  if (!c) note('fixture', 'unknown case ' + kase);
  const run = (where) => {
    try {
      if (c && c[where]) c[where]();
    } catch (e) {
      note(where, e);
    }
  };
  window.hostile = {
    before: () => run('before'),
    parsed: () => run('parsed'),
    after: () => run('after'),
    // What the page does while it is recorded; each step's exception is noted.
    work() {
      const parent = document.body || document.documentElement;
      const steps = {
        append() {
          const ul = parent.appendChild(make('ul'));
          for (let i = 0; i < 5; i++) ul.appendChild(make('li')).textContent = 'item ' + i;
          ul.firstChild.remove();
          ul.lastChild.setAttribute('class', 'last');
          ul.children[1].textContent = 'changed';
        },
        type() {
          const input = parent.appendChild(make('input'));
          input.value = 'typed';
          input.dispatchEvent(new Event('input', { bubbles: true }));
          const box = parent.appendChild(make('input'));
          box.type = 'checkbox';
          box.click();
        },
        shadow() {
          const host = parent.appendChild(make('div'));
          host.attachShadow({ mode: 'open' }).innerHTML = '<b>in a shadow root</b>';
        },
        css() {
          const style = parent.appendChild(make('style'));
          style.sheet.insertRule('b { color: red; }', 0);
        },
        json() {
          if (JSON.parse(JSON.stringify({ a: [1, 2] })).a === undefined) throw new Error('JSON broken');
        },
        timers() {
          setTimeout(() => { parent.appendChild(make('hr')); }, 0);
          Promise.resolve().then(() => parent.appendChild(make('br')));
        },
      };
      for (const [name, step] of Object.entries(steps)) {
        try {
          step();
        } catch (e) {
          note('work ' + name, e);
        }
      }
    },
    // A client-side route change.
    route() {
      try {
        history.pushState({}, '', location.pathname + location.search + '&route=2');
        (document.body || document.documentElement).appendChild(make('h2')).textContent = 'route 2';
      } catch (e) {
        note('route', e);
      }
    },
  };
})();
