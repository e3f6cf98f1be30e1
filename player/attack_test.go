package player

import (
	"github.com/chromedp/chromedp"

	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/collector"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// attackStack is the whole read path an attacker reaches: the real
// collector and the real embedded store behind it, the player on the same
// site under /replay/, and an "outside" server on another origin (another
// port: a host the recorded page names) that logs every request it gets,
// with its Referer.
type attackStack struct {
	site    *httptest.Server
	outside *httptest.Server

	mu   sync.Mutex
	hits []outsideHit
}

// outsideHit is one request the outside server received.
type outsideHit struct {
	Path, Referer string
}

func newAttackStack(t *testing.T) *attackStack {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{Summarizer: collector.Summarize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	col, err := collector.New(collector.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Store: st, Title: "Attack"})
	if err != nil {
		t.Fatal(err)
	}
	a := &attackStack{}
	mux := http.NewServeMux()
	mux.Handle("/__replay/v1/segments", col)
	mux.Handle("/replay/", http.StripPrefix("/replay", p))
	a.site = httptest.NewServer(mux)
	t.Cleanup(a.site.Close)
	a.outside = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.hits = append(a.hits, outsideHit{Path: r.URL.RequestURI(), Referer: r.Referer()})
		a.mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch {
		case strings.HasSuffix(r.URL.Path, ".css"):
			w.Header().Set("Content-Type", "text/css")
			w.Write([]byte("body{outline:1px solid red}"))
		case strings.HasSuffix(r.URL.Path, ".png"):
			w.Header().Set("Content-Type", "image/png")
			w.Write(onePixelPNG)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(a.outside.Close)
	return a
}

// onePixelPNG is a 1×1 transparent PNG.
var onePixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

// hitsSnapshot returns the outside server's requests so far.
func (a *attackStack) hitsSnapshot() []outsideHit {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]outsideHit(nil), a.hits...)
}

