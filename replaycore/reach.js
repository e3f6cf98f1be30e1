// Which recorded resource URLs the operator's browser may fetch.
//
// Rebuilding a page loads its images, stylesheets, fonts and media from
// the URLs in the recording, from the browser of whoever watches it. A
// recording is whatever a visitor's browser (or anyone who can reach the
// collector) sent, so one that points at http://192.168.1.1/… or
// http://localhost:8080/admin would make the player send requests into
// the operator's own network. Such URLs are dropped, except on the
// player's own host (any port; all loopback names count as one host): a
// site developed on localhost and watched in a player on localhost keeps
// its images. What the recording says about its own page (its URL) is
// not trusted for this: it is as forgeable as the rest.
//
// Private means: loopback, private, shared (CGNAT), link-local and
// benchmark IPv4 ranges and their IPv6 counterparts (in any spelling the
// URL parser accepts, e.g. http://0x7f.1/), `localhost`, names without a
// dot, and names under the suffixes used for internal networks. A public
// name that resolves to a private address cannot be told apart here.

const INTERNAL_SUFFIX = /(?:^|\.)(?:localhost|local|internal|intranet|lan|corp|private|home\.arpa)$/;
// A URL that starts with its scheme. Schemes other than http(s) (data:,
// blob:) name nothing to fetch from a network; http and https go to the
// URL parser, which also reads the http:/host and http:host forms.
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const HTTP = /^https?$/i;

const cache = new Map(); // host -> private?

/** Whether hostname (as URL.hostname gives it, lower case) is private. */
export function isPrivateHost(hostname) {
  let v = cache.get(hostname);
  if (v === undefined) {
    v = privateHost(hostname);
    if (cache.size > 4096) cache.clear();
    cache.set(hostname, v);
  }
  return v;
}

function privateHost(h) {
  if (h.charAt(0) === '[') return privateV6(h.slice(1, -1));
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  if (m) return privateV4(+m[1], +m[2]);
  return h.indexOf('.') < 0 || INTERNAL_SUFFIX.test(h.replace(/\.$/, ''));
}

function privateV4(a, b) {
  return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 198 && (b === 18 || b === 19)) || a >= 224;
}

function privateV6(h) {
  if (h === '::' || h === '::1') return true;
  // IPv4-mapped, as the URL parser writes it: ::ffff:7f00:1
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) {
    const hi = parseInt(mapped[1], 16);
    return privateV4(hi >> 8, hi & 255);
  }
  const first = parseInt(h.split(':')[0] || '0', 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

// The host a URL names, with every loopback name and address as one.
function hostKey(hostname) {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname) ? 'loopback' : hostname;
}

/**
 * Returns a function telling whether a resource URL may be fetched from a
 * document whose base URL is base() (the player's page, for the replay
 * frame): URLs are resolved against it as the browser would.
 */
export function reachable(base) {
  let lastBase = null;
  let baseURL = null;
  // Decisions by the URL's beginning up to the first '/' after its
  // scheme's slashes: the host ends at or before that '/', so every URL
  // that begins so has the same host. A page's URLs share a few such
  // beginnings, and the URL parser runs once for each.
  const decided = new Map();
  const decide = (url) => {
    let u;
    try {
      u = new URL(url, baseURL || undefined);
    } catch (e) {
      return false; // what the URL parser cannot read is not fetched either
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return true; // data:, blob: (checked by the sanitizer)
    // A backslash in CSS text may be an escape the CSS parser reads before
    // the URL parser does (127\\2e 0\\2e 0\\2e 1): fail closed.
    if (url.indexOf('\\') >= 0) return false;
    // The player's own host (any port): the operator's machine or name.
    if (baseURL && hostKey(u.hostname) === hostKey(baseURL.hostname)) return true;
    return !isPrivateHost(u.hostname);
  };
  let lastKey = ''; // the last beginning decided, and its decision
  let lastValue = false;
  return (url) => {
    // Runs for every resource URL a seek restores: the common cases
    // (http(s) URLs in a row from the same host, data: URLs) without a
    // regular expression or a new string.
    const http = isHTTP(url);
    if (http && lastKey !== '' && url.startsWith(lastKey) && url.charCodeAt(lastKey.length) === 47) return lastValue;
    if (!http) {
      if (url.startsWith('data:') || url.startsWith('blob:')) return true; // the sanitizer checks them
      const s = SCHEME.exec(url);
      if (s && !HTTP.test(s[1])) return true;
    }
    const b = base();
    if (b !== lastBase) {
      lastBase = b;
      decided.clear();
      lastKey = '';
      try {
        baseURL = new URL(b);
      } catch (e) {
        baseURL = null; // no base: nothing counts as the player's own
      }
    }
    // Anything but an http(s) URL (relative, scheme-relative, leading
    // white space) is read whole by the URL parser, as the browser will
    // read it.
    if (!http) return decide(url);
    const slash = url.indexOf('/', 8);
    if (slash < 0) return decide(url);
    const key = url.slice(0, slash);
    let v = decided.get(key);
    if (v === undefined) {
      v = decide(key);
      if (decided.size > 4096) decided.clear();
      decided.set(key, v);
    }
    lastKey = key;
    lastValue = v;
    return v;
  };
}

// Whether url begins with http: or https: (any case).
function isHTTP(url) {
  if ((url.charCodeAt(0) | 32) !== 104 || (url.charCodeAt(1) | 32) !== 116 || (url.charCodeAt(2) | 32) !== 116 || (url.charCodeAt(3) | 32) !== 112) return false;
  const c = url.charCodeAt(4);
  return c === 58 || ((c | 32) === 115 && url.charCodeAt(5) === 58);
}
