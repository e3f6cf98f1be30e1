//go:build figures

// Figures for BENCHMARKS.md, side by side with @rrweb/record in the same
// Chromium run. Not part of `go test ./...` (build tag "figures"):
//
//	npm ci --prefix testdata/npm
//	go test -tags figures -run 'TestFigures$' -v -timeout 20m ./recorder/
//	go test -tags figures -run 'TestFiguresSession$' -v -timeout 20m ./recorder/
package recorder

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
)

var rrwebDir = filepath.Join("..", "testdata", "npm", "node_modules", "@rrweb", "record", "dist")

func rrwebScript(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rrwebDir, "record.umd.min.cjs"))
	if err != nil {
		t.Fatalf("@rrweb/record is not installed (%v): run `npm ci --prefix testdata/npm`", err)
	}
	// Drop the trailing source map comment: the map is not served.
	if i := bytes.LastIndex(b, []byte("\n//# sourceMappingURL=")); i > 0 {
		b = b[:i+1]
	}
	return b
}

func minimum(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		if x < m {
			m = x
		}
	}
	return m
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchPage is a page of about n DOM nodes (elements, text, attributes,
// images, links), with our recorder (manual start), rrweb, or nothing.
func benchPage(n int, mode string, h *harness) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><head><meta charset=utf-8><title>bench</title>")
	b.WriteString("<style>.row{display:flex;gap:4px}.label{font-weight:bold}.row:hover{background:#eee}</style>")
	switch mode {
	case "ours":
		b.WriteString(`<script>` + testHooks(`{}`) + `</script>`)
		fmt.Fprintf(&b, `<script src="/__replay/%s" data-start="manual" data-privacy="allow"></script>`, h.bundle.Script.Name)
	case "rrweb", "rrwebjson":
		b.WriteString(`<script src="/bench/rrweb.js"></script>`)
	}
	b.WriteString("</head><body><main>")
	nodes := 10 // html, head, body, main and friends
	for i := 0; nodes < n; i++ {
		if i%50 == 0 {
			if i > 0 {
				b.WriteString("</section>")
			}
			fmt.Fprintf(&b, `<section class="s%d"><h2>Section %d</h2>`, i/50, i/50)
			nodes += 3
		}
		fmt.Fprintf(&b, `<div class="row r%d" data-i="%d"><span class="label">Item %d</span> <a href="/p/%d?x=1">details</a><img src="/img/dot.svg" alt="dot %d" width="8" height="8"><input value="v%d"></div>`, i, i, i, i, i, i)
		nodes += 8 // div, span and its text, text, a and its text, img, input
	}
	b.WriteString("</section></main></body></html>")
	return b.String()
}

// mutationWork are the mutation workloads, run in one task each.
var mutationWork = map[string]string{
	"appends 1000×10":         `(() => { const root = document.getElementById('root'); for (let i = 0; i < 1000; i++) { const d = document.createElement('div'); d.className = 'item'; for (let j = 0; j < 10; j++) { const s = document.createElement('span'); s.textContent = 'cell ' + j; d.appendChild(s); } root.appendChild(d); } })()`,
	"deep nesting 1000":       `(() => { let p = document.getElementById('root'); for (let i = 0; i < 1000; i++) { const d = document.createElement('div'); d.setAttribute('data-depth', i); p.appendChild(d); p = d; } p.textContent = 'deepest'; })()`,
	"attribute churn 1000×10": `(() => { const els = document.querySelectorAll('#list li'); for (let k = 0; k < 10; k++) for (let i = 0; i < els.length; i++) { els[i].setAttribute('data-k', k); els[i].className = 'c' + ((i + k) % 7); } })()`,
	"reorders 2000×5":         `(() => { const l = document.getElementById('list2'); for (let k = 0; k < 5; k++) { const items = Array.from(l.children); for (let i = items.length - 1; i >= 0; i--) l.appendChild(items[i]); } })()`,
}

