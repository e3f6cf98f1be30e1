//go:build fidelity

package recorder

// The fidelity review (not in `make test`): every whole document of
// ../shared/corpus/html is recorded live in headless Chromium, rebuilt by
// replaycore from the captured segments in a second tab at the same
// viewport, and the two are compared: the normalized DOM and a screenshot
// of each. Run it with
//
//	go test -tags fidelity -run TestFidelity -v ./recorder/
//
// (FIDELITY_PAGES=a,b limits it to some pages). The screenshots and a
// difference image per page go to /tmp/fidelity/. Nothing reaches the
// internet: Chromium resolves every host but 127.0.0.1 to "not found", so
// external resources fail the same way live and replayed.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/inject"
	"github.com/caddy-replay/caddy-replay/internal/browsertest"
)

const fidelityDir = "/tmp/fidelity"

// fidelityBrowser starts Chromium with every host but loopback unresolvable.
func fidelityBrowser(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	return browsertest.NewWith(t, d,
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
}

// serveCorpus serves /corpus/<name> from ../shared/corpus/html with the
// recorder injected by the proxy's own rewriter (after any <meta charset>).
func (h *harness) serveCorpus(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/corpus/")
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if strings.Contains(name, "/") || strings.Contains(name, "..") {
			http.NotFound(w, r)
			return
		}
		data, err := os.ReadFile(filepath.Join("..", "..", "shared", "corpus", "html", name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		tag := []byte(h.tag(r))
		page, _ := url.Parse(h.url(r.URL.Path))
		var out bytes.Buffer
		rw := inject.NewRewriter(&out, inject.RewriteOptions{Tag: func(inject.TagContext) []byte { return tag }, PageURL: page})
		rw.Write(data)
		rw.Close()
		w.Header().Set("Content-Type", "text/html")
		w.Write(out.Bytes())
	})
}

// fidelityReplay rebuilds a view into a 1280x800 frame at the top left of
// the replay tab and normalizes it.
const fidelityReplay = `async function fidelity(url, sheetsURL) {
  window.warnings = [];
  const events = await (await fetch(url)).json();
  const stylesheets = ReplayCore.collectStylesheets(await (await fetch(sheetsURL)).json());
  const f = frame('f');
  const rb = new ReplayCore.Rebuilder(f.contentDocument, {stylesheets, onWarning: (m) => warnings.push(m)});
  for (const e of events) {
    rb.apply(e);
    if (e.type === 4) { f.width = e.data.width; f.height = e.data.height; }
  }
  await settle(f.contentDocument);
  await new Promise((r) => setTimeout(r, 300));
  return {dom: norm(rb, f.contentDocument, 'allow').dom, rects: __rects(f.contentDocument), warnings, events: events.length};
}`

// fidelityRects lists the boxes of the elements of a document in tree
// order (frames' contents left out), so that the first element laid out
// differently can be named.
const fidelityRects = `function __rects(doc) {
  const out = [];
  const w = doc.createTreeWalker(doc.documentElement, NodeFilter.SHOW_ELEMENT);
  for (let n = w.currentNode; n; n = w.nextNode()) {
    const r = n.getBoundingClientRect();
    const id = n.id ? '#' + n.id : n.className && typeof n.className === 'string' ? '.' + n.className.trim().split(/\\s+/)[0] : '';
    out.push([n.localName + id, Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)]);
  }
  return out;
}`

// maxPixelDiff is the share of differing pixels above which a page fails.
const maxPixelDiff = 0.01

// knownDifferences are the differences found in the review that a
// recording cannot or does not remove, by page: why the DOM or the
// rendering (pixels, element boxes) differ.
var knownDifferences = map[string]struct{ dom, pixels string }{
	// <iframe src="//s.amazon-adsystem.com/…">: the snapshot saw the
	// frame's initial about:blank document (same-origin, empty) and
	// recorded it; the frame then loads a cross-origin page, which no
	// recording can read. The replay keeps the empty document: blank
	// either way, a 1x1 frame here.
	"minify_amazon": {dom: "a frame recorded before it navigated to another origin"},
	// A cross-origin <iframe> (offline here: Chromium's error page, grey)
	// is an empty frame in any replay: its content cannot be recorded.
	"gumbo_xinhua": {pixels: "a cross-origin frame"},
}

type fidelityRow struct {
	page      string
	nodes     int
	domEqual  bool
	diff      float64
	firstBad  string
	sanitized int    // lines that differ only by what replaycore's sanitizer removes on purpose
	moved     string // the first element placed differently
	movedN    int    // elements placed differently
	warnings  int
}

func TestFidelity(t *testing.T) {
	if err := os.MkdirAll(fidelityDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "html", "*.html"))
	var only map[string]bool
	if v := os.Getenv("FIDELITY_PAGES"); v != "" {
		only = map[string]bool{}
		for _, p := range strings.Split(v, ",") {
			only[p] = true
		}
	}
	h := newHarness(t)
	h.srv.Config.Handler = h.serveCorpus(h.srv.Config.Handler)
	bctx := fidelityBrowser(t, 15*time.Minute)
	var rows []fidelityRow
	for _, p := range pages {
		name := filepath.Base(p)
		if strings.HasPrefix(name, "h5e_") {
			continue // fragments, not documents
		}
		if only != nil && !only[strings.TrimSuffix(name, ".html")] {
			continue
		}
		t.Run(name, func(t *testing.T) { rows = append(rows, fidelityPage(t, h, bctx, name)) })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-24s %6s %5s %5s %7s %6s %4s  %s\n", "page", "nodes", "DOM=", "sanit", "pixel%", "moved", "warn", "first DOM difference not made by the sanitizer")
	for _, r := range rows {
		eq := "yes"
		if !r.domEqual {
			eq = "no"
			if r.firstBad == "" {
				eq = "san"
			}
		}
		fmt.Fprintf(&b, "%-24s %6d %5s %5d %7.2f %6d %4d  %s\n", r.page, r.nodes, eq, r.sanitized, r.diff*100, r.movedN, r.warnings, r.firstBad)
	}
	b.WriteString("\nfirst element placed differently (moved: elements more than 1 px away, whole document):\n")
	for _, r := range rows {
		if r.moved != "" {
			fmt.Fprintf(&b, "%-24s %s\n", r.page, r.moved)
		}
	}
	b.WriteString("pixel%: first screen (1280x800). DOM=: yes equal; san: equal but for what the sanitizer removes on purpose (sanit: lines); no: differs\n")
	t.Log(b.String())
	for _, r := range rows {
		k := knownDifferences[r.page]
		if !r.domEqual && r.firstBad != "" && k.dom == "" {
			t.Errorf("%s: the rebuilt DOM differs: %s", r.page, r.firstBad)
		}
		if r.movedN > 0 && k.pixels == "" {
			t.Errorf("%s: %d elements placed differently, the first %s", r.page, r.movedN, r.moved)
		}
		if r.diff > maxPixelDiff && k.pixels == "" {
			t.Errorf("%s: %.2f%% of the first screen's pixels differ (more than %.0f%%): see %s/%s-diff.png", r.page, r.diff*100, maxPixelDiff*100, fidelityDir, r.page)
		}
	}
}

func fidelityPage(t *testing.T, h *harness, bctx context.Context, name string) fidelityRow {
	row := fidelityRow{page: strings.TrimSuffix(name, ".html")}
	h.coll.reset()
	// A fresh browser context per page: a new session cookie, so the
	// collector does not ignore it as an earlier page's session.
	live := (&browser{ctx: bctx}).tab(t)
	replay, cancelReplay := chromedp.NewContext(bctx)
	defer cancelReplay()
	vp := emulation.SetDeviceMetricsOverride(1280, 800, 1, false)
	if err := chromedp.Run(live, vp); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := chromedp.Run(replay, vp); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	lctx, cancel := context.WithTimeout(live, 60*time.Second)
	defer cancel()
	if err := chromedp.Run(lctx, chromedp.Navigate(h.url("/corpus/"+name+"?privacy=allow"))); err != nil {
		t.Errorf("%s: navigate: %v", name, err)
		return row
	}
	var ok bool
	if err := eval(lctx, `new Promise((res) => { const t0 = Date.now(); (function w() { if (window.__replayTestHooks && window.__replayTestHooks.view && window.__replayTestHooks.view()) res(true); else if (Date.now() - t0 > 5000) res(false); else setTimeout(w, 10); })(); })`, &ok); err != nil || !ok {
		t.Errorf("%s: the recorder did not start (%v)", name, err)
		return row
	}
	// Let late layout (fonts, images, page scripts' first changes) settle.
	eval(lctx, `document.fonts.ready.then(() => new Promise((r) => setTimeout(r, 700)))`, nil)
	var liveShot []byte
	if err := chromedp.Run(lctx, chromedp.CaptureScreenshot(&liveShot)); err != nil {
		t.Errorf("%s: screenshot: %v", name, err)
		return row
	}
	var want struct {
		norm
		Rects [][]any `json:"rects"`
	}
	if err := eval(lctx, normalizeSrc+";"+fidelityRects+`;(() => { const want = {...__normalize(document, {privacy: 'allow'}), rects: __rects(document)}; return window.__replayTestHooks.flush().then(() => want); })()`, &want); err != nil {
		t.Errorf("%s: normalize: %v", name, err)
		return row
	}
	sid, vid := ids(t, lctx)
	rctx, cancel2 := context.WithTimeout(replay, 60*time.Second)
	defer cancel2()
	if err := chromedp.Run(rctx, chromedp.Navigate(h.url("/replay.html"))); err != nil {
		t.Errorf("%s: replay page: %v", name, err)
		return row
	}
	var got struct {
		Dom      string   `json:"dom"`
		Rects    [][]any  `json:"rects"`
		Warnings []string `json:"warnings"`
		Events   int      `json:"events"`
	}
	if err := eval(rctx, fidelityRects+";"+fidelityReplay+fmt.Sprintf(";fidelity('/test/events?sid=%s&vid=%s', '/test/session-events?sid=%s')", sid, vid, sid), &got); err != nil {
		t.Errorf("%s: rebuild: %v", name, err)
		return row
	}
	var replayShot []byte
	if err := chromedp.Run(rctx, chromedp.CaptureScreenshot(&replayShot)); err != nil {
		t.Errorf("%s: screenshot: %v", name, err)
		return row
	}
	row.nodes = strings.Count(want.Dom, "\n") + 1
	row.domEqual = want.Dom == got.Dom
	row.warnings = len(got.Warnings)
	if !row.domEqual {
		row.sanitized, row.firstBad = firstDifference(want.Dom, got.Dom)
		os.WriteFile(filepath.Join(fidelityDir, row.page+"-live.txt"), []byte(want.Dom), 0o644)
		os.WriteFile(filepath.Join(fidelityDir, row.page+"-replay.txt"), []byte(got.Dom), 0o644)
	}
	for _, w := range got.Warnings {
		t.Logf("%s: replaycore warning: %s", name, w)
	}
	row.diff = pixelDiff(t, row.page, liveShot, replayShot)
	row.movedN, row.moved = moved(want.Rects, got.Rects)
	if row.moved != "" {
		for side, rects := range map[string][][]any{"live": want.Rects, "replay": got.Rects} {
			var b strings.Builder
			for i, r := range rects {
				fmt.Fprintf(&b, "#%d %v\n", i, r)
			}
			os.WriteFile(filepath.Join(fidelityDir, row.page+"-"+side+"-boxes.txt"), []byte(b.String()), 0o644)
		}
	}
	return row
}

// sanitizerDrops are the attributes replaycore's sanitizer leaves out of
// the rebuilt document on purpose (sanitize.js: nothing that runs,
// navigates, or fetches what rendering does not need), by element.
var sanitizerDrops = map[string][]string{
	"*":      {"ping", "autofocus", "srcdoc", "attributionsrc", "nonce", "referrerpolicy"},
	"meta":   {"http-equiv"},
	"object": {"data", "codebase", "classid", "archive", "codetype", "type", "typemustmatch"},
	"embed":  {"src", "code", "codebase"},
	"iframe": {"allow", "sandbox"},
	"frame":  {"sandbox"},
	"base":   {"href", "target"},
}

var attrRE = regexp.MustCompile(`([^\s=<>]+)=("(?:[^"\\]|\\.)*")`)

// onlySanitized reports whether replay line g is live line w without some
// attributes the sanitizer drops on purpose.
func onlySanitized(w, g string) bool {
	tag := func(s string) string {
		s = strings.TrimSpace(s)
		if !strings.HasPrefix(s, "<") {
			return ""
		}
		return strings.TrimRight(strings.Fields(s[1:])[0], ">")
	}
	t := tag(w)
	if t == "" || t != tag(g) {
		return false
	}
	if t == "STYLESHEET" {
		return false // its rules, not attributes, follow the tag
	}
	attrs := func(s string) map[string]string {
		m := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
			m[a[1]] = a[2]
		}
		return m
	}
	wa, ga := attrs(w), attrs(g)
	dropped := func(k, v string) bool {
		for _, tt := range []string{"*", t} {
			if slices.Contains(sanitizerDrops[tt], k) {
				return true
			}
		}
		switch {
		case t == "link" && k == "href":
			// Kept only for links that rendering needs (stylesheets, icons, preloads).
			rel := strings.ToLower(wa["rel"])
			return !strings.Contains(rel, "stylesheet") && !strings.Contains(rel, "icon") && !strings.Contains(rel, "preload")
		case t == "meta" && k == "name":
			// <meta name=referrer> would set the player's referrer policy.
			u, _ := strconv.Unquote(v)
			return strings.EqualFold(strings.TrimSpace(u), "referrer")
		case (t == "a" || t == "area") && k == "href":
			// Navigations only to http(s), mailto, tel, sms, ftp or relative URLs.
			u, _ := strconv.Unquote(v)
			scheme, _, ok := strings.Cut(u, ":")
			return ok && !slices.Contains([]string{"http", "https", "mailto", "tel", "sms", "ftp"}, strings.ToLower(scheme)) && !strings.ContainsAny(scheme, "/?#")
		}
		return false
	}
	// The live line, without what the sanitizer removes, must be the
	// replayed line.
	for k, v := range wa {
		if ga[k] == v || !dropped(k, v) {
			continue
		}
		if (t == "a" || t == "area") && k == "href" {
			// A link to a scheme the replay must not follow keeps an inert href="#".
			w = strings.Replace(w, " "+k+"="+v, " "+k+`="#"`, 1)
		} else {
			w = strings.Replace(w, " "+k+"="+v, "", 1)
		}
	}
	return w == g
}

