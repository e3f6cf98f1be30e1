// The second wall: what a rebuilt document may contain.
//
// The player's iframe is sandboxed without allow-scripts, so nothing could
// run anyway. These rules make sure that even without the sandbox the
// rebuilt document holds nothing that runs or navigates: no script, no event
// handler, no javascript:/vbscript:/data:text/html URL, no meta refresh, no
// srcdoc, no <base>, no plugin payload, no outside iframe; and nothing that
// widens what the player's own policy allows (a frame's sandbox, the
// referrer policy: the rebuilt document's URL is the player's, with the
// session id in it, and recorded resources load from hosts the recording
// names).

// Attributes whose value is a URL (or a list of them, for srcset).
const URL_ATTRS = new Set([
  'href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'background',
  'cite', 'data', 'codebase', 'longdesc', 'lowsrc', 'dynsrc', 'usemap',
  'manifest', 'icon', 'profile', 'archive', 'classid', 'itemtype', 'srcset',
  'imagesrcset', 'ping', 'attributionsrc',
]);

// Attributes dropped on specific elements (payloads and navigations).
const DROP = {
  // The rebuilder sets a frame's sandbox itself; a recorded one could only
  // widen it.
  iframe: ['src', 'srcdoc', 'allow', 'sandbox'],
  frame: ['src', 'sandbox'],
  // Without its type too, an <object> shows its fallback content (often an
  // <img> of the same figure), as a browser does when the data cannot be
  // shown, or without fallback an empty box of its size; with an image
  // type left, Chromium draws an empty box over the fallback.
  object: ['data', 'codebase', 'classid', 'archive', 'codetype', 'type', 'typemustmatch'],
  embed: ['src', 'code', 'codebase'],
  applet: ['code', 'codebase', 'archive', 'object'],
  portal: ['src'],
  fencedframe: ['src', 'config'],
  base: ['href', 'target'],
  meta: ['http-equiv'],
  noscript: ['src'],
};

// Attributes dropped everywhere.
// referrerpolicy: "unsafe-url" on an <img> or <link> would send the
// player's URL to the host the recording names.
const DROP_ALL = new Set(['srcdoc', 'ping', 'autofocus', 'attributionsrc', 'nonce', 'referrerpolicy']);

const SMIL = new Set(['animate', 'set', 'animatemotion', 'animatetransform', 'animatecolor', 'discard']);

// Resource data: URLs that cannot carry a document. SVG is allowed only where
// it is decoded as an image.
const DATA_SAFE = /^data:(?:image\/(?:png|gif|jpe?g|pjpeg|webp|avif|bmp|x-icon|vnd\.microsoft\.icon|apng|jxl)|font\/[\w.+-]+|audio\/[\w.+-]+|video\/[\w.+-]+|application\/(?:font-woff2?|x-font-[\w.+-]+|vnd\.ms-fontobject|octet-stream))[;,]/;
const DATA_SVG = /^data:image\/svg\+xml[;,]/;
const DATA_CSS = /^data:text\/css[;,]/;
const NAV_SCHEMES = new Set(['', 'http', 'https', 'mailto', 'tel', 'sms', 'ftp']);
const RES_SCHEMES = new Set(['', 'http', 'https', 'blob']);

/** The lower-case scheme of url, as a browser would parse it ('' if relative). */
export function schemeOf(url) {
  // Browsers strip leading C0 controls and spaces and ignore tabs and
  // newlines anywhere in a URL: "java\tscript:" is javascript:.
  const s = url.replace(/[\u0000-\u0020\u007f]/g, '');
  const m = /^([a-zA-Z][a-zA-Z0-9+.\-]*):/.exec(s);
  return m ? m[1].toLowerCase() : '';
}

/**
 * Returns url when it may be used for a resource of kind ('image', 'font',
 * 'media', 'stylesheet', 'other', or 'nav' for links and form targets), else
 * null.
 */
export function safeURL(url, kind) {
  const scheme = schemeOf(url);
  if (scheme === 'data') {
    if (kind === 'nav' || kind === 'other') return null;
    const s = url.replace(/[\u0000-\u0020\u007f]/g, '').slice(0, 64).toLowerCase();
    if (DATA_SAFE.test(s)) return url;
    if (kind === 'image' && DATA_SVG.test(s)) return url;
    if (kind === 'stylesheet' && DATA_CSS.test(s)) return url;
    return null;
  }
  if (kind === 'nav') return NAV_SCHEMES.has(scheme) ? url : null;
  return RES_SCHEMES.has(scheme) ? url : null;
}

/** The kind of resource attribute name of element tag points at. */
function urlKind(tag, name, attrs) {
  switch (name) {
    case 'srcset':
    case 'imagesrcset':
    case 'poster':
      return 'image';
    case 'src':
      if (tag === 'img' || tag === 'input' || tag === 'image') return 'image';
      if (tag === 'video' || tag === 'audio' || tag === 'track') return 'media';
      if (tag === 'source') return 'media';
      return 'other';
    case 'href':
    case 'xlink:href':
      if (tag === 'a' || tag === 'area') return 'nav';
      if (tag === 'image' || tag === 'feimage') return 'image';
      if (tag === 'link') return linkKind(attrs);
      if (tag === 'use') return 'fragment';
      return 'other';
    case 'action':
    case 'formaction':
    case 'cite':
    case 'longdesc':
      return 'nav';
    case 'background':
      return 'image';
    default:
      return 'other';
  }
}

