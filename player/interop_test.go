package player

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// npmDir holds rrweb, installed by `npm ci --prefix testdata/npm` (make
// test runs it). rrweb is a comparison peer for tests only.
const npmDir = "../testdata/npm/node_modules"

// serveNPM serves the rrweb packages and test pages on ts.
func serveNPM(t testing.TB, ts *testServer, pages map[string]string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(npmDir, "rrweb", "dist", "rrweb.umd.min.cjs")); err != nil {
		t.Fatalf("rrweb is not installed (%v): run `npm ci --prefix testdata/npm` (make test does)", err)
	}
	files := http.StripPrefix("/npm/", http.FileServer(http.Dir(npmDir)))
	ts.mux.HandleFunc("/npm/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		files.ServeHTTP(w, r)
	})
	ts.mux.HandleFunc("/rec/", func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[strings.TrimPrefix(r.URL.Path, "/rec/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(body))
	})
}

// normDOM is a JavaScript function that describes a document's body for
// comparison: elements with id, classes (without the player's hover and
// focus classes), form values, and text, one node per line. Scripts (never
// recorded) are left out.
const normDOM = `function normDOM(doc) {
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
			if (tag === 'script' || tag === 'noscript' || tag === 'style' || tag === 'link') continue;
			let line = tag + (c.id ? '#' + c.id : '');
			const cls = [...c.classList].filter((k) => !/^(replay-|rr-|:hover)/.test(k)).sort();
			if (cls.length) line += '.' + cls.join('.');
			if (tag === 'input' || tag === 'textarea' || tag === 'select') line += ' value=' + JSON.stringify(c.value) + (c.checked ? ' checked' : '');
			if (c.getAttribute('style')) line += ' style=' + JSON.stringify(c.style.cssText);
			lines.push(' '.repeat(depth) + line);
			walk(c, depth + 1);
		}
	};
	walk(doc.body, 0);
	return lines.join('\n');
}`

