package player

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
	"github.com/caddy-replay/caddy-replay/store"
)

// testServer serves a Player over a store under /replay/ (a stripped
// prefix, as `handle_path /replay/*` mounts it), plus a canary endpoint
// that hostile recordings try to reach.
type testServer struct {
	*httptest.Server
	// mux takes extra handlers (test pages).
	mux    *http.ServeMux
	store  *memStore
	player *Player
	canary atomic.Int64
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	return newTestServerWith(t, Config{Title: "Test Replay"}, nil)
}

// newTestServerWith serves a Player with cfg; wrap, when set, puts a store
// in front of the memStore (slow or failing stores).
func newTestServerWith(t testing.TB, cfg Config, wrap func(*memStore) store.Store) *testServer {
	t.Helper()
	ts := &testServer{store: newMemStore()}
	cfg.Store = ts.store
	if wrap != nil {
		cfg.Store = wrap(ts.store)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.player = p
	mux := http.NewServeMux()
	mux.Handle("/replay/", http.StripPrefix("/replay", p))
	mux.HandleFunc("/canary/", func(w http.ResponseWriter, r *http.Request) {
		ts.canary.Add(1)
		t.Logf("canary hit: %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNoContent)
	})
	ts.mux = mux
	ts.Server = httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// url is the player's address for a query string.
func (ts *testServer) url(query string) string {
	if query == "" {
		return ts.URL + "/replay/"
	}
	return ts.URL + "/replay/?" + query
}

// browser starts Chromium for a test and fails it on uncaught exceptions
// and JavaScript dialogs.
func browser(t *testing.T, timeout time.Duration) (context.Context, *browsertest.Console) {
	t.Helper()
	ctx := browsertest.New(t, timeout)
	con := browsertest.WatchConsole(ctx)
	var dialogs atomic.Int64
	chromedp.ListenTarget(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			t.Errorf("a JavaScript dialog opened: %s %q", d.Type, d.Message)
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(false))
		}
	})
	t.Cleanup(func() {
		// Close Chromium gracefully and wait for it, so its profile
		// directory is no longer written when the test removes it.
		chromedp.Cancel(ctx)
		_, exc := con.Snapshot()
		for _, e := range exc {
			t.Errorf("uncaught exception in the player: %s", e)
		}
	})
	return ctx, con
}

// run runs chromedp actions and fails the test on error.
func run(t *testing.T, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression into out.
func eval(t *testing.T, ctx context.Context, js string, out any) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, out)); err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
}

// waitJS polls a boolean JavaScript expression until it is true.
func waitJS(t *testing.T, ctx context.Context, js string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		err := chromedp.Run(ctx, chromedp.Evaluate("!!("+js+")", &ok))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var state string
			chromedp.Run(ctx, chromedp.Evaluate(`(document.querySelector('.replay-screen')||document.body).outerHTML.slice(0, 600)`, &state))
			t.Fatalf("timed out waiting for %s (err %v); page: %s", js, err, state)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// frameText is the rebuilt page's body text.
const frameText = `document.querySelector('.replay-frame').contentDocument.body.innerText`

// screenshot saves a PNG of the page when PLAYER_SCREENSHOTS names a
// directory (for looking at the screens; the test asserts nothing on it).
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("PLAYER_SCREENSHOTS")
	if dir == "" {
		return
	}
	var buf []byte
	run(t, ctx, chromedp.CaptureScreenshot(&buf))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// listSessions fills the store with n varied sessions for the list,
// started 37 minutes apart before now, of growing length.
func listSessions(t testing.TB, st store.Store, n int, now int64) {
	users := []struct{ id, name, email string }{
		{"u-1001", "Ada Lovelace", "ada@example.com"}, {"u-1002", "Grace Hopper", "grace@example.com"},
		{"", "", ""}, {"u-1003", "", "linus@example.org"}, {"", "", ""}, {"u-1004", "Margaret Hamilton", "mh@example.com"},
	}
	paths := []string{"/", "/products/espresso-beans", "/cart", "/checkout", "/blog/how-we-roast", "/account/settings", "/search?q=grinder"}
	uas := []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	}
	for i := 0; i < n; i++ {
		views, _, end := shopSession()
		u := users[i%len(users)]
		id := sessionID(i + 1)
		start := now - int64(i)*37*60_000 - 600_000
		shift := start - t0
		views[0].url = "https://shop.example" + paths[i%len(paths)]
		// A last moment that makes sessions further down the list longer.
		views[1].segments = append(views[1].segments, []ev{move(end+int64(i*i)*9_000+1, 1001, [2]int{5, 5})})
		for vi := range views {
			views[vi].id = fmt.Sprintf("view-%03d-%02d-0000000000", i, vi)
			for _, seg := range views[vi].segments {
				for _, e := range seg {
					e["timestamp"] = e["timestamp"].(int64) + shift
				}
			}
		}
		putSession(t, st, id, views, func(s *store.Session) {
			s.UserID, s.UserName, s.UserEmail = u.id, u.name, u.email
			s.UserAgent = uas[i%len(uas)]
			s.Clicks, s.Inputs = 3+i*7%40, i*3%11
			s.Errors = map[bool]int{true: 1 + i%3}[i%4 == 1]
			s.RageClicks = map[bool]int{true: 2}[i%5 == 2]
			s.DeadClicks = map[bool]int{true: 1}[i%3 == 0]
			s.ViewportWidth, s.ViewportHeight = []int{1440, 1920, 390}[i%3], []int{900, 1080, 844}[i%3]
			s.ActiveMs = s.Duration * int64(30+i*13%60) / 100
		})
	}
}

func TestScreens(t *testing.T) {
	ts := newTestServer(t)
	now := time.Now().UnixMilli()
	listSessions(t, ts.store, 14, now)
	views, _, _ := shopSession()
	putSession(t, ts.store, "shop-session-0000001", views, func(s *store.Session) {
		s.UserID, s.UserName, s.UserEmail = "u-1001", "Ada Lovelace", "ada@example.com"
		s.Clicks, s.Inputs, s.Errors = 2, 1, 1
		s.UserAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
		s.ViewportWidth, s.ViewportHeight = 1024, 700
	})
	ctx, _ := browser(t, 90*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800))
	for _, theme := range []string{"light", "dark"} {
		run(t, ctx, chromedp.Navigate(ts.url("")))
		eval(t, ctx, fmt.Sprintf(`localStorage.setItem('caddy-replay-theme', %q); document.documentElement.dataset.theme = %q`, theme, theme), nil)
		waitJS(t, ctx, `document.querySelectorAll('a.srow').length === 15`, 10*time.Second)
		var overflow bool
		eval(t, ctx, `document.documentElement.scrollWidth > innerWidth`, &overflow)
		if overflow {
			t.Errorf("%s list: the page scrolls sideways at 1280 px", theme)
		}
		screenshot(t, ctx, "list-"+theme)
		run(t, ctx, chromedp.Navigate(ts.url("session=shop-session-0000001&t=2.3")))
		waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'paused'`, 10*time.Second)
		time.Sleep(300 * time.Millisecond)
		screenshot(t, ctx, "replay-"+theme)
		var text string
		eval(t, ctx, frameText, &text)
		if !strings.Contains(text, "Added to cart") {
			t.Errorf("%s replay at 2.3 s: page text %q lacks the cart message", theme, text)
		}
	}
}
