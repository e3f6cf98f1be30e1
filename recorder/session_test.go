package recorder

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

var cookieRE = regexp.MustCompile(`^v1:[A-Za-z0-9_-]{16,64}:\d+:\d+:[01]$`)

// cookie returns the tab's _replay_s cookie.
func cookie(t *testing.T, ctx context.Context) *network.Cookie {
	t.Helper()
	var cs []*network.Cookie
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cs, err = network.GetCookies().Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name == CookieName {
			return c
		}
	}
	return nil
}

func (c *collector) sessions() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, u := range c.uploads {
		out[u.Sid] = true
	}
	return out
}

// navigate opens a fixture without waiting for the recorder.
func (h *harness) navigate(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Navigate(h.url(path))); err != nil {
		t.Fatal(err)
	}
}

func sessionID(t *testing.T, ctx context.Context) string {
	t.Helper()
	var s string
	if err := eval(ctx, `SessionReplay.getSessionId() || ''`, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// testSession checks sampling, manual start, stop, expiry, renewal and tabs.
func testSession(t *testing.T, h *harness, b *browser) {
	t.Run("sample rate 0: nothing sent, cookie says unsampled", func(t *testing.T) {
		for _, attr := range []string{"sample-rate=0", "replay-sample-rate=0"} {
			h.coll.reset()
			live := b.tab(t)
			h.navigate(t, live, "/basic.html?"+attr)
			act(t, live, "appendMany")
			time.Sleep(600 * time.Millisecond)
			if n := h.coll.count(); n != 0 {
				t.Errorf("%s: %d uploads", attr, n)
			}
			c := cookie(t, live)
			if c == nil || !cookieRE.MatchString(c.Value) || !strings.HasSuffix(c.Value, ":0") {
				t.Fatalf("%s: cookie %+v, want an unsampled v1 cookie", attr, c)
			}
			s, ok := ParseCookie(c.Value)
			if !ok || s.ID != sessionID(t, live) || !s.SkipRecorder(time.Now()) {
				t.Errorf("%s: cookie %q does not tell the proxy to skip the recorder", attr, c.Value)
			}
		}
	})

	t.Run("cookie attributes and sampling agree with Go", func(t *testing.T) {
		live := b.tab(t)
		bc, _ := b.contexts.Load(live)
		for i := 0; i < 4; i++ {
			// A new visitor each time: no cookie, a new session.
			if err := chromedp.Run(live, chromedp.ActionFunc(func(ctx context.Context) error {
				return storage.ClearCookies().WithBrowserContextID(bc.(cdp.BrowserContextID)).Do(cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser))
			})); err != nil {
				t.Fatal(err)
			}
			h.navigate(t, live, "/basic.html?sample-rate=50&replay-sample-rate=80&start=manual")
			c := cookie(t, live)
			if c == nil {
				t.Fatal("no session cookie")
			}
			if c.Path != "/" || c.SameSite != network.CookieSameSiteLax || c.Secure || c.HTTPOnly {
				t.Errorf("cookie path %q samesite %q secure %v httponly %v", c.Path, c.SameSite, c.Secure, c.HTTPOnly)
			}
			s, ok := ParseCookie(c.Value)
			if !ok {
				t.Fatalf("cookie %q does not parse", c.Value)
			}
			if exp := time.Unix(int64(c.Expires), 0); exp.After(s.Created.Add(4*time.Hour+time.Minute)) || exp.Before(time.Now()) {
				t.Errorf("cookie expires %v (created %v): more than 4 h", exp, s.Created)
			}
			if got := s.Expires.Sub(s.Created); got < 14*time.Minute || got > 16*time.Minute {
				t.Errorf("new session expires after %v, want 15 min", got)
			}
			if want := Sampled(s.ID, 50, 80); s.Sampled != want {
				t.Errorf("session %s: recorder sampled=%v, Go Sampled()=%v", s.ID, s.Sampled, want)
			}
		}
	})

	t.Run("manual start and stop", func(t *testing.T) {
		h.coll.reset()
		live, replay := b.tab(t), b.ctx
		h.navigate(t, live, "/basic.html?privacy=allow&start=manual")
		act(t, live, "reorder")
		time.Sleep(500 * time.Millisecond)
		if n := h.coll.count(); n != 0 {
			t.Fatalf("%d uploads before startSessionReplayRecording()", n)
		}
		act(t, live, "SessionReplay.startSessionReplayRecording()")
		waitFor(t, 15*time.Second, "the recording to start", func() bool {
			var v string
			eval(live, `window.__replayTestHooks.view ? window.__replayTestHooks.view() : ''`, &v)
			return v != ""
		})
		act(t, live, "textEdits")
		h.roundTrip(t, live, replay, "allow", "started manually")
		act(t, live, "SessionReplay.stopSessionReplayRecording()")
		flush(t, live)
		n := h.coll.count()
		act(t, live, "appendMany")
		time.Sleep(600 * time.Millisecond)
		if m := h.coll.count(); m != n {
			t.Errorf("%d uploads after stopSessionReplayRecording()", m-n)
		}
	})

	t.Run("inactivity expiry and renewal", func(t *testing.T) {
		h.coll.reset()
		live, replay := b.tab(t), b.ctx
		h.open(t, live, "/basic.html?privacy=allow")
		first := sessionID(t, live)
		flush(t, live)
		// 16 minutes without activity: the session is over, capture pauses.
		act(t, live, `window.__clockOffset = 16 * 60e3`)
		waitFor(t, 15*time.Second, "the idle pause", func() bool { return state(t, live).Paused == "idle" })
		flush(t, live) // the segment closed by the pause goes out
		n := h.coll.count()
		act(t, live, "appendMany")
		time.Sleep(400 * time.Millisecond)
		if m := h.coll.count(); m != n {
			t.Errorf("%d uploads while the session was expired", m-n)
		}
		// The visitor is back: a new session, a new view, a full snapshot.
		if err := chromedp.Run(live, chromedp.MouseEvent(input.MouseMoved, 100, 100)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "a new session", func() bool { return sessionID(t, live) != first })
		h.roundTrip(t, live, replay, "allow", "renewed session")
		sid, vid := ids(t, live)
		segs := h.coll.views(sid)[vid]
		if len(segs) == 0 || !segs[0].Full || segs[0].Seq != 0 {
			t.Errorf("renewed session does not start with a full snapshot")
		}
		c := cookie(t, live)
		if s, ok := ParseCookie(c.Value); !ok || s.ID != sid || !s.Sampled {
			t.Errorf("cookie %q after renewal, want session %s", c.Value, sid)
		}
	})

	t.Run("four hours at most", func(t *testing.T) {
		h.coll.reset()
		live := b.tab(t)
		h.open(t, live, "/basic.html?privacy=allow")
		first := sessionID(t, live)
		// Active every 10 minutes for 4 hours: the session is extended, then ends.
		for m := 10; m <= 240; m += 10 {
			act(t, live, "window.__clockOffset = "+itoa(m)+" * 60e3")
			if err := chromedp.Run(live, chromedp.MouseEvent(input.MouseMoved, float64(m), 50)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(15 * time.Millisecond)
			if m < 230 && sessionID(t, live) != first {
				t.Fatalf("session renewed after %d active minutes", m)
			}
		}
		act(t, live, "window.__clockOffset = 241 * 60e3")
		time.Sleep(1100 * time.Millisecond) // activity is counted at most once per second
		if err := chromedp.Run(live, chromedp.MouseEvent(input.MouseMoved, 300, 300)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "a new session after 4 h", func() bool { return sessionID(t, live) != first })
	})

	t.Run("two tabs share the session, each with its views", func(t *testing.T) {
		h.coll.reset()
		a := b.tab(t)
		h.open(t, a, "/basic.html?privacy=allow")
		bt := b.sibling(t, a)
		h.open(t, bt, "/shadow.html?privacy=allow")
		sa, va := ids(t, a)
		sb, vb := ids(t, bt)
		if sa != sb {
			t.Errorf("tabs have sessions %s and %s", sa, sb)
		}
		if va == vb {
			t.Errorf("tabs share view %s", va)
		}
		act(t, a, "reorder")
		act(t, bt, "shadowMutate")
		replay := b.ctx
		h.roundTrip(t, a, replay, "allow", "tab A")
		h.roundTrip(t, bt, replay, "allow", "tab B")
		tabs := map[string]bool{}
		for _, u := range h.coll.snapshot() {
			if u.Sid != sa {
				continue
			}
			for _, e := range u.Events {
				if strings.Contains(string(e), `"replay/view"`) {
					i := strings.Index(string(e), `"tab":"`)
					tabs[string(e)[i+7:i+29]] = true
				}
			}
		}
		if len(tabs) != 2 {
			t.Errorf("replay/view events name %d tabs, want 2", len(tabs))
		}
	})

	t.Run("without cookies the session lives in the page", func(t *testing.T) {
		h.coll.reset()
		live, replay := b.tab(t), b.ctx
		if err := chromedp.Run(live, emulation.SetDocumentCookieDisabled(true)); err != nil {
			t.Fatal(err)
		}
		h.open(t, live, "/basic.html?privacy=allow")
		first := sessionID(t, live)
		_, v0 := ids(t, live)
		for i := 0; i < 4; i++ {
			if err := chromedp.Run(live, chromedp.MouseEvent(input.MouseMoved, float64(50+i*40), 80)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(400 * time.Millisecond) // past the one-second activity throttle and several ticks
		}
		act(t, live, "reorder")
		_, v1 := ids(t, live)
		if sid := sessionID(t, live); sid != first || v1 != v0 {
			t.Errorf("session %s → %s, view %s → %s without cookies: want one stable session and view", first, sid, v0, v1)
		}
		h.roundTrip(t, live, replay, "allow", "no cookies")
	})

	t.Run("a prerendered page records from when it is shown", func(t *testing.T) {
		h.coll.reset()
		live := b.tab(t)
		// Chromium prerenders a page (Speculation Rules) only without
		// DevTools attached ("PrerenderingDisabledByDevTools"), so the page
		// plays it: document.prerendering is true until it dispatches
		// prerenderingchange, as a prerendered page shown to the visitor does.
		var id page.ScriptIdentifier
		if err := chromedp.Run(live, chromedp.ActionFunc(func(ctx context.Context) (err error) {
			id, err = page.AddScriptToEvaluateOnNewDocument(`window.__prerendering = true; Object.defineProperty(Document.prototype, 'prerendering', {configurable: true, get: () => window.__prerendering});`).Do(ctx)
			return err
		})); err != nil {
			t.Fatal(err)
		}
		defer chromedp.Run(live, page.RemoveScriptToEvaluateOnNewDocument(id))
		h.navigate(t, live, "/basic.html?privacy=allow")
		var loaded bool
		waitFor(t, 15*time.Second, "the page and its recorder", func() bool {
			return eval(live, `document.readyState === 'complete' && !!window.SessionReplay?.version`, &loaded) == nil && loaded
		})
		act(t, live, "appendMany")
		time.Sleep(1500 * time.Millisecond) // what it would have sent in this time
		if n := h.coll.count(); n != 0 {
			t.Errorf("%d uploads while the page was prerendered and not shown", n)
		}
		shown := time.Now()
		act(t, live, `(() => { window.__prerendering = false; document.dispatchEvent(new Event('prerenderingchange')); })()`)
		waitFor(t, 15*time.Second, "the recording of the shown page", func() bool { return h.coll.count() > 0 })
		first := h.coll.snapshot()[0]
		if !first.Full || first.Seq != 0 || time.UnixMilli(first.Start).Before(shown.Add(-time.Second)) {
			t.Errorf("first upload: seq %d, full %v, started %v before the page was shown", first.Seq, first.Full, shown.Sub(time.UnixMilli(first.Start)))
		}
	})

	t.Run("a tab opened in the background says so with its snapshot", func(t *testing.T) {
		h.coll.reset()
		live := b.tab(t)
		// The page loads hidden, as a link opened in a background tab does.
		var id page.ScriptIdentifier
		if err := chromedp.Run(live, chromedp.ActionFunc(func(ctx context.Context) (err error) {
			id, err = page.AddScriptToEvaluateOnNewDocument(`Object.defineProperty(Document.prototype, 'hidden', {configurable: true, get: () => true}); Object.defineProperty(Document.prototype, 'visibilityState', {configurable: true, get: () => 'hidden'});`).Do(ctx)
			return err
		})); err != nil {
			t.Fatal(err)
		}
		defer chromedp.Run(live, page.RemoveScriptToEvaluateOnNewDocument(id))
		h.open(t, live, "/basic.html?privacy=allow")
		sid, vid := ids(t, live)
		flush(t, live)
		evs, err := h.coll.events(sid, vid)
		if err != nil {
			t.Fatal(err)
		}
		// Meta, replay/view, FullSnapshot, then the hidden state.
		if len(evs) < 4 || !strings.Contains(string(evs[3]), `"tag":"replay/visibility","payload":{"state":"hidden"}`) {
			t.Errorf("the view of a hidden page does not start with replay/visibility hidden after its snapshot: %.300s", evs)
		}
	})

	t.Run("SPA navigations are views", func(t *testing.T) {
		h.coll.reset()
		live, replay := b.tab(t), b.ctx
		h.open(t, live, "/spa.html?privacy=allow")
		_, v0 := ids(t, live)
		act(t, live, "goAbout")
		_, v1 := ids(t, live)
		h.roundTrip(t, live, replay, "allow", "pushState")
		act(t, live, "hashOnly")
		_, v2 := ids(t, live)
		h.roundTrip(t, live, replay, "allow", "hash change")
		act(t, live, "back")
		_, v3 := ids(t, live)
		h.roundTrip(t, live, replay, "allow", "popstate")
		if v0 == v1 || v1 != v2 || v2 == v3 {
			t.Errorf("views %s %s %s %s: want new views on pushState and popstate, not on a hash change", v0, v1, v2, v3)
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestSampled checks the Go sampling function against known FNV-1a values
// and its rates: it must agree with the recorder's (session.js).
func TestSampled(t *testing.T) {
	// FNV-1a 32 of "abc" is 0x1a47e90b = 440920331; mod 10000 = 331.
	for _, c := range []struct {
		rate, replay float64
		want         bool
	}{{100, 100, true}, {0, 100, false}, {100, 0, false}, {3.32, 100, true}, {3.31, 100, false}, {10, 33.1, false}, {10, 33.2, true}} {
		if got := Sampled("abc", c.rate, c.replay); got != c.want {
			t.Errorf("Sampled(abc, %v, %v) = %v, want %v", c.rate, c.replay, got, c.want)
		}
	}
	n := 0
	for i := 0; i < 10000; i++ {
		if Sampled("session-"+strconv.Itoa(i)+"-xxxxxxxxxx", 30, 50) {
			n++
		}
	}
	if n < 1300 || n > 1700 {
		t.Errorf("%d of 10000 sampled at 30%% × 50%%, want about 1500", n)
	}
}

func TestParseCookie(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	s, ok := ParseCookie("v1:AAAAAAAAAAAAAAAAAAAAAA:1699999000000:1700000600000:0")
	if !ok || s.Sampled || !s.Live(now) || !s.SkipRecorder(now) {
		t.Errorf("valid unsampled cookie: %+v %v", s, ok)
	}
	if s.SkipRecorder(now.Add(11 * time.Minute)) {
		t.Errorf("expired session still skips the recorder")
	}
	old, _ := ParseCookie("v1:AAAAAAAAAAAAAAAAAAAAAA:1680000000000:1800000000000:0")
	if old.Live(now) {
		t.Errorf("session older than 4 h is live")
	}
	for _, bad := range []string{"", "v2:AAAAAAAAAAAAAAAAAAAAAA:1:2:0", "v1:short:1:2:0", "v1:AAAAAAAAAAAAAAAAAAAAAA:x:2:0", "v1:AAAAAAAAAAAAAAAAAAAAAA:1:2:2", "v1:AAAAAAAAAAAAAAAA/AAAAA:1:2:1", "v1:AAAAAAAAAAAAAAAAAAAAAA:1:2:1:extra"} {
		if _, ok := ParseCookie(bad); ok {
			t.Errorf("ParseCookie(%q) accepted", bad)
		}
	}
}

// FuzzParseCookie: whatever the cookie holds, ParseCookie never panics, and
// what it accepts is exactly the recorder's format.
func FuzzParseCookie(f *testing.F) {
	f.Add("v1:AAAAAAAAAAAAAAAAAAAAAA:1699999000000:1700000600000:0")
	f.Add("v1:abc_DEF-0123456789xyz:0:0:1")
	f.Add("v1:::::")
	f.Fuzz(func(t *testing.T, v string) {
		s, ok := ParseCookie(v)
		if !ok {
			return
		}
		b := "0"
		if s.Sampled {
			b = "1"
		}
		again := "v1:" + s.ID + ":" + strconv.FormatInt(s.Created.UnixMilli(), 10) + ":" + strconv.FormatInt(s.Expires.UnixMilli(), 10) + ":" + b
		if s2, ok2 := ParseCookie(again); !ok2 || s2 != s {
			t.Errorf("%q parsed as %+v, which does not round-trip (%q)", v, s, again)
		}
	})
}
