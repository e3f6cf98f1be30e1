// The rebuilt document's rendering mode. Layout differs between no-quirks,
// limited-quirks ("almost standards", e.g. an XHTML 1.0 Transitional
// doctype: a line holding only an image or iframe gets no strut below it)
// and quirks mode. Only the parser sets a document's mode, from the
// doctype it reads, so the target document is parsed once from the
// recorded doctype before the recorded nodes are built into it.

import { NodeType } from './constants.js';
import { compatModeOf } from './dom.js';

const STANDARDS = '<!DOCTYPE html>';
const written = new WeakMap(); // Document -> the markup it was last opened with

// A doctype identifier as the parser reads it between double quotes.
const ident = (v) => String(v ?? '').replace(/["'>\u0000-\u001f]/g, '');

/** The markup whose parse gives the mode of a recorded document node sn ('' for quirks). */
export function modeMarkup(sn, kids) {
  if (sn.compatMode === 'BackCompat') return '';
  const dt = kids.find((k) => k && k.type === NodeType.DocumentType);
  if (!dt) return STANDARDS;
  const name = /^[a-zA-Z][\w:.-]*$/.test(String(dt.name)) ? dt.name : 'html';
  const pub = ident(dt.publicId);
  const sys = ident(dt.systemId);
  if (pub) return '<!DOCTYPE ' + name + ' PUBLIC "' + pub + '"' + (sys ? ' "' + sys + '"' : '') + '>';
  return '<!DOCTYPE ' + name + (sys ? ' SYSTEM "' + sys + '"' : '') + '>';
}

/**
 * Puts doc in the mode markup gives, parsing it (document.open, which
 * also removes the document's event listeners) unless doc is known to be
 * in that mode already. Returns whether doc was opened. A doctype that
 * would give quirks mode to a document recorded in standards mode (one a
 * script inserted) is replaced by the standards doctype.
 */
export function setMode(doc, markup) {
  if (written.get(doc) === markup || (!written.has(doc) && markup === '' && compatModeOf(doc) === 'BackCompat')) return false;
  const parse = (m) => {
    doc.open();
    doc.write(m);
    doc.close();
  };
  parse(markup);
  if (markup !== '' && compatModeOf(doc) === 'BackCompat') parse(markup = STANDARDS);
  written.set(doc, markup);
  return true;
}
