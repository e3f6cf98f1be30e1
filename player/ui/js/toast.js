// Short notifications in a corner ("Link copied", "Session deleted").
import { h } from './dom.js';
import { icon } from './icons.js';

let box;

/** Shows message for a few seconds; kind is 'info' (a confirmation: "Session deleted") or 'error'. */
export function toast(message, kind = 'info') {
  if (!box || !box.isConnected) {
    box = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const t = h('div', { class: 'toast toast-' + kind }, icon(kind === 'error' ? 'alert' : 'check'), h('span', null, message));
  box.append(t);
  setTimeout(() => t.classList.add('leaving'), kind === 'error' ? 6000 : 2800);
  setTimeout(() => t.remove(), kind === 'error' ? 6400 : 3200);
}
