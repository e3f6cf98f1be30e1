// Loading a recording into a Recording: progressively from the API
// (segments fetched a few at a time and committed in order, so playback
// starts with the first one), or at once from imported events.
import { getSession, listSegments, segmentEvents, ApiError } from '../api.js';
import { EventType } from './model.js';

const PARALLEL = 6;

// The page carries the session it was opened on (<script id="boot">):
// used once, for that session, instead of two API round trips. Its
// segments come without their URLs, which follow from their keys; the
// first one's events (the full snapshot) usually come along (first), so
// the first frame is built in the script's first task, without a fetch.
function takeBoot(id) {
  const el = document.getElementById('boot');
  if (!el) return null;
  el.remove();
  try {
    const b = JSON.parse(el.textContent);
    if (!b || !b.session || b.session.id !== id || !Array.isArray(b.segments) || !b.segments.length) return null;
    for (const s of b.segments) s.url = `api/sessions/${encodeURIComponent(id)}/segments/${encodeURIComponent(s.view)}/${s.seq}`;
    return b;
  } catch {
    return null;
  }
}

async function fetchWithRetry(url, signal) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await segmentEvents(url, signal);
    } catch (e) {
      const retryable = e instanceof ApiError && (e.status === 0 || e.status >= 500);
      if (!retryable || attempt >= 2 || signal.aborted) throw e;
      await new Promise((r) => setTimeout(r, 400 * 3 ** attempt));
    }
  }
}

// Both results; when both fail, the first one's error (the session's says
// more than its segment list's), whichever answer came first.
async function both(a, b) {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/**
 * Loads session id into rec. Calls onSession(session) once the metadata
 * is known and onProgress({done, total, bytes, totalBytes, failed}) as
 * segments arrive. Rejects if the session cannot be opened at all; a
 * segment that cannot be loaded is skipped and counted in failed.
 */
export async function loadSession(id, rec, { signal, onSession, onProgress }) {
  // Both at once: the first segment can only be asked for after both.
  const boot = takeBoot(id);
  const [session, segs] = boot ? [boot.session, boot.segments] : await both(getSession(id, signal), listSegments(id, signal));
  rec.setBounds(session.start, session.end);
  const infos = new Map();
  for (const v of session.views || []) {
    infos.set(v.id, v);
    rec.view(v);
  }
  const first = boot && Array.isArray(boot.first) ? boot.first : null;
  // With the first segment at hand, the session's details (formatted
  // dates, the side panel) wait until the first frame is built.
  if (!first) onSession(session);
  if (!segs.length) throw new ApiError(404, 'no_segments', 'This session has no stored segments: its recording may still be arriving, or it was cut short. Try again in a few seconds.');
  const totalBytes = segs.reduce((a, s) => a + s.size, 0);
  const pending = new Array(segs.length);
  let started = 0;
  const startNext = () => {
    if (started < segs.length) {
      const i = started++;
      pending[i] = i === 0 && first ? { ev: first } : fetchWithRetry(segs[i].url, signal).then((ev) => ({ ev }), (err) => ({ err }));
    }
  };
  for (let k = 0; k < PARALLEL; k++) startNext();
  let bytes = 0, failed = 0;
  for (let i = 0; i < segs.length; i++) {
    // The first segment, when the page carried it, is used at once (no
    // await: the first frame is built before the page's first rendering).
    const res = i === 0 && first ? pending[0] : await pending[i];
    pending[i] = null;
    startNext();
    if (signal.aborted) throw new DOMException('aborted', 'AbortError');
    const seg = segs[i];
    if (res.err) {
      failed++;
      rec.warnings.push(`Segment ${seg.seq} of view ${seg.view} could not be loaded (${res.err.message}).`);
    } else if (Array.isArray(res.ev)) {
      rec.addEvents(infos.get(seg.view) || { id: seg.view }, res.ev);
    }
    bytes += seg.size;
    if (i === 0 && first) onSession(session);
    if (i + 1 < segs.length) rec.setLoadedUntil(segs[i + 1].start);
    onProgress({ done: i + 1, total: segs.length, bytes, totalBytes, failed });
  }
  rec.finish();
  return session;
}

/**
 * Loads imported rrweb events into rec. A Meta event with a new address
 * starts a new view (rrweb records navigations in one stream); what comes
 * before the first one (rrweb's DomContentLoaded and Load events) belongs
 * to the first view, not to a page of its own.
 */
export function loadEvents(events, rec) {
  let view = null, href = null, chunk = [], n = 0;
  const flush = () => { if (view && chunk.length) rec.addEvents(view, chunk); chunk = []; };
  for (const e of events) {
    if (e.type === EventType.Meta && (!view || (e.data && e.data.href && e.data.href !== href))) {
      if (view) flush();
      href = e.data && e.data.href;
      view = { id: 'view-' + (n++), url: href || '', tab: 'imported', start: chunk.length ? chunk[0].timestamp : e.timestamp };
    }
    chunk.push(e);
  }
  if (!view && chunk.length) view = { id: 'view-0', url: '', tab: 'imported', start: chunk[0].timestamp };
  flush();
  rec.finish();
}
