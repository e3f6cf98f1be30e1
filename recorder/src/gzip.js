// Gzip with CompressionStream, for the worker and for the main thread
// when the worker cannot run.

/** The gzip-compressed bytes of blob (an ArrayBuffer); rejects without CompressionStream. */
export const gzip = (blob) => new Response(blob.stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
