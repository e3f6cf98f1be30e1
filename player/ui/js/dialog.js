// Modal dialogs on the native <dialog> element: confirmations and the
// keyboard shortcuts sheet.
import { h, append } from './dom.js';
import { icon } from './icons.js';

/** Shows a modal built from body nodes; resolves with the closing value. */
export function modal({ title, body, actions = [], className = '' }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog ' + className, 'aria-label': title });
    const close = (v) => { dlg.close(v); };
    append(dlg, [
      h('header', { class: 'dialog-head' },
        h('h2', null, title),
        h('button', { class: 'btn icon-btn ghost', type: 'button', 'aria-label': 'Close', onclick: () => close('') }, icon('close'))),
      h('div', { class: 'dialog-body' }, body),
      actions.length ? h('footer', { class: 'dialog-actions' }, actions.map((a) =>
        h('button', { class: 'btn ' + (a.kind || ''), type: 'button', onclick: () => close(a.value), autofocus: a.autofocus || null }, a.label))) : null,
    ]);
    dlg.addEventListener('close', () => { dlg.remove(); resolve(dlg.returnValue); });
    dlg.addEventListener('click', (e) => { if (e.target === dlg) close(''); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/**
 * Closes every open modal as if dismissed (its promise resolves to ''):
 * a screen's dialog must not outlive the screen, or a confirmation asked
 * about one session would act on it from the next one's page.
 */
export function closeDialogs() {
  for (const d of document.querySelectorAll('dialog[open]')) d.close('');
}

/** Asks to confirm a destructive action; resolves true when confirmed. */
export async function confirmDanger(title, message, confirmLabel) {
  const v = await modal({
    title,
    body: h('p', null, message),
    actions: [
      { label: 'Cancel', value: '', autofocus: true },
      { label: confirmLabel, value: 'yes', kind: 'danger' },
    ],
  });
  return v === 'yes';
}
