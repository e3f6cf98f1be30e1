package player

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
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

// TestEmptyTimeRangeNamesTheDates: the list sends times in ms; when they
// are in the wrong order (custom dates typed that way round) the message
// the list shows names them as dates a person can read, not as
// thirteen-digit numbers.
func TestEmptyTimeRangeNamesTheDates(t *testing.T) {
	p, err := New(Config{Store: newMemStore()})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 10, 5, 0, 0, 0, time.UTC).UnixMilli()
	to := time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC).UnixMilli()
	res, body := do(t, p, "GET", fmt.Sprintf("/api/sessions?from=%d&to=%d", from, to), nil)
	var e struct{ Error, Message string }
	json.Unmarshal(body, &e)
	if res.StatusCode != 400 || e.Error != "bad_query" || !strings.Contains(e.Message, "2026-11-10 05:00:00 UTC") || !strings.Contains(e.Message, "2026-11-01 04:00:00 UTC") || strings.Contains(e.Message, strconv.FormatInt(from, 10)) {
		t.Errorf("from after to: %d %+v", res.StatusCode, e)
	}
	// RFC 3339 given is RFC 3339 named.
	res, body = do(t, p, "GET", "/api/sessions?from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z", nil)
	json.Unmarshal(body, &e)
	if res.StatusCode != 400 || !strings.Contains(e.Message, "2026-11-10 00:00:00 UTC") {
		t.Errorf("from after to (RFC 3339): %d %+v", res.StatusCode, e)
	}
}
