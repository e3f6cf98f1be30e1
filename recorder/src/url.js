// Making URLs absolute, so a replay resolves them wherever it runs.

/** Attributes that hold one URL. */
export const URL_ATTRS = /^(?:src|href|action|formaction|poster|background|data|cite|xlink:href|longdesc)$/;

// A scheme or a fragment: nothing to resolve.
const ABSOLUTE = /^(?:[a-z][a-z\d+.-]*:|#)/i;

/** url resolved against base ('#fragment', data: and other schemes stay as they are). */
export function absolute(url, base) {
  if (!url) return url;
  const u = url.trim();
  if (ABSOLUTE.test(u)) return u;
  try {
    return new URL(u, base).href;
  } catch (e) {
    return u;
  }
}

/** A srcset with every candidate URL made absolute (data: URLs may contain commas). */
export function absoluteSrcset(v, base) {
  const out = [];
  // A candidate: a URL (no whitespace; trailing commas end it), then its
  // descriptor up to the next comma.
  const re = /[\s,]*([^\s,](?:\S*[^\s,])?)(?:,|([^,]*),?)/g;
  let m;
  while ((m = re.exec(v))) {
    const desc = (m[2] || '').trim();
    out.push(absolute(m[1], base) + (desc ? ' ' + desc : ''));
  }
  return out.join(', ');
}

const CSS_URL = /url\(\s*(["']?)([^"')]*)\1\s*\)/g;

/** CSS text with relative url() references made absolute against base. */
export const absoluteCss = (css, base) => (css.includes('url(') ? css.replace(CSS_URL, (m, q, url) => (!url || ABSOLUTE.test(url) ? m : 'url(' + q + absolute(url, base) + q + ')')) : css);
