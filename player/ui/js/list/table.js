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

function badge(kind, n, label) {
  return n > 0 ? h('span', { class: 'badge badge-' + kind, title: `${n} ${label}` }, icon(kind === 'error' ? 'alert' : kind), String(n)) : null;
}

/** One session row. */
export function sessionRow(s, now) {
  const user = fmt.userLabel(s);
  const page = fmt.splitURL(s.entryUrl);
  const activePct = s.duration > 0 ? Math.min(100, Math.round((s.activeMs / s.duration) * 100)) : 0;
  const signals = [badge('error', s.errors, 'errors'), badge('rage', s.rageClicks, 'rage clicks'), badge('dead', s.deadClicks, 'dead clicks')].filter(Boolean);
  const row = h('a', { class: 'srow', role: 'row', href: href({ session: s.id }), dataset: { id: s.id } },
    h('div', { class: 'c-when' },
      h('div', { class: 'primary' }, fmt.relative(s.start, now)),
      h('div', { class: 'muted small', title: fmt.dateTime(s.start) }, fmt.shortDateTime(s.start))),
    h('div', { class: 'c-user' },
      user
        ? [h('span', { class: 'avatar', style: { backgroundColor: `hsl(${hue(user)} 55% 46%)` } }, initials(user)),
          h('div', { class: 'stack' }, h('div', { class: 'primary ellipsis' }, user), s.userEmail && s.userEmail !== user ? h('div', { class: 'muted small ellipsis' }, s.userEmail) : null)]
        : [h('span', { class: 'avatar anon' }, icon('user')), h('span', { class: 'muted' }, 'Anonymous')]),
    h('div', { class: 'c-page' },
      h('div', { class: 'primary ellipsis', title: s.entryUrl }, page.path || '–'),
      h('div', { class: 'muted small ellipsis' }, [page.host, `${s.pages} ${s.pages === 1 ? 'page' : 'pages'}`].filter(Boolean).join(' · '))),
    h('div', { class: 'c-dur' },
      h('div', { class: 'primary num' }, fmt.duration(s.duration)),
      h('div', { class: 'activebar', title: `Active ${fmt.duration(s.activeMs)} (${activePct}%)` }, h('span', { style: { width: activePct + '%' } }))),
    h('div', { class: 'c-act muted' },
      h('span', { title: 'Clicks' }, icon('click'), String(s.clicks)),
      h('span', { title: 'Inputs' }, icon('keyboard'), String(s.inputs))),
    h('div', { class: 'c-sig' }, signals.length ? signals : h('span', { class: 'muted small' }, 'None')),
    h('div', { class: 'c-dev' },
      h('div', { class: 'ellipsis' }, fmt.browser(s.userAgent) || h('span', { class: 'muted' }, 'Unknown browser')),
      h('div', { class: 'muted small' }, s.viewportWidth ? `${s.viewportWidth}×${s.viewportHeight}` : '')),
    h('div', { class: 'c-play', 'aria-hidden': 'true' }, icon('play')),
  );
  return link(row);
}

/** Placeholder rows while the first page loads. */
export function skeletonRows(n) {
  return Array.from({ length: n }, () => h('div', { class: 'srow skeleton', 'aria-hidden': 'true' }, columns.map(() => h('div', null, h('span')))));
}
