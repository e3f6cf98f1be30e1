package inject

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
)

// The stand-in recorder does what the real one needs from a page's CSP:
// it runs, starts a same-origin worker and posts to the ingest endpoint.
const (
	standInScript = `(function () {
  var r = window.__r = {loaded: true, worker: null, fetch: null};
  try {
    var w = new Worker(location.origin + "/__replay/worker.js");
    w.onmessage = function (e) { r.worker = e.data; };
    w.onerror = function () { r.worker = "error"; };
    w.postMessage("ping");
  } catch (e) { r.worker = "threw " + e.name; }
  fetch(location.origin + "/__replay/v1/segments", {method: "POST", body: "{}"})
    .then(function (res) { r.fetch = res.status; }, function () { r.fetch = "error"; });
})();`
	standInWorker = `onmessage = function () { postMessage("pong"); };`
	// watchViolations runs before the page's scripts and outside its CSP.
	watchViolations = `window.__v = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__v.push(e.disposition + " " + e.effectiveDirective + " " + e.blockedURI);
});`
	pageNonce = "pAg3n0nc3"
	ownInline = `window.__own = 1`
)

func sriOf(b string) string {
	h := sha512.Sum384([]byte(b))
	return "sha384-" + base64.StdEncoding.EncodeToString(h[:])
}

func cspHashOf(b string) string {
	h := sha256.Sum256([]byte(b))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// TestCSPInChromium checks the CSP amendments in a real browser: for each
// policy, the recorder's script loads, its worker starts and its POST goes
// through, no violation names our URLs, and the page's policy is not
// weakened for anything else (its own inline scripts run, or stay blocked,
// exactly as before).
func TestCSPInChromium(t *testing.T) {
	type browserCase struct {
		name      string
		csp, ro   []string
		head      string // markup after <head>, before our meta charset
		ownRuns   bool   // the page's nonce'd (or hashed) inline script runs
		badRuns   bool   // the page's inline script without nonce runs
		integrity bool   // our tag must carry integrity
	}
	hash := cspHashOf(ownInline)
	cases := []browserCase{
		{name: "no policy", ownRuns: true, badRuns: true},
		{name: "default-src 'none'", csp: []string{"default-src 'none'"}},
		{name: "default-src 'self'", csp: []string{"default-src 'self'"}},
		{name: "nonce", csp: []string{"script-src 'nonce-" + pageNonce + "'; connect-src 'none'; worker-src 'none'"}, ownRuns: true},
		{name: "nonce + strict-dynamic (workers by scripts allowed)", csp: []string{"script-src 'nonce-" + pageNonce + "' 'strict-dynamic'; object-src 'none'; base-uri 'none'"}, ownRuns: true},
		{name: "hash-based strict-dynamic", csp: []string{"script-src " + hash + " 'strict-dynamic'"}, ownRuns: true, integrity: true},
		{name: "child-src fallback for workers", csp: []string{"default-src 'none'; script-src 'self'; child-src 'none'"}},
		{name: "script-src-elem", csp: []string{"script-src-elem 'nonce-" + pageNonce + "'; script-src 'none'"}, ownRuns: true},
		{name: "unsafe-inline kept working", csp: []string{"default-src 'none'; script-src 'unsafe-inline'"}, ownRuns: true, badRuns: true},
		{name: "report-only", ro: []string{"default-src 'none'"}, ownRuns: true, badRuns: true},
		{name: "two policies", csp: []string{"default-src 'self'", "script-src 'nonce-" + pageNonce + "'; connect-src https://api.example"}},
		{name: "meta policy before our tag", head: `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-` + pageNonce + `'">`, ownRuns: true},
		{name: "cross-origin <base> before our tag", head: `<base href="http://127.0.0.2:9/">`, ownRuns: true, badRuns: true},
	}

	integrity := sriOf(standInScript)
	in, err := New(Config{
		Tag: func(tc TagContext) []byte {
			return ScriptTag("/__replay/recorder.js", nil, tc)
		},
		ScriptIntegrity: integrity,
	})
	if err != nil {
		t.Fatal(err)
	}
	var current browserCase
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/__replay/recorder.js":
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, standInScript)
			return
		case "/__replay/worker.js":
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, standInWorker)
			return
		case "/__replay/v1/segments":
			w.WriteHeader(http.StatusNoContent)
			return
		case "/favicon.ico":
			http.NotFound(w, r)
			return
		}
		rw := in.Wrap(w, r, true)
		defer rw.Close()
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		for _, v := range current.csp {
			rw.Header().Add("Content-Security-Policy", v)
		}
		for _, v := range current.ro {
			rw.Header().Add("Content-Security-Policy-Report-Only", v)
		}
		io.WriteString(rw, `<!doctype html><html><head>`+current.head+`<meta charset="utf-8"><title>t</title>`+
			`<script nonce="`+pageNonce+`">`+ownInline+`</script><script>window.__bad = 1</script></head><body>page</body></html>`)
	}))
	defer srv.Close()

	ctx := browsertest.New(t, 90*time.Second)
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := cdppage.AddScriptToEvaluateOnNewDocument(watchViolations).Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	const collect = `new Promise(function (done) {
  var n = 0;
  (function wait() {
    var r = window.__r;
    if ((r && r.worker !== null && r.fetch !== null) || n++ > 40) {
      var tag = document.querySelector('script[src="/__replay/recorder.js"]');
      done(JSON.stringify({r: r || null, v: window.__v || [], own: window.__own || 0, bad: window.__bad || 0,
        integrity: tag ? tag.integrity : "", nonce: tag ? tag.nonce : ""}));
    } else setTimeout(wait, 100);
  })();
})`
	for _, c := range cases {
		current = c
		var raw string
		err := chromedp.Run(ctx,
			chromedp.Navigate(srv.URL+"/page"),
			chromedp.Evaluate(collect, &raw, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
		)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got struct {
			R *struct {
				Loaded bool
				Worker any
				Fetch  any
			}
			V         []string
			Own, Bad  int
			Integrity string
			Nonce     string
		}
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatalf("%s: %v (%s)", c.name, err, raw)
		}
		switch {
		case got.R == nil || !got.R.Loaded:
			t.Errorf("%s: the recorder script did not run (violations %q)", c.name, got.V)
			continue
		case got.R.Worker != "pong":
			t.Errorf("%s: the worker did not start: %v (violations %q)", c.name, got.R.Worker, got.V)
		case got.R.Fetch != float64(204):
			t.Errorf("%s: the POST to the endpoint failed: %v (violations %q)", c.name, got.R.Fetch, got.V)
		}
		for _, v := range got.V {
			if strings.Contains(v, "/__replay/") {
				t.Errorf("%s: violation for our URL: %s", c.name, v)
			}
		}
		if (got.Own == 1) != c.ownRuns || (got.Bad == 1) != c.badRuns {
			t.Errorf("%s: the page's own policy changed: nonce'd inline ran %v (want %v), plain inline ran %v (want %v)",
				c.name, got.Own == 1, c.ownRuns, got.Bad == 1, c.badRuns)
		}
		if (got.Integrity != "") != c.integrity {
			t.Errorf("%s: integrity %q", c.name, got.Integrity)
		}
	}
}
