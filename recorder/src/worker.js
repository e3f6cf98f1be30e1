// The compression worker: a segment arrives as its JSON text and leaves as
// one gzip body, compressed off the main thread with CompressionStream.
// Message in: [key, text]. Message out: [key, ArrayBuffer or null (could
// not compress), raw byte length].

import { gzip } from './gzip.js';

onmessage = async (e) => {
  const [key, text] = e.data;
  const blob = new Blob([text]);
  let buf = null;
  try {
    buf = await gzip(blob);
  } catch (x) { /* the page compresses it */ }
  postMessage([key, buf, blob.size], buf ? [buf] : []);
};