// recordedPage is a page recorded with rrweb's own recorder: scripted
// changes at known moments, each followed by a snapshot of the live DOM.
const recordedPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>rrweb recorded</title>
<style>body{font:16px sans-serif;margin:20px} .done{text-decoration:line-through} .big{font-size:30px} li{padding:4px}</style>
<script src="/npm/@rrweb/record/dist/record.umd.min.cjs"></script>
</head><body>
<h1 id="title">Todo</h1>
<input id="new" placeholder="What to do?">
<ul id="list"><li>first</li><li class="x">second</li></ul>
<p id="status">idle</p>
<div style="height:1500px"></div>
<script>
` + normDOM + `
window.events = [];
window.snaps = [];
rrwebRecord.record({ emit(e) { window.events.push(e); } });
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
async function snap() { await wait(250); window.snaps.push({ ts: Date.now(), dom: normDOM(document), scroll: document.scrollingElement.scrollTop }); await wait(250); }
window.script = async () => {
	await snap();
	const input = document.getElementById('new');
	input.focus();
	for (const ch of 'buy milk') { input.value += ch; input.dispatchEvent(new Event('input', { bubbles: true })); await wait(20); }
	await snap();
	const li = document.createElement('li'); li.textContent = input.value; li.id = 'added';
	document.getElementById('list').append(li);
	input.value = ''; input.dispatchEvent(new Event('input', { bubbles: true }));
	await snap();
	document.querySelector('#list li').classList.add('done');
	document.getElementById('title').classList.add('big');
	document.getElementById('status').textContent = 'edited';
	await snap();
	document.querySelector('#list .x').remove();
	document.getElementById('title').style.color = 'rgb(200, 0, 0)';
	await snap();
	window.scrollTo(0, 300);
	await wait(300);
	await snap();
	for (let i = 0; i < 20; i++) { const n = document.createElement('li'); n.textContent = 'item ' + i; document.getElementById('list').prepend(n); }
	document.querySelector('#list li:last-child').remove();
	await snap();
	return true;
};
</script></body></html>`

type domSnap struct {
	TS     int64
	DOM    string
	Scroll float64
}

func TestImportsRrwebRecording(t *testing.T) {
	ts := newTestServer(t)
	serveNPM(t, ts, map[string]string{"page.html": recordedPage})
	ctx, _ := browser(t, 90*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1200, 800), chromedp.Navigate(ts.URL+"/rec/page.html"))
	evalAsync(t, ctx, `window.script()`, nil)
	var events json.RawMessage
	var snaps []domSnap
	eval(t, ctx, `window.events`, &events)
	eval(t, ctx, `window.snaps`, &snaps)
	// rrweb starts with DomContentLoaded and Load events (types 0 and 1)
	// when it records from before the page loaded, as a page including it
	// in its head does; this page started it later, so they are added.
	var raw []json.RawMessage
	if err := json.Unmarshal(events, &raw); err != nil || len(raw) == 0 {
		t.Fatalf("rrweb's events: %v", err)
	}
	var ts0 struct{ Timestamp int64 }
	json.Unmarshal(raw[0], &ts0)
	loaded := []json.RawMessage{
		json.RawMessage(fmt.Sprintf(`{"type":0,"data":{},"timestamp":%d}`, ts0.Timestamp-20)),
		json.RawMessage(fmt.Sprintf(`{"type":1,"data":{},"timestamp":%d}`, ts0.Timestamp-10)),
	}
	events, _ = json.Marshal(append(loaded, raw...))
	file := filepath.Join(t.TempDir(), "rrweb-recording.json")
	if err := os.WriteFile(file, events, 0o644); err != nil {
		t.Fatal(err)
	}
	var first struct {
		Timestamp int64
	}
	var all []struct {
		Type      int
		Timestamp int64
	}
	json.Unmarshal(events, &all)
	last := all[len(all)-1].Timestamp
	for _, e := range all {
		if e.Type == 2 {
			first.Timestamp = e.Timestamp
			break
		}
	}

	// Import it through the UI's file picker.
	run(t, ctx, chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `document.querySelector('.empty')`, 5*time.Second)
	run(t, ctx, chromedp.SetUploadFiles(`input[type=file]`, []string{file}, chromedp.ByQuery))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('import') && document.querySelector('.replay-screen')?.dataset.loaded === '1' && document.querySelector('.replay-screen').dataset.state !== 'loading'`, 10*time.Second)
	var crumb string
	eval(t, ctx, `document.querySelector('.crumbs .current').textContent`, &crumb)
	if crumb != "rrweb-recording.json" {
		t.Errorf("breadcrumb %q", crumb)
	}
	// One page per address: rrweb's DomContentLoaded and Load events,
	// before its first Meta, are not a page of their own.
	run(t, ctx, chromedp.Click(`//button[@role='tab'][contains(., 'Details')]`, chromedp.BySearch))
	var details string
	eval(t, ctx, `document.querySelector('.details')?.innerText || document.body.innerText`, &details)
	if !regexp.MustCompile(`Pages\s+1\b`).MatchString(details) {
		t.Errorf("details of the imported recording (one page):\n%s", details)
	}
	run(t, ctx, chromedp.Click(`//button[@role='tab'][contains(., 'Events')]`, chromedp.BySearch))
	eval(t, ctx, normDOM, nil)
	for i, s := range snaps {
		sec := float64(s.TS-first.Timestamp) / 1000
		eval(t, ctx, fmt.Sprintf(`history.pushState(null, '', '?import=i1&t=%g'); dispatchEvent(new PopStateEvent('popstate'))`, sec), nil)
		// Moments after the last event show the end.
		want := min(sec*1000, float64(last-first.Timestamp))
		waitJS(t, ctx, fmt.Sprintf(`Math.abs(document.querySelector('.replay-screen').dataset.time - %g) < 1`, want), 3*time.Second)
		var got domSnap
		eval(t, ctx, `(() => { const d = document.querySelector('.replay-frame').contentDocument; return {DOM: normDOM(d), Scroll: d.scrollingElement.scrollTop} })()`, &got)
		if got.DOM != s.DOM {
			t.Errorf("moment %d (%.3fs): rebuilt DOM differs from the live DOM\n--- live\n%s\n--- replay\n%s", i, sec, s.DOM, got.DOM)
		}
		if got.Scroll != s.Scroll {
			t.Errorf("moment %d: scroll %v, live %v", i, got.Scroll, s.Scroll)
		}
	}
	// Export the imported recording back: the same events.
	var exported int
	evalAsync(t, ctx, `(async () => {
		let blob;
		const orig = URL.createObjectURL;
		URL.createObjectURL = (b) => { blob = b; return orig(b); };
		document.evaluate("//header//button[contains(., 'Export')]", document, null, 9).singleNodeValue.click();
		URL.createObjectURL = orig;
		return JSON.parse(await blob.text()).length;
	})()`, &exported)
	if exported != len(all) {
		t.Errorf("export of the import has %d events, want %d", exported, len(all))
	}
}

