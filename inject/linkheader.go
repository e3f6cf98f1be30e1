package inject

import (
	"net/http"
	"net/url"
	"strings"
)

// amendLinkHeaders applies the crossorigin rule to Link response headers
// (RFC 8288), which preload stylesheets and fonts like <link> elements do:
// a header preload must keep the same CORS mode as the element we marked,
// or the browser cannot reuse it and downloads the file twice.
// Entries get "; crossorigin=anonymous" under the same conditions as
// elements: a stylesheet, font or style preload, without crossorigin, whose
// URL is on the page's origin or a listed one.
func amendLinkHeaders(h http.Header, page *url.URL, co *originSet) {
	vals := h.Values("Link")
	if len(vals) == 0 {
		return
	}
	out := make([]string, len(vals))
	changed := false
	for i, v := range vals {
		var c bool
		out[i], c = amendLinkValue(v, page, co)
		changed = changed || c
	}
	if changed {
		h["Link"] = out
	}
}

// amendLinkValue amends one Link header value (a comma-separated list of
// entries); untouched entries keep their exact text.
func amendLinkValue(v string, page *url.URL, co *originSet) (string, bool) {
	var b strings.Builder
	changed := false
	for i, e := range splitOutside(v, ',') {
		if i > 0 {
			b.WriteByte(',')
		}
		if linkEntryWantsCORS(e, page, co) {
			body := strings.TrimRight(e, " \t")
			b.WriteString(body)
			b.WriteString("; crossorigin=anonymous")
			b.WriteString(e[len(body):])
			changed = true
			continue
		}
		b.WriteString(e)
	}
	return b.String(), changed
}

// linkEntryWantsCORS parses `<url>; rel=preload; as=style` and applies the
// element rule to it.
func linkEntryWantsCORS(e string, page *url.URL, co *originSet) bool {
	lt, gt := strings.IndexByte(e, '<'), strings.IndexByte(e, '>')
	if lt < 0 || gt < lt {
		return false
	}
	var rel, as string
	for _, p := range splitOutside(e[gt+1:], ';') {
		name, val, _ := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		switch name {
		case "rel":
			if rel == "" {
				rel = val
			}
		case "as":
			if as == "" {
				as = val
			}
		case "crossorigin":
			return false
		}
	}
	if !relWantsCORS([]byte(rel), []byte(as), co.ownOnly()) {
		return false
	}
	u, err := page.Parse(strings.TrimSpace(e[lt+1 : gt]))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return co.allows(u.Scheme, u.Host)
}

// splitOutside splits s at sep, except inside <...> and "..." (with
// backslash escapes).
func splitOutside(s string, sep byte) []string {
	var parts []string
	inURL, inQuote, esc := false, false, false
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case inQuote:
			switch c {
			case '\\':
				esc = true
			case '"':
				inQuote = false
			}
		case inURL:
			if c == '>' {
				inURL = false
			}
		case c == '<':
			inURL = true
		case c == '"':
			inQuote = true
		case c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}
