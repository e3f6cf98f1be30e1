package caddymodule

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-replay/caddy-replay/internal/caddyrun"
)

// prefixedTagRE finds the injected tag and its script URL, whatever the
// path before the base path.
var prefixedTagRE = regexp.MustCompile(`<script async="" src="([^"]*/__replay/)(recorder\.[0-9a-f]{16}\.js)"[^>]*></script>`)

// TestReplayUnderHandlePath: `replay` inside `handle_path /shop/*` (the
// usual way to mount an application under a path) injected a tag whose
// URLs ignored the stripped prefix: /__replay/recorder.….js and the
// endpoint /__replay/v1/segments, which the browser asks of the site root,
// where no replay handler is, so nothing was ever recorded. The tag, the
// endpoint, the CSP amendment and the stale-build redirect must carry the
// prefix, and the prefixed URLs must reach replay.
func TestReplayUnderHandlePath(t *testing.T) {
	base := startSite(t, "", func(up string) string {
		return "handle_path /shop/* {\n\treplay\n\treverse_proxy " + up + "\n}\nhandle {\n\trespond \"site root\" 404\n}"
	})
	resp, body := get(t, base+"/shop/page")
	m := prefixedTagRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no recorder tag in /shop/page:\n%s", body)
	}
	if m[1] != "/shop/__replay/" {
		t.Errorf("the tag's script is under %q, want /shop/__replay/: %s", m[1], m[0])
	}
	if !strings.Contains(m[0], `data-endpoint="/shop/__replay/v1/segments"`) {
		t.Errorf("the tag's endpoint is not under /shop/__replay/: %s", m[0])
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src "+base+"/shop/__replay/") {
		t.Errorf("connect-src not opened for /shop/__replay/: %q", csp)
	}
	if r, js := get(t, base+m[1]+m[2]); r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Type"), "javascript") || len(js) < 1000 {
		t.Errorf("GET %s: %d %q, %d bytes", m[1]+m[2], r.StatusCode, r.Header.Get("Content-Type"), len(js))
	}
	// The collector answers at the tag's endpoint (it refuses a GET).
	if r, _ := get(t, base+"/shop/__replay/v1/segments"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /shop/__replay/v1/segments: %d, want the collector's 405", r.StatusCode)
	}
	// A page cached before an upgrade is sent to the current build under
	// the same prefix.
	if r, _ := get(t, base+"/shop/__replay/recorder.0123456789abcdef.js"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != m[1]+m[2] {
		t.Errorf("stale build under /shop/: %d → %q, want %s", r.StatusCode, r.Header.Get("Location"), m[1]+m[2])
	}
}

// TestReplayAfterSuffixRewrite: a rewrite before replay that drops the
// front of a path (here /legacy/page → /page) is no handle_path: the
// browser's next requests under /legacy/ are not rewritten. Whatever URL
// the tag carries must still reach the recorder.
func TestReplayAfterSuffixRewrite(t *testing.T) {
	base := startSite(t, "", func(up string) string {
		return "rewrite /legacy/page /page\nreplay\nreverse_proxy " + up
	})
	_, body := get(t, base+"/legacy/page")
	m := prefixedTagRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no recorder tag in /legacy/page:\n%s", body)
	}
	if r, js := get(t, base+m[1]+m[2]); r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Type"), "javascript") || len(js) < 1000 {
		t.Errorf("GET %s: %d %q, %d bytes", m[1]+m[2], r.StatusCode, r.Header.Get("Content-Type"), len(js))
	}
	endpoint := regexp.MustCompile(`data-endpoint="([^"]+)"`).FindStringSubmatch(m[0])
	if endpoint == nil {
		t.Fatalf("no endpoint in %s", m[0])
	}
	req, _ := http.NewRequest("GET", base+endpoint[1], nil)
	r, err := caddyrun.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want the collector's 405", endpoint[1], r.StatusCode)
	}
}
