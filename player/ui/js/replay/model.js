// rrweb's public event model: the numbers our recorder and rrweb's write.

/** Event types. */
export const EventType = { DomContentLoaded: 0, Load: 1, FullSnapshot: 2, Incremental: 3, Meta: 4, Custom: 5, Plugin: 6 };

/** Sources of incremental snapshots (type 3). */
export const Source = {
  Mutation: 0, MouseMove: 1, MouseInteraction: 2, Scroll: 3, ViewportResize: 4, Input: 5, TouchMove: 6,
  MediaInteraction: 7, StyleSheetRule: 8, CanvasMutation: 9, Font: 10, Log: 11, Drag: 12, StyleDeclaration: 13,
  Selection: 14, AdoptedStyleSheet: 15, CustomElement: 16,
};

/** Kinds of mouse interactions (source 2). */
export const Mouse = {
  MouseUp: 0, MouseDown: 1, Click: 2, ContextMenu: 3, DblClick: 4, Focus: 5, Blur: 6,
  TouchStart: 7, TouchMoveDeparted: 8, TouchEnd: 9, TouchCancel: 10,
};

// Sources that mean the visitor did something (mutations do not: a page
// with a ticking clock is not an active visitor).
const activitySources = new Set([
  Source.MouseMove, Source.MouseInteraction, Source.Scroll, Source.ViewportResize, Source.Input,
  Source.TouchMove, Source.MediaInteraction, Source.Drag, Source.Selection,
]);

/** True when e is visitor activity. */
export function isActivity(e) {
  return e.type === EventType.Incremental && activitySources.has(e.data && e.data.source);
}
