package recorder

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// testAPIByHand includes the recorder by hand (no data- attributes, a
// call queued before the script loads) and configures it with
// SessionReplay.init and the spec's option names, then checks what the
// options and the rest of the page API do: the metadata in the view
// event, the client token on every upload, no automatic actions with
// trackInteractions off, replaceState as a new view, addError and
// uncaught errors as replay/error, visibility changes recorded.
func testAPIByHand(t *testing.T, h *harness, b *browser) {
	h.coll.reset()
	live := b.tab(t)
	if err := chromedp.Run(live, chromedp.Navigate(h.url("/spa.html?notag"))); err != nil {
		t.Fatal(err)
	}
	var before bool
	if err := eval(live, `!!(window.SessionReplay && window.SessionReplay.init)`, &before); err != nil || before {
		t.Fatalf("the page has a recorder before it is included (%v)", err)
	}
	act(t, live, `new Promise((res, rej) => {
		window.SessionReplay = {q: [
			['addAction', 'called before init: ignored'],
			['init', {applicationId: 'app-7', clientToken: 'tok-7', sampleRate: 100, replaySampleRate: '100', trackInteractions: false,
				service: 'svc-7', env: 'staging', version: '9.9.9', defaultPrivacyLevel: 'allow'}],
			['addAction', 'queued after init'],
		]};
		const s = document.createElement('script');
		s.src = '/__replay/`+h.bundle.Script.Name+`';
		s.onload = res;
		s.onerror = () => rej(new Error('the recorder did not load'));
		document.head.append(s);
	})`)
	var started bool
	if err := eval(live, `new Promise((res) => { const t0 = Date.now(); (function w() { if (window.__replayTestHooks.view && window.__replayTestHooks.view()) res(true); else if (Date.now() - t0 > 5000) res(false); else setTimeout(w, 10); })(); })`, &started); err != nil || !started {
		t.Fatalf("SessionReplay.init did not start the recorder (%v)", err)
	}
	sid, v0 := ids(t, live)
	if err := chromedp.Run(live, chromedp.Click("#main h1", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	act(t, live, `SessionReplay.addError(new Error('by-hand error'), {order: 42})`)
	act(t, live, `new Promise((r) => { setTimeout(() => { throw new Error('uncaught by hand'); }); setTimeout(r, 50); })`)
	act(t, live, `(() => {
		Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
		document.dispatchEvent(new Event('visibilitychange'));
		delete document.visibilityState;
		document.dispatchEvent(new Event('visibilitychange'));
	})()`)
	act(t, live, `(() => { history.replaceState({}, '', '/spa.html?page=replaced'); document.getElementById('main').textContent = 'replaced'; })()`)
	var v1 string
	waitFor(t, 5e9, "a view for replaceState", func() bool {
		_, v1 = ids(t, live)
		return v1 != v0
	})
	h.roundTrip(t, live, b.ctx, "allow", "replaceState")

	var views, actions, errs []string
	var clicks int
	var vis []string
	for _, e := range h.coll.recorded(sid) {
		d := decode(e)
		if e.Type == 3 && d.Source == 2 && d.Type == 2 {
			clicks++
		}
		if e.Type != 5 {
			continue
		}
		var c struct {
			Tag     string          `json:"tag"`
			Payload json.RawMessage `json:"payload"`
		}
		json.Unmarshal(e.Data, &c)
		switch c.Tag {
		case "replay/view":
			views = append(views, string(c.Payload))
		case "replay/action":
			actions = append(actions, string(c.Payload))
		case "replay/error":
			errs = append(errs, string(c.Payload))
		case "replay/visibility":
			vis = append(vis, string(c.Payload))
		}
	}
	if len(views) != 2 {
		t.Fatalf("%d replay/view events, want 2 (load, replaceState): %q", len(views), views)
	}
	for _, v := range views {
		for _, want := range []string{`"applicationId":"app-7"`, `"service":"svc-7"`, `"env":"staging"`, `"version":"9.9.9"`} {
			if !strings.Contains(v, want) {
				t.Errorf("view event lacks %s: %s", want, v)
			}
		}
	}
	if !strings.Contains(views[1], `page=replaced`) {
		t.Errorf("the second view is not the replaced URL: %s", views[1])
	}
	if clicks != 1 {
		t.Errorf("%d click events, want 1", clicks)
	}
	if len(actions) != 1 || !strings.Contains(actions[0], `"name":"queued after init"`) {
		t.Errorf("actions = %q, want only the call queued after init (no automatic action with trackInteractions false)", actions)
	}
	if len(errs) != 2 || !strings.Contains(errs[0], `"message":"by-hand error"`) || !strings.Contains(errs[0], `"source":"custom"`) || !strings.Contains(errs[0], `"order":42`) ||
		!strings.Contains(errs[1], `uncaught by hand`) || !strings.Contains(errs[1], `"source":"error"`) {
		t.Errorf("errors = %q, want addError's (custom, with its context) then the uncaught one", errs)
	}
	if len(vis) != 2 || !strings.Contains(vis[0], `"hidden"`) || !strings.Contains(vis[1], `"visible"`) {
		t.Errorf("visibility events = %q, want hidden then visible", vis)
	}
	for _, u := range h.coll.snapshot() {
		if u.Sid == sid && u.ClientToken != "tok-7" {
			t.Errorf("upload %s/%d carries client token %q, want tok-7", u.Vid, u.Seq, u.ClientToken)
		}
	}
	h.coll.checkProblems(t)
}

// testSnapshotURLsAndScripts checks two promises of the full snapshot that
// the round trip cannot see (the replay page resolves relative URLs the
// same way, and the normalizer drops script bodies on both sides): every
// relative URL (src, srcset, href, url() in style attributes, <style> and
// stylesheet rules) is recorded absolute, and no script body is recorded.
func testSnapshotURLsAndScripts(t *testing.T, h *harness, b *browser) {
	h.coll.reset()
	live := b.tab(t)
	h.open(t, live, "/basic.html?privacy=allow")
	sid, _ := ids(t, live)
	flush(t, live)
	var full string
	for _, e := range h.coll.recorded(sid) {
		if e.Type == 2 {
			full += string(e.Data)
		}
	}
	if full == "" {
		t.Fatal("no full snapshot recorded")
	}
	dot := regexp.QuoteMeta(h.url("/img/dot.svg"))
	abs := `url\((?:\\"|')?` + dot + `(?:\\"|')?\)`
	for what, want := range map[string]string{
		"img src":                      `"src":"` + dot + `"`,
		"img srcset":                   `"srcset":"` + dot + ` 1x, ` + dot + ` 2x"`,
		"link href":                    `"href":"` + regexp.QuoteMeta(h.url("/page2.html?x=1#frag")) + `"`,
		"url() in a style attribute":   `"style":"background-image: ` + abs,
		"url() in a <style>":           `\.bg \{ background: ` + abs,
		"url() in a stylesheet's rule": `h1 \{[^}]*background: ` + abs,
	} {
		if !regexp.MustCompile(want).MatchString(full) {
			t.Errorf("%s: the snapshot has nothing like %s", what, want)
		}
	}
	for _, rel := range []string{`url(img/`, `url('img/`, `url(\"img/`, `url(../img/`, `url(\"../img/`, `"src":"img/`} {
		if strings.Contains(full, rel) {
			t.Errorf("a relative URL was recorded: %s", rel)
		}
	}
	if strings.Contains(full, "script-body-never-recorded") || strings.Contains(full, "pageScriptRan") {
		t.Error("a script body was recorded")
	}
	if !strings.Contains(full, `"tagName":"script"`) {
		t.Error("the script element itself is missing from the snapshot")
	}

	// A stylesheet on another origin that sends no CORS headers cannot be
	// read: it is recorded as its link (absolute URL), while a readable one
	// is recorded with its rules. localhost is another origin than
	// 127.0.0.1, on the same test server.
	other := strings.Replace(h.url("/css/site.css"), "127.0.0.1", "localhost", 1) + "?unreadable"
	act(t, live, `Promise.all(['`+other+`', '/css/site.css?readable'].map((href) => new Promise((r) => {
		const l = document.createElement('link');
		l.rel = 'stylesheet';
		l.href = href;
		l.onload = l.onerror = r;
		document.head.append(l);
	})))`)
	flush(t, live)
	// The links are added first; a readable sheet's rules follow, once
	// it has loaded, as an attribute edit of its link (its text, or a
	// reference to the same text sent before).
	var all strings.Builder
	for _, e := range h.coll.recorded(sid) {
		if e.Type == 3 {
			all.Write(e.Data)
			all.WriteByte('\n')
		}
	}
	linkID := func(href string) string {
		m := regexp.MustCompile(`"href":"` + regexp.QuoteMeta(href) + `"\},"id":(\d+)`).FindStringSubmatch(all.String())
		if m == nil {
			t.Fatalf("no link to %s was recorded", href)
		}
		return m[1]
	}
	rules := func(id string) bool {
		return regexp.MustCompile(`\{"id":` + id + `,"attributes":\{[^}]*"(?:_cssText|rr_css)"`).MatchString(all.String())
	}
	if id := linkID(other); rules(id) {
		t.Errorf("the unreadable stylesheet (node %s) was recorded with rules", id)
	}
	if id := linkID(h.url("/css/site.css?readable")); !rules(id) {
		t.Errorf("the readable stylesheet (node %s) was not recorded with its rules", id)
	}
}
