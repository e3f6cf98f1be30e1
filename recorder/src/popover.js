// Popover state: showPopover()/hidePopover() change no attribute, so the
// toggle event is recorded as the rr_popover_open attribute.

import { on } from './hooks.js';
import { idOf } from './mirror.js';
import { flushMutations } from './mutations.js';
import { mutation } from './recorder.js';

/** Listens to doc's popover toggles. */
export function installPopovers(doc) {
  on(doc, 'toggle', (e) => {
    const el = e.target;
    const id = el.nodeType === 1 && el.hasAttribute('popover') && idOf(el);
    if (!id) return;
    flushMutations();
    mutation({ attributes: [{ id, attributes: { rr_popover_open: e.newState === 'open' || null } }] });
  });
}
