package player

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
	"github.com/caddy-replay/caddy-replay/recorder"
	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// The 60-minute benchmark: a real recording made by our recorder on a
// real page (a corpus snapshot of a Stack Overflow question with a live
// widget that updates a counter, a feed, a status and a form field, with
// mouse moves, clicks and scrolls), one 20-second cycle that ends where it
// began, repeated with fresh node ids and shifted timestamps to 60
// minutes. It is stored in the embedded store and served by the player;
// rrweb's Replayer gets the same session from our export.
//
// Run it with (not part of plain `go test`):
//
//	go test ./player -run '^$' -bench Replay60Min -benchtime 1x -timeout 30m
const (
	benchPage     = "minify_stackoverflow.html"
	benchMinutes  = 60
	benchSteps    = 40 // widget steps per cycle, 500 ms apart
	benchSeeks    = 60
	benchLoads    = 5 // cold loads per player for time to first frame
	benchSession  = "bench-60-minute-session"
	benchView     = "bench-60-minute-view-0001"
	idOffsetOfRep = 100_000 // above every id one cycle records (checked)
)

// widget is injected into the recorded page: the live part of an app.
const widget = `<style>
#rw{position:fixed;right:16px;bottom:16px;width:320px;background:#fff;border:1px solid #ccc;border-radius:10px;box-shadow:0 6px 20px rgba(0,0,0,.15);font:14px sans-serif;z-index:9999;padding:12px}
#rw h3{margin:0 0 8px}#rw .rw-alert{color:#c00;font-weight:bold}#rw ul{list-style:none;margin:8px 0;padding:0;max-height:260px;overflow:auto}
#rw li{padding:4px 0;border-top:1px solid #eee}#rw li:hover{background:#eef}#rw button:hover{background:#def}
</style>
<div id="rw"><h3>Live orders <span id="rw-count">0</span></h3><div id="rw-status">All systems normal</div>
<input id="rw-input" placeholder="Search orders"><button id="rw-btn">Refresh</button><ul id="rw-feed"></ul></div>
<script>
window.rwStep = (i) => {
	// The counter's text node is edited in place, so a repeated cycle
	// refers to the same node every time.
	document.getElementById('rw-count').firstChild.data = String(i);
	const li = document.createElement('li');
	li.className = 'rw-item';
	li.innerHTML = '<b>Order #' + (1000 + i) + '</b> <span>' + ['espresso', 'latte', 'beans', 'grinder'][i % 4] + '</span> <i>' + (i * 3.7).toFixed(2) + ' €</i>';
	const feed = document.getElementById('rw-feed');
	feed.prepend(li);
	if (feed.children.length > 8) feed.lastElementChild.remove();
	if (i % 5 === 0) document.getElementById('rw-status').classList.toggle('rw-alert');
	if (i % 10 === 3) window.scrollBy(0, 600);
	if (i % 10 === 8) window.scrollBy(0, -600);
	const input = document.getElementById('rw-input');
	if (i >= 20 && i < 31) { input.value += 'espresso'[i % 8]; input.dispatchEvent(new Event('input', {bubbles: true})); }
};
window.rwReset = () => {
	document.getElementById('rw-feed').replaceChildren();
	const input = document.getElementById('rw-input');
	input.value = ''; input.dispatchEvent(new Event('input', {bubbles: true}));
	document.getElementById('rw-status').classList.remove('rw-alert');
	window.scrollTo(0, 0);
	document.getElementById('rw-count').firstChild.data = '0';
};
</script>`

// benchUploads collects what the recorder posts.
type benchUploads struct {
	mu     sync.Mutex
	events map[string]map[int][]json.RawMessage // view -> seq -> events
	last   time.Time
}

