// Reading an rrweb recording from a file: a JSON array of events, an
// object with an "events" array (rrweb's own export shape), optionally
// gzip-compressed. Imported recordings play in this tab only.

const imports = new Map();
let counter = 0;

/** A file that is not a recording we can play. */
export class ImportError extends Error {}

async function readText(file) {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) {
    if (typeof DecompressionStream === 'undefined') throw new ImportError('This browser cannot read gzip files: decompress the recording first.');
    const stream = file.stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text();
  }
  return file.text();
}

/** Checks that events look like an rrweb recording; returns them sorted. */
export function validateEvents(data) {
  const events = Array.isArray(data) ? data : data && Array.isArray(data.events) ? data.events : null;
  if (!events) throw new ImportError('This file is not an rrweb recording: expected a JSON array of events (or {"events": [...]}).');
  if (events.length === 0) throw new ImportError('This recording has no events.');
  if (typeof events[0] === 'string') throw new ImportError('This recording is packed with @rrweb/packer: unpack it (rrweb.unpack) and save the events as JSON first.');
  const bad = events.findIndex((e) => !e || typeof e !== 'object' || typeof e.type !== 'number' || typeof e.timestamp !== 'number');
  if (bad >= 0) throw new ImportError(`Event ${bad} is not an rrweb event: every event needs a numeric "type" and "timestamp".`);
  if (!events.some((e) => e.type === 2)) throw new ImportError('This recording has no full snapshot (event type 2), so there is nothing to show: record again from page load.');
  // Stable sort keeps events with equal timestamps in recorded order.
  return events.map((e, i) => [e, i]).sort((a, b) => a[0].timestamp - b[0].timestamp || a[1] - b[1]).map((p) => p[0]);
}

/** Parses file; resolves to an import id usable with getImport. */
export async function importFile(file) {
  let data;
  let text = '';
  try {
    text = await readText(file);
    data = JSON.parse(text);
  } catch (e) {
    if (e instanceof ImportError) throw e;
    // A file that opens as a recording does but never closes was cut
    // short (an interrupted download, or an export the server cut when a
    // segment failed): say so, rather than send the user after another
    // kind of file.
    const t = text.trim();
    if (/^\[\s*(\{|$)/.test(t) && !t.endsWith(']') || /^\{\s*("|$)/.test(t) && !t.endsWith('}')) {
      throw new ImportError(`"${file.name}" is cut short: it starts as an rrweb recording but ends before its JSON does (an interrupted download?). Export the session again, or import the whole file.`);
    }
    // The parser's own message quotes the file's first bytes and says
    // "not valid JSON" again: say what the file is not, and what to pick.
    throw new ImportError(`"${file.name}" is not a JSON file, so it is not an rrweb recording: choose a .json file of rrweb events, such as this player's Export or rrweb's record() saves.`);
  }
  const events = validateEvents(data);
  const id = 'i' + (++counter);
  imports.set(id, { name: file.name, events });
  return id;
}

/** Registers already-parsed events (used by tests and drag-and-drop). */
export function importEvents(name, data) {
  const events = validateEvents(data);
  const id = 'i' + (++counter);
  imports.set(id, { name, events });
  return id;
}

/** The imported recording with that id, or undefined after a reload. */
export function getImport(id) {
  return imports.get(id);
}
