package caddymodule

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-replay/caddy-replay/internal/caddyrun"
	"github.com/caddy-replay/caddy-replay/recorder"
	"github.com/caddy-replay/caddy-replay/store"
)

const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Shop</title>
<link rel="stylesheet" href="/style.css">
<link rel="stylesheet" href="https://cdn.example.net/x.css">
<script nonce="abc123" src="/app.js"></script>
</head>
<body><h1>Hello</h1><p>` + "caf\u00e9 " + `Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.</p></body>
</html>
`

// upstream is the proxied application: a few pages that exercise the
// handler (plain, gzip, slow, CSS).
func upstream(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-abc123' 'strict-dynamic'; connect-src 'none'")
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		w.Header().Set("ETag", `"v1"`)
		if cc := r.URL.Query().Get("cc"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		io.WriteString(w, page)
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		// An upstream that compresses whatever the client asked for.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, page)
		zw.Close()
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><head><meta charset=utf-8><title>slow</title>")
		http.NewResponseController(w).Flush()
		time.Sleep(2 * time.Second)
		io.WriteString(w, "</head><body>done</body></html>")
	})
	mux.HandleFunc("/schemeless", func(w http.ResponseWriter, r *http.Request) {
		// A stylesheet on another origin by a scheme-relative URL: its
		// origin depends on the page's scheme.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>s</title><link rel="stylesheet" href="//cdn.example.net/x.css"></head><body></body></html>`)
	})
	mux.HandleFunc("/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		io.WriteString(w, "body{color:red}")
	})
	mux.HandleFunc("/__replay/v1/segments", func(w http.ResponseWriter, r *http.Request) {
		// Uploads that replay passes on (ingest off): a collector elsewhere.
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "upstream collector")
	})
	mux.HandleFunc("/fragment", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<li>item</li>")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// startProxy runs `replay` + `reverse_proxy` in front of the upstream.
func startProxy(t *testing.T, directives string) string {
	t.Helper()
	return startSite(t, "", func(up string) string {
		return "encode\nreplay {\n\tcors_origins http://player.test\n\t" + directives + "\n}\nreverse_proxy " + up
	})
}

// startSite runs Caddy with the replay app (on a temporary data directory)
// and one loopback site whose directives are site(upstream), upstream
// being the test upstream's host:port; before goes between the global
// options and the site (snippets). It returns the site's base URL.
func startSite(t *testing.T, before string, site func(upstream string) string) string {
	t.Helper()
	up := upstream(t)
	port := caddyrun.FreePort(t)
	cf := fmt.Sprintf("{\n\tadmin off\n\treplay {\n\t\tdata_dir %s\n\t}\n}\n%s\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n%s\n}\n",
		t.TempDir(), before, port, site(strings.TrimPrefix(up.URL, "http://")))
	caddyrun.Start(t, caddyrun.Adapt(t, []byte(cf)), caddyrun.Addr(port))
	return "http://" + caddyrun.Addr(port)
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := caddyrun.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var tagRE = regexp.MustCompile(`<script async="" src="/__replay/recorder\.[0-9a-f]{16}\.js"[^>]*></script>`)

// removeInjected strips our tag and the crossorigin attributes we add:
// what is left must be the upstream's page, byte for byte.
func removeInjected(body string) string {
	body = tagRE.ReplaceAllString(body, "")
	return strings.ReplaceAll(body, `crossorigin="anonymous" `, "")
}

func TestCaddyfileExampleAdapts(t *testing.T) {
	src, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps struct {
			Replay struct {
				DataDir   string `json:"data_dir"`
				Retention int64  `json:"retention"`
			} `json:"replay"`
		} `json:"apps"`
	}
	out := caddyrun.Adapt(t, src)
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Apps.Replay.DataDir != ".replay-data" || time.Duration(cfg.Apps.Replay.Retention) != 30*24*time.Hour {
		t.Errorf("replay app = %+v", cfg.Apps.Replay)
	}
	for _, want := range []string{`"handler":"replay"`, `"handler":"replay_player"`, `"crossorigin_origins":["http://localhost:8082"]`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("adapted config lacks %s", want)
		}
	}
	// replay sits after encode and before reverse_proxy without an order
	// option.
	s := string(out)
	if e, r, p := strings.Index(s, `"handler":"encode"`), strings.Index(s, `"handler":"replay"`), strings.Index(s, `"handler":"reverse_proxy"`); !(e < r && r < p) {
		t.Errorf("handler order encode=%d replay=%d reverse_proxy=%d", e, r, p)
	}
}

