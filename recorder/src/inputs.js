// Form input: typed (input/change events) and programmatic (the value,
// checked, selectedIndex and selected setters), masked per privacy level.

import { HIDDEN, levelOf, controlValue } from './privacy.js';
import { afterSet, on } from './hooks.js';
import { tagOf } from './serialize.js';
import { idOf } from './mirror.js';
import { flushMutations } from './mutations.js';
import { recording, cfg, inc, mutation } from './recorder.js';

const last = new WeakMap(); // element -> the state last sent

/** Listens to doc's input and change events. */
export function installInputs(doc) {
  const h = (e) => record(e.composedPath()[0], e.isTrusted);
  on(doc, 'input', h);
  on(doc, 'change', h);
}

/** Emits an Input event for el if its recordable state changed. */
function record(el, user) {
  // Changed while capture is paused: the state sent last is stale (the
  // snapshot that resumes capture has the new one).
  if (!recording) return last.delete(el);
  const tag = el?.nodeType === 1 ? tagOf(el) : '';
  const id = /^(?:input|textarea|select)$/.test(tag) && idOf(el);
  const level = id && levelOf(el, cfg.privacy);
  if (!id || level === HIDDEN) return;
  const text = controlValue(el, tag, level);
  if (text === null) return; // checkbox, radio and select state is masked
  const type = tag === 'input' ? el.type : '';
  const isChecked = (type === 'checkbox' || type === 'radio') && el.checked;
  const key = text + +isChecked; // the last character tells the state
  // A select with no selection is sent again: options added or removed
  // since select it anew, without telling us (the replay does the same).
  if (last.get(el) === key && !(el.selectedIndex < 0)) return;
  last.set(el, key);
  // DOM changes made before this one come first: a select given options
  // and then no selection would otherwise select its first option in the
  // replay, when the options arrive after it.
  flushMutations();
  inc({ source: 5, text, isChecked, id, userTriggered: user || undefined }); // JSON leaves undefined out
  // No option selected: the value, "", would select an option whose value is "".
  if (el.selectedIndex < 0) mutation({ attributes: [{ id, attributes: { rr_selectedIndex: -1 } }] });
  // Checking a radio unchecks the others of its group, without events.
  if (type === 'radio' && isChecked && el.name) {
    for (const r of (el.form || el.getRootNode()).querySelectorAll('input[type=radio]')) if (r !== el && r.name === el.name) record(r, user);
  }
}

/** Hooks the setters of one window's form controls. */
export function hookInputs(win) {
  const fire = (el) => record(el, false);
  for (const [C, props] of [[win.HTMLInputElement, ['value', 'checked']], [win.HTMLTextAreaElement, ['value']], [win.HTMLSelectElement, ['value', 'selectedIndex']]]) {
    for (const p of props) afterSet(C.prototype, p, fire);
  }
  afterSet(win.HTMLOptionElement.prototype, 'selected', (opt) => fire(opt.closest('select')));
}
