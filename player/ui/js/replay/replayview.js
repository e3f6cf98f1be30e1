// The replay screen: stage, timeline and controls, side panel, and the
// session's actions (share, export, delete). It loads the recording
// progressively and starts playing as soon as the first page can be shown.
import { h } from '../dom.js';
import { icon } from '../icons.js';
import { go, link, href } from '../router.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import { toast } from '../toast.js';
import { confirmDanger, modal } from '../dialog.js';
import { getImport } from '../importer.js';
import { listParams } from '../list/query.js';
import { Rebuilder } from './rebuilder.js';
import { Recording } from './recording.js';
import { Indexer } from './checkpoints.js';
import { Playback } from './playback.js';
import { Stage } from './stage.js';
import { Timeline } from './timeline.js';
import { Controls } from './controls.js';
import { SidePanel } from './sidepanel.js';
import { installShortcuts, showHelp } from './shortcuts.js';
import { loadSession, loadEvents } from './source.js';

/** Mounts the replay of params.session (or params.import) into the shell. */
export function replayView(shell, params) {
  const sessionId = params.session || '';
  const imported = params.import ? getImport(params.import) : null;
  // Where the first frame opens; a link to another moment of this
  // session that arrives before that frame (update) moves it.
  let startAt = parseFloat(params.t);
  const abort = new AbortController();

  const stage = new Stage();
  const rec = new Recording();
  const root = h('section', { class: 'replay-screen', dataset: { state: 'loading' } });
  shell.main.replaceChildren(root);

  const crumb = h('span', { class: 'current ellipsis' }, imported ? imported.name : 'Session');
  shell.setCrumbs(link(h('a', { href: href(listParams()) }, 'Sessions')), crumb);
  shell.setTitle(imported ? imported.name : 'Session');

  if (params.import && !imported) {
    root.append(h('div', { class: 'empty' },
      h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('file')),
      h('h2', null, 'This imported recording is gone'),
      h('p', null, 'Imported recordings stay in the browser tab they were opened in, and reloading the page clears them. Import the file again to play it.'),
      link(h('a', { class: 'btn primary', href: href(listParams()) }, 'Back to sessions'))));
    shell.setActions();
    return { update: () => false, destroy() {} };
  }

  const frames = h('div', { class: 'index-frames', hidden: true });
  root.append(frames);
  const indexer = new Indexer(rec, (doc) => new Rebuilder(doc, { resolveURL: (u) => u, stylesheets: rec.stylesheets, onWarning() {} }), frames);
  const playerBox = h('div', { class: 'player-box' }, stage.el);
  const layout = h('div', { class: 'replay-main' }, playerBox);
  root.append(layout);
  // The iframe is in the document now: its about:blank document exists.
  const pb = new Playback(rec, indexer, stage, Rebuilder);
  const fullscreen = () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else root.requestFullscreen().catch(() => toast('Fullscreen is not available here.', 'error'));
  };
  const timeline = new Timeline(pb, rec);
  const controls = new Controls(pb, { onFullscreen: fullscreen, onHelp: showHelp });
  const loadStatus = h('span', { class: 'load-status muted small' });
  controls.el.insertBefore(loadStatus, controls.el.querySelector('.spacer'));
  playerBox.append(h('div', { class: 'transport' }, timeline.el, controls.el));
  const side = new SidePanel(pb, rec, { onDeleteUser: deleteUser });
  layout.append(side.el);

  // Actions in the header.
  const shareBtn = imported ? null : h('button', { class: 'btn ghost', type: 'button', title: 'Copy a link to this moment', onclick: share }, icon('link'), 'Share');
  const exportBtn = imported
    ? h('button', { class: 'btn ghost', type: 'button', title: 'Download as rrweb JSON', onclick: exportImported }, icon('download'), 'Export')
    : h('a', { class: 'btn ghost', href: api.exportURL(sessionId), download: '', title: 'Download as rrweb JSON (plays in rrweb’s Replayer)', onclick: exportStored }, icon('download'), 'Export');
  const deleteBtn = imported ? null : h('button', { class: 'btn ghost danger-text', type: 'button', title: 'Delete this session', onclick: del }, icon('trash'), 'Delete');
  shell.setActions(shareBtn, exportBtn, deleteBtn);

  function views() {
    return rec.views.filter((v) => v.restarts.length);
  }
  const uninstall = installShortcuts(pb, {
    fullscreen,
    prevPage: () => { const vs = views(); const i = vs.indexOf(pb.view); if (i > 0) pb.seek(rec.screenTime(vs[i - 1])); else pb.seek(pb.start); },
    nextPage: () => { const vs = views(); const i = vs.indexOf(pb.view); if (i >= 0 && i + 1 < vs.length) pb.seek(rec.screenTime(vs[i + 1])); },
  });
  const onFs = () => controls.setFullscreen(!!document.fullscreenElement);
  document.addEventListener('fullscreenchange', onFs);

  // State for tests and tools, on the screen's element.
  function reflect() {
    const d = root.dataset;
    d.state = pb.ended ? 'ended' : pb.buffering ? 'buffering' : pb.playing ? 'playing' : pb.rendered ? 'paused' : d.state === 'error' ? 'error' : 'loading';
    d.speed = String(pb.speed);
    d.skip = pb.skip ? '1' : '0';
    d.time = Number.isFinite(pb.t) && Number.isFinite(pb.start) ? String(Math.round(pb.t - pb.start)) : '0';
    d.view = pb.view ? pb.view.id : '';
    d.seekEvents = String(pb.lastSeek.events);
    d.seekRestore = pb.lastSeek.restore;
  }

  let started = false;
  function firstFrame() {
    if (started || !rec.switches.length) return;
    started = true;
    stage.showMessage(null);
    if (startAt >= 0) {
      pb.seek(pb.start + startAt * 1000);
    } else {
      pb.seek(pb.start);
      pb.play();
    }
  }

  pb.addEventListener('seek', reflect);
  pb.addEventListener('frame', () => {
    timeline.update();
    controls.updateTime();
    side.markCurrent(false);
    reflect();
  });
  pb.addEventListener('state', () => {
    controls.update();
    reflect();
    if (pb.buffering) stage.showMessage('buffering', 'Loading this part of the session…');
    else if (started && stage.el.dataset.message === 'buffering') stage.showMessage(null);
  });
  // The breadcrumb names the page on screen; before one is, the entry page.
  const nameCrumb = (s) => {
    const v = pb.view;
    if (imported) return;
    crumb.textContent = (v ? v.title || fmt.splitURL(v.url).path : s && fmt.splitURL(s.entryUrl).path) || 'Session';
  };
  pb.addEventListener('view', () => nameCrumb(null));
  // The timeline's markers and the side panel are drawn once the first
  // frame is on screen, not before it is painted; until then, changes
  // leave them to that first drawing.
  let panesReady = false;
  function drawPanes() {
    timeline.draw();
    side.refresh();
  }
  rec.addEventListener('change', () => {
    const before = started;
    firstFrame();
    if (!before && started) {
      requestAnimationFrame(() => setTimeout(() => {
        if (abort.signal.aborted) return;
        panesReady = true;
        drawPanes();
      }, 0));
    } else if (panesReady || !started) {
      drawPanes();
    }
    // New data may complete the frame a paused or buffering player shows.
    if (started && !pb.playing) pb.renderTo(pb.t, true);
    if (pb.buffering && pb.wantPlay && !pb.playing) pb.play();
    status();
  });
  // Labels arrive slice by slice while indexing: re-render at most twice
  // a second.
  let labelTimer = 0;
  indexer.addEventListener('labels', () => {
    if (!labelTimer) labelTimer = setTimeout(() => { labelTimer = 0; side.renderEvents(); }, 500);
  });
  indexer.addEventListener('idle', () => { status(); if (rec.complete) root.dataset.indexed = '1'; });

  let progress = null;
  function status() {
    let text = '';
    if (progress && progress.done < progress.total) {
      text = `Loading ${Math.round((progress.bytes / Math.max(1, progress.totalBytes)) * 100)}% · ${fmt.bytes(progress.bytes)}`;
    } else if (rec.complete && !indexer.idle) {
      text = `Preparing instant seek ${Math.round(indexer.progress * 100)}%`;
    }
    if (progress && progress.failed) text += (text ? ' · ' : '') + `${progress.failed} segment${progress.failed > 1 ? 's' : ''} missing`;
    loadStatus.textContent = text;
    root.dataset.loaded = rec.complete ? '1' : '0';
  }
  const statusTimer = setInterval(() => { if (!indexer.idle) status(); }, 500);

  stage.showMessage('loading', imported ? 'Preparing the recording…' : 'Loading the session…');
  if (imported) {
    side.setSession(null);
    loadEvents(imported.events, rec);
    status();
  } else {
    loadSession(sessionId, rec, {
      signal: abort.signal,
      onSession: (s) => {
        side.setSession(s);
        // The first view may be on screen already (its events come with the page).
        nameCrumb(s);
        shell.setTitle(`${fmt.userLabel(s) || 'Anonymous'} · ${fmt.splitURL(s.entryUrl).path}`);
      },
      onProgress: (p) => { progress = p; status(); },
    }).catch((e) => {
      if (e.name === 'AbortError') return;
      if (started) { toast(e.message, 'error'); return; }
      fail(e);
    });
  }

  // A session that cannot be opened gets a page that says so and what to
  // do, not an empty player whose buttons (play, share, export, delete)
  // and viewport size would all be about nothing.
  function fail(e) {
    root.dataset.state = 'error';
    layout.remove();
    uninstall();
    shell.setActions();
    crumb.textContent = 'Session';
    shell.setTitle('Could not open session');
    const missing = e.status === 404;
    root.append(h('div', { class: 'empty replay-error', role: 'alert' },
      h('div', { class: 'empty-art empty-art-error', 'aria-hidden': 'true' }, icon('alert')),
      h('h2', null, missing ? 'This session is not in the store' : 'Could not open this session'),
      h('p', null, e.message),
      h('p', { class: 'muted small' }, 'Session id: ', h('code', null, sessionId)),
      h('div', { class: 'empty-actions' },
        missing ? null : h('button', { class: 'btn', type: 'button', onclick: () => location.reload() }, 'Try again'),
        link(h('a', { class: 'btn primary', href: href(listParams()) }, 'Back to sessions')))));
  }

  async function share() {
    const secs = Math.max(0, Math.round((pb.t - pb.start) / 100) / 10);
    const url = new URL(href({ session: sessionId, t: secs }), location.href).href;
    try {
      await navigator.clipboard.writeText(url);
      toast(`Link copied: opens at ${fmt.clock(secs * 1000)}`);
    } catch {
      // No clipboard (plain http on another host): show the link to copy.
      const input = h('input', { class: 'input share-input', value: url, readonly: true, 'aria-label': 'Link' });
      modal({ title: 'Link to this moment', body: [
        h('p', null, `Opens this session at ${fmt.clock(secs * 1000)}. The browser did not let the player copy it: press `, h('kbd', null, /Mac/.test(navigator.platform) ? '⌘C' : 'Ctrl+C'), ' to copy the selected link.'),
        input] });
      input.select();
    }
  }

  // A plain download link fails silently (in the browser's download list
  // only) when the session was deleted meanwhile or the store is closed:
  // ask first, and download only what can be served.
  let exporting = false;
  async function exportStored(e) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (exporting) return;
    exporting = true;
    try {
      await api.checkExport(sessionId, abort.signal);
      const a = h('a', { href: api.exportURL(sessionId), download: '', hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      if (err.name !== 'AbortError') toast('The export failed: ' + err.message, 'error');
    } finally {
      exporting = false;
    }
  }

  function exportImported() {
    const blob = new Blob([JSON.stringify(imported.events)], { type: 'application/json' });
    const a = h('a', { href: URL.createObjectURL(blob), download: imported.name.replace(/(\.json)?(\.gz)?$/, '') + '.rrweb.json' });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  async function del() {
    if (!(await confirmDanger('Delete this session?', 'The recording and its index entry are removed from the store for good. Segments that arrive later for this session are refused.', 'Delete session'))) return;
    try {
      await api.deleteSession(sessionId);
      toast('Session deleted');
      // Left meanwhile for another screen: stay on it.
      if (!abort.signal.aborted) go(listParams());
    } catch (e) {
      // Deleted meanwhile (another tab, the retention sweep): what the
      // user asked for is done, so say that instead of "not found".
      if (e.status === 404) {
        toast('This session had already been deleted');
        if (!abort.signal.aborted) go(listParams());
        return;
      }
      toast(e.message, 'error');
    }
  }

  async function deleteUser(userId) {
    if (!(await confirmDanger('Delete all sessions of this user?', `Every recorded session of user “${userId}” is removed from the store for good.`, 'Delete all'))) return;
    try {
      const r = await api.deleteUser(userId);
      toast(`${r.deleted} session${r.deleted === 1 ? '' : 's'} deleted`);
      go(listParams());
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  reflect();
  return {
    update(p) {
      // Same session with a new ?t= (a shared link pasted in place).
      if ((p.session || '') === sessionId && (p.import || '') === (params.import || '')) {
        const t = parseFloat(p.t);
        if (t >= 0 && started) {
          pb.pause();
          pb.seek(pb.start + t * 1000);
        } else if (t >= 0) {
          // Nothing on screen yet: open there instead of at the start.
          startAt = t;
        }
        return true;
      }
      return false;
    },
    destroy() {
      abort.abort();
      clearInterval(statusTimer);
      clearTimeout(labelTimer);
      pb.destroy();
      indexer.stop();
      timeline.destroy();
      stage.destroy();
      uninstall();
      document.removeEventListener('fullscreenchange', onFs);
      if (document.fullscreenElement) document.exitFullscreen();
    },
  };
}