func TestProxiedPageCarriesTagAndHeaderEdits(t *testing.T) {
	base := startProxy(t, "")
	resp, body := get(t, base+"/page")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	tags := tagRE.FindAllString(body, -1)
	if len(tags) != 1 {
		t.Fatalf("want exactly one recorder tag, got %d in\n%s", len(tags), body)
	}
	// The page's nonce is reused (the policy is nonce-based + strict-dynamic).
	if !strings.Contains(tags[0], `nonce="abc123"`) {
		t.Errorf("tag does not carry the page's nonce: %s", tags[0])
	}
	// Right after <meta charset>.
	if !strings.Contains(body, `<meta charset="utf-8">`+tags[0]) {
		t.Errorf("tag is not right after <meta charset>:\n%s", body)
	}
	if got := removeInjected(body); got != page {
		t.Errorf("the rest of the page changed:\n got %q\nwant %q", got, page)
	}
	// No asset origin is listed: no stylesheet gets crossorigin (the
	// recorder reads same-origin rules without it); the tag is the only
	// change to the page.
	if strings.Contains(body, `crossorigin`) {
		t.Errorf("crossorigin added with no origin listed:\n%s", body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src "+base+"/__replay/") || strings.Contains(csp, "'none'") {
		t.Errorf("connect-src not opened for the endpoint: %q", csp)
	}
	// The upstream's Content-Length is gone (net/http may compute a
	// correct one for a small response it holds whole).
	if cl := resp.Header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(body)) {
		t.Errorf("stale Content-Length %s for a %d-byte body", cl, len(body))
	}
	if et := resp.Header.Get("ETag"); et != `W/"v1"` {
		t.Errorf("ETag = %q, want a weak one", et)
	}

	// CSS gets CORS for the configured origin only.
	resp, _ = get(t, base+"/style.css", "Origin", "http://player.test")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://player.test" || !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
		t.Errorf("CORS for the player: ACAO=%q Vary=%q", resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Values("Vary"))
	}
	resp, _ = get(t, base+"/style.css", "Origin", "http://evil.test")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS granted to an unlisted origin")
	}

	// Fragments and HEAD get nothing.
	_, body = get(t, base+"/fragment", "HX-Request", "true")
	if body != "<li>item</li>" {
		t.Errorf("fragment changed: %q", body)
	}
	req, _ := http.NewRequest("HEAD", base+"/page", nil)
	hresp, err := caddyrun.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hresp.Body.Close()
	if hresp.StatusCode != 200 {
		t.Errorf("HEAD status %d", hresp.StatusCode)
	}
}

// TestCrossoriginForListedOrigins: with an asset origin listed, a
// same-origin stylesheet gets crossorigin, a listed one too, a third-party
// one does not.
func TestCrossoriginForListedOrigins(t *testing.T) {
	_, body := get(t, startProxy(t, "crossorigin https://cdn.example.net")+"/page")
	if !strings.Contains(body, `<link crossorigin="anonymous" rel="stylesheet" href="/style.css">`) || !strings.Contains(body, `<link crossorigin="anonymous" rel="stylesheet" href="https://cdn.example.net/x.css">`) {
		t.Errorf("crossorigin attributes wrong with the CDN listed:\n%s", body)
	}
	_, body = get(t, startProxy(t, "crossorigin https://assets.example.org")+"/page")
	if !strings.Contains(body, `<link crossorigin="anonymous" rel="stylesheet" href="/style.css">`) || strings.Contains(body, `crossorigin="anonymous" rel="stylesheet" href="https://cdn.example.net`) {
		t.Errorf("crossorigin attributes wrong with another origin listed:\n%s", body)
	}
}

func TestGzipUpstream(t *testing.T) {
	base := startProxy(t, "")
	for _, ae := range []string{"", "gzip"} {
		resp, body := get(t, base+"/gzip", "Accept-Encoding", ae)
		if n := len(tagRE.FindAllString(body, -1)); n != 1 {
			t.Fatalf("Accept-Encoding %q: %d tags in %q", ae, n, body)
		}
		if got := removeInjected(body); got != page {
			t.Errorf("Accept-Encoding %q: page changed: %q", ae, got)
		}
		// `encode` compresses our output for clients that want it.
		if want := map[string]string{"": "", "gzip": "gzip"}[ae]; resp.Header.Get("Content-Encoding") != want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", ae, resp.Header.Get("Content-Encoding"))
		}
	}
}