// upload posts events as one segment through the collector, as a forged
// recorder would, and fails the test unless the collector stores it.
func (a *attackStack) upload(t *testing.T, sid, vid string, seq int, events []ev) {
	t.Helper()
	body, raw := gz(t, events)
	full := 0
	for _, e := range events {
		if e["type"] == 2 {
			full = 1
		}
	}
	q := url.Values{}
	q.Set("v", "1")
	q.Set("sid", sid)
	q.Set("vid", vid)
	q.Set("seq", fmt.Sprint(seq))
	q.Set("start", fmt.Sprint(events[0]["timestamp"]))
	q.Set("end", fmt.Sprint(events[len(events)-1]["timestamp"]))
	q.Set("full", fmt.Sprint(full))
	q.Set("n", fmt.Sprint(len(events)))
	q.Set("raw", fmt.Sprint(raw))
	req, err := http.NewRequest(http.MethodPost, a.site.URL+"/__replay/v1/segments?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var msg bytes.Buffer
	msg.ReadFrom(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the collector refused the forged segment: %d %s", res.StatusCode, msg.String())
	}
}

// playerURL is the player's address for a query string.
func (a *attackStack) playerURL(query string) string {
	return a.site.URL + "/replay/?" + query
}

// nowish is a timestamp the collector accepts (its clock-skew and age
// windows are relative to now).
func nowish() int64 { return time.Now().UnixMilli() - 60_000 }

// TestForgedUploadWidensNothing posts, through the real collector, a
// recording that tries to widen what the player's own policy allows: an
// element and a <meta> that set the referrer policy to unsafe-url (the
// rebuilt document's URL is the player's, with the session id in it), a
// frame whose sandbox a mutation rewrites, and an SVG <script> and SMIL
// <set> hidden behind a tag prefix. The outside host must get its
// requests (the page still renders) without learning the player's URL.
func TestForgedUploadWidensNothing(t *testing.T) {
	a := newAttackStack(t)
	out := a.outside.URL
	ts := nowish()
	var n nodes
	svgSet := n.el("x:set", ev{"attributeName": "href", "to": "javascript:fetch('/canary/smil')", "begin": "0s", "fill": "freeze"})
	svgSet["isSVG"] = true
	svgA := n.el("a", ev{"href": "#fine", "id": "svga"}, svgSet, n.text("svg link"))
	svgA["isSVG"] = true
	svgScript := n.el("svg:script", nil, n.text("fetch('/canary/svg-script')"))
	svgScript["isSVG"] = true
	svg := n.el("svg", ev{"width": "50", "height": "50"}, svgA, svgScript)
	svg["isSVG"] = true
	frame := n.el("iframe", ev{"id": "fr", "sandbox": "allow-scripts allow-popups"})
	head := n.el("head", nil, n.el("meta", ev{"name": "referrer", "content": "unsafe-url"}),
		n.el("link", ev{"rel": "stylesheet", "href": out + "/ref-link.css", "referrerpolicy": "unsafe-url"}))
	img := n.el("img", ev{"src": out + "/ref-img.png", "referrerpolicy": "unsafe-url"})
	body := n.el("body", nil, img, n.el("img", ev{"src": out + "/ref-meta.png"}), svg, frame)
	doc := n.doc(n.doctype(), n.el("html", nil, head, body))
	id := func(e ev) int { return e["id"].(int) }
	events := []ev{
		// The outside host is on loopback, like the player here: resources
		// on the player's own host load (replaycore/reach.js).
		meta(ts, "https://hostile.example/", 1000, 700),
		full(ts+1, doc),
		mutation(ts+500, ev{"attributes": []ev{
			{"id": id(frame), "attributes": ev{"sandbox": "allow-scripts allow-same-origin allow-top-navigation allow-popups"}},
			{"id": id(img), "attributes": ev{"src": out + "/ref-mutated.png", "referrerpolicy": "unsafe-url"}},
		}}),
		move(ts+1000, id(svgA), [2]int{3, 3}),
	}
	sid := "forged-widen-0000000001"
	a.upload(t, sid, "forged-widen-view-0001", 0, events)
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.Navigate(a.playerURL("session="+sid)))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'ended'`, 20*time.Second)
	// The first build (before any seek restores a checkpoint) is the one
	// that built the prefixed elements as they were recorded.
	var got struct {
		Sandbox   string
		Scripts   int
		Anim      string
		Referrers int
	}
	eval(t, ctx, `(() => { const d = document.querySelector('.replay-frame').contentDocument; const a = d.getElementById('svga');
		return {Sandbox: d.getElementById('fr')?.getAttribute('sandbox') || '',
			Scripts: d.getElementsByTagNameNS('http://www.w3.org/2000/svg', 'script').length,
			Anim: (a && a.href && a.href.animVal) || '',
			Referrers: d.querySelectorAll('[referrerpolicy], meta[name=referrer i]').length} })()`, &got)
	if got.Sandbox != "allow-same-origin" || got.Scripts != 0 || strings.Contains(got.Anim, "javascript") || got.Referrers != 0 {
		t.Errorf("the rebuilt page widened the player's policy: %+v", got)
	}
	seekTo(t, ctx, sid, 0.2)
	time.Sleep(800 * time.Millisecond)
	hits := a.hitsSnapshot()
	paths := map[string]bool{}
	for _, h := range hits {
		paths[h.Path] = true
		if h.Referer != "" {
			t.Errorf("%s was requested with Referer %q: the outside host learned the player's URL", h.Path, h.Referer)
		}
	}
	for _, p := range []string{"/ref-link.css", "/ref-img.png", "/ref-meta.png", "/ref-mutated.png"} {
		if !paths[p] {
			t.Errorf("%s was never requested: the recorded page did not render its resources (hits %+v)", p, hits)
		}
	}
}

// TestForgedUploadNestedDeepStillPlays posts a recording whose one
// mutation nests 20,000 <div>s, each added inside the last. The player
// used to run out of stack taking its checkpoint and never showed the
// session; now it plays and seeks, with the nesting cut at the bound.
func TestForgedUploadNestedDeepStillPlays(t *testing.T) {
	a := newAttackStack(t)
	ts := nowish()
	var n nodes
	deep := n.el("div", ev{"id": "deep"})
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil), n.el("body", nil, n.el("h1", nil, n.text("Deep")), deep)))
	var adds []ev
	parent := deep["id"].(int)
	for i := 0; i < 20000; i++ {
		nid := n.id()
		adds = append(adds, ev{"parentId": parent, "nextId": nil, "node": ev{"type": 2, "id": nid, "tagName": "div", "attributes": ev{}, "childNodes": []ev{}}})
		parent = nid
	}
	events := []ev{
		meta(ts, "https://hostile.example/", 1000, 700),
		full(ts+1, doc),
		mutation(ts+1000, ev{"adds": adds}),
		mutation(ts+2000, ev{"adds": []ev{{"parentId": deep["id"], "nextId": nil, "node": ev{"type": 3, "id": n.id(), "textContent": "after"}}}}),
		move(ts+3000, deep["id"].(int), [2]int{3, 3}),
	}
	sid := "forged-deep-00000000001"
	a.upload(t, sid, "forged-deep-view-00001", 0, events)
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.Navigate(a.playerURL("session="+sid)))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'ended'`, 20*time.Second)
	for _, sec := range []float64{0.5, 1.5, 2.5} {
		seekTo(t, ctx, sid, sec)
		time.Sleep(300 * time.Millisecond)
	}
	var depth int
	eval(t, ctx, `(() => { let k = 0; for (let e = document.querySelector('.replay-frame').contentDocument.getElementById('deep'); e && e.firstElementChild; e = e.firstElementChild) k++; return k })()`, &depth)
	if depth < 900 || depth > 1000 {
		t.Errorf("the nested divs are %d deep; want the bound (about 1,000)", depth)
	}
	var text string
	eval(t, ctx, frameText, &text)
	if !strings.Contains(text, "Deep") || !strings.Contains(text, "after") {
		t.Errorf("at 2.5 s the page reads %q", text)
	}
}

