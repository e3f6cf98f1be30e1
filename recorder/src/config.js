// Configuration: from the injected tag's data- attributes, or from
// SessionReplay.init(options) with the spec's option names.

import { levelNamed } from './privacy.js';

// Sent in every replay/view event.
const META = ['applicationId', 'service', 'env', 'version'];
// The data- attributes: data-application-id is dataset.applicationId.
const KEYS = META.concat('clientToken', 'endpoint', 'sampleRate', 'replaySampleRate', 'trackInteractions', 'start', 'privacy');
const ENDPOINT = '/__replay/v1/segments';

const str = (v) => (v == null ? '' : String(v));

// A percentage: 0 to 100, 100 when missing or not a number.
function rate(v) {
  const n = parseFloat(v);
  return n < 0 ? 0 : n < 100 ? n : 100;
}

/** Normalizes options (init's names) into the recorder's configuration. */
export function configure(o, scriptURL) {
  // An endpoint that is not a URL: the default, which fetch and
  // sendBeacon resolve against the page.
  let endpoint = ENDPOINT;
  try {
    endpoint = new URL(str(o.endpoint) || ENDPOINT, scriptURL).href;
  } catch (e) { /* the default */ }
  const level = levelNamed(o.defaultPrivacyLevel || o.privacy);
  const token = str(o.clientToken);
  const c = {
    // Every upload's URL up to the segment's own parameters.
    upload: endpoint + (endpoint.includes('?') ? '&' : '?') + (token && 'ct=' + encodeURIComponent(token) + '&'),
    meta: {},
    rate: rate(o.sampleRate) * rate(o.replaySampleRate ?? o.sessionReplaySampleRate), // 0–10000: sampled sessions per 10,000
    track: str(o.trackInteractions ?? o.trackUserInteractions) != 'false', // false or "false" (a data- attribute)
    manual: o.startSessionReplayRecordingManually === true || str(o.start).toLowerCase() == 'manual',
    privacy: level < 0 ? 1 : level, // mask-user-input by default
  };
  for (const k of META) c.meta[k] = str(o[k]);
  return c;
}

/** Options from the script tag's data- attributes, or null when it has none. */
export const fromScript = (script) => (script && KEYS.some((k) => k in script.dataset) ? script.dataset : null);
