// A recording as the player sees it: views (page loads and SPA routes),
// each with its events in order, plus what the UI derives from them as
// they load — pointer path, clicks, focus, markers, activity, inactive
// stretches, and which view is on screen at any time.
import { EventType, Source, Mouse, isActivity } from './model.js';
import { collectStylesheets } from './rebuilder.js';

/** Gaps in visitor activity at least this long are "inactive". */
export const INACTIVE_GAP = 5000;
// Margins kept visible around an inactive stretch when skipping it.
const LEAD_OUT = 1000;
const LEAD_IN = 1000;
// Rage clicks: this many clicks within RAGE_MS and RAGE_PX.
const RAGE_CLICKS = 3, RAGE_MS = 1000, RAGE_PX = 30;
// Dead clicks: no DOM change within this long after the click.
const DEAD_MS = 1000;
// Why our recorder paused (replay/paused, docs/FORMAT.md "Pauses").
// Short: the event list shows one line.
const pauseReasons = {
  storm: 'The page changed too fast to record',
  idle: 'No activity for 15 minutes',
  queue: 'Uploads were failing',
};

/** Index of the last element of sorted arr that is ≤ x, or -1. */
export function lastAtOrBefore(arr, x) {
  let lo = 0, hi = arr.length - 1, r = -1;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (arr[m] <= x) { r = m; lo = m + 1; } else hi = m - 1;
  }
  return r;
}

/** One page load or SPA route: its events and what derives from them. */
export class ViewTrack {
  constructor(index, info) {
    this.index = index;
    this.id = info.id;
    this.url = info.url || '';
    this.title = info.title || '';
    this.tab = info.tab || '';
    this.start = info.start || 0;
    this.end = info.end || 0;
    this.events = [];
    // times[i] is events[i]'s timestamp, made non-decreasing so binary
    // search works even if a client clock stepped back.
    this.times = [];
    // Full snapshots (indices) and, for each, where playback can start
    // from scratch to reach it: its Meta event when one precedes it (with
    // only custom events between), else the snapshot itself.
    this.fulls = [];
    this.restarts = [];
    // Pointer path: parallel arrays, time-ordered.
    this.pt = []; this.px = []; this.py = []; this.pid = [];
    // Clicks for ripples: {t, x, y, id}.
    this.clicks = [];
    this.clickT = [];
    // Viewport sizes over time.
    this.vpT = []; this.vpW = []; this.vpH = [];
    // Markers of this view in event order (the indexer labels them).
    this.markers = [];
    this.loadedEvents = false;
    this.pendingDead = [];
    this.recentClicks = [];
    this.lastInput = null;
    this.lastHref = '';
    this.topCoords = false;
    // The time of the first replay/visibility event when it says the
    // view became visible (it was hidden until then), else -Infinity.
    this.shownAt = -Infinity;
    this.sawVisibility = false;
  }

  /** Number of events with time ≤ t (the index to apply up to). */
  countAt(t) {
    return lastAtOrBefore(this.times, t) + 1;
  }

  /**
   * Where to start applying to show the first count events from scratch:
   * the restart of the last full snapshot among them, or -1.
   */
  restartBefore(count) {
    const k = lastAtOrBefore(this.fulls, count - 1);
    return k < 0 ? -1 : this.restarts[k];
  }

  /** Time of the first full snapshot (the first frame), or Infinity. */
  get firstFrameTime() {
    return this.fulls.length ? this.times[this.fulls[0]] : Infinity;
  }

  /** Recorded viewport {width, height} at t (0 when unknown). */
  viewportAt(t) {
    const k = lastAtOrBefore(this.vpT, t);
    return k < 0 ? { width: this.vpW[0] || 0, height: this.vpH[0] || 0 } : { width: this.vpW[k], height: this.vpH[k] };
  }

  /** Index into the pointer arrays of the last point at or before t. */
  pointerAt(t) {
    return lastAtOrBefore(this.pt, t);
  }

  pushPointer(t, x, y, id) {
    if (typeof x !== 'number' || typeof y !== 'number') return;
    const last = this.pt.length ? this.pt[this.pt.length - 1] : -Infinity;
    this.pt.push(Math.max(t, last)); this.px.push(x); this.py.push(y); this.pid.push(id == null ? -1 : id);
  }
}

