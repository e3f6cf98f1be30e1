// The filter bar above the session list. It edits the URL; the list
// re-renders from the URL, so filters survive reloads and can be shared.
import { h } from '../dom.js';
import { icon } from '../icons.js';
import { ranges, durations, sorts } from './query.js';

function select(name, options, value, onchange, label) {
  const s = h('select', { class: 'select', name, 'aria-label': label, title: label },
    options.map(([v, text]) => h('option', { value: v, selected: v === (value || '') ? true : null }, text)));
  s.addEventListener('change', () => onchange(s.value));
  return s;
}

function textField(name, iconName, placeholder, value, onchange) {
  const input = h('input', { class: 'input', type: 'search', name, placeholder, value: value || '', spellcheck: 'false', autocomplete: 'off', 'aria-label': placeholder });
  let timer;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    // A field replaced meanwhile (Back, a chip) is no longer what the
    // list shows: its pause must not navigate again.
    timer = setTimeout(() => { if (input.isConnected) onchange(input.value.trim(), true); }, 300);
  });
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { clearTimeout(timer); onchange(input.value.trim(), false); } });
  return h('label', { class: 'field' }, icon(iconName), input);
}

function chip(label, iconName, on, onchange, title) {
  const b = h('button', { class: 'chip' + (on ? ' on' : ''), type: 'button', 'aria-pressed': on ? 'true' : 'false', title }, icon(iconName), label);
  b.addEventListener('click', () => onchange(!on));
  return b;
}

/**
 * Renders the filter bar for filters f. set(key, value, replace) changes
 * one filter; clear() removes them all.
 */
export function filterBar(f, { set, clear }) {
  const customDates = f.range === 'custom'
    ? h('span', { class: 'dates' },
      // A date typed digit by digit changes at every digit of its year
      // (0002, 0020, 0202, 2026): each change replaces the history entry
      // the first one added, as typing in a text field does.
      h('input', { class: 'input date', type: 'date', name: 'from', value: f.from || '', max: f.to || null, 'aria-label': 'From date', onchange: (e) => set('from', e.target.value, true) }),
      h('span', { class: 'muted' }, '–'),
      h('input', { class: 'input date', type: 'date', name: 'to', value: f.to || '', min: f.from || null, 'aria-label': 'To date', onchange: (e) => set('to', e.target.value, true) }))
    : null;
  const any = Object.keys(f).some((k) => k !== 'sort');
  return h('div', { class: 'filters', role: 'search' },
    textField('url', 'search', 'Page URL contains…', f.url, (v, typing) => set('url', v, typing)),
    textField('user', 'user', 'User or email…', f.user, (v, typing) => set('user', v, typing)),
    select('range', ranges, f.range, (v) => set('range', v), 'Time range'),
    customDates,
    select('dur', durations, f.dur, (v) => set('dur', v), 'Minimum duration'),
    h('div', { class: 'chips' },
      chip('Errors', 'alert', !!f.errors, (on) => set('errors', on ? '1' : ''), 'Only sessions with errors'),
      chip('Rage clicks', 'rage', !!f.rage, (on) => set('rage', on ? '1' : ''), 'Only sessions with rage clicks (3+ clicks within 1 s in one place)'),
      chip('Dead clicks', 'dead', !!f.dead, (on) => set('dead', on ? '1' : ''), 'Only sessions with clicks that changed nothing')),
    any ? h('button', { class: 'btn ghost small', type: 'button', onclick: clear }, 'Clear filters') : null,
  );
}

/** The sort menu, shown beside the list's title. */
export function sortSelect(f, set) {
  return h('label', { class: 'sort' }, h('span', { class: 'muted' }, 'Sort'),
    select('sort', sorts.map(([v, t]) => [v, t]), f.sort, (v) => set('sort', v), 'Sort order'));
}
