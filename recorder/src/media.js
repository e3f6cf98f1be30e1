// Media state: play, pause, seek, volume and rate of <video> and <audio>.

import { on } from './hooks.js';
import { idOf } from './mirror.js';
import { inc, guarded } from './recorder.js';

const TYPES = ['play', 'pause', 'seeked', 'volumechange', 'ratechange'];

/** Listens to doc's media events. */
export function installMedia(doc) {
  TYPES.forEach((type, i) => on(doc, type, guarded((e) => {
    const el = e.target;
    const id = idOf(el);
    if (id) inc({ source: 7, type: i, id, currentTime: el.currentTime, volume: el.volume, muted: el.muted, playbackRate: el.playbackRate, loop: el.loop });
  })));
}