/**
 * The whole recording. Events arrive in chunks (segments) through
 * addEvents; listeners get a 'change' event (throttled) as derived data
 * grows, and 'marker' events for markers that need the rebuilt DOM to be
 * described (the checkpoint indexer fills in their labels).
 */
export class Recording extends EventTarget {
  constructor() {
    super();
    this.views = [];
    this.byId = new Map();
    this.markers = [];
    this.start = Infinity;
    this.end = -Infinity;
    // Every activity timestamp, with its view, for inactivity and the
    // on-screen view schedule.
    this.activity = [];
    this.inactive = [];
    // switches: [time, viewIndex] — from time on, that view is shown.
    this.switches = [];
    this.switchT = [];
    // Everything before loadedUntil is loaded; complete when all is.
    this.loadedUntil = -Infinity;
    this.complete = false;
    this.bytes = 0;
    this.warnings = [];
    // Stylesheet texts by key, from every view loaded so far: a later view's
    // links name texts sent in earlier ones (rr_css). Segments load in time
    // order, so a text is here before a link names it.
    this.stylesheets = new Map();
    this._dirty = false;
    this._timer = 0;
    this._multiTab = false;
  }

  /** Declares the known extent (from the session's metadata). */
  setBounds(start, end) {
    if (start > 0) this.start = Math.min(this.start, start);
    if (end > 0) this.end = Math.max(this.end, end);
  }

  /** Returns the view with that id, creating it. */
  view(info) {
    let v = this.byId.get(info.id);
    if (!v) {
      v = new ViewTrack(this.views.length, info);
      this.views.push(v);
      this.byId.set(v.id, v);
      this._multiTab = this._multiTab || (this.views.length > 1 && v.tab !== this.views[0].tab);
    }
    return v;
  }

  /** Appends a chunk of one view's events (in recorded order). */
  addEvents(viewInfo, events) {
    const v = this.view(viewInfo);
    collectStylesheets(events, this.stylesheets);
    for (const e of events) this._add(v, e);
    if (v.times.length) {
      this.start = Math.min(this.start, v.times[0]);
      this.end = Math.max(this.end, v.times[v.times.length - 1]);
    }
    this._changed();
  }

  /** Marks everything before t as loaded. */
  setLoadedUntil(t) {
    this.loadedUntil = Math.max(this.loadedUntil, t);
    this._changed();
  }

  /** Marks the recording as fully loaded. */
  finish() {
    this.complete = true;
    this.loadedUntil = Infinity;
    for (const v of this.views) this._settleDead(v, Infinity, true);
    this._recompute();
    this.dispatchEvent(new Event('change'));
  }

  _add(v, e) {
    const i = v.events.length;
    const ts = typeof e.timestamp === 'number' ? e.timestamp : 0;
    const t = i ? Math.max(ts, v.times[i - 1]) : ts;
    v.events.push(e);
    v.times.push(t);
    const d = e.data || {};
    this._settleDead(v, t, false);
    switch (e.type) {
      case EventType.Meta:
        if (d.href && !v.url) v.url = d.href;
        if (d.width) { v.vpT.push(t); v.vpW.push(d.width); v.vpH.push(d.height); }
        // A Meta event also precedes re-snapshots of the same page: only
        // a new address is a navigation.
        if (i === 0 || (d.href && d.href !== v.lastHref)) this._marker(v, t, 'nav', 'Page view', d.href || v.url, i);
        if (d.href) v.lastHref = d.href;
        break;
      case EventType.FullSnapshot: {
        let k = i - 1;
        while (k >= 0 && v.events[k].type === EventType.Custom) k--;
        v.fulls.push(i);
        v.restarts.push(k >= 0 && v.events[k].type === EventType.Meta ? k : i);
        if (!v.loadedEvents) { v.loadedEvents = true; if (!v.start || t < v.start) v.start = t; }
        break;
      }
      case EventType.Incremental:
        this._incremental(v, e, d, t, i);
        break;
      case EventType.Custom:
        this._custom(v, d, t, i);
        break;
      case EventType.Plugin:
        // rrweb's console plugin: errors become markers.
        if (d.plugin && /console/.test(d.plugin) && d.payload && d.payload.level === 'error') {
          this._marker(v, t, 'error', 'Console error', (d.payload.payload || []).join(' ').slice(0, 300), i);
        }
        break;
    }
    if (isActivity(e) || e.type === EventType.Meta) this.activity.push([t, v.index]);
    if (v.end < t) v.end = t;
  }

