// Light and dark themes: the system's preference unless the user picked
// one with the toggle (remembered in localStorage).
import { h } from './dom.js';
import { icon } from './icons.js';

const KEY = 'caddy-replay-theme';
const order = ['auto', 'light', 'dark'];
const labels = { auto: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' };

function stored() {
  try { return localStorage.getItem(KEY) || 'auto'; } catch { return 'auto'; }
}

/** Applies the remembered theme to <html>. */
export function applyTheme(mode = stored()) {
  if (mode === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = mode;
}

/** A button that cycles system → light → dark. */
export function themeToggle() {
  const btn = h('button', { class: 'btn icon-btn', type: 'button' });
  const render = () => {
    const mode = stored();
    btn.replaceChildren(icon(mode === 'dark' ? 'moon' : mode === 'light' ? 'sun' : 'auto'));
    btn.title = labels[mode] + ' (click to change)';
    btn.setAttribute('aria-label', labels[mode]);
  };
  btn.addEventListener('click', () => {
    const next = order[(order.indexOf(stored()) + 1) % order.length];
    try { localStorage.setItem(KEY, next); } catch { /* private mode: session only */ }
    applyTheme(next);
    render();
  });
  // A choice made in another tab of the player applies here too, at once.
  addEventListener('storage', (e) => {
    if (e.key !== KEY && e.key !== null) return;
    applyTheme();
    render();
  });
  render();
  return btn;
}