// moved counts the elements (in tree order, in the whole document)
// placed more than a pixel away in the replay, and names the first, with
// both boxes.
func moved(live, replay [][]any) (int, string) {
	n, first := 0, ""
	for i := 0; i < len(live) && i < len(replay); i++ {
		a, b := live[i], replay[i]
		if len(a) != 5 || len(b) != 5 {
			continue
		}
		if a[3] == 0.0 && a[4] == 0.0 && b[3] == 0.0 && b[4] == 0.0 {
			continue // paints nothing (an empty inline's place on a line of floats is arbitrary)
		}
		for k := 1; k < 3; k++ { // left, top: sizes add up to the document's
			x, _ := a[k].(float64)
			y, _ := b[k].(float64)
			if x-y > 1 || y-x > 1 {
				if n++; first == "" {
					first = fmt.Sprintf("#%d %v: live %v replay %v", i, a[0], a[1:], b[1:])
				}
				break
			}
		}
	}
	if len(live) != len(replay) {
		first += fmt.Sprintf(" (%d elements live, %d replayed)", len(live), len(replay))
	}
	return n, first
}

// firstDifference counts the lines that differ only by the sanitizer's
// removals and describes the first line that differs otherwise ("" if none).
func firstDifference(want, got string) (int, string) {
	sanitized := 0
	for i, l := range linePairs(want, got) {
		w, g := l[0], l[1]
		if w != g && onlySanitized(w, g) {
			sanitized++
			continue
		}
		if w != g {
			trim := func(s string) string {
				s = strings.TrimSpace(s)
				if len(s) > 90 {
					s = s[:90] + "…"
				}
				return s
			}
			return sanitized, fmt.Sprintf("line %d: live %q | replay %q", i+1, trim(w), trim(g))
		}
	}
	return sanitized, ""
}

