// Random identifiers for sessions, views and tabs: 32 hex digits (128 bits)
// from crypto.getRandomValues, matching [A-Za-z0-9_-]{16,64}.

/** A new random id. */
export const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join('');
