// The replay core's Rebuilder, the one place the player imports it from.
// It rebuilds documents from events, sanitizes hostile markup, emulates
// :hover and :focus with classes, and checkpoints/restores its state;
// collectStylesheets gathers the stylesheet texts our recorder sends once
// per session, which Rebuilders need for links that name a text (rr_css);
// isReplaySheet tells the rebuilt document's own adopted sheet from the
// recording's.
export { Rebuilder, collectStylesheets, isReplaySheet } from 'replaycore/index.js';
