// Media state: play, pause, seek, volume and rate of <video> and <audio>.

import { on } from './hooks.js';
import { idOf } from './mirror.js';
import { inc } from './recorder.js';

const TYPES = ['play', 'pause', 'seeked', 'volumechange', 'ratechange'];

/** The media state recorded (events, and rr_media* attributes in snapshots). */
export const MEDIA = ['currentTime', 'volume', 'muted', 'playbackRate', 'loop'];

/** Listens to doc's media events. */
export function installMedia(doc) {
  TYPES.forEach((type, i) => on(doc, type, (e) => {
    const el = e.target;
    const id = idOf(el);
    if (!id) return;
    const data = { source: 7, type: i, id };
    for (const k of MEDIA) data[k] = el[k];
    inc(data);
  }));
}
