// Formatting of times, durations, sizes, URLs and user agents for display.

/** Playback clock: m:ss, or h:mm:ss past an hour. */
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  return hh ? `${hh}:${p(mm)}:${p(ss)}` : `${mm}:${p(ss)}`;
}

/**
 * Human duration: "1h 02m", "3m 20s", "45s", "0.4s". Whole seconds are
 * rounded down, as the player's clock does, so a session listed as "59s"
 * never plays to "1:00" (nor one listed as "1m 00s" to "0:59").
 */
export function duration(ms) {
  if (!(ms >= 0)) return '–';
  if (ms < 1000) return (Math.floor(ms / 100) / 10).toFixed(1).replace(/\.0$/, '') + 's';
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

// Intl formatters are made on first use: each costs milliseconds to
// create (locale data), and the replay screen's first frame needs none.
const once = (make) => { let v; return () => (v === undefined ? (v = make()) : v); };

const rtf = once(() => (typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null));

/** "5 minutes ago", "yesterday", or a date for older times. */
export function relative(ts, now = Date.now()) {
  const d = (ts - now) / 1000;
  const a = Math.abs(d);
  const f = rtf();
  if (!f || a > 7 * 86400) return date(ts);
  // Everything listed has happened: a time ahead of ours is a visitor's
  // clock that runs fast (the collector accepts ten minutes of that),
  // not an event "in 5 minutes".
  if (a < 45 || d > 0) return 'just now';
  // Round first, then pick the unit, so that 59 min 50 s carries into
  // "1 hour ago" rather than reading "60 minutes ago" (and 23 h 50 min
  // into "yesterday", not "24 hours ago").
  const sign = d < 0 ? -1 : 1;
  const minutes = Math.round(a / 60);
  if (minutes < 60) return f.format(sign * minutes, 'minute');
  const hours = Math.round(a / 3600);
  if (hours < 24) return f.format(sign * hours, 'hour');
  return f.format(sign * Math.round(a / 86400), 'day');
}

// Times are shown in the viewer's time zone (the browser's), with the
// hour as the locale writes it ("3:52 PM", "15:52"), and the zone named
// wherever a time stands alone (details, tooltips), so that an operator
// comparing with a server log in UTC knows which clock a time is on.
const dateFmt = once(() => new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' }));
const dateTimeFmt = once(() => new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit', timeZoneName: 'short' }));
const timeFmt = once(() => new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' }));
const shortFmt = once(() => new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' }));

/** Calendar date. */
export function date(ts) { return dateFmt().format(new Date(ts)); }
/** Date and time to the second, with the time zone ("Nov 27, 2026, 3:52:15 PM UTC"). */
export function dateTime(ts) { return dateTimeFmt().format(new Date(ts)); }
/** Short date and time ("Nov 27, 3:52 PM"). */
export function shortDateTime(ts) { return shortFmt().format(new Date(ts)); }
/** Time of day. */
export function timeOfDay(ts) { return timeFmt().format(new Date(ts)); }

/** Byte size: "812 B", "14.2 KB", "3.1 MB". */
export function bytes(n) {
  if (!(n >= 0)) return '–';
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

/** Splits a URL for display: {host, path} (path includes query and hash). */
export function splitURL(u) {
  try {
    const url = new URL(u);
    return { host: url.host, path: (url.pathname + url.search + url.hash) || '/' };
  } catch {
    return { host: '', path: u || '' };
  }
}

/** "Chrome 126 · macOS" from a User-Agent header. */
export function browser(ua) {
  const { name, os } = browserParts(ua);
  return [name, os].filter(Boolean).join(' · ') || (ua || '').slice(0, 40);
}

/** Plural: "1 click", "3 clicks" (n formatted for the locale). */
export function plural(n, one, many = one + 's') {
  return `${Number(n || 0).toLocaleString()} ${n === 1 ? one : many}`;
}

/** The browser ("Chrome 126") and OS ("macOS") of a User-Agent, each '' when unknown. */
export function browserParts(ua) {
  if (!ua) return { name: '', os: '' };
  const m = (re) => { const r = re.exec(ua); return r ? r[1] : null; };
  let name = '';
  let v;
  if ((v = m(/Edg(?:e|A|iOS)?\/(\d+)/))) name = 'Edge ' + v;
  else if ((v = m(/OPR\/(\d+)/))) name = 'Opera ' + v;
  else if ((v = m(/Firefox\/(\d+)/))) name = 'Firefox ' + v;
  else if (/HeadlessChrome\/(\d+)/.test(ua)) name = 'Headless Chrome ' + m(/HeadlessChrome\/(\d+)/);
  else if ((v = m(/(?:Chrome|CriOS)\/(\d+)/))) name = 'Chrome ' + v;
  else if ((v = m(/Version\/(\d+)[\d.]* .*Safari/))) name = 'Safari ' + v;
  let os = '';
  if (/Windows/.test(ua)) os = 'Windows';
  else if (/iPhone|iPad|iPod/.test(ua)) os = 'iOS';
  else if (/Mac OS X/.test(ua)) os = 'macOS';
  else if (/Android/.test(ua)) os = 'Android';
  else if (/CrOS/.test(ua)) os = 'ChromeOS';
  else if (/Linux/.test(ua)) os = 'Linux';
  return { name, os };
}

/** Display name of a session's user, or ''. */
export function userLabel(s) {
  return s.userName || s.userEmail || s.userId || '';
}
