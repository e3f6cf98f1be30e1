package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
	"github.com/caddy-replay/caddy-replay/store"
)

// domOf describes a document's body for comparing a live page with its
// replay: elements with id, classes (without the hover and focus classes
// that our player and rrweb's put on elements), the attributes that carry state (hidden, open, disabled,
// aria-pressed, aria-expanded, inline style), and text. Scripts are never
// recorded, and form values are masked by the recorder's default privacy
// level, so neither is compared.
const domOf = `function domOf(doc) {
	const lines = [];
	const walk = (n, depth) => {
		for (let c = n.firstChild; c; c = c.nextSibling) {
			if (c.nodeType === 3) {
				const t = c.data.replace(/\s+/g, ' ').trim();
				if (t) lines.push(' '.repeat(depth) + JSON.stringify(t));
				continue;
			}
			if (c.nodeType !== 1) continue;
			const tag = c.localName;
			if (tag === 'script' || tag === 'noscript' || tag === 'style' || tag === 'link' || tag === 'template') continue;
			let line = tag + (c.id ? '#' + c.id : '');
			const cls = [...c.classList].filter((k) => !/^(replay-|:hover$)/.test(k)).sort();
			if (cls.length) line += '.' + cls.join('.');
			for (const a of ['hidden', 'open', 'disabled', 'aria-pressed', 'aria-expanded']) if (c.hasAttribute(a)) line += ' ' + a + '=' + JSON.stringify(c.getAttribute(a));
			if (c.getAttribute('style')) line += ' style=' + JSON.stringify(c.style.cssText);
			lines.push(' '.repeat(depth) + line);
			walk(c, depth + 1);
		}
	};
	walk(doc.body, 0);
	return lines.join('\n');
}`

// moment is the live page at one instant of a recorded visit.
type moment struct {
	Name string
	TS   int64
	URL  string
	DOM  string
}

// visit drives the demo like a customer and captures the live DOM at
// quiet moments (after each step has settled).
func visit(t *testing.T, ctx context.Context, s *Stack) []moment {
	t.Helper()
	var moments []moment
	capture := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			time.Sleep(400 * time.Millisecond)
			var m moment
			if err := chromedp.Evaluate(`(() => { `+domOf+`; return {TS: Date.now(), URL: location.href, DOM: domOf(document)} })()`, &m).Do(ctx); err != nil {
				return err
			}
			m.Name = name
			moments = append(moments, m)
			time.Sleep(400 * time.Millisecond)
			return nil
		})
	}
	click := clickCentered
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(s.Site+"/"),
		chromedp.WaitVisible("#shop-now"),
		capture("home"),
		click("#subscribe-toggle"),
		capture("subscription details shown"),
		click("#shop-now"),
		chromedp.WaitVisible(`[data-filter="dark"]`),
		capture("shop"),
		click(`[data-filter="dark"]`),
		capture("dark roasts only"),
		click(`[data-filter="all"]`),
		click(`[data-add="guji"]`),
		click(`[data-add="kiambu"]`),
		capture("two in the cart"),
		click(`a[href="/account.html"]`),
		chromedp.WaitVisible("#name"),
		capture("account form"),
		click("#submit"),
		capture("form error"),
		signUp(click),
		capture("signed up"),
		click(`a[href="/app/"]`),
		chromedp.WaitVisible(`a[href="/app/orders"]`),
		capture("dashboard"),
		click(`a[href="/app/orders"]`),
		chromedp.WaitVisible("#orders-box"),
		capture("orders"),
		// Leaving the page flushes the last segment (pagehide).
		chromedp.Navigate("about:blank"),
	)
	if err != nil {
		t.Fatal(err)
	}
	return moments
}

