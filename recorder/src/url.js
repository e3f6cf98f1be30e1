// Making URLs absolute, so a replay resolves them wherever it runs.

// Attributes that hold one URL.
export const URL_ATTRS = { src: 1, href: 1, action: 1, formaction: 1, poster: 1, background: 1, data: 1, cite: 1, 'xlink:href': 1, longdesc: 1 };

const ABSOLUTE = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|#|\/\/)/;

/** url resolved against base ('#fragment' and data: stay as they are). */
export function absolute(url, base) {
  if (!url) return url;
  const u = url.trim();
  if (ABSOLUTE.test(u)) return u.charAt(0) === '/' ? safe(u, base) : u;
  return safe(u, base);
}

function safe(u, base) {
  try {
    return new URL(u, base).href;
  } catch (e) {
    return u;
  }
}

/** A srcset with every candidate URL made absolute (data: URLs may contain commas). */
export function absoluteSrcset(v, base) {
  const out = [];
  const n = v.length;
  let i = 0;
  while (i < n) {
    while (i < n && (v[i] === ',' || v[i] <= ' ')) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && v[j] > ' ') j++;
    let url = v.slice(i, j);
    let desc = '';
    if (url.endsWith(',')) url = url.replace(/,+$/, '');
    else {
      let k = j;
      while (k < n && v[k] !== ',') k++;
      desc = v.slice(j, k).trim();
      j = k + 1;
    }
    out.push(absolute(url, base) + (desc ? ' ' + desc : ''));
    i = j;
  }
  return out.join(', ');
}

const CSS_URL = /url\(\s*(["']?)([^"')]*)\1\s*\)/g;

/** CSS text with relative url() references made absolute against base. */
export function absoluteCss(css, base) {
  if (css.indexOf('url(') < 0) return css;
  return css.replace(CSS_URL, (m, q, url) => {
    if (!url || /^(?:data:|#|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(url)) return m;
    return 'url(' + q + safe(url, base) + q + ')';
  });
}