// TestStreamingUpstreamFlushesHead: an upstream that flushes its <head>
// and then works for 2 s. The tag must reach the client before the
// upstream finishes.
func TestStreamingUpstreamFlushesHead(t *testing.T) {
	base := startProxy(t, "")
	start := time.Now()
	resp, err := caddyrun.Client().Get(base + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var got strings.Builder
	for !tagRE.MatchString(got.String()) {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatalf("stream ended before the tag arrived: %q (%v)", got.String(), err)
		}
		got.WriteByte(b)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("the tag arrived after %v: the head was not flushed through", el)
	}
	rest, _ := io.ReadAll(br)
	if el := time.Since(start); el < 2*time.Second {
		t.Errorf("whole response in %v: the upstream did not stream", el)
	}
	if !strings.HasSuffix(string(rest), "done</body></html>") {
		t.Errorf("tail lost: %q", rest)
	}
}

func TestUnsampledVisitorGetsNoScript(t *testing.T) {
	base := startProxy(t, "")
	now := time.Now().UnixMilli()
	cookie := func(sampled int, created, expires int64) string {
		return fmt.Sprintf("%s=v1:0123456789abcdefABCDEF:%d:%d:%d", recorder.CookieName, created, expires, sampled)
	}
	for _, tc := range []struct {
		name   string
		cookie string
		tags   int
	}{
		{"no cookie", "", 1},
		{"sampled", cookie(1, now, now+60_000), 1},
		{"not sampled", cookie(0, now, now+60_000), 0},
		{"not sampled but expired", cookie(0, now-120_000, now-60_000), 1},
		{"not sampled but past 4 h", cookie(0, now-5*3600_000, now+60_000), 1},
		{"malformed", recorder.CookieName + "=v1:x", 1},
	} {
		_, body := get(t, base+"/page", "Cookie", tc.cookie)
		if n := len(tagRE.FindAllString(body, -1)); n != tc.tags {
			t.Errorf("%s: %d tags, want %d", tc.name, n, tc.tags)
		}
	}
}

// TestUnsampledVisitorSessionExtended: no recorder runs in an unsampled
// visitor's pages to extend their session on activity, so the handler
// does it on each page it serves; otherwise the session ended 15 minutes
// after it began and the next page sampled the visitor again.
func TestUnsampledVisitorSessionExtended(t *testing.T) {
	base := startProxy(t, "")
	now := time.Now()
	created := now.Add(-10 * time.Minute)
	cookie := func(sampled int, created, expires time.Time) string {
		return fmt.Sprintf("%s=v1:0123456789abcdefABCDEF:%d:%d:%d", recorder.CookieName, created.UnixMilli(), expires.UnixMilli(), sampled)
	}
	unsampled := cookie(0, created, now.Add(5*time.Minute))
	for _, tc := range []struct {
		name, path, cookie string
		extended           bool
	}{
		{"unsampled page", "/page", unsampled, true},
		{"private page", "/page?cc=private,+max-age=60", unsampled, true},
		{"page for shared caches", "/page?cc=public,+max-age=60", unsampled, false},
		{"page for CDNs", "/page?cc=s-maxage=60", unsampled, false},
		{"not a page", "/style.css", unsampled, false},
		{"sampled (the recorder extends it)", "/page", cookie(1, created, now.Add(5*time.Minute)), false},
		{"expired (a new session starts)", "/page", cookie(0, created, now.Add(-time.Minute)), false},
		{"no cookie", "/page", "", false},
	} {
		resp, body := get(t, base+tc.path, "Cookie", tc.cookie)
		var got *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == recorder.CookieName {
				got = c
			}
		}
		if !tc.extended {
			if got != nil {
				t.Errorf("%s: cookie set: %v", tc.name, got)
			}
			continue
		}
		if tagRE.MatchString(body) {
			t.Errorf("%s: the recorder was injected", tc.name)
		}
		if got == nil {
			t.Errorf("%s: the session was not extended", tc.name)
			continue
		}
		s, ok := recorder.ParseCookie(got.Value)
		if !ok || s.ID != "0123456789abcdefABCDEF" || s.Sampled || s.Created.UnixMilli() != created.UnixMilli() {
			t.Errorf("%s: cookie %q is not the same session", tc.name, got.Value)
		}
		if left := time.Until(s.Expires); left < 14*time.Minute || left > 15*time.Minute {
			t.Errorf("%s: expires in %v, want 15 min from now", tc.name, left)
		}
		// As the recorder writes it (src/session.js), so each side
		// overwrites the other's.
		if got.Path != "/" || got.SameSite != http.SameSiteLaxMode || got.HttpOnly || got.Secure || got.Domain != "" {
			t.Errorf("%s: attributes differ from the recorder's: %s", tc.name, resp.Header.Get("Set-Cookie"))
		}
		if maxAge := time.Duration(got.MaxAge) * time.Second; maxAge < 3*time.Hour+49*time.Minute || maxAge > 3*time.Hour+51*time.Minute {
			t.Errorf("%s: Max-Age %v, want the 3 h 50 min left of the session's 4 h", tc.name, maxAge)
		}
	}
	// Near the 4 h limit, the expiry stops at the limit.
	old := now.Add(-4*time.Hour + 5*time.Minute)
	resp, _ := get(t, base+"/page", "Cookie", cookie(0, old, now.Add(time.Minute)))
	for _, c := range resp.Cookies() {
		if s, ok := recorder.ParseCookie(c.Value); !ok || !s.Expires.Equal(time.UnixMilli(old.Add(recorder.MaxSessionAge).UnixMilli())) {
			t.Errorf("near 4 h: cookie %q does not expire at the session's limit", c.Value)
		}
	}
}