// waitForSessions waits until the index holds n sessions whose last
// segments have arrived (no change for a second).
func waitForSessions(t *testing.T, st store.Store, n int) []store.Session {
	t.Helper()
	var last string
	stable := time.Time{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		page, err := st.ListSessions(context.Background(), store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := json.Marshal(page.Sessions)
		if len(page.Sessions) == n && string(sig) == last && !stable.IsZero() && time.Since(stable) > time.Second {
			return page.Sessions
		}
		if string(sig) != last {
			last, stable = string(sig), time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index never settled on %d sessions (has %d)", n, len(page.Sessions))
		}
	}
}

// TestPlayerReplaysRecordedVisits records visits through the whole stack
// (the proxy injects the real recorder, the collector stores segments),
// then drives the player: the list shows the sessions, its filters work,
// and at every captured moment the replay's DOM equals the live DOM.
func TestPlayerReplaysRecordedVisits(t *testing.T) {
	s := StartStack(t, StackOptions{})
	moments := visit(t, browsertest.New(t, 2*time.Minute), s)
	// A second visitor, who hits an error.
	other := browsertest.New(t, time.Minute)
	if err := chromedp.Run(other,
		chromedp.Navigate(s.Site+"/"),
		chromedp.Poll(`window.SessionReplay && SessionReplay.addError`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.Evaluate(`SessionReplay.addError(new Error('Payment provider timed out')); true`, nil),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.Navigate("about:blank"),
	); err != nil {
		t.Fatal(err)
	}
	sessions := waitForSessions(t, s.Store(t), 2)
	var shopper, failed string
	for _, sess := range sessions {
		if sess.Errors > 0 {
			failed = sess.ID
		} else {
			shopper = sess.ID
		}
	}
	if shopper == "" || failed == "" {
		t.Fatalf("expected one session with an error and one without: %+v", sessions)
	}

	ctx := browsertest.New(t, 3*time.Minute)
	con := browsertest.WatchConsole(ctx)
	rows := func(query string) []string {
		t.Helper()
		var ids []string
		err := chromedp.Run(ctx,
			chromedp.Navigate(s.Player+"/?"+query),
			chromedp.Poll(`document.querySelector('.list-screen:not(.loading) .stable a.srow, .list-screen:not(.loading) .empty')`, nil, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Evaluate(`[...document.querySelectorAll('a.srow')].map((r) => r.dataset.id)`, &ids))
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := rows(""); len(got) != 2 {
		t.Errorf("the list shows %v, want both sessions", got)
	}
	for _, c := range []struct {
		query string
		want  string
	}{
		{"url=account.html", shopper},
		{"errors=1", failed},
		{"user=demo-ada", shopper},
		{"user=Ada", shopper},
	} {
		if got := rows(c.query); len(got) != 1 || got[0] != c.want {
			t.Errorf("?%s lists %v, want [%s]", c.query, got, c.want)
		}
	}
	if got := rows("url=no-such-page"); len(got) != 0 {
		t.Errorf("?url=no-such-page lists %v", got)
	}

	// The replay equals the live page at every captured moment. The
	// player's clock starts at the first full snapshot.
	resp := Get(t, s.Player+"/api/sessions/"+shopper+"/export")
	var events []struct {
		Type      int   `json:"type"`
		Timestamp int64 `json:"timestamp"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&events); err != nil {
		t.Fatal(err)
	}
	// The player's clock starts at the first full snapshot, or at the
	// events before it if their clock read later (times never run back).
	var first int64
	for _, e := range events {
		first = max(first, e.Timestamp)
		if e.Type == 2 {
			break
		}
	}
	// A moment after the last event (the visitor idle before leaving) is
	// shown as the session's end.
	var end int64
	for _, e := range events {
		end = max(end, e.Timestamp)
	}
	for _, sess := range sessions {
		if sess.ID == shopper {
			end = max(end, sess.End)
		}
	}
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.Player+"/?session="+shopper+"&t=0"),
		chromedp.Poll(`document.querySelector('.replay-screen')?.dataset.loaded === '1' && document.querySelector('.replay-screen').dataset.state === 'paused'`, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(domOf+`; true`, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range moments {
		sec := float64(m.TS-first) / 1000
		var got struct{ DOM, URL string }
		err := chromedp.Run(ctx,
			chromedp.Evaluate(fmt.Sprintf(`history.pushState(null, '', '?session=%s&t=%.3f'); dispatchEvent(new PopStateEvent('popstate')); true`, shopper, sec), nil),
			chromedp.Poll(fmt.Sprintf(`Math.abs(document.querySelector('.replay-screen').dataset.time - %d) <= 1`, min(m.TS, end)-first), nil, chromedp.WithPollingTimeout(5*time.Second)),
			chromedp.Evaluate(`({DOM: domOf(document.querySelector('.replay-frame').contentDocument), URL: document.querySelector('.url-text').textContent})`, &got))
		if err != nil {
			var state string
			chromedp.Run(ctx, chromedp.Evaluate(`JSON.stringify(document.querySelector('.replay-screen').dataset)`, &state))
			t.Fatalf("%s: %v (want time %d; player %s)", m.Name, err, min(m.TS, end)-first, state)
		}
		if got.URL != m.URL {
			t.Errorf("%s (%.3fs): the player shows %s, the visitor was on %s", m.Name, sec, got.URL, m.URL)
		}
		if got.DOM != m.DOM {
			t.Errorf("%s (%.3fs): the replay differs from the live page\n%s", m.Name, sec, lineDiff(m.DOM, got.DOM))
		}
	}
	if _, exc := con.Snapshot(); len(exc) > 0 {
		t.Errorf("player exceptions: %q", exc)
	}

	// rrweb's own Replayer plays our export of the same visit: the same
	// DOM at the same moments. (rrweb applies the events before a time,
	// ours those at or before it; the moments fall between events, and
	// rrweb shows the end for times past it.)
	exported := Get(t, s.Player+"/api/sessions/"+shopper+"/export")
	body, err := io.ReadAll(exported.Body)
	if err != nil {
		t.Fatal(err)
	}
	rr := rrwebServer(t, body)
	err = chromedp.Run(ctx, chromedp.Navigate(rr+"/"),
		chromedp.Poll(`window.ready === true`, nil, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range moments {
		var got struct{ DOM, Error string }
		if err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`at(%d)`, m.TS), &got)); err != nil {
			t.Fatal(err)
		}
		if got.Error != "" || got.DOM != m.DOM {
			t.Errorf("%s: rrweb's Replayer, given our export, differs from the live page %s\n%s", m.Name, got.Error, lineDiff(m.DOM, got.DOM))
		}
	}
}

// rrwebServer serves rrweb's Replayer (installed by `npm ci --prefix
// testdata/npm`; make test does) with a recording, on loopback.
func rrwebServer(t *testing.T, recording []byte) string {
	t.Helper()
	dir := filepath.Join("..", "testdata", "npm", "node_modules", "rrweb", "dist")
	if _, err := os.Stat(filepath.Join(dir, "rrweb.umd.min.cjs")); err != nil {
		t.Fatalf("rrweb is not installed (%v): run `npm ci --prefix testdata/npm` (make test does)", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/rrweb.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeFile(w, r, filepath.Join(dir, "rrweb.umd.min.cjs"))
	})
	mux.HandleFunc("/recording.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(recording)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><meta charset="utf-8"><script src="/rrweb.js"></script><div id="root"></div><script>
`+domOf+`
(async () => {
	const events = await (await fetch('/recording.json')).json();
	window.replayer = new rrweb.Replayer(events, { root: document.getElementById('root'), mouseTail: false, showWarning: false, skipInactive: false });
	window.start = events[0].timestamp;
	window.ready = true;
})();
window.at = (ts) => {
	try {
		window.replayer.pause(ts - window.start);
		return { DOM: domOf(window.replayer.iframe.contentDocument) };
	} catch (e) {
		return { Error: String(e) };
	}
};
</script>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// lineDiff shows the first lines where two descriptions differ.
func lineDiff(live, replay string) string {
	a, b := strings.Split(live, "\n"), strings.Split(replay, "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			end := func(l []string) []string { return l[i:min(len(l), i+6)] }
			return fmt.Sprintf("first difference at line %d:\n--- live\n%s\n--- replay\n%s", i+1, strings.Join(end(a), "\n"), strings.Join(end(b), "\n"))
		}
	}
	return "(same lines)"
}

// TestPlayerBehindBasicAuth puts basic_auth in front of the player: the
// UI and the API answer 401 without credentials and work with them.
func TestPlayerBehindBasicAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	s := StartStack(t, StackOptions{Edit: func(c string) string {
		const site = "\tbind 127.0.0.1\n\treplay_player\n"
		if !strings.Contains(c, site) {
			t.Fatalf("Caddyfile.example's player site changed; update this test")
		}
		return strings.Replace(c, site, "\tbind 127.0.0.1\n\tbasic_auth {\n\t\toperator "+string(hash)+"\n\t}\n\treplay_player\n", 1)
	}})
	for _, path := range []string{"/", "/api/sessions", "/api/sessions/some-session-id-0001/export"} {
		resp := Get(t, s.Player+path)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d, want 401", path, resp.StatusCode)
		}
		io.Copy(io.Discard, resp.Body)
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("operator:s3cret-pass"))
	resp := Get(t, s.Player+"/api/sessions", "Authorization", auth)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/sessions with credentials: %d", resp.StatusCode)
	}
	if resp := Get(t, s.Player+"/api/sessions", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("operator:wrong"))); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	// The UI works in a browser that sends the credentials.
	ctx := browsertest.New(t, time.Minute)
	var text string
	err = chromedp.Run(ctx,
		network.Enable(),
		network.SetExtraHTTPHeaders(network.Headers{"Authorization": auth}),
		chromedp.Navigate(s.Player+"/"),
		chromedp.Poll(`document.querySelector('.list-screen:not(.loading) .empty')`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`document.querySelector('.empty').innerText`, &text))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "No sessions recorded yet") {
		t.Errorf("the player behind basic_auth shows %q", text)
	}
}
