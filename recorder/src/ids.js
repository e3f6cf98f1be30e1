// Random identifiers for sessions, views and tabs: 22 base64url characters
// (128 bits) from crypto.getRandomValues, matching [A-Za-z0-9_-]{16,64}.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A new random id. */
export function newId() {
  const b = new Uint8Array(22);
  crypto.getRandomValues(b);
  let s = '';
  for (let i = 0; i < b.length; i++) s += ALPHABET[b[i] & 63];
  return s;
}

/** Whether s is a valid id. */
export const validId = (s) => typeof s === 'string' && /^[A-Za-z0-9_-]{16,64}$/.test(s);
