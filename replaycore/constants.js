// rrweb's public event model, the numbers that travel in recordings.
// Kept in one module so the recorder, the replay core and the player agree.

/** Top-level event types (event.type). */
export const EventType = {
  DomContentLoaded: 0,
  Load: 1,
  FullSnapshot: 2,
  IncrementalSnapshot: 3,
  Meta: 4,
  Custom: 5,
  Plugin: 6,
};

/** Sources of incremental snapshots (event.data.source). */
export const IncrementalSource = {
  Mutation: 0,
  MouseMove: 1,
  MouseInteraction: 2,
  Scroll: 3,
  ViewportResize: 4,
  Input: 5,
  TouchMove: 6,
  MediaInteraction: 7,
  StyleSheetRule: 8,
  CanvasMutation: 9,
  Font: 10,
  Log: 11,
  Drag: 12,
  StyleDeclaration: 13,
  Selection: 14,
  AdoptedStyleSheet: 15,
  CustomElement: 16,
};

/** MouseInteraction types (data.type when source is MouseInteraction). */
export const MouseInteractions = {
  MouseUp: 0,
  MouseDown: 1,
  Click: 2,
  ContextMenu: 3,
  DblClick: 4,
  Focus: 5,
  Blur: 6,
  TouchStart: 7,
  TouchMove_Departed: 8,
  TouchEnd: 9,
  TouchCancel: 10,
};

/** MediaInteraction types. */
export const MediaInteractions = {
  Play: 0,
  Pause: 1,
  Seeked: 2,
  VolumeChange: 3,
  RateChange: 4,
};

/** Serialized node types (rrweb-snapshot 2.x numbering). */
export const NodeType = {
  Document: 0,
  DocumentType: 1,
  Element: 2,
  Text: 3,
  CDATA: 4,
  Comment: 5,
};
