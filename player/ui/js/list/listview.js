// The session list screen: filters, counts, rows, pagination, and the
// empty and error states.
import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { go } from '../router.js';
import { listSessions } from '../api.js';
import { filterBar, sortSelect } from './filters.js';
import { filtersFrom, isFiltered, apiParams, rememberList } from './query.js';
import { headRow, sessionRow, skeletonRows, refreshTimes } from './table.js';

const pageSize = +document.documentElement.dataset.pageSize || 50;

/** Mounts the list into shell.main; returns {update, destroy}. */
export function listView(shell, params) {
  const root = h('section', { class: 'list-screen' });
  const bar = h('div', { class: 'filters-wrap' });
  const summary = h('div', { class: 'list-summary' });
  const sortBox = h('div', { class: 'sort-box' });
  const body = h('div', { class: 'stable', role: 'table', 'aria-label': 'Sessions' });
  const pager = h('div', { class: 'pager' });
  root.append(h('div', { class: 'list-head' }, h('h1', null, 'Sessions'), summary, h('div', { class: 'spacer' }), sortBox), bar, body, pager);
  replace(shell.main, root);
  shell.setCrumbs();
  shell.setActions();
  shell.setTitle('Sessions');

  // The cursor of each page seen under the current filters, by page
  // number, for "Previous". A map, not a stack: the browser's Back and
  // Forward move between pages too, without the list's buttons. Kept in
  // memory: a reloaded page 3 goes back to page 1.
  let cursors = {};
  let filterKey = '';
  let abort = null;
  let state = params;
  // The field (text or date) whose own edit caused the current load (see
  // rebuild).
  let keep = null;
  // The URL (query) of the history entry the last pause in typing made.
  let typedEntry = null;

  // Rebuilds a control strip (filters, sort) for the current URL without
  // taking the keyboard away from the operator. The field they are
  // typing in stays in the page, attached (the strip is grafted around
  // it), so it keeps the focus, the caret, characters typed after the
  // debounce fired and, in a date field, the part being typed (a year
  // typed digit by digit). The control that otherwise had focus has it
  // again in the new strip. Rebuilding blindly dropped focus to <body> on
  // every pause in typing, every chip toggled and every sort chosen, and
  // a typed year stopped at its first digit (year 0002).
  function rebuild(box, strip) {
    const a = document.activeElement;
    const had = a && box.contains(a) ? a : null;
    const old = box.firstElementChild;
    const twin = had && had === keep && old ? strip.querySelector(`input[name="${had.name}"]`) : null;
    if (twin && graft(old, strip, had, twin)) return;
    replace(box, strip);
    if (!had) return;
    const same = had.name ? strip.querySelector(`[name="${had.name}"]`)
      : [...strip.querySelectorAll('button')].find((b) => b.textContent === had.textContent);
    if (same) same.focus();
  }

  // Makes old (in the page) look like neu, leaving kept, which stands
  // where twin stands in neu, attached; false when their shapes differ.
  function graft(old, neu, kept, twin) {
    if (neu === twin) {
      if (old !== kept) return false;
      for (const at of [...old.attributes]) if (!neu.hasAttribute(at.name)) old.removeAttribute(at.name);
      for (const at of neu.attributes) old.setAttribute(at.name, at.value);
      return true;
    }
    const nc = [...neu.children].find((c) => c.contains(twin));
    const oc = [...old.children].find((c) => c.contains(kept));
    if (!nc || !oc || old.tagName !== neu.tagName || !graft(oc, nc, kept, twin)) return false;
    const before = [], after = [];
    let seen = false;
    for (const c of [...neu.childNodes]) {
      if (c === nc) seen = true;
      else (seen ? after : before).push(c);
    }
    for (const c of [...old.childNodes]) if (c !== oc) c.remove();
    oc.before(...before);
    oc.after(...after);
    return true;
  }

  function set(key, value, typing) {
    // The field being typed in survives the reload this causes.
    const a = document.activeElement;
    keep = a && (a.type === 'search' || a.type === 'date') && a.name === key && bar.contains(a) ? a : null;
    const next = filtersFrom(state);
    // Text typed but not applied yet (its pause still pending) goes along
    // with any other change: the bar is rebuilt, and the field with it.
    for (const i of bar.querySelectorAll('input[type=search][name]')) {
      const v = i.value.trim();
      if (v) next[i.name] = v;
      else delete next[i.name];
    }
    next[key] = value;
    if (key === 'range' && value !== 'custom') { delete next.from; delete next.to; }
    // A pause in typing adds a history entry the first time and then
    // replaces the one it added: Back undoes the whole typed text at once
    // (not a letter at a time), and returns to the list as it was before.
    const before = location.search;
    go(next, { replace: !!typing && typedEntry === before });
    // Nothing changed (a trailing space): no reload, and nothing to keep
    // across whichever reload comes next (Back would find the field
    // pinned to this text).
    if (location.search === before) keep = null;
    if (!typing) typedEntry = null;
    else if (location.search !== before) typedEntry = location.search;
  }

  // The empty store's screen says sessions appear a few seconds after a
  // visitor arrives: look for the first one while it is shown (and the
  // tab is seen), rather than leave the operator on "No sessions
  // recorded yet" until they reload.
  let watch = null;
  function watchForFirst(signal) {
    stopWatch();
    watch = setInterval(async () => {
      if (document.visibilityState !== 'visible') return;
      try {
        const r = await listSessions({ limit: 1 }, signal);
        if (r.sessions.length && !signal.aborted) load();
      } catch {
        // The next tick asks again; an error that lasts shows on reload.
      }
    }, 4000);
  }
  function stopWatch() {
    if (watch) clearInterval(watch);
    watch = null;
  }

  async function load() {
    stopWatch();
    rememberList(state);
    const f = filtersFrom(state);
    const key = JSON.stringify(f);
    if (key !== filterKey) { cursors = {}; filterKey = key; }
    rebuild(bar, filterBar(f, { set, clear: () => go(f.sort ? { sort: f.sort } : {}) }));
    rebuild(sortBox, sortSelect(f, set));
    keep = null;
    const page = Math.max(1, +state.page || 1);
    cursors[page] = state.cursor || '';
    if (abort) abort.abort();
    abort = new AbortController();
    root.classList.add('loading');
    if (!body.firstChild || body.querySelector('.empty, .error-box')) replace(body, headRow(), skeletonRows(8));
    const started = Date.now();
    let res;
    try {
      res = await listSessions({ ...apiParams(f), limit: pageSize, cursor: state.cursor || '' }, abort.signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      root.classList.remove('loading');
      replace(summary);
      replace(pager);
      // A refused request (400) fails the same way again: offer the way
      // out instead of a retry — the first page for a cursor the store no
      // longer accepts (a bookmark, a store rebuilt since), no filters for
      // filters it refuses (dates typed in the wrong order).
      const refused = e.status === 400;
      const way = !refused ? h('button', { class: 'btn', type: 'button', onclick: load }, 'Try again')
        : state.cursor ? h('button', { class: 'btn', type: 'button', onclick: () => go(f) }, 'Go to the first page')
          : h('button', { class: 'btn', type: 'button', onclick: () => go(f.sort ? { sort: f.sort } : {}) }, 'Clear filters');
      replace(body, h('div', { class: 'error-box', role: 'alert' },
        icon('alert'), h('div', null, h('h2', null, 'Could not load sessions'), h('p', null, e.message)), way));
      return;
    }
    root.classList.remove('loading');
    const filtered = isFiltered(f);
    const first = (page - 1) * pageSize + 1;
    // Past a few tens of milliseconds of counting, a broad filter over a
    // large store is estimated (two significant digits): say so.
    const about = res.totalEstimated ? 'about ' : '';
    replace(summary,
      h('span', { class: 'count', title: about ? 'Estimated: counting every match would take too long' : null },
        `${about}${res.total.toLocaleString()} ${res.total === 1 ? 'session' : 'sessions'}`),
      res.sessions.length ? h('span', { class: 'muted' }, ` · showing ${first.toLocaleString()}–${(first + res.sessions.length - 1).toLocaleString()}`) : null);
    if (res.sessions.length === 0) {
      replace(pager);
      replace(body, state.cursor ? emptyPage(f) : filtered ? emptyFiltered(f) : emptyStore());
      if (!state.cursor && !filtered) watchForFirst(abort.signal);
      return;
    }
    replace(body, headRow(), res.sessions.map((s) => sessionRow(s, started)));
    const prevBtn = h('button', { class: 'btn', type: 'button', disabled: page <= 1 ? true : null }, icon('back'), 'Previous');
    const nextBtn = h('button', { class: 'btn', type: 'button', disabled: res.next ? null : true }, 'Next', icon('next'));
    prevBtn.addEventListener('click', () => {
      const c = cursors[page - 1];
      go(page > 2 && c ? { ...f, cursor: c, page: page - 1 } : f);
      scrollTo(0, 0);
    });
    nextBtn.addEventListener('click', () => {
      go({ ...f, cursor: res.next, page: page + 1 });
      scrollTo(0, 0);
    });
    // An estimate can fall short of where the pages have gone already.
    const pages = Math.max(page + (res.next ? 1 : 0), Math.ceil(res.total / pageSize));
    replace(pager, h('span', { class: 'muted' }, `Page ${page} of ${about}${pages.toLocaleString()}`), h('div', { class: 'spacer' }), prevBtn, nextBtn);
  }

  function emptyStore() {
    return h('div', { class: 'empty' },
      h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('play')),
      h('h2', null, 'No sessions recorded yet'),
      h('p', null, 'Add the replay directive to a site block in your Caddyfile, in front of reverse_proxy, then reload Caddy and browse the site:'),
      h('pre', { class: 'code' }, 'example.com {\n\treplay\n\treverse_proxy localhost:3000\n}'),
      h('p', { class: 'muted' }, 'Sessions appear here a few seconds after a visitor arrives. You can also import an rrweb recording (JSON) to play it here.'));
  }

  // A later page that has become empty: its sessions were deleted or
  // expired since the link to it was made.
  function emptyPage(f) {
    return h('div', { class: 'empty' },
      h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('filter')),
      h('h2', null, 'No sessions on this page any more'),
      h('p', null, 'The sessions that were here have been deleted or have expired since this link was made.'),
      h('button', { class: 'btn primary', type: 'button', onclick: () => go(f) }, 'Go to the first page'));
  }

  function emptyFiltered(f) {
    return h('div', { class: 'empty' },
      h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('filter')),
      h('h2', null, 'No sessions match these filters'),
      h('p', null, 'Widen the time range, shorten the URL or user text, or turn off a signal filter.'),
      h('button', { class: 'btn primary', type: 'button', onclick: () => go(f.sort ? { sort: f.sort } : {}) }, 'Clear filters'));
  }

  load();
  const clock = setInterval(() => refreshTimes(body), 30000);
  return {
    update(p) { state = p; load(); return true; },
    destroy() { if (abort) abort.abort(); clearInterval(clock); stopWatch(); },
  };
}