func mutationPage(mode string, h *harness) string {
	var b strings.Builder
	b.WriteString(strings.Split(benchPage(0, mode, h), "<body>")[0])
	b.WriteString(`<body><div id="root"></div><ul id="list">`)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, `<li class="c0">item %d</li>`, i)
	}
	b.WriteString(`</ul><ol id="list2">`)
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, `<li>row %d</li>`, i)
	}
	b.WriteString(`</ol></body></html>`)
	return b.String()
}

// readyJS waits until the page is loaded and painted.
const readyJS = `(async () => {
	await new Promise((r) => (document.readyState === 'complete' ? r() : addEventListener('load', r)));
	await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
	return 0;
})()`

// threadMS is the CPU time the page's main thread used so far, in ms
// (Performance.getMetrics' ThreadTime; Performance must be enabled).
func threadMS(t testing.TB, ctx context.Context) float64 {
	var ms []*performance.Metric
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(c context.Context) error {
		var err error
		ms, err = performance.GetMetrics().Do(c)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "ThreadTime" {
			return m.Value * 1000
		}
	}
	t.Fatal("Performance.getMetrics has no ThreadTime")
	return 0
}

// startJS starts a recorder on a loaded page (readyJS) and returns the
// milliseconds the call took.
const startJS = `((mode) => {
	window.__ev = [];
	const t0 = performance.now();
	if (mode === 'ours') SessionReplay.startSessionReplayRecording();
	else if (mode === 'rrweb') rrwebRecord.record({ emit(e) { window.__ev.push(e); } });
	else if (mode === 'empty' || mode === 'read') {
		// The floor of any MutationObserver-based recorder, ours' options:
		// records created and delivered (empty), and read once (read).
		const read = mode === 'read';
		new MutationObserver((rs) => {
			if (!read) return;
			const seen = new Map();
			for (const r of rs) {
				const t = r.target, n = r.attributeName;
				if (n !== null) { let s = seen.get(t); if (!s) seen.set(t, (s = new Set())); s.add(n); }
				else if (r.type === 'childList') { for (const a of r.addedNodes) seen.set(a, null); for (const a of r.removedNodes) seen.set(a, null); }
				else seen.set(t, null);
			}
			window.__seen = seen.size;
		}).observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
	}
	else if (mode === 'rrwebjson') rrwebRecord.record({ emit(e) { window.__ev.push(JSON.stringify(e)); } });
	return performance.now() - t0;
})`

func serveBench(t testing.TB, h *harness) {
	rr := rrwebScript(t)
	mux := h.srv.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("/bench/rrweb.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(rr)
	})
	mux.HandleFunc("/bench/page", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, benchPage(n, r.URL.Query().Get("mode"), h))
	})
	mux.HandleFunc("/bench/mut", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, mutationPage(r.URL.Query().Get("mode"), h))
	})
}

