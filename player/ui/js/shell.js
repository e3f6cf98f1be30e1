// The page frame: a header with the product name, a breadcrumb and
// per-screen actions, and the main area a screen renders into.
import { h, replace } from './dom.js';
import { link, href } from './router.js';
import { themeToggle } from './theme.js';

const title = document.documentElement.dataset.title || 'Caddy Replay';

/** Builds the shell once; returns its slots. */
export function createShell(app, { onImport }) {
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' });
  const actions = h('div', { class: 'header-actions' });
  const fileInput = h('input', { type: 'file', accept: '.json,.gz,application/json', hidden: true });
  fileInput.addEventListener('change', () => {
    const f = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    if (f) onImport(f);
  });
  const importBtn = h('button', { class: 'btn ghost', type: 'button', title: 'Play an rrweb recording (JSON file) in this tab', onclick: () => fileInput.click() },
    'Import recording');
  const brand = link(h('a', { class: 'brand', href: href({}) },
    h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
    h('span', { class: 'brand-name' }, title)));
  const header = h('header', { class: 'topbar' }, brand, crumbs, h('div', { class: 'spacer' }), actions, importBtn, fileInput, themeToggle());
  const main = h('main', { class: 'main' });
  replace(app, header, main);

  // Dropping a recording anywhere imports it.
  addEventListener('dragover', (e) => {
    if (e.dataTransfer && [...e.dataTransfer.types].includes('Files')) { e.preventDefault(); document.body.classList.add('dropping'); }
  });
  addEventListener('dragleave', (e) => { if (!e.relatedTarget) document.body.classList.remove('dropping'); });
  addEventListener('drop', (e) => {
    document.body.classList.remove('dropping');
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) { e.preventDefault(); onImport(f); }
  });

  return {
    main,
    setCrumbs(...nodes) { replace(crumbs, nodes); },
    setActions(...nodes) { replace(actions, nodes); },
    setTitle(t) { document.title = t ? `${t} · ${title}` : title; },
  };
}
