// Form input: typed (input/change events) and programmatic (the value,
// checked, selectedIndex and selected setters), masked per privacy level.

import { HIDDEN, levelOf, controlValue } from './privacy.js';
import { afterSet, on } from './hooks.js';
import { tagOf } from './serialize.js';

/** Records the values of input, textarea and select elements. */
export class Inputs {
  constructor(rec) {
    this.rec = rec;
    this.last = new WeakMap();
  }

  install(doc) {
    const h = (e) => this.rec.guard(() => this.record(e.composedPath()[0], e.isTrusted));
    return [on(doc, 'input', h), on(doc, 'change', h)];
  }

  /** Emits an Input event for el if its recordable state changed. */
  record(el, user) {
    const rec = this.rec;
    if (!rec.recording || !el || el.nodeType !== 1) return;
    const tag = tagOf(el);
    if (tag !== 'input' && tag !== 'textarea' && tag !== 'select') return;
    const id = rec.mirror.id(el);
    if (!id) return;
    const level = levelOf(el, rec.cfg.privacy);
    if (level === HIDDEN) return;
    const text = controlValue(el, tag, level);
    if (text === null) return; // checkbox, radio and select state is masked
    const type = tag === 'input' ? (el.type || '').toLowerCase() : '';
    const checked = type === 'checkbox' || type === 'radio' ? el.checked : false;
    const key = text + (checked ? '\u0001' : '\u0000');
    if (this.last.get(el) === key) return;
    this.last.set(el, key);
    const data = { source: 5, text, isChecked: checked, id };
    if (user) data.userTriggered = true;
    rec.emitIncremental(data);
    // Checking a radio unchecks the others of its group, without events.
    if (type === 'radio' && checked && el.name) {
      const scope = el.form || el.getRootNode();
      const group = scope.querySelectorAll('input[type=radio]');
      for (let i = 0; i < group.length; i++) if (group[i] !== el && group[i].name === el.name) this.record(group[i], user);
    }
  }
}

/** Hooks the setters of one window's form controls. */
export function hookInputs(win, current) {
  const rec = () => current();
  const fire = (el) => {
    const r = rec();
    if (r && r.recording) r.inputs.record(el, false);
  };
  afterSet(win.HTMLInputElement.prototype, 'value', fire);
  afterSet(win.HTMLInputElement.prototype, 'checked', fire);
  afterSet(win.HTMLTextAreaElement.prototype, 'value', fire);
  afterSet(win.HTMLSelectElement.prototype, 'value', fire);
  afterSet(win.HTMLSelectElement.prototype, 'selectedIndex', fire);
  afterSet(win.HTMLOptionElement.prototype, 'selected', (opt) => {
    const sel = opt.closest('select');
    if (sel) fire(sel);
  });
}
