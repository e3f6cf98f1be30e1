// Canvas pixels on screen. The replay frame is sandboxed without scripts,
// and there a <canvas> renders its fallback content, not its bitmap: every
// canvas replayed blank and collapsed to no height. An image as the
// element's `content` makes it a replaced element again, sized by the image
// as the live canvas was by its bitmap. It is applied as an animation that
// holds its value, so the rebuilt tree gets no attribute of ours (a style
// attribute would be compared, checkpointed, and overwritten by the
// recording's own).

import { getAttr } from './dom.js';

const shown = new WeakMap(); // canvas -> the animation that shows its pixels

/** Shows url (a data: image the caller checked) as canvas el's pixels. */
export function showCanvas(el, url) {
  const prev = shown.get(el);
  if (prev) prev.cancel();
  if (typeof el.animate !== 'function') return;
  // A CSS string: quotes, backslashes and line breaks escaped, so that no
  // recorded URL can end it and add a second image from elsewhere.
  const content = 'url("' + url.replace(/["\\\n\r\f]/g, (c) => '\\' + c.charCodeAt(0).toString(16) + ' ') + '")';
  shown.set(el, el.animate([{ content }, { content }], { duration: 1, fill: 'forwards' }));
}

/**
 * Shows nothing in canvas el, at its size: a canvas never drawn on, or
 * masked, still takes the room it took live (its bitmap's size, from its
 * width and height attributes: 300 × 150 without them).
 */
export function showBlankCanvas(el) {
  const size = (name, def) => {
    const v = Number.parseInt(getAttr(el, name), 10);
    return v >= 0 && v <= 1e5 ? v : def;
  };
  showCanvas(el, "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='" + size('width', 300) + "' height='" + size('height', 150) + "'/%3E");
}