// rrwebReplayPage plays a recording in rrweb's own Replayer.
const rrwebReplayPage = `<!doctype html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="/npm/rrweb/dist/style.css">
<script src="/npm/rrweb/dist/rrweb.umd.min.cjs"></script>
</head><body><div id="root"></div>
<script>
` + normDOM + `
window.load = async (url) => {
	const events = await (await fetch(url)).json();
	window.replayer = new rrweb.Replayer(events, { root: document.getElementById('root'), mouseTail: false, showWarning: false, skipInactive: false });
	window.start = events[0].timestamp;
	return events.length;
};
window.at = (ts) => {
	window.replayer.pause(ts - window.start);
	const d = window.replayer.iframe.contentDocument;
	return { DOM: normDOM(d), Scroll: d.scrollingElement ? d.scrollingElement.scrollTop : -1 };
};
</script></body></html>`

func TestExportPlaysInRrwebReplayer(t *testing.T) {
	ts := newTestServer(t)
	serveNPM(t, ts, map[string]string{"rrweb.html": rrwebReplayPage})
	views, _, _ := shopSession()
	putSession(t, ts.store, shopID, views, nil)
	ctx, _ := browser(t, 60*time.Second)
	// rrweb's Replayer, fed our export.
	rr := ctx
	run(t, rr, chromedp.Navigate(ts.URL+"/rec/rrweb.html"))
	var n int
	evalAsync(t, rr, `window.load('/replay/api/sessions/`+shopID+`/export')`, &n)
	if n != 20 {
		t.Fatalf("rrweb loaded %d events, want 20", n)
	}
	theirs := map[float64]domSnap{}
	for _, m := range shopMoments {
		var s domSnap
		eval(t, rr, fmt.Sprintf(`window.at(%d)`, t0+1+int64(m.sec*1000)), &s)
		theirs[m.sec] = s
	}
	// Ours, in the same browser.
	run(t, ctx, chromedp.Navigate(ts.url("session="+shopID+"&t=0")))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.loaded === '1' && document.querySelector('.replay-screen').dataset.state === 'paused'`, 10*time.Second)
	eval(t, ctx, normDOM, nil)
	for _, m := range shopMoments {
		seekTo(t, ctx, shopID, m.sec)
		waitJS(t, ctx, fmt.Sprintf(`Math.abs(document.querySelector('.replay-screen').dataset.time - %g) < 1`, m.sec*1000), 3*time.Second)
		var ours domSnap
		eval(t, ctx, `(() => { const d = document.querySelector('.replay-frame').contentDocument; return {DOM: normDOM(d), Scroll: d.scrollingElement.scrollTop} })()`, &ours)
		if ours.DOM != theirs[m.sec].DOM || ours.Scroll != theirs[m.sec].Scroll {
			t.Errorf("at %gs rrweb's Replayer and ours differ\n--- rrweb (scroll %v)\n%s\n--- ours (scroll %v)\n%s", m.sec, theirs[m.sec].Scroll, theirs[m.sec].DOM, ours.Scroll, ours.DOM)
		}
	}
}

// sheetState describes the stylesheets a rebuilt document applies: the
// colours they give #t and #late, and the links left to load.
const sheetState = `(d) => JSON.stringify({
	t: getComputedStyle(d.getElementById('t')).color,
	late: getComputedStyle(d.getElementById('late')).color,
	links: [...d.querySelectorAll('link')].map((l) => new URL(l.getAttribute('href'), location.href).search),
	dom: normDOM(d),
})`

// A session whose second view names the first view's stylesheet texts
// (rr_css) plays the same in rrweb's Replayer, given our export, as in
// ours: the recorded CSS applies in both, and neither loads the live
// stylesheet the links point at.
func TestExportWithStylesheetTextsPlaysInRrwebReplayer(t *testing.T) {
	ts := newTestServer(t)
	serveNPM(t, ts, map[string]string{"rrweb.html": rrwebReplayPage})
	var live sync.Map // query -> hits
	ts.mux.HandleFunc("/live.css", func(w http.ResponseWriter, r *http.Request) {
		n, _ := live.LoadOrStore(r.URL.RawQuery, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		w.Header().Set("Content-Type", "text/css")
		// What the site serves now, not what was recorded: the links that
		// name a recorded text must never load it; late links load it until
		// their text arrives.
		switch r.URL.RawQuery {
		case "two":
			w.Write([]byte("#t,#late{color:rgb(200, 0, 0)}"))
		case "late", "late2":
			w.Write([]byte("#late{color:rgb(200, 0, 0)}"))
		}
	})
	putSession(t, ts.store, sheetID, sheetSession(ts.URL), nil)
	// Moments: view one before and after its late link loaded, view two
	// before and after its late link named a text.
	moments := []float64{0.2, 1.0, 2.2, 2.8}
	want := []struct {
		t, late string
		links   []string
	}{
		{"rgb(1, 2, 3)", "rgb(200, 0, 0)", []string{"?late"}},
		{"rgb(1, 2, 3)", "rgb(4, 5, 6)", nil},
		{"rgb(1, 2, 3)", "rgb(200, 0, 0)", []string{"?lost", "?late2"}},
		{"rgb(1, 2, 3)", "rgb(4, 5, 6)", []string{"?lost"}},
	}
	// Links load asynchronously: wait for them before describing.
	const loaded = `[...d.querySelectorAll('link')].every((l) => l.sheet)`
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.Navigate(ts.URL+"/rec/rrweb.html"))
	var n int
	evalAsync(t, ctx, `window.load('/replay/api/sessions/`+sheetID+`/export')`, &n)
	if n != 10 {
		t.Fatalf("rrweb loaded %d events, want 10", n)
	}
	theirs := make([]string, len(moments))
	for i, sec := range moments {
		evalAsync(t, ctx, fmt.Sprintf(`(async () => {
			window.replayer.pause(%d);
			const d = window.replayer.iframe.contentDocument;
			for (let i = 0; i < 100 && !(%s); i++) await new Promise((r) => setTimeout(r, 30));
			return (%s)(d);
		})()`, int64(sec*1000), loaded, sheetState), &theirs[i])
	}
	run(t, ctx, chromedp.Navigate(ts.url("session="+sheetID+"&t=0")))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.loaded === '1' && document.querySelector('.replay-screen').dataset.state === 'paused'`, 10*time.Second)
	eval(t, ctx, normDOM, nil)
	for i, sec := range moments {
		seekTo(t, ctx, sheetID, sec)
		waitJS(t, ctx, fmt.Sprintf(`Math.abs(document.querySelector('.replay-screen').dataset.time - %g) < 1`, sec*1000), 3*time.Second)
		waitJS(t, ctx, `(() => { const d = document.querySelector('.replay-frame').contentDocument; return `+loaded+` })()`, 3*time.Second)
		var ours string
		eval(t, ctx, `(`+sheetState+`)(document.querySelector('.replay-frame').contentDocument)`, &ours)
		if ours != theirs[i] {
			t.Errorf("at %gs rrweb's Replayer and ours differ\n--- rrweb\n%s\n--- ours\n%s", sec, theirs[i], ours)
		}
		var got struct {
			T, Late string
			Links   []string
		}
		json.Unmarshal([]byte(ours), &got)
		if got.T != want[i].t || got.Late != want[i].late {
			t.Errorf("at %gs #t is %s and #late %s, want %s and %s (the recorded CSS)", sec, got.T, got.Late, want[i].t, want[i].late)
		}
		if fmt.Sprint(got.Links) != fmt.Sprint(want[i].links) {
			t.Errorf("at %gs links %v left to load, want %v", sec, got.Links, want[i].links)
		}
	}
	live.Range(func(q, n any) bool {
		if q == "two" {
			t.Errorf("the live stylesheet %q loaded %d times: a recorded text was not used", q, n.(*atomic.Int64).Load())
		}
		return true
	})
}
