// The player's HTTP API, at paths relative to the page so the player works
// at a site root and under a stripped prefix alike.

const root = document.documentElement;

/** An API failure with a message that says what to do. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function fallbackMessage(status) {
  if (status === 401 || status === 403) return `You are not allowed to use the player (HTTP ${status}): reload the page and sign in again.`;
  if (status === 404) return 'Not found: it may have expired under the retention policy or been deleted.';
  if (status === 410) return 'This session was deleted.';
  if (status === 503) return 'The player is restarting (HTTP 503): try again in a few seconds.';
  if (status >= 500) return `The server failed (HTTP ${status}): check Caddy's log, then try again.`;
  return `The request failed (HTTP ${status}).`;
}

async function request(url, opts = {}) {
  let res;
  try {
    res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', ...opts });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Could not reach the player: check that Caddy is running and your network is up, then try again.');
  }
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch { /* not JSON: keep the fallback */ }
    throw new ApiError(res.status, body?.error || 'http_' + res.status, body?.message || fallbackMessage(res.status));
  }
  return res;
}

async function json(url, opts) {
  return (await request(url, opts)).json();
}

const enc = encodeURIComponent;

/** Lists sessions; params are the API's query parameters. */
export function listSessions(params, signal) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null && v !== false) q.set(k, v === true ? '1' : String(v));
  return json('api/sessions?' + q, { signal });
}

/** One session with its views. */
export function getSession(id, signal) {
  return json('api/sessions/' + enc(id), { signal });
}

/** A session's segment list. */
export async function listSegments(id, signal) {
  return (await json('api/sessions/' + enc(id) + '/segments', { signal })).segments;
}

/**
 * One segment's events. Bodies are immutable, so the browser cache may
 * answer; the server sends them gzip-encoded and the browser inflates.
 */
export async function segmentEvents(url, signal) {
  const res = await request(url, { signal, cache: 'default' });
  return res.json();
}

/** The export (rrweb JSON) URL of a session. */
export function exportURL(id) {
  return 'api/sessions/' + enc(id) + '/export';
}

/**
 * Checks that the export of a session can be served (a HEAD request, which
 * opens the recording as the download would), so that a failure is shown
 * on the page instead of only in the browser's download list.
 */
export async function checkExport(id, signal) {
  await request(exportURL(id), { method: 'HEAD', signal });
}

function mutate(url) {
  return json(url, { method: 'DELETE', headers: { 'X-Replay-CSRF': root.dataset.csrf || '' } });
}

/** Deletes one session. */
export function deleteSession(id) {
  return mutate('api/sessions/' + enc(id));
}

/** Deletes every session of a user id; resolves to {deleted}. */
export function deleteUser(userId) {
  return mutate('api/sessions?user=' + enc(userId));
}
