// Media state: play, pause, seek, volume and rate of <video> and <audio>.

import { on } from './hooks.js';

const TYPES = { play: 0, pause: 1, seeked: 2, volumechange: 3, ratechange: 4 };

/** Records media interactions. */
export class Media {
  constructor(rec) {
    this.rec = rec;
  }

  install(doc) {
    const offs = [];
    for (const type in TYPES) {
      offs.push(on(doc, type, (e) => this.rec.guard(() => {
        const el = e.target;
        const id = this.rec.mirror.id(el);
        if (!id || !this.rec.recording) return;
        this.rec.emitIncremental({
          source: 7, type: TYPES[type], id, currentTime: el.currentTime, volume: el.volume,
          muted: el.muted, playbackRate: el.playbackRate, loop: el.loop,
        });
      })));
    }
    return offs;
  }
}