// TestFigures measures bundle size, full-snapshot time and mutation
// workloads, ours and @rrweb/record's, in one Chromium.
func TestFigures(t *testing.T) {
	h := newHarness(t)
	serveBench(t, h)
	b := newBrowserFor(t, 20*time.Minute)
	ctx := b.tab(t)
	runs := 7
	mutRuns := 15 // a workload's overhead is a difference of two noisy times: more runs
	if v, err := strconv.Atoi(os.Getenv("FIGURES_RUNS")); err == nil {
		runs, mutRuns = v, v
	}

	only := os.Getenv("FIGURES") // e.g. "snapshot,restore,mutations": some parts only
	part := func(name string) bool { return only == "" || strings.Contains(","+only+",", ","+name+",") }

	// Size.
	rr := rrwebScript(t)
	shipped, err := Load() // without the test hooks the harness's pages use
	if err != nil {
		t.Fatal(err)
	}
	ours := gzipSize(shipped.Script.Body)
	worker, workerNote := 0, " (the script itself, from the cache)"
	t.Logf("| bundle (minified + gzip -9) | ours | @rrweb/record 2.1.6 |")
	t.Logf("| --- | --- | --- |")
	t.Logf("| script | %d B | %d B (record.umd.min.cjs) |", ours, gzipSize(rr))
	t.Logf("| worker | %d B%s | — |", worker, workerNote)
	t.Logf("| total | %.1f KB | %.1f KB |", float64(ours+worker)/1000, float64(gzipSize(rr))/1000)

	// Full snapshot: the synchronous time of starting the recorder on a
	// loaded page (wall clock), and the main thread's CPU time from the
	// start until its result is back (what other processes on a shared
	// machine take from the thread is not in it).
	if err := chromedp.Run(ctx, performance.Enable()); err != nil {
		t.Fatal(err)
	}
	t.Logf("")
	t.Logf("| full snapshot (ms, median of %d) | nodes | ours | rrweb | rrweb+JSON | ours/rrweb | ours/rrweb+JSON | main-thread CPU: ours | rrweb | rrweb+JSON | ours/rrweb | ours/rrweb+JSON |", runs)
	t.Logf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, n := range []int{10000, 50000} {
		if !part("snapshot") {
			break
		}
		times, cpu := map[string][]float64{}, map[string][]float64{}
		var count int
		for i := 0; i < runs; i++ {
			for _, mode := range []string{"ours", "rrweb", "rrwebjson"} {
				if err := chromedp.Run(ctx, chromedp.Navigate(h.url(fmt.Sprintf("/bench/page?n=%d&mode=%s", n, mode)))); err != nil {
					t.Fatal(err)
				}
				var ms float64
				if err := eval(ctx, readyJS, &ms); err != nil {
					t.Fatal(err)
				}
				c0 := threadMS(t, ctx)
				if err := eval(ctx, startJS+"("+strconv.Quote(mode)+")", &ms); err != nil {
					t.Fatal(err)
				}
				cpu[mode] = append(cpu[mode], threadMS(t, ctx)-c0)
				times[mode] = append(times[mode], ms)
				if i == 0 && mode == "ours" {
					eval(ctx, `(() => { let n = 0; const w = document.createTreeWalker(document, 0xFFFFFFFF); while (w.nextNode()) n++; return n; })()`, &count)
				}
			}
		}
		o, r, rj := median(times["ours"]), median(times["rrweb"]), median(times["rrwebjson"])
		co, cr, crj := median(cpu["ours"]), median(cpu["rrweb"]), median(cpu["rrwebjson"])
		t.Logf("| | %d | %.1f | %.1f | %.1f | %.2f | %.2f | %.1f | %.1f | %.1f | %.2f | %.2f |", count, o, r, rj, o/r, o/rj, co, cr, crj, co/cr, co/crj)
	}

	// replaycore: restoring a checkpoint vs re-applying the events since the
	// full snapshot (what a seek costs with and without checkpoints).
	if part("restore") {
		h.coll.reset()
		ctx := b.tab(t) // a new session: the collector ignores sessions from before reset()
		if err := chromedp.Run(ctx, chromedp.Navigate(h.url("/bench/page?n=10000&mode=ours"))); err != nil {
			t.Fatal(err)
		}
		var ignored float64
		if err := eval(ctx, readyJS, &ignored); err != nil {
			t.Fatal(err)
		}
		if err := eval(ctx, startJS+`("ours")`, &ignored); err != nil {
			t.Fatal(err)
		}
		// A long busy session, compressed: 2000 batches of changes.
		if err := eval(ctx, `(async () => {
			const rows = document.querySelectorAll('.row');
			for (let k = 0; k < 2000; k++) {
				const r = rows[(k * 37) % rows.length];
				if (!r.isConnected) continue;
				r.setAttribute('data-k', k);
				r.querySelector('.label').textContent = 'Item ' + k;
				const d = document.createElement('div'); d.className = 'row'; d.innerHTML = '<span>new ' + k + '</span>';
				r.parentNode.insertBefore(d, r);
				if (k % 3 === 0) rows[(k * 53) % rows.length].remove();
				await new Promise((res) => setTimeout(res, 0));
			}
			return 0;
		})()`, &ignored); err != nil {
			t.Fatal(err)
		}
		flush(t, ctx)
		sid, vid := ids(t, ctx)
		if err := chromedp.Run(ctx, chromedp.Navigate(h.url("/replay.html"))); err != nil {
			t.Fatal(err)
		}
		var res struct {
			Events                       int
			Snapshot, Apply, Cp, Restore []float64
		}
		if err := eval(ctx, `(async () => {
			const events = await (await fetch('/test/events?sid=`+sid+`&vid=`+vid+`')).json();
			const out = {events: events.length, snapshot: [], apply: [], cp: [], restore: []};
			const full = events.findIndex((e) => e.type === 2);
			for (let i = 0; i < `+strconv.Itoa(runs)+`; i++) {
				const f = frame('f'), g = frame('g');
				const rb = new ReplayCore.Rebuilder(f.contentDocument);
				let t0 = performance.now();
				for (let k = 0; k <= full; k++) rb.apply(events[k]);
				out.snapshot.push(performance.now() - t0);
				for (let k = full + 1; k < events.length; k++) rb.apply(events[k]);
				out.apply.push(performance.now() - t0);
				t0 = performance.now();
				const cp = rb.checkpoint();
				out.cp.push(performance.now() - t0);
				const rb2 = new ReplayCore.Rebuilder(g.contentDocument);
				t0 = performance.now();
				rb2.restore(cp);
				out.restore.push(performance.now() - t0);
			}
			return out;
		})()`, &res); err != nil {
			t.Fatal(err)
		}
		t.Logf("")
		t.Logf("| replaycore, 10k-node page then 2000 change batches (%d events; ms, median of %d) | full snapshot alone | full snapshot + all events (a seek without checkpoints) | checkpoint() | restore() | restore / re-apply |", res.Events, runs)
		t.Logf("| --- | --- | --- | --- | --- | --- |")
		t.Logf("| | %.1f | %.1f | %.1f | %.1f | %.2f |", median(res.Snapshot), median(res.Apply), median(res.Cp), median(res.Restore), median(res.Restore)/median(res.Apply))
	}

	// Mutation workloads: recorder overhead = time with the recorder -
	// time without, on the wall clock (performance.now) and in the main
	// thread's CPU time (from before the workload until the observer
	// callbacks ran and the result is back).
	t.Logf("")
	t.Logf("| mutation workload (ms incl. the observer callback, median / minimum of %d) | none | ours | rrweb | rrweb+JSON | overhead ours | overhead rrweb | overhead rrweb+JSON | ours/rrweb | ours/rrweb+JSON | by minimums: ours/rrweb, ours/rrweb+JSON | floor ÷ rrweb: empty observer, read-only observer |", mutRuns)
	t.Logf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	var cpuRows []string
	names := []string{"appends 1000×10", "deep nesting 1000", "attribute churn 1000×10", "reorders 2000×5"}
	if w := os.Getenv("FIGURES_WORK"); w != "" { // e.g. "churn": the workloads whose names contain it
		names = slices.DeleteFunc(names, func(n string) bool { return !strings.Contains(n, w) })
	}
	for _, name := range names {
		if !part("mutations") {
			break
		}
		times, cpu := map[string][]float64{}, map[string][]float64{}
		for i := 0; i < mutRuns; i++ {
			for _, mode := range []string{"none", "empty", "read", "ours", "rrweb", "rrwebjson"} {
				if err := chromedp.Run(ctx, chromedp.Navigate(h.url("/bench/mut?mode="+mode))); err != nil {
					t.Fatal(err)
				}
				var ms float64
				if err := eval(ctx, readyJS, &ms); err != nil {
					t.Fatal(err)
				}
				if err := eval(ctx, `(async () => {
					(`+startJS+`)(`+strconv.Quote(mode)+`);
					await new Promise((r) => setTimeout(r, 200));
					return 0;
				})()`, &ms); err != nil {
					t.Fatal(err)
				}
				c0 := threadMS(t, ctx)
				js := `(async () => {
					const t0 = performance.now();
					` + mutationWork[name] + `;
					await new Promise((r) => setTimeout(r, 0));
					return performance.now() - t0;
				})()`
				if err := eval(ctx, js, &ms); err != nil {
					t.Fatal(err)
				}
				cpu[mode] = append(cpu[mode], threadMS(t, ctx)-c0)
				times[mode] = append(times[mode], ms)
			}
		}
		md := func(m string) string { return fmt.Sprintf("%.1f / %.1f", median(times[m]), minimum(times[m])) }
		cmd := func(m string) string { return fmt.Sprintf("%.1f / %.1f", median(cpu[m]), minimum(cpu[m])) }
		t.Logf("| %s | %s | %s | %s | %s | %s |", name, md("none"), md("ours"), md("rrweb"), md("rrwebjson"), overheads(times))
		cpuRows = append(cpuRows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", name, cmd("none"), cmd("ours"), cmd("rrweb"), cmd("rrwebjson"), overheads(cpu)))
	}
	if len(cpuRows) > 0 {
		t.Logf("")
		t.Logf("| mutation workload (main-thread CPU ms, median / minimum of %d) | none | ours | rrweb | rrweb+JSON | overhead ours | overhead rrweb | overhead rrweb+JSON | ours/rrweb | ours/rrweb+JSON | by minimums: ours/rrweb, ours/rrweb+JSON | floor ÷ rrweb: empty observer, read-only observer |", mutRuns)
		t.Logf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		for _, r := range cpuRows {
			t.Logf("%s", r)
		}
	}
}

// TestFiguresSession runs a scripted 2-minute visit of the demo site with
// our recorder and rrweb recording the same pages at once, and reports
// bytes per minute: ours as uploaded (gzip segments), rrweb's events
// gzip-compressed per page and per 5 s chunk.
func TestFiguresSession(t *testing.T) {
	h := newHarness(t)
	d := newDemo(t, h)
	rr := rrwebScript(t)
	mux := d.site.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("/bench/rrweb.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(rr)
	})
	d.extra = func(nonce string) string {
		return `<script nonce="` + nonce + `" src="/bench/rrweb.js"></script><script nonce="` + nonce + `">window.__rr = []; rrwebRecord.record({ emit(e) { window.__rr.push(e); } });</script>`
	}
	h.timing = `{}` // production timings
	b := newBrowserFor(t, 20*time.Minute)
	ctx := b.tab(t)
	var rrPages [][]json.RawMessage
	collect := func() {
		var evs []json.RawMessage
		if err := eval(ctx, `window.__rr || []`, &evs); err != nil {
			t.Fatal(err)
		}
		rrPages = append(rrPages, evs)
	}
	start := time.Now()
	for _, step := range visitScript(d.site.URL+"/?privacy=mask-user-input", collect) {
		if err := chromedp.Run(ctx, step); err != nil {
			t.Fatal(err)
		}
	}
	collect()
	took := time.Since(start)
	// Let the last segments go (visibility hidden closes the open one).
	if err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	// Per minute of the visit: from the first recorded event to the last.
	first, last := int64(0), int64(0)
	for _, u := range h.coll.snapshot() {
		if u.Status == 200 && (first == 0 || u.Start < first) {
			first = u.Start
		}
		if u.Status == 200 && u.End > last {
			last = u.End
		}
	}
	minutes := float64(last-first) / 60000
	var ours, oursRaw, segs int
	for _, u := range h.coll.snapshot() {
		if u.Status == 200 {
			ours += u.Wire
			oursRaw += u.Raw
			segs++
		}
	}
	var rrPage, rrChunks, rrRaw int
	for _, evs := range rrPages {
		all, _ := json.Marshal(evs)
		rrRaw += len(all)
		rrPage += gzipSize(all)
		// The same events cut into 5 s chunks, each gzipped, as an uploader would.
		var chunk []json.RawMessage
		var first int64
		for _, e := range evs {
			var ev struct{ Timestamp int64 }
			json.Unmarshal(e, &ev)
			if len(chunk) > 0 && ev.Timestamp-first > 5000 {
				b, _ := json.Marshal(chunk)
				rrChunks += gzipSize(b)
				chunk = nil
			}
			if len(chunk) == 0 {
				first = ev.Timestamp
			}
			chunk = append(chunk, e)
		}
		if len(chunk) > 0 {
			b, _ := json.Marshal(chunk)
			rrChunks += gzipSize(b)
		}
	}
	t.Logf("scripted visit: %.2f min (%.2f min recorded), %d segments uploaded", took.Minutes(), minutes, segs)
	// Where the bytes go, by event kind: raw JSON, and what each kind adds
	// to the compressed segments (each segment gzipped without the kind's
	// events, the difference summed). For full snapshots, the share of
	// stylesheet text and of canvas pixels in them, the same way.
	kindOf := func(e json.RawMessage) string {
		var ev struct {
			Type int
			Data struct {
				Source *int
				Tag    string
			}
		}
		json.Unmarshal(e, &ev)
		k := fmt.Sprintf("type %d", ev.Type)
		if ev.Data.Source != nil {
			k += fmt.Sprintf(" source %d", *ev.Data.Source)
		}
		if ev.Data.Tag != "" {
			k += " " + ev.Data.Tag
		}
		return k
	}
	gz6 := func(evs []json.RawMessage) int {
		b, _ := json.Marshal(evs)
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Len()
	}
	kinds, kindsGz := map[string]int{}, map[string]int{}
	cssRe := regexp.MustCompile(`"_cssText":"(?:[^"\\]|\\.)*"|"textContent":"(?:[^"\\]|\\.)*","isStyle":true`)
	canvasRe := regexp.MustCompile(`"rr_dataURL":"[^"]*"`)
	var cssGz, canvasGz int
	for _, u := range h.coll.snapshot() {
		if u.Status != 200 {
			continue
		}
		all := gz6(u.Events)
		seen := map[string]bool{}
		for _, e := range u.Events {
			k := kindOf(e)
			kinds[k] += len(e)
			seen[k] = true
		}
		for k := range seen {
			var rest []json.RawMessage
			for _, e := range u.Events {
				if kindOf(e) != k {
					rest = append(rest, e)
				}
			}
			kindsGz[k] += all - gz6(rest)
		}
		strip := func(re *regexp.Regexp) int {
			var out []json.RawMessage
			for _, e := range u.Events {
				out = append(out, re.ReplaceAll(e, []byte(`"x":""`)))
			}
			return all - gz6(out)
		}
		if u.Full {
			cssGz += strip(cssRe)
			canvasGz += strip(canvasRe)
		}
	}
	rrKinds := map[string]int{}
	for _, evs := range rrPages {
		for _, e := range evs {
			rrKinds[kindOf(e)] += len(e)
		}
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	t.Logf("| event kind | ours raw | ours in gzip | rrweb raw |")
	t.Logf("| --- | --- | --- | --- |")
	for _, k := range names {
		t.Logf("| %s | %d | %d | %d |", k, kinds[k], kindsGz[k], rrKinds[k])
	}
	t.Logf("in full snapshot segments: stylesheet text %d B of gzip, canvas pixels %d B", cssGz, canvasGz)
	if dir := os.Getenv("FIGURES_DUMP"); dir != "" {
		// The uploaded segments as JSON, for a closer look.
		for _, u := range h.coll.snapshot() {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d-%s-%d.json", u.Start, u.Vid[:6], u.Seq)), u.Body, 0o644)
		}
	}
	regz := 0
	for _, u := range h.coll.snapshot() {
		if u.Status == 200 {
			t.Logf("segment %s/%d full=%v n=%d raw=%d wire=%d (%s) gzip-9 would be %d", u.Vid[:6], u.Seq, u.Full, u.N, u.Raw, u.Wire, u.Enc+u.ContentEncoding, gzipSize(u.Body))
			regz += gzipSize(u.Body)
		}
	}
	t.Logf("ours re-gzipped at level 9: %.1f KB/min", float64(regz)/1000/minutes)
	t.Logf("| bytes per minute | ours (uploaded, gzip segments) | rrweb + gzip per 5 s chunk | rrweb + gzip per page |")
	t.Logf("| --- | --- | --- | --- |")
	t.Logf("| compressed | %.1f KB/min | %.1f KB/min | %.1f KB/min |", float64(ours)/1000/minutes, float64(rrChunks)/1000/minutes, float64(rrPage)/1000/minutes)
	t.Logf("| raw JSON | %.1f KB/min | %.1f KB/min | |", float64(oursRaw)/1000/minutes, float64(rrRaw)/1000/minutes)
}

// visitScript is a scripted visit of the demo that lasts two minutes: its
// steps sit on a timeline (each one waits for its planned time), so the
// machine's speed neither stretches nor shrinks the visit. Pointer paths
// at 60 Hz, clicks, scrolling, typing at a human pace with pauses between
// fields, reading; four pages and three SPA routes (and a back). collect
// runs before each page is left (to take rrweb's events from it).
func visitScript(home string, collect func()) []chromedp.Action {
	var a []chromedp.Action
	var t0 time.Time
	var at time.Duration // planned time of the end of the last step
	// next appends act, then waits until d after the previous step's planned end.
	next := func(d time.Duration, act ...chromedp.Action) {
		at += d
		end := at
		a = append(a, act...)
		a = append(a, chromedp.ActionFunc(func(context.Context) error {
			time.Sleep(time.Until(t0.Add(end)))
			return nil
		}))
	}
	x, y := 100.0, 100.0
	move := func(tx, ty float64, d time.Duration) {
		steps := int(d / (16 * time.Millisecond))
		fx, fy := x, y
		for i := 1; i <= steps; i++ {
			next(16*time.Millisecond, chromedp.MouseEvent(input.MouseMoved, fx+(tx-fx)*float64(i)/float64(steps), fy+(ty-fy)*float64(i)/float64(steps)))
		}
		x, y = tx, ty
	}
	wait := func(d time.Duration) { next(d) }
	wheel := func(dy float64, n int) {
		for i := 0; i < n; i++ {
			next(120*time.Millisecond, chromedp.ActionFunc(func(ctx context.Context) error {
				return input.DispatchMouseEvent(input.MouseWheel, x, y).WithDeltaX(0).WithDeltaY(dy).Do(ctx)
			}))
		}
	}
	click := func(sel string) { next(300*time.Millisecond, chromedp.Click(sel, chromedp.ByQuery)) }
	typeSlow := func(sel, text string) {
		next(600*time.Millisecond, chromedp.Click(sel, chromedp.ByQuery)) // to the field
		for _, r := range text {
			next(180*time.Millisecond, chromedp.SendKeys(sel, string(r), chromedp.ByQuery))
		}
		wait(700 * time.Millisecond) // a look at what was typed
	}
	// leave reads on until the page's planned end, then follows a link (sel)
	// or, without one, goes back.
	leave := func(name string, end time.Duration, sel string) {
		const go_ = 800 * time.Millisecond
		if at+go_ > end {
			panic(fmt.Sprintf("visit script: %s takes until %v, planned to end at %v", name, at+go_, end))
		}
		wait(end - go_ - at)
		if sel == "" {
			next(go_, chromedp.NavigateBack())
			return
		}
		next(go_, chromedp.ActionFunc(func(context.Context) error { collect(); return nil }), chromedp.Click(sel, chromedp.ByQuery), chromedp.WaitReady("body", chromedp.ByQuery))
	}

	a = append(a, chromedp.ActionFunc(func(context.Context) error { t0 = time.Now(); return nil }))
	// Home: 0:00–0:20.
	next(time.Second, chromedp.Navigate(home))
	move(300, 250, 1500*time.Millisecond)
	move(700, 300, 2*time.Second)
	move(200, 600, 2*time.Second)
	wheel(120, 12)
	move(640, 420, 1500*time.Millisecond) // over the feature cards
	wait(3 * time.Second)
	move(500, 400, 1500*time.Millisecond)
	wheel(-120, 12)
	move(260, 300, time.Second)
	leave("home", 20*time.Second, "#shop-now")

	// Shop: 0:20–1:00.
	move(400, 120, time.Second)
	click(`[data-filter="light"]`)
	wait(2 * time.Second)
	click(`[data-filter="dark"]`)
	wait(2 * time.Second)
	click(`[data-filter="all"]`)
	next(time.Second, chromedp.SetValue("#sort", "price-asc", chromedp.ByQuery), chromedp.Evaluate(`document.getElementById('sort').dispatchEvent(new Event('change', {bubbles: true}))`, nil))
	move(300, 500, 2*time.Second)
	move(900, 500, 3*time.Second)
	click(`#products [data-add]`)
	wait(1500 * time.Millisecond)
	click(`#products li:nth-child(3) [data-add]`)
	wheel(120, 8)
	move(600, 350, 1500*time.Millisecond)
	click(`#products [data-details]`)
	wait(3 * time.Second)
	next(500*time.Millisecond, chromedp.KeyEvent("\u001b"))
	move(700, 450, 1500*time.Millisecond)
	click(`#products li:nth-child(4) [data-details]`)
	wait(3 * time.Second)
	next(500*time.Millisecond, chromedp.KeyEvent("\u001b"))
	wheel(-120, 8)
	move(300, 300, 2*time.Second) // along the products
	click("#cart-button")
	wait(3 * time.Second)
	click("#cart-button")
	move(700, 40, 2*time.Second)
	leave("shop", time.Minute, `a[href="/account.html"]`)

	// Account: 1:00–1:30.
	move(400, 250, time.Second)
	wait(1500 * time.Millisecond) // reads the form
	typeSlow("#name", "Ada Lovelace")
	typeSlow("#email", "ada@example.com")
	typeSlow("#password", "correct horse")
	typeSlow("#phone", "5550100")
	next(time.Second, chromedp.SetValue("#country", "gb", chromedp.ByQuery), chromedp.Click(`input[name="brew"][value="espresso"], input[name="brew"]:not(:checked)`, chromedp.ByQuery))
	typeSlow("#notes", "Medium grind please")
	click("#newsletter")
	move(420, 620, time.Second)
	click("#submit")
	leave("account", 90*time.Second, `a[href="/app/"]`)

	// Dashboard: 1:30–2:00 (overview, orders, settings, back to orders).
	wait(2 * time.Second)
	move(300, 400, 2*time.Second)
	move(520, 560, 1500*time.Millisecond) // over the chart
	wait(2 * time.Second)
	click(`a[href="/app/orders"]`)
	move(500, 400, time.Second)
	wheel(60, 10)
	wait(3 * time.Second)
	wheel(-60, 5)
	move(640, 300, 1500*time.Millisecond)
	click(`a[href="/app/settings"]`)
	click("#pause")
	next(time.Second, chromedp.SetValue("#grind", "espresso", chromedp.ByQuery), chromedp.Evaluate(`document.getElementById('grind').dispatchEvent(new Event('change', {bubbles: true}))`, nil))
	typeSlow("#nickname", "Ada")
	leave("settings", 111*time.Second, "")
	move(200, 200, 2*time.Second)
	wheel(60, 6)
	wait(3 * time.Second)
	move(450, 330, 1500*time.Millisecond)
	if at > 2*time.Minute {
		panic(fmt.Sprintf("visit script: the dashboard takes until %v", at))
	}
	wait(2*time.Minute - at)
	return a
}

// overheads formats the recorders' costs over the page without one: each
// mode's median minus the no-recorder median, their ratios, and the same
// ratios from minimums beside them. Medians are the figure: on a shared
// machine a single fast run of one mode moves a minimum-based ratio by 2x
// from one run to the next, while medians of 15 stay within a few percent.
// Last, the floor under any recorder built on a MutationObserver with our
// options: an observer that does nothing, and one that reads each record
// once, over rrweb's overhead.
func overheads(v map[string][]float64) string {
	none, o, r, rj := median(v["none"]), median(v["ours"]), median(v["rrweb"]), median(v["rrwebjson"])
	mn, mo, mr, mrj := minimum(v["none"]), minimum(v["ours"]), minimum(v["rrweb"]), minimum(v["rrwebjson"])
	e, rd := median(v["empty"]), median(v["read"])
	return fmt.Sprintf("%.1f | %.1f | %.1f | **%.2f** | **%.2f** | %.2f, %.2f | %.2f, %.2f", o-none, r-none, rj-none, (o-none)/(r-none), (o-none)/(rj-none), (mo-mn)/(mr-mn), (mo-mn)/(mrj-mn), (e-none)/(r-none), (rd-none)/(r-none))
}