func TestZeroSampleRateInjectsNothing(t *testing.T) {
	base := startProxy(t, "sample_rate 0")
	_, body := get(t, base+"/page")
	if tagRE.MatchString(body) {
		t.Errorf("sample_rate 0 still injects")
	}
	// ...but CORS duties remain.
	resp, _ := get(t, base+"/style.css", "Origin", "http://player.test")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://player.test" {
		t.Errorf("CORS lost with sample_rate 0")
	}
}

func TestRecorderFilesServed(t *testing.T) {
	base := startProxy(t, `service shop
		start manual
		privacy mask`)
	_, body := get(t, base+"/page")
	tag := tagRE.FindString(body)
	for _, attr := range []string{`data-endpoint="/__replay/v1/segments"`, `data-service="shop"`, `data-start="manual"`, `data-privacy="mask"`} {
		if !strings.Contains(tag, attr) {
			t.Errorf("tag lacks %s: %s", attr, tag)
		}
	}
	b, err := recorder.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct{ name, enc string }{{b.Script.Name, "br"}, {b.Script.Name, "gzip"}, {b.Script.Name, ""}} {
		resp, _ := get(t, base+"/__replay/"+a.name, "Accept-Encoding", a.enc)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("Content-Encoding") != a.enc {
			t.Errorf("%s (%s): status %d, Cache-Control %q, encoding %q", a.name, a.enc, resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Encoding"))
		}
	}
	for stale, current := range map[string]string{"recorder.0123456789abcdef.js": b.Script.Name, "recorder-worker.0123456789abcdef.js": b.Script.Name} {
		resp, _ := get(t, base+"/__replay/"+stale)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/__replay/"+current {
			t.Errorf("stale %s: %d → %q", stale, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, p := range []string{"/__replay/", "/__replay/../etc/passwd", "/__replay/v1/other"} {
		if resp, _ := get(t, base+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
	// The ingest endpoint is wired to the collector (which refuses a GET).
	if resp, _ := get(t, base+"/__replay/v1/segments"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on the ingest endpoint: %d", resp.StatusCode)
	}
}

// TestIngestOffPassesUploadsOn: with ingest off, the recorder is still
// injected and its uploads reach the handlers after replay (here the
// upstream, standing for a central collector) instead of a 404.
func TestIngestOffPassesUploadsOn(t *testing.T) {
	base := startProxy(t, "ingest off")
	if _, body := get(t, base+"/page"); !tagRE.MatchString(body) {
		t.Errorf("ingest off stopped the injection")
	}
	resp, err := caddyrun.Client().Post(base+"/__replay/v1/segments?sid=x", "application/json", strings.NewReader("[]"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || string(b) != "upstream collector" {
		t.Errorf("upload with ingest off: %d %q, want the upstream's 202", resp.StatusCode, b)
	}
	// The recorder's own files are still ours.
	if resp, _ := get(t, base+"/__replay/v1/other"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/__replay/v1/other with ingest off: %d, want 404", resp.StatusCode)
	}
}

// TestReloadSharesTheStore: Caddy provisions a new config before stopping
// the old one; both must use one open store, not open SQLite twice.
func TestReloadSharesTheStore(t *testing.T) {
	dir := t.TempDir()
	cfg := func(port int) []byte {
		return caddyrun.Adapt(t, []byte(fmt.Sprintf("{\n\tadmin off\n\treplay {\n\t\tdata_dir %s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n\treplay\n\trespond \"<html><head></head></html>\"\n}\n", dir, port)))
	}
	ports := caddyrun.FreePorts(t, 2)
	p1, p2 := ports[0], ports[1]
	caddyrun.Start(t, cfg(p1), caddyrun.Addr(p1))
	first := activeStore(t)
	if err := caddy.Load(withAdminOff(t, cfg(p2)), true); err != nil {
		t.Fatal(err)
	}
	second := activeStore(t)
	if first != second {
		t.Errorf("the reload opened the store again")
	}
	if _, err := second.ListSessions(context.Background(), storeQuery()); err != nil {
		t.Errorf("the store closed during the reload: %v", err)
	}
}

func activeStore(t *testing.T) store.Store {
	t.Helper()
	app, err := caddy.ActiveContext().AppIfConfigured("replay")
	if err != nil {
		t.Fatal(err)
	}
	return app.(*App).Store()
}

func withAdminOff(t *testing.T, cfg []byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		t.Fatal(err)
	}
	m["admin"] = map[string]any{"disabled": true, "config": map[string]any{"persist": false}}
	m["storage"] = map[string]any{"module": "file_system", "root": t.TempDir()}
	out, _ := json.Marshal(m)
	return out
}

func storeQuery() store.Query { return store.Query{} }

func TestMetricsCountOutcomes(t *testing.T) {
	base := startProxy(t, "")
	get(t, base+"/page")
	get(t, base+"/page")
	get(t, base+"/style.css")
	ctx := caddy.ActiveContext()
	families, err := ctx.GetMetricsRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, fam := range families {
		if fam.GetName() != "caddy_replay_responses_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					counts[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	if counts["injected"] != 2 || counts["not_html"] != 1 {
		t.Errorf("outcome counts = %v, want 2 injected and 1 not_html", counts)
	}
}

// TestSecondReplayDirectiveInjectsNothing: two replay directives on one
// route (a snippet imported twice, a copy-paste) give one recorder tag,
// the first one's, and one set of CORS headers.
func TestSecondReplayDirectiveInjectsNothing(t *testing.T) {
	base := startSite(t, `(recording) {
	replay {
		service first
		cors_origins http://player.test
	}
}`, func(up string) string {
		return `import recording
import recording
route {
	replay {
		service second
		cors_origins http://player.test
	}
	reverse_proxy ` + up + `
}`
	})
	_, body := get(t, base+"/page")
	tags := tagRE.FindAllString(body, -1)
	if len(tags) != 1 || !strings.Contains(tags[0], `data-service="first"`) {
		t.Fatalf("want the first directive's tag only, got %d:\n%s", len(tags), strings.Join(tags, "\n"))
	}
	if got := removeInjected(body); got != page {
		t.Errorf("the rest of the page changed:\n got %q\nwant %q", got, page)
	}
	resp, _ := get(t, base+"/style.css", "Origin", "http://player.test")
	if acao := resp.Header.Values("Access-Control-Allow-Origin"); len(acao) != 1 || acao[0] != "http://player.test" {
		t.Errorf("Access-Control-Allow-Origin = %q, want it once", acao)
	}
	if n := strings.Count(strings.Join(resp.Header.Values("Vary"), ","), "Origin"); n != 1 {
		t.Errorf("Vary names Origin %d times: %q", n, resp.Header.Values("Vary"))
	}
}

// TestCustomBasePath: with base_path set, the tag, its endpoint, the
// recorder's file, the ingest endpoint and the CSP all use it, and the
// default path is the application's again.
func TestCustomBasePath(t *testing.T) {
	base := startProxy(t, "base_path /_rec/")
	resp, body := get(t, base+"/page")
	tag := regexp.MustCompile(`<script async="" src="(/_rec/recorder\.[0-9a-f]{16}\.js)"[^>]*></script>`).FindStringSubmatch(body)
	if tag == nil {
		t.Fatalf("no tag under /_rec/:\n%s", body)
	}
	if !strings.Contains(tag[0], `data-endpoint="/_rec/v1/segments"`) {
		t.Errorf("the tag's endpoint is not under /_rec/: %s", tag[0])
	}
	if strings.Contains(body, "/__replay/") {
		t.Errorf("the page still names /__replay/:\n%s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src "+base+"/_rec/") {
		t.Errorf("connect-src not opened for /_rec/: %q", csp)
	}
	if resp, js := get(t, base+tag[1]); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || len(js) < 1000 {
		t.Errorf("GET %s: %d %q, %d bytes", tag[1], resp.StatusCode, resp.Header.Get("Content-Type"), len(js))
	}
	// The collector answers under /_rec/ (it refuses a GET)...
	if resp, _ := get(t, base+"/_rec/v1/segments"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /_rec/v1/segments: %d, want the collector's 405", resp.StatusCode)
	}
	// ...and /__replay/ belongs to the application.
	req, _ := http.NewRequest("POST", base+"/__replay/v1/segments", strings.NewReader("x"))
	up, err := caddyrun.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(up.Body)
	up.Body.Close()
	if up.StatusCode != http.StatusAccepted || string(b) != "upstream collector" {
		t.Errorf("POST /__replay/v1/segments with base_path /_rec/: %d %q, want the upstream's answer", up.StatusCode, b)
	}
}

// TestPlayerOnARecordedSiteIsNotRecorded mounts the player under a site
// that has replay (handle_path /replay/*): the player's page gets no
// recorder and keeps its own headers, the site's pages still get one.
func TestPlayerOnARecordedSiteIsNotRecorded(t *testing.T) {
	base := startSite(t, "", func(up string) string {
		return `encode
replay {
	cors_origins http://player.test
}
handle_path /replay/* {
	replay_player
}
handle {
	reverse_proxy ` + up + `
}`
	})
	if _, body := get(t, base+"/page"); len(tagRE.FindAllString(body, -1)) != 1 {
		t.Fatalf("the site's page lost its recorder:\n%s", body)
	}
	resp, body := get(t, base+"/replay/", "Sec-Fetch-Dest", "document", "Accept", "text/html")
	if resp.StatusCode != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("the player's page: %d\n%.300s", resp.StatusCode, body)
	}
	if strings.Contains(body, "/__replay/recorder.") {
		t.Errorf("the player's page got the recorder:\n%.600s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "/__replay/") {
		t.Errorf("the player's CSP was amended for the recorder: %q", csp)
	}
	if resp, _ := get(t, base+"/replay/api/sessions"); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the player's API: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestForwardedSchemeFromTrustedProxies: behind a proxy that terminates
// TLS, the page is https while Caddy sees http. With the proxy in the
// server's trusted_proxies, its X-Forwarded-Proto gives the page's scheme,
// so a scheme-relative stylesheet on a listed https origin gets
// crossorigin; from anyone else the header is ignored.
func TestForwardedSchemeFromTrustedProxies(t *testing.T) {
	up := upstream(t)
	for _, c := range []struct {
		trusted string
		want    bool
	}{{"127.0.0.1/32", true}, {"192.0.2.0/24", false}} {
		port := caddyrun.FreePort(t)
		cf := fmt.Sprintf("{\n\tadmin off\n\tservers {\n\t\ttrusted_proxies static %s\n\t}\n\treplay {\n\t\tdata_dir %s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n\treplay {\n\t\tcrossorigin https://cdn.example.net\n\t}\n\treverse_proxy %s\n}\n",
			c.trusted, t.TempDir(), port, strings.TrimPrefix(up.URL, "http://"))
		caddyrun.Start(t, caddyrun.Adapt(t, []byte(cf)), caddyrun.Addr(port))
		_, body := get(t, "http://"+caddyrun.Addr(port)+"/schemeless", "X-Forwarded-Proto", "https")
		if got := strings.Contains(body, `<link crossorigin="anonymous" rel="stylesheet" href="//cdn.example.net/x.css">`); got != c.want {
			t.Errorf("trusted proxies %s, X-Forwarded-Proto https: crossorigin on the https stylesheet %v, want %v\n%s", c.trusted, got, c.want, body)
		}
	}
}