  _incremental(v, e, d, t, i) {
    switch (d.source) {
      case Source.Mutation:
        for (const c of v.pendingDead) if (t - c.t <= DEAD_MS) c.alive = true;
        break;
      case Source.MouseMove:
      case Source.TouchMove:
      case Source.Drag:
        if (Array.isArray(d.positions)) {
          for (const p of d.positions) v.pushPointer(e.timestamp + (p.timeOffset || 0), p.x, p.y, p.id);
        }
        break;
      case Source.MouseInteraction: {
        if (typeof d.x === 'number') v.pushPointer(t, d.x, d.y, d.id);
        if (d.type === Mouse.Click || d.type === Mouse.DblClick || d.type === Mouse.ContextMenu || d.type === Mouse.TouchStart) {
          if (d.type !== Mouse.TouchStart) {
            const label = d.type === Mouse.DblClick ? 'Double click' : d.type === Mouse.ContextMenu ? 'Right click' : 'Click';
            const m = this._marker(v, t, 'click', label, '', i, d.id);
            this._rage(v, t, d, m);
            v.pendingDead.push({ t, marker: m, alive: false });
          }
          if (typeof d.x === 'number') { v.clicks.push({ t, x: d.x, y: d.y, id: d.id }); v.clickT.push(t); }
        }
        break;
      }
      case Source.Input: {
        // One marker per burst of typing into one field.
        const last = v.lastInput;
        if (last && last.id === d.id && t - last.t < 2000) {
          last.t = t;
          last.marker.count++;
        } else {
          const m = this._marker(v, t, 'input', 'Input', '', i, d.id);
          m.count = 1;
          v.lastInput = { id: d.id, t, marker: m };
        }
        break;
      }
      case Source.ViewportResize:
        v.vpT.push(t); v.vpW.push(d.width); v.vpH.push(d.height);
        this._marker(v, t, 'resize', 'Viewport resized', `${d.width}×${d.height}`, i);
        break;
    }
  }

  _custom(v, d, t, i) {
    const p = d.payload || {};
    switch (d.tag) {
      case 'replay/view':
        // Our recorder puts pointer positions in top-level viewport
        // coordinates (frame offsets added); rrweb's are relative to the
        // frame of the node under the pointer.
        v.topCoords = true;
        if (p.url) v.url = p.url;
        if (p.title) v.title = p.title;
        if (p.tab && !v.tab) v.tab = p.tab;
        break;
      case 'replay/error':
        this._marker(v, t, 'error', p.source === 'unhandledrejection' ? 'Unhandled rejection' : p.source === 'custom' ? 'Error reported' : 'Error', String(p.message || '').slice(0, 500), i);
        break;
      case 'replay/action':
        if (p.auto) {
          // The recorder's automatic action for a click names the control
          // (masked as its text is): it labels that click.
          const c = v.markers.findLast((m) => m.kind === 'click');
          if (c && t - c.t <= 100 && p.name) c.target = String(p.name);
          break;
        }
        this._marker(v, t, 'action', 'Action', String(p.name || ''), i);
        break;
      case 'replay/user':
        this._marker(v, t, 'user', 'User identified', String(p.name || p.email || p.id || ''), i);
        break;
      case 'replay/paused':
        // Nothing was recorded until the next full snapshot: the replay
        // stands still there, and this says why.
        this._marker(v, t, 'paused', 'Recording paused', pauseReasons[p.reason] || '', i);
        break;
      case 'replay/visibility':
        if (!v.sawVisibility) {
          v.sawVisibility = true;
          if (p.state === 'visible') v.shownAt = t;
          // Our recorder says so with the view's snapshot when a tab loads
          // in the background: it is not on screen until it is visible.
          else if (v.fulls.length && t - v.times[v.fulls[0]] < 1000) v.shownAt = Infinity;
        }
        this._marker(v, t, 'visibility', p.state === 'hidden' ? 'Tab hidden' : 'Tab visible', '', i);
        if (p.state === 'visible') this.activity.push([t, v.index]);
        break;
    }
  }

