package inject

import (
	"net/http"
	"path"
	"strings"
)

// Skip reasons, as returned by ResponseWriter.Outcome: why a response was
// not injected. They are stable strings, fit for metric labels.
const (
	// OutcomeInjected: the tag was written.
	OutcomeInjected = "injected"
	// SkipNotHTML: the response is not an HTML or XHTML document (by its
	// Content-Type, or a body that starts as JSON does).
	SkipNotHTML = "not_html"
	// SkipStatus: the status is not 200 (nor an error page, when those are
	// injected too).
	SkipStatus = "status"
	// SkipMethod: a HEAD response has no body (its headers are edited as
	// the GET's would be).
	SkipMethod = "method"
	// SkipUpgrade: a protocol upgrade (WebSocket...).
	SkipUpgrade = "upgrade"
	// SkipFragment: the request asks for a fragment of a page (htmx,
	// Turbo Frames, XMLHttpRequest, fetch), not a document.
	SkipFragment = "fragment"
	// SkipNoTransform: Cache-Control: no-transform on the request or the
	// response.
	SkipNoTransform = "no_transform"
	// SkipAttachment: Content-Disposition: attachment (a download).
	SkipAttachment = "attachment"
	// SkipEncoding: the body is compressed in an encoding we cannot decode.
	SkipEncoding = "encoding"
	// SkipCharset: the document is in an encoding that is not
	// ASCII-compatible (UTF-16, UTF-32).
	SkipCharset = "charset"
	// SkipUnsampled: the caller said the visitor is not recorded.
	SkipUnsampled = "unsampled"
	// SkipCSP: the page's Content-Security-Policy cannot admit the
	// recorder without being weakened.
	SkipCSP = "csp"
	// SkipNoPoint: the document ended before any place to inject (empty,
	// or cut inside a comment or a tag).
	SkipNoPoint = "no_point"
	// SkipError: writing or decoding the body failed.
	SkipError = "error"
	// SkipExcluded: the handler that produced the response excluded it
	// (ResponseWriter.Exclude), e.g. the replay player mounted on a
	// recorded site.
	SkipExcluded = "excluded"
)

// mediaType returns the lower-case media type of a Content-Type value,
// without parameters.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// isDocumentType reports whether the media type is a document we inject
// into.
func isDocumentType(mt string) bool {
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// asciiCompatible reports whether the Content-Type's charset (if any) keeps
// ASCII bytes as ASCII, so that scanning and our ASCII tag are safe.
func asciiCompatible(ct string) bool {
	lct := strings.ToLower(ct)
	i := strings.Index(lct, "charset=")
	if i < 0 {
		return true
	}
	cs := strings.Trim(strings.TrimSpace(lct[i+len("charset="):]), `"'`)
	return !strings.HasPrefix(cs, "utf-16") && !strings.HasPrefix(cs, "utf-32") &&
		cs != "ucs-2" && cs != "unicode" && !strings.HasPrefix(cs, "unicodefffe")
}

// fragmentRequest reports whether the request asks for a piece of a page
// rather than a document: htmx (HX-Request), Turbo Frames (Turbo-Frame),
// jQuery-style XHR (X-Requested-With), or a fetch whose destination is not
// a document or frame (Sec-Fetch-Dest).
//
// X-Requested-With is not a fragment marker on a navigation
// (Sec-Fetch-Dest document, iframe or frame: no script request has those
// destinations) nor when its value is an app's package name: Android's
// WebView sends the embedding app's ("com.example.app") on every request,
// navigations included, so in-app browsers would never be recorded. Its
// navigations over plain http carry no Sec-Fetch-Dest, hence the value
// check; script requests send "XMLHttpRequest" or the like.
func fragmentRequest(r *http.Request) bool {
	h := r.Header
	if h.Get("HX-Request") != "" || h.Get("Turbo-Frame") != "" {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Sec-Fetch-Dest"))) {
	case "document", "iframe", "frame":
		return false
	case "":
		xrw := h.Get("X-Requested-With")
		return xrw != "" && !strings.Contains(xrw, ".")
	}
	return true
}

// upgradeRequest reports whether the request asks for a protocol switch.
func upgradeRequest(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header, "Connection", "upgrade")
}

// noTransform reports whether a Cache-Control header forbids transforming
// the body.
func noTransform(h http.Header) bool {
	return headerHasToken(h, "Cache-Control", "no-transform")
}

// headerHasToken reports whether a comma-separated header has the token
// (case-insensitive; directive arguments ignored).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if i := strings.IndexByte(part, '='); i >= 0 {
				part = part[:i]
			}
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// isAttachment reports whether a Content-Disposition value makes the
// response a download (RFC 6266: the disposition type comes first).
func isAttachment(cd string) bool {
	if i := strings.IndexByte(cd, ';'); i >= 0 {
		cd = cd[:i]
	}
	return strings.EqualFold(strings.TrimSpace(cd), "attachment")
}

// likelyDocumentRequest reports whether a request probably navigates to a
// page: Sec-Fetch-Dest says document or frame, or (older browsers) the
// Accept header prefers HTML. It decides PrepareRequest's Accept-Encoding
// change and the header edits of 304 answers.
func likelyDocumentRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if fragmentRequest(r) || upgradeRequest(r) {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Sec-Fetch-Dest"))) {
	case "document", "iframe", "frame":
		return true
	}
	accept := strings.ToLower(r.Header.Get("Accept"))
	return strings.Contains(accept, "text/html") || strings.Contains(accept, "application/xhtml+xml")
}

// assetKind classifies responses that get CORS headers (and that the asset
// archive observes): stylesheets, fonts and images. The Content-Type
// decides; the file extension only when the type is missing or generic.
func assetKind(ct, urlPath string) bool {
	mt := mediaType(ct)
	switch {
	case mt == "text/css", strings.HasPrefix(mt, "font/"), strings.HasPrefix(mt, "image/"),
		strings.HasPrefix(mt, "application/font-"), strings.HasPrefix(mt, "application/x-font-"),
		mt == "application/vnd.ms-fontobject":
		return true
	case mt != "" && mt != "application/octet-stream":
		return false
	}
	switch strings.ToLower(path.Ext(urlPath)) {
	case ".css", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".png", ".jpg", ".jpeg", ".gif",
		".webp", ".avif", ".svg", ".ico", ".bmp":
		return true
	}
	return false
}

// weakenETag turns a strong validator into a weak one: the body we send is
// not byte-identical to the one the upstream validated, but it is
// semantically the same page. A weak validator keeps If-None-Match working
// and makes If-Range fail safe (a full response instead of a range of the
// wrong bytes).
func weakenETag(h http.Header) {
	if et := h.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Set("ETag", "W/"+et)
	}
}

// bodyChanged edits the headers of a response whose body we rewrite.
func bodyChanged(h http.Header) {
	h.Del("Content-Length")
	weakenETag(h)
	// Ranges of the original bytes would not fit the rewritten body.
	h.Del("Accept-Ranges")
	// Digests of the original body would be wrong.
	for _, k := range []string{"Content-MD5", "Digest", "Content-Digest", "Repr-Digest"} {
		h.Del(k)
	}
}
