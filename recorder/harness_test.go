package recorder

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
	"github.com/caddy-replay/caddy-replay/jsbundle"
	"github.com/caddy-replay/caddy-replay/replaycore"
)

// upload is one request the test collector received.
type upload struct {
	Sid, Vid             string
	Seq                  int
	Start, End           int64
	Full                 bool
	N, Raw               int
	Enc, ContentEncoding string
	ClientToken          string // the ct parameter
	Events               []json.RawMessage
	Body                 []byte // decompressed
	Wire                 int    // bytes on the wire (the body as sent)
	Status               int    // what the collector answered
	At                   time.Time
}

// collector is the test's ingest endpoint: it decompresses and validates
// every upload against docs/FORMAT.md, keeps them in memory and answers
// what the test scripted.
type collector struct {
	mu       sync.Mutex
	uploads  []*upload          // every request, in arrival order
	stored   map[string]*upload // accepted segments by sid/vid/seq
	dupes    int                // accepted requests for a segment already stored
	problems []string           // format violations
	script   []int              // statuses to answer next (then 200)
	ignored  map[string]bool    // sessions of earlier subtests (their tabs' last beacons)
	retry    string             // Retry-After sent with 429/503
	down     bool               // close connections without answering
	gone     string             // a deleted session: its uploads are answered 410
}

func newCollector() *collector {
	return &collector{stored: map[string]*upload{}, ignored: map[string]bool{}}
}

