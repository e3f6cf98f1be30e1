// Popover state: showPopover()/hidePopover() change no attribute, so the
// toggle event is recorded as the rr_popover_open attribute.

import { on } from './hooks.js';

/** Installs the popover toggle listener on doc. */
export function installPopovers(rec, doc) {
  return [on(doc, 'toggle', (e) => rec.guard(() => {
    const el = e.target;
    if (!rec.recording || !el || el.nodeType !== 1 || !el.hasAttribute('popover')) return;
    const id = rec.mirror.id(el);
    if (!id) return;
    rec.mutations.flush();
    rec.emitIncremental({ source: 0, texts: [], removes: [], adds: [], attributes: [{ id, attributes: { rr_popover_open: e.newState === 'open' ? true : null } }] });
  }))];
}
