package inject

import (
	"strings"
)

// TagContext is what the page's Content-Security-Policy requires of the
// injected element, decided per response.
type TagContext struct {
	// Nonce is the page's CSP nonce, to be put in the element's nonce
	// attribute; "" when the policy does not use nonces (the element must
	// then carry none).
	Nonce string
	// Integrity is the recorder script's SRI value, to be put in the
	// element's integrity attribute; "" when no policy requires it (only a
	// hash-based 'strict-dynamic' policy does).
	Integrity string
}

// Attr is one attribute of the injected element.
type Attr struct {
	// Name is the attribute name, e.g. "data-service".
	Name string
	// Value is the attribute value, unescaped; ScriptTag escapes it.
	Value string
}

// ScriptTag renders the recorder's element: a classic async script with
// src, the context's nonce and integrity, and the given attributes
// (usually data-*). The output is well-formed in both HTML and XHTML
// (async="" rather than a bare async, every value quoted and escaped).
// Config.Tag implementations can simply call it.
func ScriptTag(src string, attrs []Attr, tc TagContext) []byte {
	var b strings.Builder
	b.WriteString(`<script async="" src="`)
	writeEscaped(&b, src)
	b.WriteByte('"')
	if tc.Nonce != "" {
		b.WriteString(` nonce="`)
		writeEscaped(&b, tc.Nonce)
		b.WriteByte('"')
	}
	if tc.Integrity != "" {
		b.WriteString(` integrity="`)
		writeEscaped(&b, tc.Integrity)
		b.WriteByte('"')
	}
	for _, a := range attrs {
		b.WriteByte(' ')
		b.WriteString(a.Name)
		b.WriteString(`="`)
		writeEscaped(&b, a.Value)
		b.WriteByte('"')
	}
	b.WriteString(`></script>`)
	return []byte(b.String())
}

// ScriptTagFunc returns a Config.Tag function that renders ScriptTag(src,
// attrs, tc). The common element, without nonce nor integrity, is rendered
// once and shared: callers of the function must not modify the bytes it
// returns (the rewriter only writes them).
func ScriptTagFunc(src string, attrs []Attr) func(TagContext) []byte {
	plain := ScriptTag(src, attrs, TagContext{})
	return func(tc TagContext) []byte {
		if tc == (TagContext{}) {
			return plain
		}
		return ScriptTag(src, attrs, tc)
	}
}

// writeEscaped escapes a double-quoted attribute value for HTML and XML.
func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
}
