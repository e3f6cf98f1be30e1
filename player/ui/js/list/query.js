// The session list's filters: how they sit in the page URL (short, human
// readable) and how they translate to the API's query parameters.

export const ranges = [
  ['', 'Any time'], ['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['custom', 'Custom dates…'],
];
const rangeMs = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };

export const durations = [
  ['', 'Any length'], ['10s', 'Over 10 s'], ['1m', 'Over 1 min'], ['5m', 'Over 5 min'], ['30m', 'Over 30 min'],
];
const durationMs = { '10s': 10e3, '1m': 60e3, '5m': 300e3, '30m': 1800e3 };

export const sorts = [
  ['', 'Newest first', {}],
  ['oldest', 'Oldest first', { sort: 'start', order: 'asc' }],
  ['longest', 'Longest', { sort: 'duration' }],
  ['active', 'Most active', { sort: 'active' }],
  ['clicks', 'Most clicks', { sort: 'clicks' }],
  ['errors', 'Most errors', { sort: 'errors' }],
  ['rage', 'Most rage clicks', { sort: 'rage_clicks' }],
  ['dead', 'Most dead clicks', { sort: 'dead_clicks' }],
  ['pages', 'Most pages', { sort: 'pages' }],
];

/** The filter keys kept in the page URL. */
export const filterKeys = ['url', 'user', 'range', 'from', 'to', 'dur', 'errors', 'rage', 'dead', 'sort'];

/** Picks the list's filters out of the URL parameters. */
export function filtersFrom(params) {
  const f = {};
  for (const k of filterKeys) if (params[k]) f[k] = params[k];
  return f;
}

// The list as it was last shown in this tab (filters, sort and page),
// for the replay screen's way back to it.
let shown = {};

/** Remembers the list's URL parameters as it is shown. */
export function rememberList(params) {
  shown = { ...filtersFrom(params), cursor: params.cursor || '', page: params.page || '' };
}

/** The URL parameters of the list as it was last shown ({} if never). */
export function listParams() {
  return shown;
}

/** True when any filter (not the sort) narrows the list. */
export function isFiltered(f) {
  return filterKeys.some((k) => k !== 'sort' && f[k]);
}

// The start of a day (YYYY-MM-DD) on the viewer's clock, plus days
// whole days: a calendar step, not 24 h, since a day with a daylight
// saving change lasts 23 or 25 hours.
function dayStart(s, days = 0) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  return m ? new Date(+m[1], +m[2] - 1, +m[3] + days).getTime() : NaN;
}

/** The API parameters for filters f (now: the clock for relative ranges). */
export function apiParams(f, now = Date.now()) {
  const p = { url: f.url || '', user: f.user || '' };
  if (rangeMs[f.range]) p.from = now - rangeMs[f.range];
  if (f.range === 'custom') {
    const a = dayStart(f.from), b = dayStart(f.to, 1);
    if (a >= 0) p.from = a;
    if (b >= 0) p.to = b;
  }
  if (durationMs[f.dur]) p.min_duration = durationMs[f.dur];
  if (f.errors) p.errors = 1;
  if (f.rage) p.rage_clicks = 1;
  if (f.dead) p.dead_clicks = 1;
  const s = sorts.find((x) => x[0] === (f.sort || ''));
  Object.assign(p, s ? s[2] : {});
  return p;
}
