// CSS adaptation for replay: :hover and :focus rules also match the
// classes the player puts on the element under the recorded cursor and on
// the recorded focus (and :focus-within the elements holding it), :defined matches every element (the replay frame
// defines no custom element: the common `:not(:defined) { visibility:
// hidden }` hid every web component), @media (scripting) tests answer as
// they did live, and url()s go through the caller's resolveURL.

import { rewriteCssUrls } from './sanitize.js';

/**
 * Rewrites selector preludes of css so that :hover also matches
 * .<hoverClass>, :focus also matches .<focusClass>, :focus-within also
 * an element with a .<focusClass> in it, and :defined every element. Idempotent: running
 * it on its own output changes nothing, so checkpoints can store adapted
 * text. Only selector preludes are touched, never at-rule preludes such as
 * @media (hover: hover).
 */
export function adaptSelectors(css, hoverClass, focusClass) {
  if (css.indexOf(':hover') < 0 && css.indexOf(':focus') < 0 && css.indexOf(':defined') < 0) return css;
  let out = '';
  let start = 0; // start of the current prelude
  let last = 0; // end of what was copied to out
  const n = css.length;
  for (let i = 0; i < n; i++) {
    const c = css.charCodeAt(i);
    if (c === 34 || c === 39) { // quoted string: skip it
      const q = c;
      for (i++; i < n && css.charCodeAt(i) !== q; i++) if (css.charCodeAt(i) === 92) i++;
    } else if (c === 47 && css.charCodeAt(i + 1) === 42) { // comment
      const end = css.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 1;
    } else if (c === 123) { // '{': the prelude is css[start, i)
      const prelude = css.slice(start, i);
      if (prelude.trimStart().charAt(0) !== '@' && (prelude.indexOf(':hover') >= 0 || prelude.indexOf(':focus') >= 0 || prelude.indexOf(':defined') >= 0)) {
        out += css.slice(last, start) + rewritePrelude(prelude, hoverClass, focusClass);
        last = i;
      }
      start = i + 1;
    } else if (c === 125 || c === 59) { // '}' or ';'
      start = i + 1;
    }
  }
  return last === 0 ? css : out + css.slice(last);
}

function rewritePrelude(sel, hoverClass, focusClass) {
  return sel.replace(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?<!:is\():(hover|focus-within|focus|defined)(?![\w-])/g, (m, quoted, which, at) => {
    if (quoted) return m;
    if (which === 'defined') return ':is(*)';
    if (afterPseudoElement(sel, at)) return m;
    // The recorded focus, or an element holding it.
    if (which === 'focus-within') return ':is(:focus-within, .' + focusClass + ', :has(.' + focusClass + '))';
    return ':is(:' + which + ', .' + (which === 'hover' ? hoverClass : focusClass) + ')';
  });
}

// Whether position at of a selector follows a pseudo-element in its
// compound selector (::-webkit-scrollbar-thumb:hover): no class can match
// there, and Chromium keeps such an :is() as :is(:hover) alone.
function afterPseudoElement(sel, at) {
  let i = at;
  while (i > 0 && !/[\s,>+~(]/.test(sel.charAt(i - 1))) i--;
  return sel.slice(i, at).indexOf('::') >= 0;
}

/**
 * Rewrites the scripting media feature of @media preludes to what it was
 * live: the page ran with scripts, the replay frame runs none, so
 * `(scripting: none)` rules would apply and `(scripting)` ones would not.
 * The results are constants the rewrite leaves alone, so it is idempotent.
 */
export function adaptScripting(css) {
  if (css.indexOf('scripting') < 0) return css;
  return css.replace(/@media[^{;]*/gi, (prelude) => prelude.replace(/\(\s*scripting\s*(?::\s*([a-z-]+)\s*)?\)/gi, (m, value) => {
    const v = (value || 'enabled').toLowerCase();
    if (v === 'enabled') return '(min-width: 0px)'; // true, as it was live
    return v === 'none' ? '(scripting: initial-only)' : m; // false, as it was live
  }));
}

/** Full adaptation of stylesheet text for the rebuilt document. */
export function adaptCss(css, opts) {
  let out = adaptScripting(adaptSelectors(css, opts.hoverClass, opts.focusClass));
  if (opts.resolveURL) out = rewriteCssUrls(out, opts.resolveURL);
  return out;
}
