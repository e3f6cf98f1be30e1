// Line icons on a 24×24 grid, drawn as SVG paths (no icon font, no
// external file: the page's CSP allows only its own script and style).
import { h } from './dom.js';

const paths = {
  play: 'M7 4.5v15l12.5-7.5z',
  pause: 'M7 4.5h3.5v15H7zM13.5 4.5H17v15h-3.5z',
  back: 'M15 5l-7 7 7 7',
  next: 'M9 5l7 7-7 7',
  search: 'M10.5 4a6.5 6.5 0 1 1 0 13 6.5 6.5 0 0 1 0-13zM15.5 15.5L20 20',
  user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4.5 20c1.2-3.5 4-5 7.5-5s6.3 1.5 7.5 5',
  clock: 'M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17zM12 7.5V12l3 2',
  upload: 'M12 15V4M7.5 8.5L12 4l4.5 4.5M4.5 15v4.5h15V15',
  download: 'M12 4v11M7.5 10.5L12 15l4.5-4.5M4.5 15v4.5h15V15',
  link: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1',
  trash: 'M4.5 7h15M9.5 7V4.5h5V7M6.5 7l1 12.5h9l1-12.5M10 10.5v6M14 10.5v6',
  sun: 'M12 8a4 4 0 1 1 0 8 4 4 0 0 1 0-8zM12 2.5v2M12 19.5v2M2.5 12h2M19.5 12h2M5.3 5.3l1.4 1.4M17.3 17.3l1.4 1.4M5.3 18.7l1.4-1.4M17.3 6.7l1.4-1.4',
  moon: 'M19.5 14.5A8 8 0 0 1 9.5 4.5a8 8 0 1 0 10 10z',
  auto: 'M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17zM12 3.5v17',
  fullscreen: 'M4.5 9V4.5H9M15 4.5h4.5V9M19.5 15v4.5H15M9 19.5H4.5V15',
  exitFullscreen: 'M9 4.5V9H4.5M19.5 9H15V4.5M15 19.5V15h4.5M4.5 15H9v4.5',
  help: 'M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17zM9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .9-1 1.7M12 16.5v.5',
  skip: 'M5 5.5v13l8-6.5zM13 5.5v13l8-6.5z',
  close: 'M6 6l12 12M18 6L6 18',
  alert: 'M12 4l9 15.5H3zM12 10v4M12 16.5v.5',
  click: 'M9 3.5v3M4.5 8H7.5M5.5 4.5l2 2M10 10l9 4-4 1.5-1.5 4z',
  nav: 'M4.5 12h13M13 6.5l5.5 5.5-5.5 5.5',
  keyboard: 'M3.5 6.5h17v11h-17zM7 10h.5M10.5 10h.5M14 10h.5M17 10h.5M8 14h8',
  check: 'M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17zM8 12.5l2.8 2.8L16.5 9.5',
  eye: 'M2.5 12s3.5-6.5 9.5-6.5 9.5 6.5 9.5 6.5-3.5 6.5-9.5 6.5S2.5 12 2.5 12zM12 9.5a2.5 2.5 0 1 1 0 5 2.5 2.5 0 0 1 0-5z',
  rage: 'M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17zM8 9l2.5 1.5M16 9l-2.5 1.5M8.5 16c1-1.2 2.2-1.8 3.5-1.8s2.5.6 3.5 1.8',
  dead: 'M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17zM8.5 15.5h7M8 9.5l2 2M10 9.5l-2 2M14 9.5l2 2M16 9.5l-2 2',
  resize: 'M4.5 4.5h15v15h-15zM14 19.5l5.5-5.5M9.5 19.5l10-10',
  action: 'M13 3.5L5.5 13.5H12l-1 7 7.5-10H12z',
  file: 'M6.5 3.5h7l4 4v13h-11zM13.5 3.5v4h4',
  filter: 'M4 5.5h16l-6 7.5v6l-4-2v-4z',
};

/** Returns an <svg> icon by name, sized by CSS (1em by default). */
export function icon(name, label) {
  const svg = h('svg:svg', {
    class: 'icon icon-' + name, viewBox: '0 0 24 24', 'aria-hidden': label ? null : 'true',
    role: label ? 'img' : null, 'aria-label': label || null,
  });
  const filled = name === 'play' || name === 'pause' || name === 'skip';
  svg.append(h('svg:path', { d: paths[name] || paths.help, class: filled ? 'fill' : 'stroke' }));
  return svg;
}
