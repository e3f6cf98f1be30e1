// Keyboard shortcuts of the replay screen, and the sheet that lists them.
import { h } from '../dom.js';
import { modal } from '../dialog.js';
import { SPEEDS } from './playback.js';

export const shortcuts = [
  [['Space', 'K'], 'Play or pause'],
  [['←', '→'], 'Back or forward 5 seconds'],
  [['Shift', '← →'], 'Back or forward 1 second'],
  [['1 … 6'], 'Speed 0.5× · 1× · 2× · 4× · 8× · 16×'],
  [['<', '>'], 'Slower or faster'],
  [['S'], 'Skip inactivity on or off'],
  [['[', ']'], 'Previous or next page'],
  [['Home', 'End'], 'Start or end of the session'],
  [['F'], 'Fullscreen'],
  [['?'], 'This list'],
];

/** Shows the shortcuts sheet. */
export function showHelp() {
  return modal({
    title: 'Keyboard shortcuts',
    className: 'help',
    body: h('table', { class: 'keys' }, shortcuts.map(([keys, what]) =>
      h('tr', null, h('td', null, keys.map((k, i) => [i ? ' ' : null, h('kbd', null, k)])), h('td', null, what)))),
  });
}

function typing(e) {
  const t = e.target;
  return t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName) && !(t.type === 'checkbox' || t.type === 'range'));
}

// Controls that Space activates when they have the focus (not links:
// Space does nothing to a link, so there it still plays or pauses).
const CONTROLS = 'button, summary, input[type=checkbox], [role=button], [role=tab], [role=switch], [role=checkbox]';

/** Installs the shortcuts for a Playback; returns an uninstaller. */
export function installShortcuts(pb, { fullscreen, prevPage, nextPage }) {
  // Space on a control reached from the keyboard is that control's, as on
  // every page: a keyboard user who tabbed to "2×" or "Delete" means that
  // button, not play/pause. A control last pressed with the mouse keeps
  // the focus, and Space there still plays, as a mouse user expects (the
  // browser's :focus-visible cannot tell: a key press makes it match).
  let pointed = null;
  const onPointer = (e) => {
    const t = e.target instanceof Element ? e.target : null;
    // A click on a switch's label focuses its checkbox.
    pointed = t && (t.closest(CONTROLS) || t.closest('label')?.control) || null;
  };
  const spaceOnControl = (e) => {
    const c = e.key === ' ' && e.target instanceof Element ? e.target.closest(CONTROLS) : null;
    return !!c && c !== pointed;
  };
  const onKey = (e) => {
    if (e.key === 'Tab') pointed = null;
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e) || spaceOnControl(e) || document.querySelector('dialog[open]')) return;
    let handled = true;
    switch (e.key) {
      case ' ': case 'k': case 'K': pb.toggle(); break;
      case 'ArrowLeft': pb.seekBy(e.shiftKey ? -1000 : -5000); break;
      case 'ArrowRight': pb.seekBy(e.shiftKey ? 1000 : 5000); break;
      case 'Home': pb.seek(pb.start); break;
      case 'End': pb.seek(pb.end); break;
      case 's': case 'S': pb.setSkip(!pb.skip); break;
      case 'f': case 'F': fullscreen(); break;
      case '?': showHelp(); break;
      case '[': prevPage(); break;
      case ']': nextPage(); break;
      case '<': case ',': pb.setSpeed(SPEEDS[Math.max(0, SPEEDS.indexOf(pb.speed) - 1)]); break;
      case '>': case '.': pb.setSpeed(SPEEDS[Math.min(SPEEDS.length - 1, SPEEDS.indexOf(pb.speed) + 1)]); break;
      default:
        if (/^[1-6]$/.test(e.key)) pb.setSpeed(SPEEDS[+e.key - 1]);
        else handled = false;
    }
    if (handled) e.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  document.addEventListener('pointerdown', onPointer, true);
  return () => {
    document.removeEventListener('keydown', onKey);
    document.removeEventListener('pointerdown', onPointer, true);
  };
}
