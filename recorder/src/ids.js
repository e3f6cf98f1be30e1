// Random identifiers for sessions, views and tabs: four random 32-bit
// numbers (128 bits, from crypto.getRandomValues) in decimal, joined by
// '-': 39 to 43 characters in practice, matching [A-Za-z0-9_-]{16,64}.
// (Hex digits cost 15 more bytes of the bundle, for looks.)

/** A new random id. */
export const newId = () => crypto.getRandomValues(new Uint32Array(4)).join('-');
