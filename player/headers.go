package player

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

// pagePolicy returns the Content-Security-Policy of one player page, whose
// module script carries nonce. The replay iframe is about:blank, so it
// inherits this policy: it has to let recorded styles, images, fonts and
// media load from wherever the recorded site loaded them, and must never
// let a script run.
//
//   - script-src 'nonce-…': only the player's own bundle, named by this
//     page's nonce. Not 'self': the player is often mounted on the
//     recorded application's own site (handle_path /replay/*), where
//     'self' would also allow every script the application serves, and
//     uploads it lets users make. No 'unsafe-inline', no 'unsafe-eval':
//     inline handlers, javascript: URLs and injected <script> elements in
//     the rebuilt document are refused here even if the sandbox and the
//     sanitizer were both bypassed.
//   - style-src allows inline styles because recorded pages carry <style>
//     elements and style attributes, and remote sheets from any http(s)
//     origin because recorded <link rel=stylesheet> point there.
//   - img, font and media sources: any http(s) origin, data: and blob:,
//     for the same reason.
//   - connect-src 'self': the UI talks only to its own API.
//   - frame-src 'self': only the (about:blank) replay iframe; recorded
//     iframes are rebuilt as blank same-origin documents, never navigated.
//   - no objects, no workers, no forms, no <base>, and no framing of the
//     player by another site (clickjacking a delete button).
func pagePolicy(nonce string) string {
	return "default-src 'none'; " +
		"script-src 'nonce-" + nonce + "'; " +
		"style-src 'self' 'unsafe-inline' http: https: data:; " +
		"img-src 'self' http: https: data: blob:; " +
		"font-src 'self' http: https: data:; " +
		"media-src 'self' http: https: data: blob:; " +
		"connect-src 'self'; " +
		"frame-src 'self'; " +
		"child-src 'self'; " +
		"worker-src 'none'; " +
		"object-src 'none'; " +
		"manifest-src 'none'; " +
		"base-uri 'none'; " +
		"form-action 'none'; " +
		"frame-ancestors 'none'"
}

// newNonce returns a fresh CSP nonce: 128 random bits, base64.
func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	// URL-safe: html/template writes a + in an attribute as &#43;, which
	// browsers decode, but the page's bytes then differ from the header's.
	return base64.RawURLEncoding.EncodeToString(b)
}

// dataPolicy is the policy of every non-HTML response (API JSON, segment
// bodies, assets): if one is ever opened as a document, nothing in it can
// run or load.
const dataPolicy = "default-src 'none'; frame-ancestors 'none'; sandbox"

// setSafetyHeaders sets the headers every response carries. The CSP is set
// to the data policy here and widened to the page policy by the page
// handler alone.
func setSafetyHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	// Session ids are in the player's URLs; recorded images and fonts load
	// from third-party origins, which must not learn them.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", dataPolicy)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}
