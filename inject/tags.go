package inject

import "bytes"

// This file handles the few tags the rewriter edits or learns from:
// <link> (crossorigin), <meta> (charset, CSP) and <base> (link URLs).

// crossoriginAttr is what we add to links whose target answers with CORS
// headers. It goes right after the tag name, where an attribute can always
// be added without touching the others (before "/>" it could end up in an
// unquoted value).
var crossoriginAttr = []byte(` crossorigin="anonymous"`)

// handleLink adds crossorigin to a stylesheet link or font/style preload
// whose target answers with CORS headers.
func (r *Rewriter) handleLink(tok []byte) {
	var rel, as, href []byte
	var hasRel, hasAs, hasHref, hasCO bool
	it := attrIter{b: tok, i: 1 + r.nameLen}
	for it.next() {
		switch {
		case equalFoldASCII(it.name, "rel") && !hasRel:
			rel, hasRel = it.val, true
		case equalFoldASCII(it.name, "as") && !hasAs:
			as, hasAs = it.val, true
		case equalFoldASCII(it.name, "href") && !hasHref:
			href, hasHref = it.val, true
		case equalFoldASCII(it.name, "crossorigin"):
			hasCO = true
		}
	}
	if hasCO || !relWantsCORS(rel, as, r.skipBody) || !r.hrefAllowed(href) {
		r.out(tok)
		return
	}
	k := 1 + r.nameLen
	r.out(tok[:k])
	r.insert(crossoriginAttr, r.tokInOff+int64(k), 0, "crossorigin")
	r.out(tok[k:])
}

// relWantsCORS reports whether a link is a stylesheet, a font preload or a
// style preload. Style preloads are included so that a preload and its
// stylesheet keep the same CORS mode (otherwise the browser cannot reuse
// the preloaded response and fetches the stylesheet twice).
//
// With fontsOnly (no cross-origin origin listed) only font preloads
// qualify. The recorder reads a same-origin stylesheet's rules without
// crossorigin, so the attribute is only needed for listed origins; and
// since the body is then not scanned (Rewriter.skipBody), leaving every
// stylesheet and style preload as it is keeps them all in one CORS mode.
// Fonts are always fetched with CORS: crossorigin on their preloads is
// what lets the browser reuse them.
func relWantsCORS(rel, as []byte, fontsOnly bool) bool {
	preload := false
	for len(rel) > 0 {
		var tok []byte
		tok, rel = nextField(rel)
		switch {
		case equalFoldASCII(tok, "stylesheet"):
			if !fontsOnly {
				return true
			}
		case equalFoldASCII(tok, "preload"):
			preload = true
		}
	}
	if preload {
		as = trimSpace(as)
		return equalFoldASCII(as, "font") || (!fontsOnly && equalFoldASCII(as, "style"))
	}
	return false
}

// handleMeta detects <meta charset> (where the tag goes while in <head>)
// and amends <meta http-equiv=Content-Security-Policy>.
func (r *Rewriter) handleMeta(tok []byte) {
	var equiv, content []byte
	var hasCharset, hasEquiv, hasContent bool
	var cs, ce int
	var cq byte
	it := attrIter{b: tok, i: 1 + r.nameLen}
	for it.next() {
		switch {
		case equalFoldASCII(it.name, "charset"):
			hasCharset = true
		case equalFoldASCII(it.name, "http-equiv") && !hasEquiv:
			equiv, hasEquiv = trimSpace(it.val), true
		case equalFoldASCII(it.name, "content") && !hasContent:
			content, hasContent = it.val, true
			cs, ce, cq = it.vs, it.ve, it.q
		}
	}
	charset := hasCharset || (equalFoldASCII(equiv, "content-type") && containsFold(content, "charset="))
	edited := false
	if hasContent && equalFoldASCII(equiv, "content-security-policy") && r.needs != nil && r.opts.Tag != nil {
		edited = r.amendMetaCSP(tok, content, cs, ce, cq)
	}
	if !edited {
		r.out(tok)
	}
	if charset && r.phase == phHead {
		r.inject(false, r.tokInOff+int64(len(tok)))
	}
}

// amendMetaCSP amends the policy of a <meta http-equiv> tag and emits the
// tag; it reports false (and emits nothing) when nothing changed.
func (r *Rewriter) amendMetaCSP(tok, content []byte, cs, ce int, q byte) bool {
	if r.phase == phDone && !r.injected {
		return false // no recorder in this page
	}
	value := string(content)
	if bytes.IndexByte(content, '&') >= 0 {
		value = unescapeAttr(value)
	}
	pol := parseCSP(value)
	if r.phase < phDone {
		// Our tag is not written yet: this policy may apply to it.
		r.policies = append(r.policies, pol)
		r.tc, _ = decideTag(r.policies, r.needs, r.tc)
	}
	pol.amend(r.needs, r.tc)
	if !pol.changed {
		return false
	}
	repl := escapeAttr(pol.String(), q)
	if q == 0 {
		repl = `"` + repl + `"`
	}
	r.out(tok[:cs])
	r.insert([]byte(repl), r.tokInOff+int64(cs), ce-cs, "csp")
	r.out(tok[ce:])
	return true
}

// handleBase records the first <base href>: later relative link URLs are
// resolved against it, as the browser does.
func (r *Rewriter) handleBase(tok []byte) {
	r.out(tok)
	it := attrIter{b: tok, i: 1 + r.nameLen}
	for it.next() {
		if !equalFoldASCII(it.name, "href") {
			continue
		}
		r.baseSeen = true
		if u, err := r.base.Parse(cleanURL(string(it.val))); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			r.base = u
			r.baseOK = r.co.allows(u.Scheme, u.Host)
		}
		return
	}
}

