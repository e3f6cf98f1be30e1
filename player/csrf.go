package player

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// The player's deletes are protected twice against cross-site requests
// (the operator's browser sends basic-auth credentials to any site that
// asks):
//
//  1. Same origin: a request whose Origin names another host, or whose
//     Sec-Fetch-Site is not same-origin, is refused.
//  2. A token: the page carries HMAC(key, cookie), where the cookie is a
//     random value set HttpOnly and SameSite=Strict when the page is served.
//     A delete must send the token in the X-Replay-CSRF header (a custom
//     header, which a cross-site form cannot set and a cross-site fetch
//     cannot send without a CORS preflight that we never grant) together
//     with the cookie.
const (
	csrfCookie = "replay_csrf"
	csrfHeader = "X-Replay-CSRF"
)

// csrf issues and checks anti-CSRF tokens.
type csrf struct {
	key []byte
}

// token returns the page token for a cookie value.
func (c csrf) token(cookie string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("replay-csrf:"))
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCookie reports whether v looks like a cookie this package issued
// (32 random bytes, base64url).
func validCookie(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}

// issue returns the token for the request's cookie, setting a new cookie
// first when the request has none.
func (c csrf) issue(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && validCookie(ck.Value) {
		return c.token(ck.Value)
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	// No Path attribute: the default path is the directory of the page's
	// URL as the browser saw it, which covers the API under any mount
	// prefix and nothing above it.
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookie,
		Value:    v,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return c.token(v)
}

// check returns "" when r may change state, else a reason code and an
// explanation the UI can show.
func (c csrf) check(r *http.Request) (reason, message string) {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return "cross_site_request", "This request came from another site (Sec-Fetch-Site: " + site + "); deletes are accepted only from the player itself."
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if o == "null" || err != nil || !strings.EqualFold(u.Host, r.Host) {
			return "cross_site_request", "This request came from another origin (" + o + "); deletes are accepted only from the player itself."
		}
	}
	ck, err := r.Cookie(csrfCookie)
	tok := r.Header.Get(csrfHeader)
	if err != nil || !validCookie(ck.Value) || tok == "" {
		return "csrf_token_missing", "The anti-CSRF token or cookie is missing: reload the player page and try again."
	}
	if !hmac.Equal([]byte(tok), []byte(c.token(ck.Value))) {
		return "csrf_token_invalid", "The anti-CSRF token is not valid (the server may have restarted): reload the player page and try again."
	}
	return "", ""
}
