// Session rows. Each row is a link to the replay, so it can be opened in a
// new tab or copied.
import { h } from '../dom.js';
import { icon } from '../icons.js';
import { link, href } from '../router.js';
import * as fmt from '../format.js';

const columns = ['Started', 'User', 'Entry page', 'Duration', 'Activity', 'Signals', 'Device'];

/** The header row. */
export function headRow() {
  return h('div', { class: 'srow shead', role: 'row' }, columns.map((c) => h('div', { role: 'columnheader' }, c)), h('div'));
}

function initials(name) {
  const parts = name.replace(/@.*/, '').split(/[\s._-]+/).filter(Boolean);
  return ((parts[0] || '?')[0] + (parts[1] ? parts[1][0] : '')).toUpperCase();
}

function hue(s) {
  let x = 0;
  for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) >>> 0;
  return x % 360;
}

// A signal badge says what it counts ("2 dead"), not a bare number
// beside an icon; the tooltip spells it out.
function badge(kind, n, one, many, what) {
  return n > 0 ? h('span', { class: 'badge badge-' + kind, title: `${fmt.plural(n, what, what + 's')}` }, fmt.plural(n, one, many)) : null;
}

/** One session row. */
export function sessionRow(s, now) {
  const user = fmt.userLabel(s);
  const page = fmt.splitURL(s.entryUrl);
  const activePct = s.duration > 0 ? Math.min(100, Math.round((s.activeMs / s.duration) * 100)) : 0;
  const signals = [
    badge('error', s.errors, 'error', 'errors', 'error'),
    badge('rage', s.rageClicks, 'rage', 'rage', 'rage click'),
    badge('dead', s.deadClicks, 'dead', 'dead', 'dead click'),
  ].filter(Boolean);
  const dev = fmt.browserParts(s.userAgent);
  const viewport = s.viewportWidth ? `${s.viewportWidth}×${s.viewportHeight}` : '';
  const row = h('a', { class: 'srow', role: 'row', href: href({ session: s.id }), dataset: { id: s.id } },
    h('div', { class: 'c-when' },
      h('div', { class: 'primary rel-time', dataset: { ts: String(s.start) } }, fmt.relative(s.start, now)),
      h('div', { class: 'muted small', title: fmt.dateTime(s.start) }, fmt.shortDateTime(s.start))),
    h('div', { class: 'c-user' },
      user
        ? [h('span', { class: 'avatar', style: { backgroundColor: `hsl(${hue(user)} 55% 46%)` } }, initials(user)),
          h('div', { class: 'stack' },
            h('div', { class: 'primary ellipsis', title: s.userId && s.userId !== user ? `${user} (id ${s.userId})` : user }, user),
            s.userEmail && s.userEmail !== user ? h('div', { class: 'muted small ellipsis', title: s.userEmail }, s.userEmail) : null)]
        : [h('span', { class: 'avatar anon' }, icon('user')), h('span', { class: 'muted' }, 'Anonymous')]),
    h('div', { class: 'c-page' },
      h('div', { class: 'primary ellipsis', title: s.entryUrl }, page.path || '–'),
      h('div', { class: 'muted small ellipsis' }, [page.host, `${s.pages} ${s.pages === 1 ? 'page' : 'pages'}`].filter(Boolean).join(' · '))),
    h('div', { class: 'c-dur' },
      h('div', { class: 'primary num' }, fmt.duration(s.duration)),
      h('div', { class: 'activebar', title: `Active ${fmt.duration(s.activeMs)} (${activePct}%)` }, h('span', { style: { width: activePct + '%' } }))),
    h('div', { class: 'c-act muted small' },
      h('span', null, icon('click'), fmt.plural(s.clicks, 'click')),
      h('span', null, icon('keyboard'), fmt.plural(s.inputs, 'input'))),
    h('div', { class: 'c-sig' }, signals.length ? signals : h('span', { class: 'muted small' }, 'None')),
    // Browser on the first line, OS and viewport on the second: one line
    // of both was cut off at 1280 px ("Headless Chrome 156 ·…").
    h('div', { class: 'c-dev', title: s.userAgent || '' },
      h('div', { class: 'ellipsis' }, dev.name || h('span', { class: 'muted' }, 'Unknown browser')),
      h('div', { class: 'muted small ellipsis' }, [dev.os, viewport && viewport + ' px'].filter(Boolean).join(' · '))),
    h('div', { class: 'c-play', 'aria-hidden': 'true' }, icon('play')),
  );
  return link(row);
}

/** Brings the rows' "5 minutes ago" up to date (the list may stay open for hours). */
export function refreshTimes(root, now = Date.now()) {
  for (const el of root.querySelectorAll('.rel-time')) {
    const text = fmt.relative(+el.dataset.ts, now);
    if (el.textContent !== text) el.textContent = text;
  }
}

/** Placeholder rows while the first page loads. */
export function skeletonRows(n) {
  return Array.from({ length: n }, () => h('div', { class: 'srow skeleton', 'aria-hidden': 'true' }, columns.map(() => h('div', null, h('span')))));
}
