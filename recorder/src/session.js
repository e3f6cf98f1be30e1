// The session: a first-party cookie shared by every tab of the site.
//
//   _replay_s=v1:<sid>:<createdMs>:<expiresMs>:<sampled 0|1>
//
// expiresMs is the last activity + 15 min, capped at created + 4 h. The
// sampling decision is made once, from the id (see isSampled), so the proxy
// can skip injecting the recorder for an unsampled session.

import { now, INACTIVITY, MAX_AGE } from './timing.js';
import { newId } from './ids.js';

// Where cookies cannot be kept (disabled, or a sandboxed document) the
// session lives in memory for this page only.
let cookies = true;
let memo = null;

/**
 * Deterministic sampling: FNV-1a (32 bit) of the session id modulo 10000,
 * compared with rate, sampleRate × replaySampleRate (both 0–100).
 */
export const isSampled = (sid, rate) => fnv(sid) % 10000 < Math.round(rate);

/** FNV-1a (32 bit) of the UTF-16 code units of s (its bytes, for an ASCII id). */
export function fnv(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The session as the cookie (or, without cookies, this page) holds it; null if none. */
export function readCookie() {
  let m;
  try {
    m = cookies && document.cookie.match(/(?:^|;\s*)_replay_s=v1:([\w-]{16,64}):(\d+):(\d+):([01])(?:;|$)/);
  } catch (e) {
    cookies = false;
  }
  return !cookies ? memo : m ? { id: m[1], created: +m[2], expires: +m[3], sampled: m[4] > 0 } : null;
}

/** Whether session s (null when there is none) is still valid at time t (truthy). */
export const alive = (s, t) => s && t < s.expires && t < s.created + MAX_AGE;

// Written only for a live session: max-age is positive.
function writeCookie(s) {
  memo = s;
  if (!cookies) return;
  try {
    document.cookie = '_replay_s=' + ['v1', s.id, s.created, s.expires, +s.sampled].join(':') +
      ';path=/;max-age=' + Math.ceil((s.created + MAX_AGE - now()) / 1000) + ';SameSite=Lax' + (location.protocol == 'https:' ? ';Secure' : '');
  } catch (e) { /* checked below */ }
  const back = readCookie();
  if (!back || back.id !== s.id) cookies = false; // not kept: this page's memory holds the session
}

/** Starts a new session whatever the cookie says (e.g. the collector deleted ours). */
export function newSession(cfg) {
  const t = now();
  const id = newId();
  const s = { id, created: t, expires: t + INACTIVITY, sampled: isSampled(id, cfg.rate) };
  writeCookie(s);
  return s;
}

/**
 * Returns the live session from the cookie, extended by this activity, or
 * starts a new one (sampled with the configured rates).
 */
export function currentSession(cfg) {
  const t = now();
  const s = readCookie();
  if (!alive(s, t)) return newSession(cfg);
  const exp = Math.min(t + INACTIVITY, s.created + MAX_AGE);
  // One write per second at most: activity events are frequent.
  if (exp - s.expires > 1000) {
    s.expires = exp;
    writeCookie(s);
  }
  return s;
}
