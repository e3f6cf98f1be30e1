// Timings and the clock. Tests shorten the timers and move the clock through
// window.__replayTestHooks (set before the recorder loads); nothing else in
// the recorder reads Date.now or hard-codes a delay.

/** Test hooks (window.__replayTestHooks), or {}. */
export const hooks = window.__replayTestHooks || {};

/** Recorder timings in ms, and byte limits. */
export const T = {
  flush: 5000, // a segment is closed at most this long after its first event
  segmentBytes: 60000, // ...or when it reaches this many compressed bytes
  beaconBytes: 64000, // keepalive/beacon budget at pagehide
  retryBase: 1000, // first retry delay; doubles up to retryMax
  retryMax: 60000,
  queueBytes: 4e6, // bounded upload queue (compressed bytes)...
  queueLength: 40, // ...and segments
  tick: 1000, // session checks, adopted sheets, canvas frames
  inactivity: 15 * 60e3, // a session ends after 15 min without activity...
  maxAge: 4 * 3600e3, // ...or 4 h after it began
  mouseSample: 50, // at most one mouse position per 50 ms...
  mouseBatch: 500, // ...sent in batches every 500 ms
  scrollSample: 100,
  canvasFrame: 1000, // at most one canvas frame per second per canvas
  stormBudget: 100000, // mutation work units per second before the recorder pauses
  stormPause: 1000, // pause before the re-snapshot, doubled on repeated storms
  ...hooks.timing,
};

const offset = () => (typeof hooks.offset === 'function' ? +hooks.offset() || 0 : 0);

/** Current time in ms since the epoch (test clock aware). */
export const now = () => Date.now() + offset();