// hrefAllowed reports whether a link URL (an attribute value, still
// escaped) points to an origin that answers with CORS: the page's own or
// one the operator listed. Common URL shapes are checked without
// allocating; anything unusual goes through net/url.
func (r *Rewriter) hrefAllowed(href []byte) bool {
	h := trimSpace(href)
	if len(h) == 0 {
		return false
	}
	for _, c := range h {
		if c == '&' || c == '\\' || c == '\t' || c == '\n' || c == '\r' || c < 0x20 {
			return r.hrefAllowedSlow(h)
		}
	}
	if sl := schemeLen(h); sl > 0 {
		s, rest := h[:sl], h[sl+1:]
		if !equalFoldASCII(s, "http") && !equalFoldASCII(s, "https") {
			return false // data:, blob:, javascript: ... are not fetched with CORS
		}
		if len(rest) < 2 || rest[0] != '/' || rest[1] != '/' {
			return r.hrefAllowedSlow(h)
		}
		hp := authority(rest[2:])
		if !plainHost(hp) {
			return r.hrefAllowedSlow(h)
		}
		return r.co.allowsBytes(s, hp)
	}
	if len(h) >= 2 && h[0] == '/' && h[1] == '/' {
		hp := authority(h[2:])
		if !plainHost(hp) {
			return r.hrefAllowedSlow(h)
		}
		return r.co.allowsBytes([]byte(r.base.Scheme), hp)
	}
	return r.baseOK // relative: the base URL's origin
}

func (r *Rewriter) hrefAllowedSlow(h []byte) bool {
	u, err := r.base.Parse(cleanURL(string(h)))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return r.co.allows(u.Scheme, u.Host)
}

// cleanURL undoes what the URL parser of browsers forgives and net/url
// does not: character references, tabs and newlines anywhere, and
// backslashes used as slashes.
func cleanURL(s string) string {
	if bytesIndexAnyString(s, "&\t\n\r\\") < 0 {
		return trimSpaceString(s)
	}
	s = unescapeAttr(s)
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\t', '\n', '\r':
		case '\\':
			b = append(b, '/')
		default:
			b = append(b, c)
		}
	}
	return trimSpaceString(string(b))
}

// schemeLen returns the length of a URL scheme at the start of b (before
// ':'), or 0 if b does not start with one.
func schemeLen(b []byte) int {
	if len(b) == 0 || !isAlpha(b[0]) {
		return 0
	}
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case isAlpha(c), c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		case c == ':':
			return i
		default:
			return 0
		}
	}
	return 0
}

// authority returns the host[:port] part at the start of b.
func authority(b []byte) []byte {
	for i, c := range b {
		if c == '/' || c == '?' || c == '#' {
			return b[:i]
		}
	}
	return b
}

// plainHost reports whether hp is a plain ASCII host[:port], which can be
// compared as bytes (no user info, IPv6 literal, percent-encoding or
// international name).
func plainHost(hp []byte) bool {
	if len(hp) == 0 {
		return false
	}
	for _, c := range hp {
		switch {
		case isAlpha(c), c >= '0' && c <= '9', c == '.', c == '-', c == ':', c == '_':
		default:
			return false
		}
	}
	return true
}

// attrIter walks the attributes of a complete tag, following the
// tokenizer's attribute states. It does not allocate.
type attrIter struct {
	b        []byte
	i        int
	name     []byte
	val      []byte
	vs, ve   int  // value bounds in b (without quotes)
	q        byte // quote character, 0 if unquoted or no value
	hasValue bool
}

func (it *attrIter) next() bool {
	b := it.b
	i := it.i
	for i < len(b) && (isSpace(b[i]) || b[i] == '/') {
		i++
	}
	if i >= len(b) || b[i] == '>' {
		it.i = i
		return false
	}
	ns := i
	i++ // the first character may be '='
	for i < len(b) && b[i] != '=' && b[i] != '>' && b[i] != '/' && !isSpace(b[i]) {
		i++
	}
	it.name = b[ns:i]
	it.val, it.q, it.hasValue, it.vs, it.ve = nil, 0, false, i, i
	j := i
	for j < len(b) && isSpace(b[j]) {
		j++
	}
	if j < len(b) && b[j] == '=' {
		j++
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		it.hasValue = true
		switch {
		case j < len(b) && (b[j] == '"' || b[j] == '\''):
			q := b[j]
			e := bytes.IndexByte(b[j+1:], q)
			if e < 0 {
				e = len(b) - j - 1
			}
			it.q, it.vs, it.ve = q, j+1, j+1+e
			i = it.ve + 1
		case j < len(b) && b[j] == '>':
			it.vs, it.ve = j, j
			i = j
		default:
			s := j
			for j < len(b) && b[j] != '>' && !isSpace(b[j]) {
				j++
			}
			it.vs, it.ve = s, j
			i = j
		}
		it.val = b[it.vs:it.ve]
	}
	it.i = i
	return true
}

// equalFoldASCII compares bytes with an ASCII string, ignoring case.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if toLower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains the lower-case ASCII string s,
// ignoring case.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if equalFoldASCII(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (isSpace(b[0]) || b[0] < 0x20) {
		b = b[1:]
	}
	for len(b) > 0 && (isSpace(b[len(b)-1]) || b[len(b)-1] < 0x20) {
		b = b[:len(b)-1]
	}
	return b
}

func trimSpaceString(s string) string {
	for len(s) > 0 && s[0] <= ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] <= ' ' {
		s = s[:len(s)-1]
	}
	return s
}

func bytesIndexAnyString(s, chars string) int {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return i
			}
		}
	}
	return -1
}

// nextField splits the first white-space separated field off b.
func nextField(b []byte) (field, rest []byte) {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	i := 0
	for i < len(b) && !isSpace(b[i]) {
		i++
	}
	return b[:i], b[i:]
}
