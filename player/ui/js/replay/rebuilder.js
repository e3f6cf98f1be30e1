// The replay core's Rebuilder, the one place the player imports it from.
// It rebuilds documents from events, sanitizes hostile markup, emulates
// :hover and :focus with classes, and checkpoints/restores its state.
export { Rebuilder } from 'replaycore/index.js';
