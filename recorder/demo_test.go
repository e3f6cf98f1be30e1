package recorder

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// demoRoot is the lead's demo site (examples/demo), served the way
// Caddyfile.example serves it: Caddy's templates (include, placeholder),
// its CSP header with a per-response nonce, and its second origin for the
// theme and the font (with CORS, and crossorigin on the link as the proxy
// adds it).
var demoRoot = filepath.Join("..", "examples", "demo")

type demo struct {
	site, assets *httptest.Server
	// extra is added after the recorder tag (e.g. rrweb for the figures).
	extra func(nonce string) string
}

func newDemo(t testing.TB, h *harness) *demo {
	t.Helper()
	if _, err := os.Stat(filepath.Join(demoRoot, "index.html")); err != nil {
		t.Fatalf("the demo site is missing (%v): it is part of the repository (examples/demo)", err)
	}
	d := &demo{}
	assets := http.FileServer(http.Dir(filepath.Join("..", "examples", "assets")))
	d.assets = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		assets.ServeHTTP(w, r)
	}))
	t.Cleanup(d.assets.Close)
	files := http.FileServer(http.Dir(demoRoot))
	mux := http.NewServeMux()
	mux.Handle("/__replay/"+h.bundle.Script.Name, h.bundle.Script)
	mux.Handle("/__replay/v1/segments", h.coll)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/partials/") {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(p, "/") {
			p += "index.html"
		}
		if path.Ext(p) == "" && strings.HasPrefix(p, "/app/") {
			p = "/app/index.html" // the dashboard's client-side routes
		}
		if path.Ext(p) != ".html" {
			files.ServeHTTP(w, r)
			return
		}
		nonce := randomHex(16)
		body, err := d.render(p, nonce)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		tag := h.tag(r) // test hooks (made to carry the nonce below) and the recorder
		tag = strings.Replace(tag, "<script>", `<script nonce="`+nonce+`">`, 1)
		if d.extra != nil {
			tag += d.extra(nonce)
		}
		body = bytes.Replace(body, []byte("<head>"), []byte("<head>\n"+tag), 1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-"+nonce+"'; style-src 'self' "+d.assets.URL+"; font-src 'self' "+d.assets.URL+"; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
		w.Write(body)
	})
	d.site = httptest.NewServer(mux)
	t.Cleanup(d.site.Close)
	return d
}

