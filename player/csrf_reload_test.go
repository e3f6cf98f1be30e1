package player

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// TestCSRFTokensSurviveAConfigReload: Caddy builds a new Player at every
// config reload (`caddy reload`, an edit to any site). Without a
// configured key, a page opened before the reload must still delete
// after it, as Config.CSRFKey promises ("valid until the process
// restarts"). Each Player drew its own random key, so an operator whose
// player tab was open across an unrelated reload had every delete
// refused as csrf_token_invalid.
func TestCSRFTokensSurviveAConfigReload(t *testing.T) {
	st := newMemStore()
	views, _, _ := shopSession()
	putSession(t, st, "shop-session-0000001", views, nil)
	before, err := New(Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	res, page := do(t, before, "GET", "/", nil)
	cookie := res.Cookies()[0]
	token := regexp.MustCompile(`data-csrf="([^"]+)"`).FindSubmatch(page)[1]

	after, err := New(Config{Store: st}) // the reload
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("DELETE", "/api/sessions/shop-session-0000001", nil)
	r.Host = "player.example"
	r.Header.Set("Origin", "http://player.example")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set(csrfHeader, string(token))
	r.AddCookie(cookie)
	w := httptest.NewRecorder()
	after.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("delete with a page opened before the reload: %d %s", w.Code, w.Body)
	}
	// A configured key still decides: another key refuses the token.
	other, err := New(Config{Store: st, CSRFKey: []byte("a key of its own")})
	if err != nil {
		t.Fatal(err)
	}
	if other.csrf.token(cookie.Value) == string(token) {
		t.Error("a configured key signs like the process key")
	}
}