// pixelDiff writes both screenshots and a difference image (differing
// pixels red) and returns the share of pixels whose colour differs by more
// than a little anti-aliasing.
func pixelDiff(t *testing.T, page string, a, b []byte) float64 {
	os.WriteFile(filepath.Join(fidelityDir, page+"-live.png"), a, 0o644)
	os.WriteFile(filepath.Join(fidelityDir, page+"-replay.png"), b, 0o644)
	ia, err1 := png.Decode(bytes.NewReader(a))
	ib, err2 := png.Decode(bytes.NewReader(b))
	if err1 != nil || err2 != nil {
		t.Errorf("%s: decoding screenshots: %v %v", page, err1, err2)
		return 1
	}
	r := ia.Bounds().Intersect(ib.Bounds())
	diff := image.NewRGBA(r)
	n, total := 0, r.Dx()*r.Dy()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := ia.At(x, y).RGBA()
			r2, g2, b2, _ := ib.At(x, y).RGBA()
			if absDiff(r1, r2) > 24<<8 || absDiff(g1, g2) > 24<<8 || absDiff(b1, b2) > 24<<8 {
				n++
				diff.Set(x, y, color.RGBA{255, 0, 0, 255})
			} else {
				g := uint8((r1 + g1 + b1) / 3 >> 8)
				diff.Set(x, y, color.RGBA{g, g, g, 255})
			}
		}
	}
	if ia.Bounds() != ib.Bounds() {
		t.Logf("%s: screenshot sizes differ: %v vs %v", page, ia.Bounds(), ib.Bounds())
	}
	var buf bytes.Buffer
	png.Encode(&buf, diff)
	os.WriteFile(filepath.Join(fidelityDir, page+"-diff.png"), buf.Bytes(), 0o644)
	return float64(n) / float64(total)
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