  _rage(v, t, d, m) {
    const recent = v.recentClicks.filter((c) => t - c.t <= RAGE_MS && Math.hypot(c.x - d.x, c.y - d.y) <= RAGE_PX);
    recent.push({ t, x: d.x, y: d.y, m });
    v.recentClicks = recent;
    // The burst is one rage click: its clicks leave the event list and
    // the timeline (listed too, they read as several separate events).
    if (recent.length >= RAGE_CLICKS) for (const c of recent) c.m.folded = true;
    if (recent.length === RAGE_CLICKS) {
      this._marker(v, t, 'rage', 'Rage click', `${RAGE_CLICKS}+ clicks in one place within a second`, m.index, d.id);
    } else if (recent.length > RAGE_CLICKS) {
      const rm = this.markers.findLast((x) => x.kind === 'rage' && x.view === v);
      if (rm) rm.count = recent.length;
    }
  }

  // Settles clicks whose dead-click window has passed; at the end of a
  // view (final) a click with no later event is left undecided.
  _settleDead(v, t, final) {
    if (!v.pendingDead.length) return;
    const keep = [];
    for (const c of v.pendingDead) {
      if (c.alive) continue;
      if (t - c.t > DEAD_MS && !final) {
        c.marker.dead = true;
        c.marker.label = c.marker.label === 'Click' ? 'Dead click' : c.marker.label;
      } else if (!final) keep.push(c);
    }
    v.pendingDead = keep;
  }

  _marker(v, t, kind, label, detail, index, nodeId) {
    const m = { t, kind, label, detail, view: v, index, nodeId, count: 1 };
    this.markers.push(m);
    v.markers.push(m);
    return m;
  }

  _changed() {
    this._dirty = true;
    if (!this.switches.length) {
      // Nothing is on screen yet: the first frame must not wait.
      this._recompute();
      if (this.switches.length) { this.dispatchEvent(new Event('change')); return; }
    }
    if (this._timer) return;
    // Derived data is rebuilt at most every 250 ms while loading.
    this._timer = setTimeout(() => {
      this._timer = 0;
      if (!this._dirty) return;
      this._recompute();
      this.dispatchEvent(new Event('change'));
    }, 250);
  }

  _recompute() {
    this._dirty = false;
    this.markers.sort((a, b) => a.t - b.t);
    this.activity.sort((a, b) => a[0] - b[0]);
    this._computeInactive();
    this._computeSwitches();
  }

  _computeInactive() {
    const out = [];
    const a = this.activity;
    for (let k = 1; k < a.length; k++) {
      const gap = a[k][0] - a[k - 1][0];
      if (gap >= INACTIVE_GAP) out.push([a[k - 1][0] + LEAD_OUT, a[k][0] - LEAD_IN]);
    }
    if (this.complete && a.length && this.end - a[a.length - 1][0] >= INACTIVE_GAP) out.push([a[a.length - 1][0] + LEAD_OUT, this.end]);
    this.inactive = out;
  }

  // Which view is on screen when. With one tab, views follow each other:
  // each is shown from its first renderable moment. With several tabs, a
  // view takes the screen when the visitor acts in it (or it becomes
  // visible), since that is the tab they were looking at.
  _computeSwitches() {
    const claims = [];
    for (const v of this.views) {
      if (!v.restarts.length) continue;
      // A tab that loaded in the background was not looked at before it
      // became visible: it claims the screen then (an activity below).
      if (this._multiTab && v.shownAt > v.firstFrameTime) continue;
      claims.push([v.firstFrameTime, v.index]);
    }
    if (this._multiTab) for (const [t, vi] of this.activity) if (this.views[vi].restarts.length && t >= this.views[vi].firstFrameTime) claims.push([t, vi]);
    claims.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const sw = [];
    for (const c of claims) if (!sw.length || sw[sw.length - 1][1] !== c[1]) sw.push(c);
    this.switches = sw;
    this.switchT = sw.map((s) => s[0]);
  }

  /** The view on screen at t (the first one before anything started). */
  viewAt(t) {
    if (!this.switches.length) return null;
    const k = lastAtOrBefore(this.switchT, t);
    return this.views[this.switches[Math.max(0, k)][1]];
  }

  /**
   * When view v first takes the screen: its first frame, or for a tab
   * that loaded in the background, when the visitor turned to it.
   */
  screenTime(v) {
    const s = this.switches.find((x) => x[1] === v.index);
    return s ? s[0] : v.firstFrameTime;
  }

  /** The inactive stretch containing t, or null. */
  inactiveAt(t) {
    for (const r of this.inactive) if (t >= r[0] && t < r[1]) return r;
    return null;
  }

  /** The first time anything can be shown. */
  get firstFrame() {
    return this.switches.length ? this.switches[0][0] : Infinity;
  }
}