// TestForgedTabNameStaysInTheFileName uploads a view whose tab id (free
// text in the recording) carries a quote, a path and an extension: the
// export's Content-Disposition names one file, of ours, with none of them.
func TestForgedTabNameStaysInTheFileName(t *testing.T) {
	a := newAttackStack(t)
	ts := nowish()
	var n nodes
	tab := `x"; filename="evil.html"; x="/../..\a`
	a.upload(t, "forged-tab-0000000001", "forged-tab-view-000001", 0, []ev{
		meta(ts, "https://hostile.example/", 800, 600),
		custom(ts, "replay/view", ev{"url": "https://hostile.example/", "title": "t", "tab": tab}),
		full(ts+1, n.doc(n.el("html", nil, n.el("body", nil, n.text("x"))))),
	})
	res, err := http.Get(a.site.URL + "/replay/api/sessions/forged-tab-0000000001/export?tab=" + url.QueryEscape(tab))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("export of the forged tab: %d", res.StatusCode)
	}
	cd := res.Header.Get("Content-Disposition")
	disp, params, err := mime.ParseMediaType(cd)
	want := "session-forged-tab-0000000001-tab-x___filename__evil_html___x_________a.rrweb.json"
	if err != nil || disp != "attachment" || len(params) != 1 || params["filename"] != want {
		t.Errorf("Content-Disposition %q: %s %v %v; want one filename %q", cd, disp, params, err, want)
	}
	if ct, nosniff := res.Header.Get("Content-Type"), res.Header.Get("X-Content-Type-Options"); ct != "application/json; charset=utf-8" || nosniff != "nosniff" {
		t.Errorf("export served as %q, X-Content-Type-Options %q", ct, nosniff)
	}
}

// TestImportWithOddTimestampsPlays imports an rrweb file (which no
// collector checked) whose timestamps are negative, fractional and far
// beyond any clock: the player shows the page and lists the events
// without throwing or hanging.
func TestImportWithOddTimestampsPlays(t *testing.T) {
	ts := newTestServer(t)
	var n nodes
	body := n.el("body", nil, n.el("h1", nil, n.text("Odd times")))
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil), body))
	events := []ev{
		{"type": 4, "timestamp": -5e15, "data": ev{"href": "https://x.example/", "width": 800, "height": 600}},
		{"type": 2, "timestamp": -5e15 + 1, "data": ev{"node": doc, "initialOffset": ev{"left": 0, "top": 0}}},
		{"type": 3, "timestamp": 1.5, "data": ev{"source": 2, "type": 2, "id": body["id"], "x": 1, "y": 1}},
		{"type": 3, "timestamp": 8e15, "data": ev{"source": 2, "type": 2, "id": body["id"], "x": 2, "y": 2}},
		{"type": 5, "timestamp": 1e300, "data": ev{"tag": "replay/error", "payload": ev{"message": "late"}}},
	}
	b, _ := json.Marshal(events)
	file := t.TempDir() + "/odd.json"
	os.WriteFile(file, b, 0o644)
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `document.querySelector('.empty')`, 5*time.Second)
	run(t, ctx, chromedp.SetUploadFiles(`input[type=file]`, []string{file}, chromedp.ByQuery))
	waitJS(t, ctx, `['playing', 'paused', 'ended'].includes(document.querySelector('.replay-screen')?.dataset.state)`, 10*time.Second)
	var text string
	eval(t, ctx, frameText, &text)
	if !strings.Contains(text, "Odd times") {
		t.Errorf("the imported page reads %q", text)
	}
	var list string
	eval(t, ctx, `document.querySelector('.events').innerText`, &list)
	if !strings.Contains(list, "late") {
		t.Errorf("the event list lacks the far-future error: %q", list)
	}
}