// render executes a demo page as Caddy's templates would.
func (d *demo) render(name, nonce string) ([]byte, error) {
	var funcs template.FuncMap
	var exec func(file string, args []string) (string, error)
	funcs = template.FuncMap{
		"include": func(file string, args ...string) (string, error) { return exec(file, args) },
		"placeholder": func(name string) string {
			switch name {
			case "http.vars.assets_origin":
				return d.assets.URL
			case "http.request.uuid":
				return nonce
			}
			return ""
		},
	}
	exec = func(file string, args []string) (string, error) {
		src, err := os.ReadFile(filepath.Join(demoRoot, filepath.FromSlash(file)))
		if err != nil {
			return "", err
		}
		tpl, err := template.New(file).Funcs(funcs).Parse(string(src))
		if err != nil {
			return "", err
		}
		var b strings.Builder
		err = tpl.Execute(&b, struct{ Args []string }{args})
		return b.String(), err
	}
	out, err := exec(name, nil)
	if err != nil {
		return nil, err
	}
	// What the proxy does for a stylesheet on an allowed origin.
	out = strings.ReplaceAll(out, `<link rel="stylesheet" href="`+d.assets.URL, `<link rel="stylesheet" crossorigin="anonymous" href="`+d.assets.URL)
	out = strings.ReplaceAll(out, `<link rel="preload" href="`+d.assets.URL, `<link rel="preload" crossorigin="anonymous" href="`+d.assets.URL)
	return []byte(out), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// testDemo visits every page of the demo, interacting as a visitor would,
// and round-trips each step at the demo's privacy level.
func testDemo(t *testing.T, h *harness, b *browser) {
	d := newDemo(t, h)
	h.coll.reset()
	live, replay := b.tab(t), b.ctx
	con := watch(live)
	const level = "mask-user-input"
	q := "?privacy=" + level
	step := func(name string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(live, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		h.roundTrip(t, live, replay, level, name)
	}
	visit := func(path string) {
		t.Helper()
		if err := chromedp.Run(live, chromedp.Navigate(d.site.URL+path+q)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the recorder on "+path, func() bool {
			var v string
			eval(live, `window.__replayTestHooks && window.__replayTestHooks.view ? window.__replayTestHooks.view() : ''`, &v)
			return v != ""
		})
		var fonts bool
		eval(live, `document.fonts.ready.then(() => true)`, &fonts)
	}
	move := func(x, y float64) chromedp.Action { return chromedp.MouseEvent(input.MouseMoved, x, y) }

	visit("/")
	step("home", move(200, 200), move(400, 300), chromedp.ScrollIntoView("footer", chromedp.ByQuery))

	visit("/shop.html")
	step("shop filter", chromedp.Click(`[data-filter="dark"]`, chromedp.ByQuery))
	step("shop sort", chromedp.SetValue("#sort", "price-asc", chromedp.ByQuery), chromedp.Evaluate(`document.getElementById('sort').dispatchEvent(new Event('change', {bubbles: true}))`, nil))
	step("shop add to cart", chromedp.Click(`[data-filter="all"]`, chromedp.ByQuery), chromedp.Click(`#products [data-add]`, chromedp.ByQuery), chromedp.Click("#cart-button", chromedp.ByQuery))
	step("shop details dialog", chromedp.Click(`#products [data-details]`, chromedp.ByQuery))
	step("shop dialog closed", chromedp.Evaluate(`document.getElementById('details').close()`, nil))

	visit("/account.html")
	step("account typing",
		chromedp.SendKeys("#name", "Ada Lovelace", chromedp.ByQuery), // masked as typed; the page then names its user with setUser
		chromedp.SendKeys("#email", "ada@example.com", chromedp.ByQuery),
		chromedp.SendKeys("#password", "correct horse", chromedp.ByQuery),
		chromedp.SendKeys("#phone", "5550100", chromedp.ByQuery),
		chromedp.SendKeys("#notes", "Medium grind please", chromedp.ByQuery),
		chromedp.Click("#newsletter", chromedp.ByQuery),
	)
	step("account submit", chromedp.Click("#submit", chromedp.ByQuery))

	visit("/app/")
	step("dashboard overview", chromedp.Sleep(100*time.Millisecond))
	step("dashboard orders", chromedp.Click(`a[href="/app/orders"]`, chromedp.ByQuery), chromedp.Evaluate(`document.getElementById('orders-box').scrollTop = 90`, nil))
	step("dashboard settings", chromedp.Click(`a[href="/app/settings"]`, chromedp.ByQuery), chromedp.Click("#pause", chromedp.ByQuery), chromedp.SendKeys("#nickname", "Ada", chromedp.ByQuery))
	step("dashboard back", chromedp.NavigateBack())

	// Segments were compressed in the worker, which is the recorder's own
	// script, allowed by the page's CSP (script-src 'self').
	var workers []struct {
		URL             string
		Replies, Errors int
	}
	if err := eval(live, `window.__workers`, &workers); err != nil {
		t.Fatal(err)
	}
	if len(workers) != 1 || workers[0].URL != d.site.URL+"/__replay/"+h.bundle.Script.Name || workers[0].Replies == 0 || workers[0].Errors != 0 {
		t.Errorf("workers on the last page: %+v, want one, the recorder's script, that compressed segments", workers)
	}
	all := bytes.Join(h.coll.allBodies(), nil)
	for _, secret := range []string{"correct horse", "ada@example.com", "5550100", `"text":"Ada L`, `"value":"Ada L`} {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("%q typed on the demo was uploaded", secret)
		}
	}
	for _, want := range []string{"Medium grind please", `"Ada"`} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("%s typed into a data-replay-privacy=allow field was not recorded", want)
		}
	}
	// Every page shares the site's stylesheets: each text is sent once in the
	// session, later views refer to it (rr_css), and the round trips above
	// rebuilt them from it.
	texts := map[string]int{}
	for _, m := range regexp.MustCompile(`"_cssText":("(?:[^"\\]|\\.)*")`).FindAllSubmatch(all, -1) {
		texts[string(m[1])]++
	}
	for css, n := range texts {
		if n > 1 {
			t.Errorf("a stylesheet (%.60s...) was sent %d times in one session", css, n)
		}
	}
	if refs := bytes.Count(all, []byte(`"rr_css":"`)); len(texts) == 0 || refs < 4 {
		t.Errorf("%d stylesheet texts and %d references to them in a visit of 4 pages and 4 routes", len(texts), refs)
	}
	// The demo names its user with SessionReplay.setUser after the form is sent.
	if !bytes.Contains(all, []byte(`"tag":"replay/user","payload":{"id":"demo-ada-lovelace","name":"Ada Lovelace"}`)) {
		t.Errorf("setUser on the demo was not recorded as replay/user")
	}
	if _, exc := con.Snapshot(); len(exc) > 0 {
		t.Errorf("exceptions on the demo: %v", exc)
	}
	if msgs, _ := con.Snapshot(); len(msgs) > 0 {
		for _, m := range msgs {
			if strings.Contains(m, "Content Security Policy") || strings.Contains(m, "[replay]") {
				t.Errorf("console: %s", m)
			}
		}
	}
}
