// The side panel: the session's pages, its events (click one to seek),
// and its details.
import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as fmt from '../format.js';

const eventIcons = { click: 'click', nav: 'nav', error: 'alert', input: 'keyboard', rage: 'rage', action: 'action', resize: 'resize', visibility: 'eye', user: 'user', paused: 'pause' };
const filters = [['', 'All'], ['click', 'Clicks'], ['input', 'Inputs'], ['nav', 'Pages'], ['error', 'Errors']];

/** The tabbed side panel of the replay screen. */
export class SidePanel {
  constructor(pb, rec, { onDeleteUser }) {
    this.pb = pb;
    this.rec = rec;
    this.onDeleteUser = onDeleteUser;
    this.session = null;
    this.tab = 'events';
    this.filter = '';
    this.lastUserScroll = 0;
    this.pagesList = h('ol', { class: 'pages' });
    this.eventsList = h('ol', { class: 'events' });
    this.eventsList.addEventListener('scroll', () => { if (!this.autoScrolling) this.lastUserScroll = performance.now(); }, { passive: true });
    this.filterBar = h('div', { class: 'ev-filters' });
    this.info = h('div', { class: 'info' });
    this.counts = { pages: h('span', { class: 'tab-count' }), events: h('span', { class: 'tab-count' }) };
    this.tabs = {
      events: h('button', { class: 'tab', type: 'button', role: 'tab', onclick: () => this.show('events') }, 'Events', this.counts.events),
      pages: h('button', { class: 'tab', type: 'button', role: 'tab', onclick: () => this.show('pages') }, 'Pages', this.counts.pages),
      info: h('button', { class: 'tab', type: 'button', role: 'tab', onclick: () => this.show('info') }, 'Details'),
    };
    this.panes = {
      events: h('div', { class: 'pane', role: 'tabpanel' }, this.filterBar, this.eventsList),
      pages: h('div', { class: 'pane', role: 'tabpanel' }, this.pagesList),
      info: h('div', { class: 'pane', role: 'tabpanel' }, this.info),
    };
    this.el = h('aside', { class: 'side' },
      h('div', { class: 'tabs', role: 'tablist' }, Object.values(this.tabs)),
      Object.values(this.panes));
    this.renderFilters();
    this.show('events');
  }

  show(tab) {
    this.tab = tab;
    for (const [k, b] of Object.entries(this.tabs)) {
      b.classList.toggle('on', k === tab);
      b.setAttribute('aria-selected', k === tab ? 'true' : 'false');
    }
    for (const [k, p] of Object.entries(this.panes)) p.hidden = k !== tab;
  }

  renderFilters() {
    replace(this.filterBar, filters.map(([k, label]) => h('button', {
      class: 'chip small' + (this.filter === k ? ' on' : ''), type: 'button',
      onclick: () => { this.filter = k; this.renderFilters(); this.renderEvents(); },
    }, label)));
  }

  /** Sets the session's metadata (null for imported recordings). */
  setSession(s) {
    this.session = s;
    this.renderInfo();
  }

  /** Re-renders lists after the recording grew. */
  refresh() {
    this.renderPages();
    this.renderEvents();
    this.renderInfo();
  }

  offset(t) {
    return fmt.clock(t - this.pb.start);
  }

  renderPages() {
    const views = this.rec.views.filter((v) => v.restarts.length);
    this.counts.pages.textContent = String(views.length);
    this.pageItems = views.map((v, i) => {
      const u = fmt.splitURL(v.url);
      const next = views[i + 1];
      const dur = (next ? Math.min(v.end, next.firstFrameTime) : v.end) - v.firstFrameTime;
      const li = h('li', { class: 'page-item', dataset: { view: v.id } },
        h('button', { type: 'button', class: 'row-btn', onclick: () => this.pb.seek(this.rec.screenTime(v)) },
          h('span', { class: 'page-num num' }, String(i + 1)),
          h('span', { class: 'page-main' },
            h('span', { class: 'page-title ellipsis', title: v.url }, v.title || u.path || v.url || 'Untitled page'),
            h('span', { class: 'muted small ellipsis' }, [v.title ? u.path : '', u.host].filter(Boolean).join(' · '))),
          h('span', { class: 'page-time muted small num' }, this.offset(v.firstFrameTime), h('br'), fmt.duration(Math.max(0, dur)))));
      li.view = v;
      return li;
    });
    replace(this.pagesList, this.pageItems.length ? this.pageItems : h('li', { class: 'pane-empty muted' }, 'Pages appear as the recording loads.'));
    this.markCurrent(true);
  }

  renderEvents() {
    const shown = this.rec.markers.filter((m) => !m.folded);
    const ms = this.filter ? shown.filter((m) => m.kind === this.filter || (this.filter === 'click' && m.kind === 'rage')) : shown;
    this.counts.events.textContent = String(shown.length);
    // The same rows with new labels (they arrive while the session is
    // indexed): update their text in place, so that a row being clicked
    // or hovered is never swapped for a copy under the pointer.
    if (this.eventItems && ms.length && ms.length === this.eventItems.length && ms.every((m, i) => this.eventItems[i].marker === m)) {
      for (const li of this.eventItems) relabel(li, li.marker);
      return;
    }
    this.eventItems = ms.map((m) => {
      const desc = m.target || m.detail || '';
      const li = h('li', { class: 'ev-item ev-' + m.kind + (m.dead ? ' ev-dead' : '') },
        h('button', { type: 'button', class: 'row-btn', onclick: () => this.pb.seek(m.t) },
          h('span', { class: 'ev-icon' }, icon(eventIcons[m.kind] || 'eye')),
          h('span', { class: 'ev-main' },
            label(m),
            desc ? h('span', { class: detailClass(m), title: desc }, desc) : null),
          h('span', { class: 'ev-time muted small num' }, this.offset(m.t))));
      li.marker = m;
      li.count = m.count;
      return li;
    });
    replace(this.eventsList, this.eventItems.length ? this.eventItems
      : h('li', { class: 'pane-empty muted' }, this.filter ? 'No events of this kind.' : 'No clicks, inputs, pages or errors yet.'));
    this.current = null;
    this.markCurrent(true);
  }

