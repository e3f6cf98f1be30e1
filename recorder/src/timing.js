// Timings and the clock. Tests shorten the timers and move the clock through
// window.__replayTestHooks (set before the recorder loads); nothing else in
// the recorder reads Date.now or hard-codes a delay.
//
// TEST_HOOKS is a build-time constant (recorder/embed.go): true only in the
// recorder's own test build. The shipped bundle has no hooks at all, so a
// page cannot reach into the recorder through a global, and pays no bytes
// for what only tests use.

/* global TEST_HOOKS */

/** Test hooks (window.__replayTestHooks), or {}; always {} when shipped. */
export const hooks = TEST_HOOKS ? self.__replayTestHooks || {} : {};

/** Recorder timings in ms (tests override the defaults). */
export const T = {
  flush: 5000, // a segment is closed at most this long after its first event
  retryBase: 1000, // first retry delay; doubles up to retryMax
  retryMax: 60000,
  queueLength: 40, // bounded upload queue: segments (and QUEUE_BYTES)
  tick: 1000, // session checks, adopted sheets, canvas frames
  mouseBatch: 500, // mouse positions are sent in batches every 500 ms
  canvasFrame: 1000, // at most one canvas frame per second per canvas
  stormBudget: 100000, // mutation work units per second before the recorder pauses
  stormPause: 1000, // pause before the re-snapshot, doubled on repeated storms
  ...(TEST_HOOKS && hooks.timing),
};

// Limits tests do not change (the session's expiry is tested with the clock).
/** A segment is closed when it reaches about this many compressed bytes. */
export const SEGMENT_BYTES = 60000;
/** The keepalive/beacon budget at pagehide. */
export const BEACON_BYTES = 64000;
/** The upload queue's bound in compressed bytes (and T.queueLength segments). */
export const QUEUE_BYTES = 4e6;
/** A session ends after 15 min without activity... */
export const INACTIVITY = 900e3; // 15 min
/** ...or 4 h after it began. */
export const MAX_AGE = 144e5; // 4 h
/** At most one mouse position per 50 ms. */
export const MOUSE_SAMPLE = 50;
/** At most one scroll position per target per 100 ms. */
export const SCROLL_SAMPLE = 100;

const offset = () => (typeof hooks.offset === 'function' ? +hooks.offset() || 0 : 0);

// The recorder's clock never goes back. A system clock set back (by hand,
// or NTP correcting it) would have a segment end before it starts, which
// the collector refuses, and the storm budget's second last until the
// clock caught up: the time it went back is added from then on (events
// keep their order; time goes on at the clock's pace).
let skew = 0;
let last = 0;
const mono = (t) => ((last = Math.max(last, t + skew)), (skew = last - t), last);

/** Current time in ms since the epoch (test clock aware), never going back. */
export const now = TEST_HOOKS ? () => mono(Date.now() + offset()) : () => mono(Date.now());
