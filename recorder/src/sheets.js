// Stylesheets already sent in this session. A <link>'s sheet is recorded as
// its text the first time the session meets it; after that (later views,
// other pages of the site) as the key of that text, which a player resolves
// from what it received before (or, without it, by loading the link).

import { session } from './recorder.js';
import { fnv } from './session.js';

let sent = null; // [session id, keys sent in it by this tab]

/** The key of a stylesheet's text: FNV-1a of its UTF-16 code units and its length, in base 36. */
export const cssKey = (css) => fnv(css).toString(36) + '.' + css.length.toString(36);

/** Whether the sheet with key was sent in this session (by this tab); from now on it was. */
export function sheetSent(key) {
  const sid = session.id;
  if (!sent || sent[0] !== sid) {
    let v = [];
    try {
      v = (sessionStorage.getItem('_replay_css') || '').split(' ');
    } catch (e) { /* no storage: this page only */ }
    sent = [sid, new Set(v[0] === sid ? v.slice(1) : [])];
  }
  const had = sent[1].has(key);
  sent[1].add(key);
  try {
    sessionStorage.setItem('_replay_css', sid + ' ' + [...sent[1]].join(' '));
  } catch (e) { /* this page only */ }
  return had;
}