  /** Highlights the current page and the latest event (every frame). */
  markCurrent(force) {
    const t = this.pb.t;
    const view = this.pb.view;
    if (this.pageItems && (force || view !== this.currentView)) {
      this.currentView = view;
      for (const li of this.pageItems) li.classList.toggle('current', li.view === view);
    }
    if (!this.eventItems || !this.eventItems.length) return;
    let lo = 0, hi = this.eventItems.length - 1, k = -1;
    while (lo <= hi) { const m = (lo + hi) >> 1; if (this.eventItems[m].marker.t <= t) { k = m; lo = m + 1; } else hi = m - 1; }
    const li = k >= 0 ? this.eventItems[k] : null;
    if (li === this.current && !force) return;
    if (this.current) this.current.classList.remove('current');
    this.current = li;
    if (li) {
      li.classList.add('current');
      // Follow playback unless the user is browsing the list, after the
      // frame is drawn: scrolling now would force a layout in the middle
      // of a seek.
      if (this.tab === 'events' && performance.now() - this.lastUserScroll > 4000 && !this.scrollPending) {
        this.scrollPending = true;
        requestAnimationFrame(() => {
          this.scrollPending = false;
          const cur = this.current;
          if (!cur) return;
          const list = this.eventsList;
          const top = cur.offsetTop; // the list is the items' offset parent
          if (top < list.scrollTop || top + cur.offsetHeight > list.scrollTop + list.clientHeight) {
            this.autoScrolling = true;
            list.scrollTop = Math.max(0, top - list.clientHeight / 3);
            requestAnimationFrame(() => { this.autoScrolling = false; });
          }
        });
      }
    }
  }

  renderInfo() {
    const s = this.session;
    const rec = this.rec;
    const rows = [];
    const row = (k, v) => { if (v !== '' && v != null) rows.push(h('dt', null, k), h('dd', null, v)); };
    if (s) {
      row('Started', fmt.dateTime(s.start));
      row('Duration', fmt.duration(s.duration));
      row('Active time', fmt.duration(s.activeMs));
      row('Pages', String(s.pages));
      row('Clicks', String(s.clicks));
      row('Inputs', String(s.inputs));
      row('Errors', String(s.errors));
      row('Rage clicks', String(s.rageClicks));
      row('Dead clicks', String(s.deadClicks));
      row('User', fmt.userLabel(s) || 'Anonymous');
      if (s.userId && s.userId !== fmt.userLabel(s)) row('User id', s.userId);
      if (s.userEmail && s.userEmail !== fmt.userLabel(s)) row('Email', s.userEmail);
      row('Browser', fmt.browser(s.userAgent));
      row('Viewport', s.viewportWidth ? `${s.viewportWidth} × ${s.viewportHeight}` : '');
      row('Service', [s.service, s.env, s.version].filter(Boolean).join(' · '));
      row('Application', s.applicationId);
      row('Client IP', s.clientIp);
      row('Stored', `${fmt.plural(s.segments, 'segment')} · ${fmt.bytes(s.bytes)} (${fmt.bytes(s.rawBytes)} raw)`);
      row('Session id', h('code', null, s.id));
    } else {
      const n = rec.views.reduce((a, v) => a + v.events.length, 0);
      row('Source', 'Imported file (this tab only)');
      row('Duration', fmt.duration(Math.max(0, rec.end - rec.start)));
      row('Pages', String(rec.views.length));
      row('Events', n.toLocaleString());
    }
    if (rec.warnings.length || this.pb.warnings) {
      row('Warnings', [
        this.pb.warnings ? `${this.pb.warnings} events could not be applied exactly.` : '',
        ...rec.warnings].filter(Boolean).join(' '));
    }
    replace(this.info, h('dl', { class: 'details' }, rows),
      s && s.userId ? h('div', { class: 'danger-zone' },
        h('p', { class: 'muted small' }, 'Privacy request? Delete every recorded session of this user.'),
        h('button', { class: 'btn small danger-text', type: 'button', onclick: () => this.onDeleteUser(s.userId) }, icon('trash'), 'Delete all sessions of this user')) : null);
  }
}

// An error's message is what the operator came for: it gets up to three
// lines; other details (a button's text, a URL) one.
function detailClass(m) {
  return m.kind === 'error' ? 'ev-detail clamp' : 'ev-detail ellipsis';
}

/** An event row's label: what happened, and how many times. */
function label(m) {
  return h('span', { class: 'ev-label' }, m.label, m.count > 1 ? h('span', { class: 'muted' }, m.kind === 'input' ? ` · ${m.count} changes` : ` ×${m.count}`) : null);
}

/** Brings an event row's label and detail up to date with its marker. */
function relabel(li, m) {
  li.classList.toggle('ev-dead', !!m.dead);
  const main = li.querySelector('.ev-main');
  if (li.count !== m.count) {
    li.count = m.count;
    main.querySelector('.ev-label').replaceWith(label(m));
  }
  const desc = m.target || m.detail || '';
  let d = main.querySelector('.ev-detail');
  if (!desc) {
    if (d) d.remove();
    return;
  }
  if (!d) main.append(d = h('span', { class: detailClass(m) }));
  if (d.textContent !== desc) {
    d.textContent = desc;
    d.title = desc;
  }
}
