// The control bar under the stage: play/pause, time, page, speed, skip
// inactivity, fullscreen and the shortcuts sheet.
import { h } from '../dom.js';
import { icon } from '../icons.js';
import { clock } from '../format.js';
import { SPEEDS } from './playback.js';

/** Builds the controls for a Playback; call update() on every change. */
export class Controls {
  constructor(pb, { onFullscreen, onHelp }) {
    this.pb = pb;
    this.playBtn = h('button', { class: 'btn icon-btn play-btn', type: 'button', onclick: () => pb.toggle() });
    this.time = h('span', { class: 'time num' });
    this.speedBtns = SPEEDS.map((s) => h('button', {
      class: 'seg-btn', type: 'button', dataset: { speed: String(s) }, title: `Play at ${s}× (key ${SPEEDS.indexOf(s) + 1})`,
      onclick: () => pb.setSpeed(s),
    }, s + '×'));
    this.skipInput = h('input', { type: 'checkbox', class: 'switch-input', onchange: (e) => pb.setSkip(e.target.checked) });
    this.fsBtn = h('button', { class: 'btn icon-btn ghost', type: 'button', title: 'Fullscreen (F)', 'aria-label': 'Fullscreen', onclick: onFullscreen }, icon('fullscreen'));
    this.el = h('div', { class: 'controls' },
      this.playBtn,
      h('button', { class: 'btn icon-btn ghost', type: 'button', title: 'Back 5 seconds (←)', 'aria-label': 'Back 5 seconds', onclick: () => pb.seekBy(-5000) }, h('span', { class: 'jump' }, '−5')),
      h('button', { class: 'btn icon-btn ghost', type: 'button', title: 'Forward 5 seconds (→)', 'aria-label': 'Forward 5 seconds', onclick: () => pb.seekBy(5000) }, h('span', { class: 'jump' }, '+5')),
      this.time,
      h('div', { class: 'spacer' }),
      h('div', { class: 'seg', role: 'group', 'aria-label': 'Playback speed' }, this.speedBtns),
      h('label', { class: 'switch', title: 'Jump over stretches where the visitor did nothing (S)' }, this.skipInput, h('span', { class: 'switch-track' }),
        // The short label takes over in a narrow window (20-replay.css).
        h('span', { class: 'switch-long' }, 'Skip inactivity'), h('span', { class: 'switch-short' }, 'Skip idle')),
      this.fsBtn,
      h('button', { class: 'btn icon-btn ghost', type: 'button', title: 'Keyboard shortcuts (?)', 'aria-label': 'Keyboard shortcuts', onclick: onHelp }, icon('help')),
    );
    this.update();
  }

  /** Reflects the playback state. */
  update() {
    const pb = this.pb;
    const playing = pb.playing;
    if (this.playing !== playing) {
      this.playing = playing;
      this.playBtn.replaceChildren(icon(playing ? 'pause' : 'play'));
      this.playBtn.title = playing ? 'Pause (Space)' : 'Play (Space)';
      this.playBtn.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    }
    for (const b of this.speedBtns) b.classList.toggle('on', +b.dataset.speed === pb.speed);
    this.skipInput.checked = pb.skip;
    this.updateTime();
  }

  /** Updates the time display (every frame). */
  updateTime() {
    const pb = this.pb;
    const total = Number.isFinite(pb.start) ? pb.end - pb.start : 0;
    const now = Number.isFinite(pb.t) && Number.isFinite(pb.start) ? pb.t - pb.start : 0;
    const text = `${clock(now)} / ${clock(total)}`;
    if (this.time.textContent !== text) this.time.textContent = text;
  }

  /** Shows whether the player is fullscreen. */
  setFullscreen(on) {
    this.fsBtn.replaceChildren(icon(on ? 'exitFullscreen' : 'fullscreen'));
    this.fsBtn.title = on ? 'Exit fullscreen (F)' : 'Fullscreen (F)';
  }
}