// TestPlayerPageRunsOnlyItsOwnScript: the player is often mounted on the
// recorded application's own site, whose other scripts (and anything its
// users can upload there) must not run in the player's page, were markup
// ever injected into it. A same-origin script without the page's nonce is
// refused before it is even requested.
func TestPlayerPageRunsOnlyItsOwnScript(t *testing.T) {
	ts := newTestServer(t)
	views, _, _ := shopSession()
	putSession(t, ts.store, "shop-session-0000001", views, nil)
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("session=shop-session-0000001&t=28")))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'paused'`, 15*time.Second)
	var blocked bool
	run(t, ctx, evalPromise(`new Promise((resolve) => {
		document.addEventListener('securitypolicyviolation', (e) => { if (e.effectiveDirective.startsWith('script-src')) resolve(true); });
		const s = document.createElement('script');
		s.src = '/canary/same-origin-script.js';
		document.head.append(s);
		// The frame is sandboxed without scripts: the element is inert
		// there before the policy is even asked.
		const d = document.querySelector('.replay-frame').contentDocument;
		const m = d.createElement('script');
		m.src = '/canary/frame-script.js';
		d.head.append(m);
		setTimeout(() => resolve(false), 2000);
	})`, &blocked))
	if !blocked {
		t.Errorf("the page's policy did not refuse a same-origin script without its nonce")
	}
	time.Sleep(200 * time.Millisecond)
	if n := ts.canary.Load(); n != 0 {
		t.Errorf("a same-origin script without the nonce was requested (%d canary hits)", n)
	}
	var text string
	eval(t, ctx, frameText, &text)
	if !strings.Contains(text, "Checkout") {
		t.Errorf("the player did not play the session: %q", text)
	}
}

// TestForgedUploadClobberingNamesBreakNothing posts a recording whose
// form and document carry elements named after the DOM members the
// player reads (a form's named inputs shadow form.getAttribute,
// form.localName, form.attributes; an <img name> shadows
// document.defaultView). Clicking the form, changing its attributes and
// seeking across the change must label the click, restore the attributes
// and throw nothing.
func TestForgedUploadClobberingNamesBreakNothing(t *testing.T) {
	a := newAttackStack(t)
	ts := nowish()
	var n nodes
	var inputs []ev
	for _, name := range []string{"getAttribute", "closest", "textContent", "localName", "attributes", "nodeType", "parentElement", "classList", "id", "ownerDocument", "getBoundingClientRect", "hasAttribute", "removeAttribute", "setAttribute", "childNodes", "firstChild", "nextSibling", "data"} {
		inputs = append(inputs, n.el("input", ev{"name": name, "value": "v"}))
	}
	form := n.el("form", ev{"id": "f", "class": "before", "title": "before"}, inputs...)
	var imgs []ev
	for _, name := range []string{"defaultView", "body", "contains", "documentElement"} {
		imgs = append(imgs, n.el("img", ev{"name": name}))
	}
	scroller := n.el("div", ev{"id": "scroller", "style": "height:100px;overflow:auto"}, n.el("p", ev{"style": "height:400px"}, n.text("tall")))
	imgs = append(imgs, n.el("h1", nil, n.text("Clobber")), scroller, form)
	body := n.el("body", nil, imgs...)
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil), body))
	fid := form["id"].(int)
	events := []ev{
		meta(ts, "https://hostile.example/", 1000, 700),
		full(ts+1, doc),
		move(ts+500, fid, [2]int{20, 20}),
		click(ts+1000, fid, 20, 20),
		scroll(ts+1500, scroller["id"].(int), 0, 50),
		mutation(ts+2000, ev{"attributes": []ev{{"id": fid, "attributes": ev{"class": "after", "title": nil, "data-x": "1"}}}}),
		mutation(ts+2200, ev{"removes": []ev{{"parentId": body["id"], "id": scroller["id"]}}}),
		move(ts+3000, fid, [2]int{30, 30}),
		click(ts+3500, fid, 30, 30),
	}
	sid := "forged-clobber-00000001"
	a.upload(t, sid, "forged-clobber-view-001", 0, events)
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.Navigate(a.playerURL("session="+sid)))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'ended'`, 20*time.Second)
	form1 := `(() => { const f = document.querySelector('.replay-frame').contentDocument.getElementById('f'); const A = Element.prototype.getAttribute;
		return [A.call(f, 'class'), A.call(f, 'title'), A.call(f, 'data-x')].join('|') })()`
	for _, c := range []struct {
		sec  float64
		want string
	}{{3.4, "after||1"}, {0.7, "before|before|"}, {2.5, "after||1"}, {1.2, "before|before|"}} {
		seekTo(t, ctx, sid, c.sec)
		time.Sleep(300 * time.Millisecond)
		var got, how string
		eval(t, ctx, form1, &got)
		eval(t, ctx, `document.querySelector('.replay-screen').dataset.seekRestore`, &how)
		t.Logf("seek to %g s: %s", c.sec, how)
		// The pointer classes the player adds are not the recording's.
		got = strings.NewReplacer(" replay-hover", "", "replay-hover ", "", "replay-hover", "").Replace(got)
		if got != c.want {
			t.Errorf("at %g s the form's class|title|data-x are %q, want %q", c.sec, got, c.want)
		}
	}
	var list string
	eval(t, ctx, `document.querySelector('.events').innerText`, &list)
	if strings.Count(list, "form") < 2 {
		t.Errorf("the clicks on the form are not labelled: %q", list)
	}
}