func (u *benchUploads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	seq, _ := strconv.Atoi(q.Get("seq"))
	body, _ := io.ReadAll(r.Body)
	enc := r.Header.Get("Content-Encoding")
	if enc == "" {
		enc = q.Get("enc")
	}
	var rd io.Reader = bytes.NewReader(body)
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rd = zr
	case "deflate":
		rd = flate.NewReader(rd)
	}
	raw, _ := io.ReadAll(rd)
	var evs []json.RawMessage
	if err := json.Unmarshal(raw, &evs); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	u.mu.Lock()
	if u.events[q.Get("vid")] == nil {
		u.events[q.Get("vid")] = map[int][]json.RawMessage{}
	}
	u.events[q.Get("vid")][seq] = evs
	u.last = time.Now()
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`)
}

// recordCycle records one widget cycle with our recorder and returns the
// view's events.
func recordCycle(b *testing.B) []map[string]any {
	page, err := os.ReadFile(filepath.Join("..", "..", "shared", "corpus", "html", benchPage))
	if err != nil {
		b.Fatalf("the corpus page is needed (../shared/corpus/html beside the repository): %v", err)
	}
	// Scripts would fail offline and are never recorded anyway.
	page = regexp.MustCompile(`(?is)<script\b.*?</script>`).ReplaceAll(page, nil)
	bundle, err := recorder.Load()
	if err != nil {
		b.Fatal(err)
	}
	up := &benchUploads{events: map[string]map[int][]json.RawMessage{}}
	mux := http.NewServeMux()
	mux.Handle("/__replay/"+bundle.Script.Name, bundle.Script) // also its own worker
	mux.Handle("/__replay/v1/segments", up)
	tag := []byte(`<script async src="/__replay/` + bundle.Script.Name + `" data-start="auto"></script>`)
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		p := bytes.Replace(page, []byte("<head>"), append([]byte("<head>"), tag...), 1)
		p = bytes.Replace(p, []byte("</body>"), []byte(widget+"</body>"), 1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(p)
	})
	srv := newLoopbackServer(b, mux)
	ctx := browsertest.New(b, 3*time.Minute)
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv+"/page"),
		chromedp.WaitVisible("#rw-btn", chromedp.ByID), chromedp.Sleep(time.Second)); err != nil {
		b.Fatal(err)
	}
	var btn struct{ X, Y float64 }
	chromedp.Run(ctx, chromedp.Evaluate(`(() => { const r = document.getElementById('rw-btn').getBoundingClientRect(); return {X: r.x + r.width / 2, Y: r.y + r.height / 2} })()`, &btn))
	for i := 0; i < benchSteps; i++ {
		if err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf("rwStep(%d)", i), nil)); err != nil {
			b.Fatal(err)
		}
		// The pointer wanders over the page for the rest of the step.
		for k := 0; k < 10; k++ {
			x := 200 + 500*math.Sin(float64(i*10+k)/17)
			y := 400 + 250*math.Cos(float64(i*10+k)/11)
			chromedp.Run(ctx, input.DispatchMouseEvent(input.MouseMoved, x, y))
			time.Sleep(45 * time.Millisecond)
		}
		if i%7 == 6 {
			chromedp.Run(ctx, chromedp.MouseClickXY(btn.X, btn.Y))
		}
	}
	chromedp.Run(ctx, chromedp.Evaluate(`rwReset()`, nil), chromedp.Sleep(600*time.Millisecond),
		chromedp.Navigate("about:blank"))
	// Wait for the final segment (sent on pagehide).
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		up.mu.Lock()
		quiet := !up.last.IsZero() && time.Since(up.last) > 1500*time.Millisecond
		up.mu.Unlock()
		if quiet {
			break
		}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.events) != 1 {
		b.Fatalf("expected one recorded view, got %d", len(up.events))
	}
	var out []map[string]any
	for _, segs := range up.events {
		for seq := 0; seq < len(segs); seq++ {
			evs, ok := segs[seq]
			if !ok {
				b.Fatalf("segment %d of %d missing", seq, len(segs))
			}
			for _, e := range evs {
				var m map[string]any
				d := json.NewDecoder(bytes.NewReader(e))
				d.UseNumber()
				d.Decode(&m)
				out = append(out, m)
			}
		}
	}
	return out
}

// newLoopbackServer serves h on 127.0.0.1 until the benchmark ends.
func newLoopbackServer(b *testing.B, h http.Handler) string {
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}

func num(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		if f, err := n.Float64(); err == nil && i == 0 {
			return int64(f)
		}
		return i
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}

// snapshotIDs collects the node ids of a serialized tree.
func snapshotIDs(n map[string]any, ids map[int64]bool) {
	if n == nil {
		return
	}
	ids[num(n["id"])] = true
	if kids, ok := n["childNodes"].([]any); ok {
		for _, k := range kids {
			if m, ok := k.(map[string]any); ok {
				snapshotIDs(m, ids)
			}
		}
	}
}

// remap returns a deep copy of v with node ids not in keep shifted by off.
func remap(v any, keep map[int64]bool, off int64) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			switch k {
			case "id", "parentId", "nextId", "previousId":
				if val != nil {
					if id := num(val); id > 0 && !keep[id] {
						m[k] = id + off
						continue
					}
				}
				m[k] = val
			default:
				m[k] = remap(val, keep, off)
			}
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = remap(val, keep, off)
		}
		return out
	}
	return v
}

// extend repeats the recorded cycle to minutes: the Meta, view and full
// snapshot once, then the cycle's incremental events again and again with
// fresh ids for the nodes each repetition creates.
func extend(b testing.TB, events []map[string]any, minutes int) []map[string]any {
	full := -1
	for i, e := range events {
		if num(e["type"]) == 2 {
			if full >= 0 {
				b.Fatalf("the cycle has a second full snapshot at event %d", i)
			}
			full = i
		}
	}
	if full < 0 {
		b.Fatal("no full snapshot recorded")
	}
	keep := map[int64]bool{}
	snapshotIDs(events[full]["data"].(map[string]any)["node"].(map[string]any), keep)
	head := events[:full+1]
	var cycle []map[string]any
	for _, e := range events[full+1:] {
		if num(e["type"]) == 4 || num(e["type"]) == 2 {
			continue
		}
		if d, ok := e["data"].(map[string]any); ok && num(e["type"]) == 3 && num(d["source"]) == 14 {
			continue // selections name ranges by node; not worth remapping
		}
		cycle = append(cycle, e)
	}
	maxID := int64(0)
	var scan func(v any)
	scan = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if k == "id" || k == "parentId" || k == "nextId" {
					maxID = max(maxID, num(val))
				}
				scan(val)
			}
		case []any:
			for _, val := range x {
				scan(val)
			}
		}
	}
	for _, e := range events {
		scan(e["data"])
	}
	if maxID >= idOffsetOfRep {
		b.Fatalf("the cycle uses node ids up to %d: raise idOffsetOfRep", maxID)
	}
	start := num(events[full]["timestamp"])
	length := num(cycle[len(cycle)-1]["timestamp"]) - start + 500
	reps := int(math.Ceil(float64(minutes) * 60_000 / float64(length)))
	out := slices.Clone(head)
	for k := 0; k < reps; k++ {
		for _, e := range cycle {
			c := remap(e, keep, int64(k)*idOffsetOfRep).(map[string]any)
			c["timestamp"] = num(e["timestamp"]) + int64(k)*length
			out = append(out, c)
		}
	}
	return out
}

// storeSession writes events as one view in 5-second segments, as the
// recorder would have uploaded them.
func storeSession(b testing.TB, st store.Store, events []map[string]any) {
	var segs [][]map[string]any
	var cur []map[string]any
	var segStart int64
	for _, e := range events {
		ts := num(e["timestamp"])
		if len(cur) > 0 && ts-segStart >= 5000 && num(e["type"]) == 3 {
			segs = append(segs, cur)
			cur = nil
		}
		if len(cur) == 0 {
			segStart = ts
		}
		cur = append(cur, e)
	}
	segs = append(segs, cur)
	url := "https://stackoverflow.example/questions/1"
	for seq, evs := range segs {
		body, raw := gz(b, evs)
		full := false
		for _, e := range evs {
			full = full || num(e["type"]) == 2
		}
		start, end := num(evs[0]["timestamp"]), num(evs[len(evs)-1]["timestamp"])
		_, err := st.PutSegment(context.Background(), &store.NewSegment{
			SegmentInfo: store.SegmentInfo{SegmentKey: store.SegmentKey{Session: benchSession, View: benchView, Seq: seq},
				Start: start, End: end, FullSnapshot: full, Records: len(evs), RawSize: int64(raw)},
			Body: body,
			Update: func(s *store.Session) {
				s.EntryURL, s.URLs = url, []string{url}
				for i := range s.Views {
					s.Views[i].URL, s.Views[i].Tab = url, "bench-tab-000000001"
				}
			},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("stored %d events in %d segments", len(events), len(segs))
}

// rrwebBenchPage loads our export into rrweb's Replayer as soon as it
// opens and marks its first frame.
const rrwebBenchPage = `<!doctype html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="/npm/rrweb/dist/style.css">
<script src="/npm/rrweb/dist/rrweb.umd.min.cjs"></script>
</head><body><div id="root"></div>
<script>
(async () => {
	const events = await (await fetch(new URLSearchParams(location.search).get('src'))).json();
	window.replayer = new rrweb.Replayer(events, { root: document.getElementById('root'), mouseTail: false, showWarning: false, skipInactive: false });
	window.replayer.pause(0);
	window.replayer.iframe.contentDocument.documentElement.getBoundingClientRect();
	performance.mark('rrweb:first-frame');
	window.start = events[0].timestamp;
	window.ready = true;
})();
</script></body></html>`

// seekLoop measures seeks in the page: the seek call and the style and
// layout it forces, one rendered frame apart. seek(ms) and doc() are
// player-specific.
const seekLoop = `async (offsets) => {
	const times = [];
	for (const off of offsets) {
		await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
		const t0 = performance.now();
		seek(off);
		doc().documentElement.getBoundingClientRect();
		times.push(performance.now() - t0);
	}
	return times;
}`

func percentile(v []float64, p float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

func BenchmarkReplay60Min(b *testing.B) {
	cycle := recordCycle(b)
	events := extend(b, cycle, benchMinutes)
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	storeSession(b, st, events)
	p, err := New(Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	ts := &testServer{mux: http.NewServeMux()}
	ts.mux.Handle("/replay/", http.StripPrefix("/replay", p))
	ts.Server = httptest.NewServer(ts.mux)
	b.Cleanup(ts.Close)
	serveNPM(b, ts, map[string]string{"rrweb.html": rrwebBenchPage})
	duration := num(events[len(events)-1]["timestamp"]) - num(events[0]["timestamp"])
	b.Logf("session: %d events over %.1f min; cycle of %d events", len(events), float64(duration)/60000, len(cycle))

	ctx := browsertest.New(b, 20*time.Minute)
	fresh := func() context.Context {
		tab, cancel := chromedp.NewContext(ctx)
		b.Cleanup(cancel)
		if err := chromedp.Run(tab, network.Enable(), network.SetCacheDisabled(true), chromedp.EmulateViewport(1280, 800)); err != nil {
			b.Fatal(err)
		}
		return tab
	}
	exportURL := "/replay/api/sessions/" + benchSession + "/export"

	// Time to first frame, cold (no HTTP cache), median of several loads.
	var ours, theirs []float64
	for i := 0; i < benchLoads; i++ {
		tab := fresh()
		var ms float64
		if err := chromedp.Run(tab, chromedp.Navigate(ts.URL+"/replay/?session="+benchSession)); err != nil {
			b.Fatal(err)
		}
		waitBench(b, tab, `performance.getEntriesByName('replay:first-frame').length > 0`, time.Minute)
		chromedp.Run(tab, chromedp.Evaluate(`performance.getEntriesByName('replay:first-frame')[0].startTime`, &ms))
		ours = append(ours, ms)
		chromedp.Run(tab, page.Close())
		tab = fresh()
		if err := chromedp.Run(tab, chromedp.Navigate(ts.URL+"/rec/rrweb.html?src="+exportURL)); err != nil {
			b.Fatal(err)
		}
		waitBench(b, tab, `window.ready === true`, 5*time.Minute)
		chromedp.Run(tab, chromedp.Evaluate(`performance.getEntriesByName('rrweb:first-frame')[0].startTime`, &ms))
		theirs = append(theirs, ms)
		chromedp.Run(tab, page.Close())
	}
	ffOurs, ffTheirs := percentile(ours, 50), percentile(theirs, 50)
	b.Logf("first frame: ours %v, rrweb %v", ours, theirs)

	// Seeks to the same random points.
	rng := rand.New(rand.NewPCG(60, 60))
	offsets := make([]int64, benchSeeks)
	for i := range offsets {
		offsets[i] = rng.Int64N(duration)
	}
	offJSON, _ := json.Marshal(offsets)
	tab := fresh()
	start := time.Now()
	chromedp.Run(tab, chromedp.Navigate(ts.URL+"/replay/?session="+benchSession+"&t=0"))
	waitBench(b, tab, `document.querySelector('.replay-screen')?.dataset.indexed === '1'`, 10*time.Minute)
	indexed := time.Since(start)
	var seeksOurs, seeksTheirs []float64
	// Our player's own path: a share link's time applied in place.
	if err := chromedp.Run(tab, chromedp.Evaluate(`window.seek = (off) => { history.pushState(null, '', '?session=`+benchSession+`&t=' + off / 1000); dispatchEvent(new PopStateEvent('popstate')); };
		window.doc = () => document.querySelector('.replay-frame').contentDocument; true`, nil),
		evalPromise(`(`+seekLoop+`)(`+string(offJSON)+`)`, &seeksOurs)); err != nil {
		b.Fatal(err)
	}
	var oursDOM []string
	chromedp.Run(tab, chromedp.Evaluate(normDOM+`; true`, nil))
	for _, off := range offsets[:5] {
		var s string
		chromedp.Run(tab, chromedp.Evaluate(fmt.Sprintf(`seek(%d); normDOM(doc())`, off), &s))
		oursDOM = append(oursDOM, s)
	}
	rr := fresh()
	chromedp.Run(rr, chromedp.Navigate(ts.URL+"/rec/rrweb.html?src="+exportURL))
	waitBench(b, rr, `window.ready === true`, 5*time.Minute)
	// rrweb counts time from its first event (the Meta), ours from the
	// first full snapshot.
	skew := num(events[2]["timestamp"]) - num(events[0]["timestamp"])
	for i := range events {
		if num(events[i]["type"]) == 2 {
			skew = num(events[i]["timestamp"]) - num(events[0]["timestamp"])
			break
		}
	}
	if err := chromedp.Run(rr, chromedp.Evaluate(fmt.Sprintf(`window.seek = (off) => window.replayer.pause(off + %d); window.doc = () => window.replayer.iframe.contentDocument; true`, skew), nil),
		evalPromise(`(`+seekLoop+`)(`+string(offJSON)+`)`, &seeksTheirs)); err != nil {
		b.Fatal(err)
	}
	// The same points in a fresh rrweb Replayer each (after a series of
	// random seeks rrweb's own DOM can go stale), for the DOM comparison.
	same := 0
	for i, off := range offsets[:5] {
		chk := fresh()
		chromedp.Run(chk, chromedp.Navigate(ts.URL+"/rec/rrweb.html?src="+exportURL))
		waitBench(b, chk, `window.ready === true`, 5*time.Minute)
		var s string
		chromedp.Run(chk, chromedp.Evaluate(normDOM+fmt.Sprintf(`; window.replayer.pause(%d + %d); normDOM(window.replayer.iframe.contentDocument)`, off, skew), &s))
		chromedp.Run(chk, page.Close())
		if s == oursDOM[i] {
			same++
			continue
		}
		a, c := strings.Split(oursDOM[i], "\n"), strings.Split(s, "\n")
		for k := 0; k < max(len(a), len(c)); k++ {
			x, y := "", ""
			if k < len(a) {
				x = a[k]
			}
			if k < len(c) {
				y = c[k]
			}
			if x != y {
				b.Logf("at %d ms the DOMs differ first at line %d: ours %.120q, rrweb %.120q", off, k+1, x, y)
				break
			}
		}
	}
	p50o, p95o := percentile(seeksOurs, 50), percentile(seeksOurs, 95)
	p50t, p95t := percentile(seeksTheirs, 50), percentile(seeksTheirs, 95)
	b.Logf("seek ms ours: p50 %.1f p95 %.1f max %.1f; rrweb: p50 %.1f p95 %.1f max %.1f; same DOM at %d of 5 points; indexed for instant seek after %v",
		p50o, p95o, percentile(seeksOurs, 100), p50t, p95t, percentile(seeksTheirs, 100), same, indexed.Round(100*time.Millisecond))
	b.ReportMetric(ffOurs, "first-frame-ms")
	b.ReportMetric(ffTheirs, "rrweb-first-frame-ms")
	b.ReportMetric(p50o, "seek-p50-ms")
	b.ReportMetric(p95o, "seek-p95-ms")
	b.ReportMetric(p50t, "rrweb-seek-p50-ms")
	b.ReportMetric(p95t, "rrweb-seek-p95-ms")
	b.ReportMetric(p95t/p95o, "seek-p95-speedup")
	b.ReportMetric(p50t/p50o, "seek-p50-speedup")
	b.ReportMetric(float64(same), "same-dom-of-5")
	b.ReportMetric(0, "ns/op")
}

func waitBench(b *testing.B, ctx context.Context, js string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate("!!("+js+")", &ok)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", js)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func evalPromise(js string, out any) chromedp.Action {
	return chromedp.Evaluate(js, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })
}
