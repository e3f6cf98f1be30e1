// Configuration: from the injected tag's data- attributes, or from
// SessionReplay.init(options) with the spec's option names.

const LEVELS = ['allow', 'mask-user-input', 'mask', 'hidden'];

function rate(v, def) {
  const n = typeof v === 'string' ? parseFloat(v) : v;
  return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : def;
}

function bool(v, def) {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '') return true;
  if (v === 'false') return false;
  return def;
}

/** Normalizes options (init's names) into the recorder's configuration. */
export function configure(o, scriptURL) {
  const str = (v) => (v === undefined || v === null ? '' : String(v));
  let endpoint;
  try {
    endpoint = new URL(str(o.endpoint) || '/__replay/v1/segments', scriptURL || location.href).href;
  } catch (e) {
    endpoint = new URL('/__replay/v1/segments', location.href).href;
  }
  let privacy = str(o.defaultPrivacyLevel || o.privacy).toLowerCase();
  if (!LEVELS.includes(privacy)) privacy = 'mask-user-input';
  const manual = o.startSessionReplayRecordingManually === true || str(o.start).toLowerCase() === 'manual';
  return {
    endpoint,
    applicationId: str(o.applicationId),
    clientToken: str(o.clientToken),
    service: str(o.service),
    env: str(o.env),
    version: str(o.version),
    sampleRate: rate(o.sampleRate, 100),
    replaySampleRate: rate(o.replaySampleRate ?? o.sessionReplaySampleRate, 100),
    trackInteractions: bool(o.trackInteractions ?? o.trackUserInteractions, true),
    manual,
    privacy: LEVELS.indexOf(privacy),
  };
}

/** Options from the script tag's data- attributes, or null when it has none. */
export function fromScript(script) {
  if (!script) return null;
  const d = script.dataset; // data-application-id is d.applicationId
  const o = {};
  let any = false;
  for (const k of ['endpoint', 'applicationId', 'clientToken', 'service', 'env', 'version', 'sampleRate', 'replaySampleRate', 'trackInteractions', 'start', 'privacy']) {
    if (d[k] !== undefined) {
      o[k] = d[k];
      any = true;
    }
  }
  return any ? o : null;
}
