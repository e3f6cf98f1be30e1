package player

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// do sends a request to the player (mounted at the root) and returns the
// response with its body read.
func do(t *testing.T, h http.Handler, method, target string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func newPlayer(t *testing.T) (*Player, *memStore) {
	t.Helper()
	st := newMemStore()
	return newPlayerOn(t, st), st
}

func newPlayerOn(t *testing.T, st store.Store) *Player {
	t.Helper()
	p, err := New(Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// backends are the stores the API tests run on: the tests' in-memory
// store and the embedded backend (files + SQLite).
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"mem", func(t *testing.T) store.Store { return newMemStore() }},
	{"embedded", func(t *testing.T) store.Store {
		st, err := embedded.Open(t.TempDir(), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// onBackends runs test on every backend.
func onBackends(t *testing.T, test func(t *testing.T, st store.Store, p *Player)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			test(t, st, newPlayerOn(t, st))
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Store") {
		t.Errorf("no store: err = %v", err)
	}
	if _, err := New(Config{Store: newMemStore(), PageSize: 501}); err == nil {
		t.Errorf("page size 501 accepted")
	}
	p, err := New(Config{Store: newMemStore(), Title: "  "})
	if err != nil || p.title != "Caddy Replay" || p.pageSize != 50 {
		t.Errorf("defaults: %v %q %d", err, p.title, p.pageSize)
	}
}

func TestPageHeadersAndRelativeURLs(t *testing.T) {
	p, _ := newPlayer(t)
	res, body := do(t, p, "GET", "/", nil)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	h := res.Header
	nonce := regexp.MustCompile(`<script type="module" nonce="([A-Za-z0-9_-]{22})" src=`).FindSubmatch(body)
	if nonce == nil {
		t.Fatalf("the page's script carries no nonce: %s", body)
	}
	policy := h.Get("Content-Security-Policy")
	if policy != pagePolicy(string(nonce[1])) {
		t.Errorf("page CSP = %q", policy)
	}
	for _, want := range []string{"script-src 'nonce-" + string(nonce[1]) + "';", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(policy, want) {
			t.Errorf("page policy lacks %q", want)
		}
	}
	if scripts := strings.SplitN(strings.SplitN(policy, "script-src", 2)[1], ";", 2)[0]; strings.Contains(scripts, "unsafe") || strings.Contains(scripts, "'self'") {
		t.Errorf("script-src allows more than the page's own script: %s", scripts)
	}
	if res2, body2 := do(t, p, "GET", "/", nil); res2.Header.Get("Content-Security-Policy") == policy || bytes.Contains(body2, nonce[1]) {
		t.Errorf("two pages got the same nonce")
	}
	for k, v := range map[string]string{
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
		"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8",
	} {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	// Mounted under a stripped prefix, every URL must be relative.
	for _, m := range regexp.MustCompile(`(?:href|src)="([^"]*)"`).FindAllStringSubmatch(string(body), -1) {
		if strings.HasPrefix(m[1], "data:") {
			continue
		}
		if strings.HasPrefix(m[1], "/") || strings.Contains(m[1], "://") {
			t.Errorf("absolute URL in the page: %s", m[1])
		}
	}
	if !regexp.MustCompile(`data-csrf="[A-Za-z0-9_-]{43}"`).Match(body) {
		t.Errorf("page lacks a CSRF token")
	}
	ck := res.Cookies()
	if len(ck) != 1 || ck[0].Name != csrfCookie || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "" {
		t.Errorf("CSRF cookie = %+v", ck)
	}
	// Assets are content-hashed and immutable.
	m := regexp.MustCompile(`src="(assets/player\.[0-9a-f]{16}\.js)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no script in page: %s", body)
	}
	res, js := do(t, p, "GET", "/"+string(m[1]), nil)
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || len(js) < 1000 {
		t.Errorf("asset: %d %q %d bytes", res.StatusCode, res.Header.Get("Cache-Control"), len(js))
	}
	if res, _ := do(t, p, "GET", "/assets/player.0000000000000000.js", nil); res.StatusCode != 404 {
		t.Errorf("unknown asset: %d", res.StatusCode)
	}
	if res, _ := do(t, p, "POST", "/", nil); res.StatusCode != 405 {
		t.Errorf("POST page: %d", res.StatusCode)
	}
	if res, _ := do(t, p, "GET", "/nothing", nil); res.StatusCode != 404 {
		t.Errorf("unknown path: %d", res.StatusCode)
	}
}

func TestAPIResponsesCarryDataPolicy(t *testing.T) {
	p, st := newPlayer(t)
	views, _, _ := shopSession()
	putSession(t, st, "shop-session-0000001", views, nil)
	for _, path := range []string{"/api/sessions", "/api/sessions/shop-session-0000001", "/api/sessions/shop-session-0000001/segments",
		"/api/sessions/shop-session-0000001/segments/view-one-00000000001/0", "/api/sessions/shop-session-0000001/events", "/api/nope"} {
		res, _ := do(t, p, "GET", path, map[string]string{"Accept-Encoding": "gzip"})
		if got := res.Header.Get("Content-Security-Policy"); got != dataPolicy {
			t.Errorf("%s: CSP %q", path, got)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
	}
}

type listResult struct {
	Sessions []struct {
		ID         string `json:"id"`
		EntryURL   string `json:"entryUrl"`
		Errors     int    `json:"errors"`
		Duration   int64  `json:"duration"`
		Pages      int    `json:"pages"`
		UserID     string `json:"userId"`
		RageClicks int    `json:"rageClicks"`
	} `json:"sessions"`
	Next  string `json:"next"`
	Total int    `json:"total"`
}

func TestListFiltersSortAndCursor(t *testing.T) {
	onBackends(t, testListFiltersSortAndCursor)
}

func testListFiltersSortAndCursor(t *testing.T, st store.Store, p *Player) {
	listSessions(t, st, 12, t0+100*86400_000)
	get := func(q string) listResult {
		t.Helper()
		res, body := do(t, p, "GET", "/api/sessions?"+q, nil)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", q, res.StatusCode, body)
		}
		var out listResult
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := get("")
	if all.Total != 12 || len(all.Sessions) != 12 || all.Next != "" {
		t.Fatalf("all: total %d, %d sessions, next %q", all.Total, len(all.Sessions), all.Next)
	}
	for _, s := range get("errors=1").Sessions {
		if s.Errors == 0 {
			t.Errorf("errors=1 listed %s without errors", s.ID)
		}
	}
	if n := get("errors=1").Total; n == 0 || n == 12 {
		t.Errorf("errors filter kept %d of 12", n)
	}
	if r := get("url=CHECKOUT"); r.Total != 12 {
		// Every fixture session visits /checkout.
		t.Errorf("url filter: %d", r.Total)
	}
	if r := get("url=/cart"); r.Total == 0 || r.Total == 12 {
		t.Errorf("url=/cart kept %d", r.Total)
	}
	if r := get("user=grace"); r.Total == 0 || r.Sessions[0].UserID != "u-1002" {
		t.Errorf("user filter: %+v", r)
	}
	if r := get("min_duration=200000"); r.Total == 0 || r.Total == 12 {
		t.Errorf("min_duration kept %d", r.Total)
	} else {
		for _, s := range r.Sessions {
			if s.Duration < 200000 {
				t.Errorf("min_duration listed %d ms", s.Duration)
			}
		}
	}
	longest := get("sort=duration")
	for i := 1; i < len(longest.Sessions); i++ {
		if longest.Sessions[i].Duration > longest.Sessions[i-1].Duration {
			t.Fatalf("sort=duration not descending at %d", i)
		}
	}
	shortest := get("sort=duration&order=asc")
	if shortest.Sessions[0].ID != longest.Sessions[len(longest.Sessions)-1].ID {
		t.Errorf("order=asc does not reverse the order")
	}
	// Cursor pagination: pages join up to the whole list, no repeats.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		r := get("limit=5&cursor=" + cursor)
		for _, s := range r.Sessions {
			if seen[s.ID] {
				t.Errorf("%s listed twice", s.ID)
			}
			seen[s.ID] = true
		}
		if r.Next == "" {
			if pages != 2 {
				t.Errorf("12 sessions in pages of 5 took %d pages", pages+1)
			}
			break
		}
		cursor = r.Next
	}
	if len(seen) != 12 {
		t.Errorf("pagination saw %d sessions", len(seen))
	}
	for _, q := range []string{"from=yesterday", "min_duration=-1", "errors=maybe", "sort=random", "order=up", "limit=0", "limit=501", "cursor=garbage", "from=2000&to=1000", "from=2024-03-01T00:00:00Z&to=2024-02-01T00:00:00Z", "min_duration=5000&max_duration=100"} {
		res, body := do(t, p, "GET", "/api/sessions?"+q, nil)
		var e struct{ Error, Message string }
		json.Unmarshal(body, &e)
		if res.StatusCode != 400 || e.Error != "bad_query" || e.Message == "" {
			t.Errorf("%s: %d %s", q, res.StatusCode, body)
		}
	}
	// The fixture sessions start around 2024-02-22.
	if r := get("from=2024-02-01T00:00:00Z"); r.Total != 12 {
		t.Errorf("RFC 3339 from: %d listed", r.Total)
	}
	if r := get("from=2024-03-01T00:00:00Z"); r.Total != 0 {
		t.Errorf("from after every session: %d listed", r.Total)
	}
	if r := get("to=" + itoa(t0)); r.Total != 0 {
		t.Errorf("to before every session: %d listed", r.Total)
	}
}

func TestSessionAndSegments(t *testing.T) {
	onBackends(t, testSessionAndSegments)
}

func testSessionAndSegments(t *testing.T, st store.Store, p *Player) {
	views, start, end := shopSession()
	putSession(t, st, "shop-session-0000001", views, func(s *store.Session) { s.UserID = "u-1" })
	res, body := do(t, p, "GET", "/api/sessions/shop-session-0000001", nil)
	var s struct {
		ID         string
		Start, End int64
		Views      []struct{ ID, URL, Tab string }
		Pages      int
	}
	if err := json.Unmarshal(body, &s); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	if s.Start != start || s.End != end || len(s.Views) != 2 || s.Pages != 2 || s.Views[1].URL != "https://shop.example/checkout" {
		t.Errorf("session = %+v", s)
	}
	for _, path := range []string{"/api/sessions/nope-nope-nope-nope", "/api/sessions/..%2f..%2fetc", "/api/sessions/a%00b", "/api/sessions/" + strings.Repeat("x", 200)} {
		res, body := do(t, p, "GET", path, nil)
		if res.StatusCode != 404 || !bytes.Contains(body, []byte(`"message"`)) {
			t.Errorf("%s: %d %s", path, res.StatusCode, body)
		}
	}
	res, body = do(t, p, "GET", "/api/sessions/shop-session-0000001/segments", nil)
	var segs struct {
		Segments []struct {
			View         string
			Seq          int
			FullSnapshot bool
			URL          string
		}
	}
	json.Unmarshal(body, &segs)
	if len(segs.Segments) != 3 || !segs.Segments[0].FullSnapshot || segs.Segments[1].FullSnapshot {
		t.Fatalf("segments = %s", body)
	}
	if segs.Segments[1].URL != "api/sessions/shop-session-0000001/segments/view-one-00000000001/1" {
		t.Errorf("segment URL %q is not relative to the player", segs.Segments[1].URL)
	}
	if res, _ := do(t, p, "GET", "/api/sessions/unknown-session-0001/segments", nil); res.StatusCode != 404 {
		t.Errorf("segments of unknown session: %d", res.StatusCode)
	}

	// The stored gzip body is served as is.
	key := store.SegmentKey{Session: "shop-session-0000001", View: "view-one-00000000001", Seq: 1}
	rc, err := st.OpenSegment(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	res, body = do(t, p, "GET", "/"+segs.Segments[1].URL, map[string]string{"Accept-Encoding": "gzip, br"})
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(body, stored) {
		t.Errorf("gzip passthrough: %d %q, same bytes %v", res.StatusCode, res.Header.Get("Content-Encoding"), bytes.Equal(body, stored))
	}
	if cc := res.Header.Get("Cache-Control"); cc != "private, max-age=31536000, immutable" {
		t.Errorf("segment Cache-Control %q", cc)
	}
	// A client that cannot inflate gets JSON.
	res, body = do(t, p, "GET", "/"+segs.Segments[1].URL, map[string]string{"Accept-Encoding": "gzip;q=0"})
	var events []map[string]any
	if res.Header.Get("Content-Encoding") != "" || json.Unmarshal(body, &events) != nil || len(events) != 6 {
		t.Errorf("identity body: %q %d events", res.Header.Get("Content-Encoding"), len(events))
	}
	for _, path := range []string{"/api/sessions/shop-session-0000001/segments/view-one-00000000001/9",
		"/api/sessions/shop-session-0000001/segments/view-one-00000000001/01",
		"/api/sessions/shop-session-0000001/segments/view-one-00000000001/-1",
		"/api/sessions/shop-session-0000001/segments/bad..view/0"} {
		if res, _ := do(t, p, "GET", path, nil); res.StatusCode != 404 {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
	if res, _ := do(t, p, "POST", "/api/sessions/shop-session-0000001/segments", nil); res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST segments: %d", res.StatusCode)
	}
}

func decodeEvents(t *testing.T, res *http.Response, body []byte) []map[string]any {
	t.Helper()
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(zr)
	}
	var events []map[string]any
	if err := json.Unmarshal(body, &events); err != nil {
		t.Fatalf("events are not a JSON array: %v: %.200s", err, body)
	}
	return events
}

func TestEventsStreamAndExport(t *testing.T) {
	onBackends(t, testEventsStreamAndExport)
}

func testEventsStreamAndExport(t *testing.T, st store.Store, p *Player) {
	views, _, _ := shopSession()
	// A second tab whose view overlaps the first one in time.
	var n nodes
	n.next = 5000
	other := fixtureView{id: "view-tab-two-0000003", url: "https://shop.example/help", tab: "tab-two-0000000002", segments: [][]ev{{
		meta(t0+1500, "https://shop.example/help", 800, 600),
		full(t0+1501, n.doc(n.el("html", nil, n.el("body", nil, n.text("Help"))))),
		click(t0+3500, 5002, 10, 10),
	}}}
	views = append(views, other)
	putSession(t, st, "shop-session-0000001", views, nil)

	res, body := do(t, p, "GET", "/api/sessions/shop-session-0000001/events", map[string]string{"Accept-Encoding": "gzip"})
	if res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	events := decodeEvents(t, res, body)
	if len(events) != 7+6+7+3 {
		t.Errorf("%d events, want 23", len(events))
	}
	var last float64
	for i, e := range events {
		ts := e["timestamp"].(float64)
		if ts < last {
			t.Fatalf("event %d at %v comes after %v: not in time order", i, ts, last)
		}
		last = ts
	}
	// One tab only.
	res, body = do(t, p, "GET", "/api/sessions/shop-session-0000001/events?tab=tab-two-0000000002", nil)
	if ev := decodeEvents(t, res, body); len(ev) != 3 {
		t.Errorf("tab filter: %d events", len(ev))
	}
	if res, _ := do(t, p, "GET", "/api/sessions/shop-session-0000001/events?tab=nope", nil); res.StatusCode != 404 {
		t.Errorf("unknown tab: %d", res.StatusCode)
	}
	// From +21 s: view one restarts at its full snapshot (segment 0), the
	// other tab ended before and is left out, view two is whole.
	res, body = do(t, p, "GET", "/api/sessions/shop-session-0000001/events?from="+itoa(t0+21000), nil)
	ev := decodeEvents(t, res, body)
	if len(ev) != 7+6+7 || ev[0]["type"].(float64) != 4 {
		t.Errorf("from: %d events, first type %v", len(ev), ev[0]["type"])
	}
	if res, _ := do(t, p, "GET", "/api/sessions/shop-session-0000001/events?from=x", nil); res.StatusCode != 400 {
		t.Errorf("bad from: %d", res.StatusCode)
	}
	// Export: same array, as a download.
	res, body = do(t, p, "GET", "/api/sessions/shop-session-0000001/export?tab=tab-one-0000000001", nil)
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="session-shop-session-0000001-tab-tab-one-0000000001.rrweb.json"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ev := decodeEvents(t, res, body); len(ev) != 20 {
		t.Errorf("export: %d events", len(ev))
	}
	if res, _ := do(t, p, "GET", "/api/sessions/unknown-session-0001/export", nil); res.StatusCode != 404 {
		t.Errorf("export of unknown session: %d", res.StatusCode)
	}
}

func TestEventsStreamRefusesDamagedSegments(t *testing.T) {
	p, st := newPlayer(t)
	views, _, _ := shopSession()
	putSession(t, st, "shop-session-0000001", views, nil)
	// Damage the first segment: a clean 500 before anything is sent.
	key := store.SegmentKey{Session: "shop-session-0000001", View: "view-one-00000000001", Seq: 0}
	good := st.bodies[key]
	st.bodies[key] = []byte("not gzip")
	res, body := do(t, p, "GET", "/api/sessions/shop-session-0000001/events", nil)
	if res.StatusCode != 500 || !bytes.Contains(body, []byte("segment_corrupt")) {
		t.Errorf("damaged first segment: %d %s", res.StatusCode, body)
	}
	// Damage a later segment (valid gzip, truncated JSON): the response is
	// cut, never a silently shorter array.
	st.bodies[key] = good
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`[{"type":3,"timestamp":1700000003000,"data":{}},`))
	zw.Close()
	st.bodies[store.SegmentKey{Session: "shop-session-0000001", View: "view-one-00000000001", Seq: 1}] = buf.Bytes()
	srv := httptest.NewServer(p)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/sessions/shop-session-0000001/events")
	if err != nil {
		return // cut before the headers: the client sees a failure
	}
	defer resp.Body.Close()
	all, err := io.ReadAll(resp.Body)
	if err == nil && json.Valid(all) {
		t.Errorf("a damaged segment produced a valid, shorter recording: %.200s", all)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestDeletesNeedSameOriginAndToken(t *testing.T) {
	onBackends(t, testDeletesNeedSameOriginAndToken)
}

func testDeletesNeedSameOriginAndToken(t *testing.T, st store.Store, p *Player) {
	views, _, _ := shopSession()
	putSession(t, st, "shop-session-0000001", views, func(s *store.Session) { s.UserID = "u-7" })
	putSession(t, st, "shop-session-0000002", views, func(s *store.Session) { s.UserID = "u-7" })
	putSession(t, st, "shop-session-0000003", views, func(s *store.Session) { s.UserID = "u-8" })

	// Get a cookie and its token the way the browser does.
	res, page := do(t, p, "GET", "/", nil)
	cookie := res.Cookies()[0]
	token := regexp.MustCompile(`data-csrf="([^"]+)"`).FindSubmatch(page)[1]
	send := func(target string, hdr map[string]string, withCookie bool) (int, string) {
		r := httptest.NewRequest("DELETE", target, nil)
		r.Host = "player.example"
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		if withCookie {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		return w.Code, e.Error
	}
	target := "/api/sessions/shop-session-0000001"
	good := map[string]string{csrfHeader: string(token), "Origin": "http://player.example", "Sec-Fetch-Site": "same-origin"}
	for name, c := range map[string]struct {
		hdr    map[string]string
		cookie bool
		code   string
	}{
		"no token":                {map[string]string{"Origin": "http://player.example"}, true, "csrf_token_missing"},
		"no cookie":               {good, false, "csrf_token_missing"},
		"wrong token":             {map[string]string{csrfHeader: strings.Repeat("A", 43)}, true, "csrf_token_invalid"},
		"other origin":            {map[string]string{csrfHeader: string(token), "Origin": "https://evil.example"}, true, "cross_site_request"},
		"null origin":             {map[string]string{csrfHeader: string(token), "Origin": "null"}, true, "cross_site_request"},
		"cross-site fetch":        {map[string]string{csrfHeader: string(token), "Sec-Fetch-Site": "cross-site"}, true, "cross_site_request"},
		"same-site (not -origin)": {map[string]string{csrfHeader: string(token), "Sec-Fetch-Site": "same-site"}, true, "cross_site_request"},
	} {
		if code, reason := send(target, c.hdr, c.cookie); code != 403 || reason != c.code {
			t.Errorf("%s: %d %s, want 403 %s", name, code, reason, c.code)
		}
	}
	if _, err := st.Session(t.Context(), "shop-session-0000001"); err != nil {
		t.Fatalf("a refused delete deleted the session: %v", err)
	}
	// A token from another key (a restarted server) is refused.
	other, _ := New(Config{Store: st, CSRFKey: []byte("another key")})
	if other.csrf.token(cookie.Value) == string(token) {
		t.Fatal("tokens do not depend on the key")
	}
	if code, _ := send(target, good, true); code != 200 {
		t.Fatalf("valid delete: %d", code)
	}
	if _, err := st.Session(t.Context(), "shop-session-0000001"); err == nil {
		t.Errorf("session still there after delete")
	}
	if code, reason := send(target, good, true); code != 404 {
		t.Errorf("second delete: %d %s", code, reason)
	}
	// Delete a user's sessions.
	if code, reason := send("/api/sessions", good, true); code != 400 || reason != "user_required" {
		t.Errorf("delete without user: %d %s", code, reason)
	}
	r := httptest.NewRequest("DELETE", "/api/sessions?user=u-7", nil)
	r.Host = "player.example"
	for k, v := range good {
		r.Header.Set(k, v)
	}
	r.AddCookie(cookie)
	w := httptest.NewRecorder()
	p.ServeHTTP(w, r)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"deleted":1}` {
		t.Errorf("delete user: %d %s", w.Code, w.Body)
	}
	if _, err := st.Session(t.Context(), "shop-session-0000003"); err != nil {
		t.Errorf("another user's session was deleted")
	}
	if res, _ := do(t, p, "PUT", target, nil); res.StatusCode != 405 {
		t.Errorf("PUT: %d", res.StatusCode)
	}
}

func TestStoreErrorsAnswerWithStatus(t *testing.T) {
	p, _ := New(Config{Store: failingStore{newMemStore()}})
	res, body := do(t, p, "GET", "/api/sessions", nil)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || !bytes.Contains(body, []byte("store_closed")) {
		t.Errorf("closed store: %d %s", res.StatusCode, body)
	}
}

// failingStore is closed.
type failingStore struct{ *memStore }

func (failingStore) ListSessions(ctx context.Context, q store.Query) (*store.SessionPage, error) {
	return nil, store.ErrClosed
}

func TestPageCarriesTheSessionItOpens(t *testing.T) {
	p, st := newPlayer(t)
	views, _, _ := shopSession()
	putSession(t, st, "shop-session-0000001", views, nil)
	_, body := do(t, p, "GET", "/?session=shop-session-0000001&t=3", nil)
	m := regexp.MustCompile(`<script type="application/json" id="boot">([^<]*)</script>`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no boot data in the page")
	}
	var boot struct {
		Session  struct{ ID string }
		Segments []struct {
			View string
			Seq  int
			URL  string
		}
		First []json.RawMessage
	}
	if err := json.Unmarshal(m[1], &boot); err != nil {
		t.Fatal(err)
	}
	if boot.Session.ID != "shop-session-0000001" || len(boot.Segments) != 3 || boot.Segments[0].View != "view-one-00000000001" || boot.Segments[0].URL != "" {
		t.Errorf("boot data: %+v", boot)
	}
	// The first segment's events travel in the page, so nothing is
	// preloaded.
	if len(boot.First) != len(views[0].segments[0]) {
		t.Errorf("the page carries %d events of the first segment, want %d", len(boot.First), len(views[0].segments[0]))
	}
	if bytes.Contains(body, []byte(`rel="preload"`)) {
		t.Errorf("first segment both carried and preloaded")
	}
	for _, q := range []string{"", "session=unknown-session-0001", "session=..%2f..%2fetc", "import=i1"} {
		_, body := do(t, p, "GET", "/?"+q, nil)
		if bytes.Contains(body, []byte(`id="boot"`)) || bytes.Contains(body, []byte(`rel="preload"`)) {
			t.Errorf("?%s: boot data or preload in the page", q)
		}
	}
}