function linkKind(attrs) {
  const rel = String((attrs && attrs.rel) || '').toLowerCase();
  const as = String((attrs && attrs.as) || '').toLowerCase();
  if (/\bstylesheet\b/.test(rel)) return 'stylesheet';
  if (/\bicon\b|apple-touch-icon|mask-icon/.test(rel)) return 'image';
  if (/\bpreload\b/.test(rel)) {
    if (as === 'style') return 'stylesheet';
    if (as === 'font') return 'font';
    if (as === 'image') return 'image';
  }
  return null; // prefetch, modulepreload, import, manifest, ...: not needed to render
}

/** Parses a srcset value into [url, descriptor] pairs (data: URLs contain commas). */
export function parseSrcset(value) {
  const out = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && /[\s,]/.test(value[i])) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && !/\s/.test(value[j])) j++;
    let url = value.slice(i, j);
    let desc = '';
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      let k = j;
      while (k < n && value[k] !== ',') k++;
      desc = value.slice(j, k).trim();
      j = k + 1;
    }
    out.push([url, desc]);
    i = j;
  }
  return out;
}

/**
 * Sanitizes one attribute of an element about to be set. tag is the local
 * name in lower case, attrs the element's other serialized attributes (for
 * context such as a link's rel), resolve the caller's resolveURL. Returns
 * the value to set, or null to leave the attribute out.
 */
export function sanitizeAttribute(tag, name, value, attrs, resolve) {
  const lname = name.toLowerCase();
  if (lname.startsWith('on')) return null;
  if (DROP_ALL.has(lname)) return null;
  const drop = DROP[tag];
  if (drop && drop.includes(lname)) return null;
  if (tag === 'script' || tag === 'noscript') {
    // The inert placeholder keeps only what identifies it.
    return lname === 'id' || lname === 'class' || lname === 'type' ? value : null;
  }
  if (SMIL.has(tag) && (lname === 'to' || lname === 'from' || lname === 'values' || lname === 'by' || lname === 'href' || lname === 'xlink:href')) {
    // An animation may rewrite href into javascript:, or animate an event
    // handler. Values are kept only for plain presentation attributes.
    if (lname === 'href' || lname === 'xlink:href') return value.trim().charAt(0) === '#' ? value : null;
    const target = String((attrs && (attrs.attributeName || attrs.attributename)) || '').toLowerCase().trim();
    if (!target || /href$|^on|^(?:src|action|formaction|style)$/.test(target)) return null;
    return value;
  }
  if (SMIL.has(tag) && lname === 'attributename') {
    const v = value.toLowerCase().trim();
    if (/href$|^on|^(?:src|action|formaction|style)$/.test(v)) return null;
  }
  // <meta name=referrer> sets the document's referrer policy, as the
  // attribute does for one element: the meta stays, without its meaning.
  if (tag === 'meta' && lname === 'name' && value.trim().toLowerCase() === 'referrer') return null;
  if (lname === 'style') return resolve ? rewriteCssUrls(value, resolve) : value;
  if (!URL_ATTRS.has(lname)) return value;
  if (lname === 'ping' || lname === 'attributionsrc') return null;
  if (lname === 'srcset' || lname === 'imagesrcset') {
    const parts = [];
    for (const [url, desc] of parseSrcset(value)) {
      const ok = safeURL(url, 'image');
      const out = ok === null ? '' : resolve ? resolve(ok, 'image') : ok;
      if (!out) continue;
      parts.push(out + (desc ? ' ' + desc : ''));
    }
    return parts.join(', ');
  }
  const kind = urlKind(tag, lname, attrs);
  if (kind === null) return null;
  if (kind === 'fragment') {
    // <use href> may point inside the document or at an http(s) sprite, never at data:.
    const s = schemeOf(value);
    if (s === '') return value;
    return (s === 'http' || s === 'https') && (!resolve || resolve(value, 'image')) ? value : null;
  }
  const ok = safeURL(value, kind);
  // A link to javascript: (or another scheme a replay must not follow)
  // still looks like a link: an inert same-document href keeps it styled
  // as one (:link, the UA's colour and underline).
  if (ok === null) return kind === 'nav' && (tag === 'a' || tag === 'area') && lname === 'href' ? '#' : null;
  if (resolve && kind !== 'nav' && kind !== 'other') return resolve(ok, kind);
  return ok;
}

/**
 * Rewrites url(...) and @import targets in CSS text through resolve, and
 * removes URLs that are not safe resources.
 */
export function rewriteCssUrls(css, resolve) {
  if (css.indexOf('url(') < 0 && css.indexOf('@import') < 0) return css;
  return css.replace(/url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)'"\s]*))\s*\)|@import\s+(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')/g, (m, d, s, u, id, is) => {
    const isImport = m.charAt(0) === '@';
    const raw = isImport ? (id ?? is) : (d ?? s ?? u);
    if (!raw || raw.charAt(0) === '#') return m;
    const kind = isImport ? 'stylesheet' : /\.(?:woff2?|ttf|otf|eot)(?:[?#]|$)/i.test(raw) ? 'font' : 'image';
    const ok = safeURL(raw, kind);
    const out = ok === null ? '' : resolve ? resolve(ok, kind) : ok;
    // Unchanged and free of escapes: the author's text stays as it is.
    if (out === raw && raw.indexOf('\\') < 0) return m;
    const q = JSON.stringify(out);
    return isImport ? '@import ' + q : 'url(' + q + ')';
  });
}