func (c *collector) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	down := c.down
	c.mu.Unlock()
	if down {
		// A collector that is down: the connection closes without a response.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	u := &upload{Sid: q.Get("sid"), Vid: q.Get("vid"), Enc: q.Get("enc"), ContentEncoding: r.Header.Get("Content-Encoding"), At: time.Now()}
	u.ClientToken = q.Get("ct")
	u.Seq, _ = strconv.Atoi(q.Get("seq"))
	u.Start, _ = strconv.ParseInt(q.Get("start"), 10, 64)
	u.End, _ = strconv.ParseInt(q.Get("end"), 10, 64)
	u.Full = q.Get("full") == "1"
	u.N, _ = strconv.Atoi(q.Get("n"))
	u.Raw, _ = strconv.Atoi(q.Get("raw"))
	raw, _ := io.ReadAll(r.Body)
	u.Wire = len(raw)
	body := raw
	enc := u.ContentEncoding
	if enc == "" {
		enc = u.Enc
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ignored[u.Sid] {
		// A tab of an earlier subtest closing: not part of this test.
		io.WriteString(w, `{"ok":true}`)
		return
	}
	if q.Get("v") != "1" {
		c.problem("v=%q", q.Get("v"))
	}
	for _, id := range []string{u.Sid, u.Vid} {
		if !validID(id) {
			c.problem("bad id %q", id)
		}
	}
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			c.problem("seq %d: gzip: %v", u.Seq, err)
		}
	case "identity":
	default:
		c.problem("seq %d: no encoding (Content-Encoding %q, enc %q)", u.Seq, u.ContentEncoding, u.Enc)
	}
	u.Body = body
	if err := json.Unmarshal(body, &u.Events); err != nil {
		c.problem("seq %d: body is not a JSON array: %v", u.Seq, err)
	}
	if len(u.Events) != u.N {
		c.problem("seq %d: n=%d but %d events", u.Seq, u.N, len(u.Events))
	}
	if len(body) != u.Raw {
		c.problem("seq %d: raw=%d but %d bytes", u.Seq, u.Raw, len(body))
	}
	var types []int
	full := false
	for i, e := range u.Events {
		var ev struct {
			Type      int   `json:"type"`
			Timestamp int64 `json:"timestamp"`
			Data      struct {
				Tag string `json:"tag"`
			} `json:"data"`
		}
		json.Unmarshal(e, &ev)
		if i == 2 && ev.Type == 5 && ev.Data.Tag == "replay/user" {
			// A view starts Meta, replay/view, replay/user when a user
			// is set, FullSnapshot (docs/FORMAT.md).
			types = append(types, -1)
		} else {
			types = append(types, ev.Type)
		}
		if ev.Type == 2 {
			full = true
		}
		if i == 0 && ev.Timestamp != u.Start {
			c.problem("seq %d: start=%d, first event %d", u.Seq, u.Start, ev.Timestamp)
		}
		if i == len(u.Events)-1 && ev.Timestamp != u.End {
			c.problem("seq %d: end=%d, last event %d", u.Seq, u.End, ev.Timestamp)
		}
	}
	if full != u.Full {
		c.problem("seq %d: full=%v but full snapshot present=%v", u.Seq, u.Full, full)
	}
	head := types
	if len(head) > 2 && head[2] == -1 {
		head = append(head[:2:2], head[3:]...)
	}
	if u.Seq == 0 && (len(head) < 3 || head[0] != 4 || head[1] != 5 || head[2] != 2) {
		c.problem("seq 0 of view %s does not start Meta, replay/view, [replay/user,] FullSnapshot: %v", u.Vid, types)
	}
	status := http.StatusOK
	if len(c.script) > 0 {
		status, c.script = c.script[0], c.script[1:]
	}
	if c.gone != "" && u.Sid == c.gone {
		status = http.StatusGone
	}
	u.Status = status
	c.uploads = append(c.uploads, u)
	w.Header().Set("Content-Type", "application/json")
	if status != http.StatusOK {
		if c.retry != "" && (status == 429 || status == 503) {
			w.Header().Set("Retry-After", c.retry)
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"error":"scripted","message":"test"}`)
		return
	}
	key := fmt.Sprintf("%s/%s/%d", u.Sid, u.Vid, u.Seq)
	if _, ok := c.stored[key]; ok {
		c.dupes++
		io.WriteString(w, `{"ok":true,"duplicate":true}`)
		return
	}
	c.stored[key] = u
	io.WriteString(w, `{"ok":true}`)
}

func validID(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// views returns the stored segments of a session grouped by view, each in seq order.
func (c *collector) views(sid string) map[string][]*upload {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]*upload{}
	for _, u := range c.stored {
		if u.Sid == sid {
			out[u.Vid] = append(out[u.Vid], u)
		}
	}
	for _, l := range out {
		sort.Slice(l, func(i, j int) bool { return l[i].Seq < l[j].Seq })
	}
	return out
}

// events returns a view's stored events in order. After a gap (a segment
// the collector never stored, e.g. refused with 413) the recording resumes
// at the next full snapshot, as a player would.
func (c *collector) events(sid, vid string) ([]json.RawMessage, error) {
	segs := c.views(sid)[vid]
	var evs []json.RawMessage
	next := 0
	for _, s := range segs {
		if s.Seq != next {
			if !s.Full {
				return nil, fmt.Errorf("view %s: segment %d missing and %d has no full snapshot", vid, next, s.Seq)
			}
			evs = nil
			if t := firstMeta(s.Events); t > 0 {
				s = &upload{Events: s.Events[t:], Seq: s.Seq}
			}
		}
		evs = append(evs, s.Events...)
		next = s.Seq + 1
	}
	if len(segs) == 0 || segs[0].Seq != 0 && !segs[0].Full {
		return nil, fmt.Errorf("view %s: no segments from a full snapshot", vid)
	}
	return evs, nil
}

// firstMeta is the index of the first Meta event (type 4) in evs, or 0.
func firstMeta(evs []json.RawMessage) int {
	for i, e := range evs {
		var ev struct {
			Type int `json:"type"`
		}
		json.Unmarshal(e, &ev)
		if ev.Type == 4 {
			return i
		}
	}
	return 0
}

func (c *collector) allBodies() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]byte
	for _, u := range c.uploads {
		out = append(out, u.Body)
	}
	return out
}

func (c *collector) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range c.uploads {
		c.ignored[u.Sid] = true
	}
	c.uploads, c.stored, c.dupes, c.problems, c.script, c.retry, c.down, c.gone = nil, map[string]*upload{}, 0, nil, nil, "", false, ""
}

func (c *collector) checkProblems(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.problems {
		t.Errorf("upload violates docs/FORMAT.md: %s", p)
	}
}

// harness serves fixture pages with the recorder, the replay page and the collector.
type harness struct {
	srv    *httptest.Server
	coll   *collector
	bundle *Bundle
	rc     *jsbundle.Asset
	// timing overrides the recorder's timers in every page (window.__replayTestHooks.timing).
	timing string
}

const defaultTiming = `{flush: 300, retryBase: 100, retryMax: 1000, tick: 100, mouseBatch: 100, canvasFrame: 100}`

// testBuild is the recorder built with its test hooks
// (window.__replayTestHooks: timers, clock, internals), which only these
// tests use; Load's bundle, the one the proxy serves, has none.
var testBuild = sync.OnceValues(func() (*Bundle, error) { return build(false, true) })

func newHarness(t testing.TB) *harness {
	t.Helper()
	b, err := testBuild()
	if err != nil {
		t.Fatal(err)
	}
	entry := fstest.MapFS{"entry.js": {Data: []byte("import * as RC from 'replaycore/index.js'; window.ReplayCore = RC;")}}
	rc, err := jsbundle.Build(jsbundle.Options{FS: entry, Entry: "entry.js", Name: "replaycore", Packages: map[string]fs.FS{"replaycore": replaycore.FS}, NoMinify: true})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{coll: newCollector(), bundle: b, rc: rc, timing: defaultTiming}
	mux := http.NewServeMux()
	mux.Handle("/__replay/"+b.Script.Name, b.Script)
	mux.Handle("/__replay/v1/segments", h.coll)
	mux.Handle("/replaycore.js", rc)
	mux.HandleFunc("/replay.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, replayPage)
	})
	mux.HandleFunc("/tone.wav", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeContent(w, r, "tone.wav", time.Time{}, bytes.NewReader(toneWAV(3)))
	})
	mux.HandleFunc("/testdata-normalize.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, normalizeSrc)
	})
	// Every stored event of a session, all views (for the stylesheets they carry).
	mux.HandleFunc("/test/session-events", func(w http.ResponseWriter, r *http.Request) {
		var all []json.RawMessage
		for vid := range h.coll.views(r.URL.Query().Get("sid")) {
			evs, _ := h.coll.events(r.URL.Query().Get("sid"), vid)
			all = append(all, evs...)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(all)
	})
	mux.HandleFunc("/test/events", func(w http.ResponseWriter, r *http.Request) {
		evs, err := h.coll.events(r.URL.Query().Get("sid"), r.URL.Query().Get("vid"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(evs)
	})
	mux.HandleFunc("/", h.serveFixture)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

// serveFixture serves testdata files; HTML gets the recorder tag (with
// data- attributes from the query string) where it says <!--RECORDER-->.
func (h *harness) serveFixture(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	data, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch filepath.Ext(name) {
	case ".html", ".xhtml":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if filepath.Ext(name) == ".xhtml" {
			w.Header().Set("Content-Type", "application/xhtml+xml")
		}
		data = bytes.Replace(data, []byte("<!--RECORDER-->"), []byte(h.tag(r)), 1)
		if v := r.URL.Query().Get("csp"); v != "" {
			w.Header().Set("Content-Security-Policy", v) // a page's own policy (hostile_page_test.go)
		}
	case ".css":
		w.Header().Set("Content-Type", "text/css")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	case ".png":
		w.Header().Set("Content-Type", "image/png")
	case ".wav":
		w.Header().Set("Content-Type", "audio/wav")
	}
	w.Write(data)
}

func (h *harness) tag(r *http.Request) string {
	var b strings.Builder
	timing := h.timing
	if v := r.URL.Query().Get("timing"); v != "" {
		timing = v
	}
	fmt.Fprintf(&b, `<script>%s%s</script>`, testHooks(timing), workerSpy)
	if r.URL.Query().Has("notag") {
		return b.String()
	}
	// async="": an XHTML page is XML, where an attribute has a value.
	fmt.Fprintf(&b, `<script async="" src="/__replay/%s"`, h.bundle.Script.Name)
	keys := []string{}
	for k := range r.URL.Query() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "timing" {
			continue
		}
		fmt.Fprintf(&b, ` data-%s="%s"`, k, html.EscapeString(r.URL.Query().Get(k)))
	}
	if !r.URL.Query().Has("start") {
		b.WriteString(` data-start="auto"`)
	}
	b.WriteString(`></script>`)
	return b.String()
}

func (h *harness) url(path string) string { return h.srv.URL + path }

// testHooks is window.__replayTestHooks for a page: the recorder's timings
// (timing, a JS object), the test clock (window.__clockOffset), and once
// the recorder started (it then sets i, its internals):
//
//	flush()  closes the open segment (what is pending included) and
//	         resolves once everything recorded until now was answered by
//	         the collector (or dropped), whatever is recorded meanwhile
//	view()   the current view's id ('' before the recorder started)
//	state()  {paused, recording, queue (segments waiting), halted}
func testHooks(timing string) string {
	return `window.__replayTestHooks = {timing: ` + timing + `, offset: () => window.__clockOffset || 0,
	flush() {
		const [tick, leaving, close, pending] = this.i;
		tick();
		leaving();
		close();
		const mine = pending();
		return new Promise((resolve) => {
			const check = () => (mine.some((s) => pending().includes(s)) ? setTimeout(check, 20) : resolve(true));
			check();
		});
	},
	view() { return this.i ? this.i[4]() : ''; },
	state() { const [paused, recording, queue, halted] = this.i[5](); return {paused, recording, queue, halted}; },
};`
}

// workerSpy notes every Worker the page starts (window.__workers: its URL,
// the messages it answered, its errors), so tests can check that segments
// are compressed in the recorder's worker and not on the main thread.
const workerSpy = `window.__workers = []; (() => {
	const W = window.Worker;
	if (!W) return; // a page without workers (recorder/testdata/js/hostile.js)
	window.Worker = function (url, opts) {
		const w = new W(url, opts);
		const rec = {url: String(url), replies: 0, errors: 0};
		window.__workers.push(rec);
		w.addEventListener('message', () => rec.replies++);
		w.addEventListener('error', () => rec.errors++);
		return w;
	};
})();`

const replayPage = `<!doctype html><html><head><meta charset=utf-8>
<style>body{margin:0} iframe{border:0;display:block}</style>
<script src="/replaycore.js"></script><script src="/testdata-normalize.js"></script></head>
<body>
<script>
window.warnings = [];
async function settle(doc) {
  const t0 = Date.now();
  while (Date.now() - t0 < 3000) {
    const imgs = Array.from(doc.images || []);
    if (imgs.every((i) => i.complete)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // ReplayCore draws a canvas frame when an Image of it has loaded, and
  // that image is not among the page's: on a loaded machine the two frames
  // below passed before it did and the canvas read blank. The frame shown
  // meanwhile (the canvas's content animation) names the image: load it
  // here too, then let the rebuilder's own load handler run.
  const urls = new Set();
  for (const c of doc.querySelectorAll('canvas')) {
    for (const a of c.getAnimations()) {
      for (const k of a.effect.getKeyframes()) {
        const m = /^url\("(.*)"\)$/.exec(k.content || '');
        if (m) urls.add(m[1]);
      }
    }
  }
  await Promise.all([...urls].map((u) => { const i = new Image(); i.src = u; return i.decode().catch(() => {}); }));
  await new Promise((r) => setTimeout(r, 0));
  try { await doc.fonts.ready; } catch (e) {}
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}
function norm(rb, doc, privacy) {
  return __normalize(doc, {replay: true, privacy, isPlaceholder: (el) => rb._placeholders.has(el), isOwnSheet: ReplayCore.isReplaySheet, unrecorded: (d) => rb.idOf(d) < 0});
}
// frame replaces the iframe #id with a fresh sandboxed one.
function frame(id) {
  const old = document.getElementById(id);
  if (old) old.remove();
  const f = document.createElement('iframe');
  f.id = id;
  f.setAttribute('sandbox', 'allow-same-origin');
  f.width = 1280;
  f.height = 800;
  document.body.appendChild(f);
  return f;
}
// rebuild applies a view's events into #f, checks a checkpoint restored into #g
// gives the same document, and returns both normalizations. The stylesheets
// of the session's other views come from sheetsURL, as a player gets them.
async function rebuild(url, privacy, sheetsURL) {
  window.warnings = [];
  const res = await fetch(url);
  if (!res.ok) throw new Error(await res.text());
  const events = await res.json();
  const stylesheets = ReplayCore.collectStylesheets(await (await fetch(sheetsURL)).json());
  const f = frame('f'), g = frame('g');
  const rb = new ReplayCore.Rebuilder(f.contentDocument, {stylesheets, onWarning: (m) => warnings.push(m)});
  for (const e of events) {
    rb.apply(e);
    if (e.type === 4) { f.width = e.data.width; f.height = e.data.height; g.width = e.data.width; g.height = e.data.height; }
  }
  await settle(f.contentDocument);
  const a = norm(rb, f.contentDocument, privacy);
  const cp = structuredClone(rb.checkpoint());
  const rb2 = new ReplayCore.Rebuilder(g.contentDocument, {stylesheets, onWarning: (m) => warnings.push('restore: ' + m)});
  rb2.restore(cp);
  await settle(g.contentDocument);
  const b = norm(rb2, g.contentDocument, privacy);
  return {replay: a, restored: b, warnings, events: events.length};
}
</script></body></html>`

// norm is the normalizer's output.
type norm struct {
	Dom    string `json:"dom"`
	Forms  string `json:"forms"`
	Scroll string `json:"scroll"`
	Media  string `json:"media"`
}

var normalizeSrc = func() string {
	b, err := os.ReadFile(filepath.Join("testdata", "normalize.js"))
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// eval runs js in the tab and decodes its (awaited) result into out.
func eval(ctx context.Context, js string, out any) error {
	return chromedp.Run(ctx, chromedp.Evaluate(js, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// browser is one Chromium shared by a test's subtests; each subtest gets
// its own browser context (cookies, storage) through tab.
type browser struct {
	ctx      context.Context
	contexts sync.Map // tab context -> browser context id
}

// newBrowser starts the Chromium TestRecorder's subtests share. The
// deadline only stops a hung browser: on a loaded two-core machine the
// subtests took just over three minutes together, and a deadline of
// three failed every subtest after it instead of letting them finish.
func newBrowser(t *testing.T) *browser { return newBrowserFor(t, 10*time.Minute) }

// newBrowserFor starts Chromium for at most d.
func newBrowserFor(t *testing.T, d time.Duration) *browser {
	return &browser{ctx: browsertest.New(t, d)}
}

// TestMain drops chromedp's log lines about CDP events newer than it
// (e.g. DOM.topLayerElementsUpdated): they say nothing about the tests and
// would bury their output.
func TestMain(m *testing.M) {
	log.SetOutput(quietLog{os.Stderr})
	os.Exit(m.Run())
}

type quietLog struct{ w io.Writer }

func (q quietLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("unhandled node event")) {
		return len(p), nil
	}
	return q.w.Write(p)
}

// tab opens a tab in a fresh browser context (its own cookies and storage).
func (b *browser) tab(t *testing.T) context.Context {
	t.Helper()
	var bc cdp.BrowserContextID
	err := chromedp.Run(b.ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		bc, err = target.CreateBrowserContext().WithDisposeOnDetach(true).Do(cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser))
		return err
	}))
	if err != nil {
		t.Fatalf("creating a browser context: %v", err)
	}
	return b.open(t, bc)
}

// open creates a tab in browser context bc.
func (b *browser) open(t *testing.T, bc cdp.BrowserContextID) context.Context {
	t.Helper()
	var id target.ID
	err := chromedp.Run(b.ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		id, err = target.CreateTarget("about:blank").WithBrowserContextID(bc).WithNewWindow(true).Do(cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser))
		return err
	}))
	if err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
	t.Cleanup(cancel)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("attaching to a tab: %v", err)
	}
	b.contexts.Store(ctx, bc)
	return ctx
}

// sibling opens another tab in the same browser context as ctx (shared cookies).
func (b *browser) sibling(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	bc, _ := b.contexts.Load(ctx)
	return b.open(t, bc.(cdp.BrowserContextID))
}

// watch collects a tab's console and exceptions.
func watch(ctx context.Context) *browsertest.Console { return browsertest.WatchConsole(ctx) }

// open navigates a tab to a fixture and waits until the recorder has started.
func (h *harness) open(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Navigate(h.url(path))); err != nil {
		t.Fatal(err)
	}
	var ok bool
	if err := eval(ctx, `new Promise((res) => { const t0 = Date.now(); (function w() { if (window.__replayTestHooks && window.__replayTestHooks.view && window.__replayTestHooks.view()) res(true); else if (Date.now() - t0 > 5000) res(false); else setTimeout(w, 10); })(); })`, &ok); err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("%s: the recorder did not start", path)
	}
}

// flush waits until everything the page recorded so far was uploaded.
func flush(t *testing.T, ctx context.Context) {
	t.Helper()
	var ok bool
	// Layout (scroll anchoring, image loads) settles first: its scroll events belong to this step.
	if err := eval(ctx, `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 50)))).then(() => window.__replayTestHooks.flush())`, &ok); err != nil {
		t.Fatal(err)
	}
}

// recorderState is window.__replayTestHooks.state().
type recorderState struct {
	Paused    string `json:"paused"`
	Recording bool   `json:"recording"`
	Queue     int    `json:"queue"`
	Halted    bool   `json:"halted"`
}

func state(t *testing.T, ctx context.Context) recorderState {
	t.Helper()
	var s recorderState
	if err := eval(ctx, `window.__replayTestHooks.state()`, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// ids returns the tab's session and current view ids.
func ids(t *testing.T, ctx context.Context) (sid, vid string) {
	t.Helper()
	var r []string
	if err := eval(ctx, `[SessionReplay.getSessionId(), window.__replayTestHooks.view()]`, &r); err != nil {
		t.Fatal(err)
	}
	return r[0], r[1]
}

// roundTrip flushes the recording of tab live, normalizes the live
// document, rebuilds the view from the collector in tab replay, and
// compares: DOM, form values and scroll positions, for the rebuilt
// document and for one restored from a checkpoint.
func (h *harness) roundTrip(t *testing.T, live, replay context.Context, privacy, step string) {
	t.Helper()
	t0 := time.Now()
	defer func() {
		if os.Getenv("RT_DEBUG") != "" {
			t.Logf("%s: round trip %v", step, time.Since(t0))
		}
	}()
	// The live document is normalized in the same task in which the
	// recorder takes its pending records: page timers cannot change it in
	// between.
	var want norm
	if err := eval(live, normalizeSrc+fmt.Sprintf(`;new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 50)))).then(() => {
		const want = __normalize(document, {privacy: %q});
		return window.__replayTestHooks.flush().then(() => want);
	})`, privacy), &want); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("RT_DEBUG") != "" {
		t.Logf("%s: flush %v", step, time.Since(t0))
	}
	sid, vid := ids(t, live)
	var loaded bool
	if err := eval(replay, `typeof rebuild === 'function'`, &loaded); err != nil || !loaded {
		if err := chromedp.Run(replay, chromedp.Navigate(h.url("/replay.html"))); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("RT_DEBUG") != "" {
		t.Logf("%s: live normalized + navigated %v", step, time.Since(t0))
	}
	var got struct {
		Replay   norm     `json:"replay"`
		Restored norm     `json:"restored"`
		Warnings []string `json:"warnings"`
		Events   int      `json:"events"`
	}
	if err := eval(replay, fmt.Sprintf("rebuild('/test/events?sid=%s&vid=%s', %q, '/test/session-events?sid=%s')", sid, vid, privacy, sid), &got); err != nil {
		t.Fatalf("%s: rebuild: %v", step, err)
	}
	if os.Getenv("RT_DEBUG") == "2" {
		t.Logf("%s: %d events\n%s\n---\n%s\n%s", step, got.Events, got.Replay.Dom, got.Replay.Forms, got.Replay.Scroll)
	}
	compare(t, step+": rebuilt DOM", want.Dom, got.Replay.Dom)
	compare(t, step+": rebuilt form values", want.Forms, got.Replay.Forms)
	compare(t, step+": rebuilt scroll positions", want.Scroll, got.Replay.Scroll)
	compare(t, step+": restored DOM", want.Dom, got.Restored.Dom)
	compare(t, step+": restored form values", want.Forms, got.Restored.Forms)
	compare(t, step+": restored scroll positions", want.Scroll, got.Restored.Scroll)
	compare(t, step+": rebuilt canvas and media", want.Media, got.Replay.Media)
	compare(t, step+": restored canvas and media", want.Media, got.Restored.Media)
	for _, w := range got.Warnings {
		t.Errorf("%s: replaycore warning: %s", step, w)
	}
	h.coll.checkProblems(t)
}

// linePairs pairs the lines of two texts, the shorter padded with "".
func linePairs(a, b string) [][2]string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	pairs := make([][2]string, max(len(al), len(bl)))
	for i := range pairs {
		if i < len(al) {
			pairs[i][0] = al[i]
		}
		if i < len(bl) {
			pairs[i][1] = bl[i]
		}
	}
	return pairs
}

// compare reports the first differing lines of two normalizations.
func compare(t *testing.T, what, want, got string) {
	t.Helper()
	if want == got {
		return
	}
	wl := strings.Split(want, "\n")
	for i, l := range linePairs(want, got) {
		if w, g := l[0], l[1]; w != g {
			lo := max(0, i-3)
			t.Errorf("%s differs at line %d:\n live:    %s\n rebuilt: %s\n(context, live:)\n%s", what, i+1, w, g, strings.Join(wl[lo:min(len(wl), i+4)], "\n"))
			return
		}
	}
}

// toneWAV returns seconds of a quiet 8 kHz mono 8-bit tone as a WAV file.
func toneWAV(seconds int) []byte {
	const rate = 8000
	n := rate * seconds
	var b bytes.Buffer
	le := func(v uint32, size int) {
		for i := 0; i < size; i++ {
			b.WriteByte(byte(v >> (8 * i)))
		}
	}
	b.WriteString("RIFF")
	le(uint32(36+n), 4)
	b.WriteString("WAVEfmt ")
	le(16, 4)
	le(1, 2) // PCM
	le(1, 2) // mono
	le(rate, 4)
	le(rate, 4) // byte rate
	le(1, 2)    // block align
	le(8, 2)    // bits per sample
	b.WriteString("data")
	le(uint32(n), 4)
	for i := 0; i < n; i++ {
		if (i/8)%2 == 0 {
			b.WriteByte(130)
		} else {
			b.WriteByte(126)
		}
	}
	return b.Bytes()
}
