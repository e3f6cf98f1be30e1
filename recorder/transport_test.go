package recorder

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

var stepName = regexp.MustCompile(`^\w+$`)

// act runs window.act.<step>() (or any expression) in the tab.
func act(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	var ignored any
	if stepName.MatchString(js) {
		js = "window.act." + js + "()"
	}
	if err := eval(ctx, js, &ignored); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.uploads)
}

func (c *collector) set(f func(c *collector)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

func (c *collector) snapshot() []*upload {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*upload(nil), c.uploads...)
}

// testTransport checks delivery when the collector fails, refuses, is
// slow to accept, is unreachable, or when the page goes away.
func testTransport(t *testing.T, h *harness, b *browser) {
	t.Run("5xx and 408 then 200: no loss, no duplicate", func(t *testing.T) {
		h.coll.reset()
		h.coll.set(func(c *collector) { c.script = []int{500, 408, 503} })
		live, replay := b.tab(t), b.ctx
		h.open(t, live, "/basic.html?privacy=allow")
		act(t, live, "reorder")
		act(t, live, "appendMany")
		h.roundTrip(t, live, replay, "allow", "after 500s")
		ups := h.coll.snapshot()
		if ups[0].Status != 500 || ups[1].Status != 408 || ups[2].Status != 503 || ups[3].Status != 200 {
			t.Errorf("statuses %d %d %d %d, want 500 408 503 200", ups[0].Status, ups[1].Status, ups[2].Status, ups[3].Status)
		}
		for i := 1; i <= 3; i++ {
			if ups[i].Seq != 0 || ups[i].Vid != ups[0].Vid {
				t.Errorf("upload %d is seq %d, want a retry of seq 0", i, ups[i].Seq)
			}
		}
		ok := map[string]int{}
		for _, u := range ups {
			if u.Status == 200 {
				ok[fmt.Sprintf("%s/%s/%d", u.Sid, u.Vid, u.Seq)]++
			}
		}
		for k, n := range ok {
			if n != 1 {
				t.Errorf("segment %s accepted %d times", k, n)
			}
		}
	})

	t.Run("a segment closes at about 60 KB compressed", func(t *testing.T) {
		h.coll.reset()
		live := b.tab(t)
		// No timed flush: only size closes segments here.
		h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 600000, tick: 100}`))
		sid, _ := ids(t, live)
		// Markup like a product list (ids, prices and names vary), about 5:1
		// compressed, as DOM events usually are: about 20 KB compressed a task.
		for i := 0; i < 14; i++ {
			act(t, live, `(() => { const w = () => Math.random().toString(36).slice(2, 2 + 3 + Math.floor(Math.random() * 6)); const ul = document.createElement('ul'); for (let j = 0; j < 400; j++) { const li = document.createElement('li'); li.className = 'item item-' + (j % 7); li.dataset.sku = Math.random().toString(16).slice(2, 10); li.innerHTML = '<a href="/p/' + w() + '">' + w() + ' ' + w() + '</a> <span class="price">' + (Math.random() * 100).toFixed(2) + '</span>'; ul.append(li); } document.body.append(ul); return new Promise((r) => setTimeout(r, 20)); })()`)
		}
		waitFor(t, 10*time.Second, "segments closed by size", func() bool { return h.coll.count() >= 4 }) // the snapshot's, then three by size
		var sizes []int
		for _, u := range h.coll.snapshot() {
			// The full snapshot's segment leaves at once, whatever its size.
			if u.Sid == sid && u.Status == 200 && !u.Full {
				sizes = append(sizes, u.Wire)
				// A segment closes after the event that takes it past 60 KB
				// (a 400-item mutation here, about 20 KB compressed).
				if u.Wire > 100000 || u.Wire < 40000 {
					t.Errorf("segment %d: %d bytes compressed, want 60 KB and its last event", u.Seq, u.Wire)
				}
			}
		}
		t.Logf("compressed segment sizes: %v", sizes)
	})

	t.Run("offline then online", func(t *testing.T) {
		h.coll.reset()
		live, replay := b.tab(t), b.ctx
		h.open(t, live, "/basic.html?privacy=allow")
		flush(t, live)
		before := h.coll.count()
		if err := chromedp.Run(live, network.Enable(), network.EmulateNetworkConditions(true, 0, -1, -1)); err != nil {
			t.Fatal(err)
		}
		act(t, live, "textEdits")
		act(t, live, "attrChurn")
		time.Sleep(800 * time.Millisecond) // several retries fail meanwhile
		if n := h.coll.count(); n != before {
			t.Fatalf("%d uploads arrived while offline", n-before)
		}
		if err := chromedp.Run(live, network.EmulateNetworkConditions(false, 0, -1, -1)); err != nil {
			t.Fatal(err)
		}
		h.roundTrip(t, live, replay, "allow", "back online")
	})

	t.Run("navigation and pagehide deliver the last events", func(t *testing.T) {
		h.coll.reset()
		live := b.tab(t)
		// No timer flush: only leaving the page can deliver what was
		// recorded after the snapshot (whose segment leaves at once).
		h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 600000, tick: 100}`))
		sid, vid := ids(t, live)
		act(t, live, `document.body.append('NAVIGATION-MARKER')`)
		time.Sleep(300 * time.Millisecond)
		for _, u := range h.coll.snapshot() {
			if strings.Contains(string(u.Body), "NAVIGATION-MARKER") {
				t.Fatalf("segment %d uploaded with the marker before leaving the page", u.Seq)
			}
		}
		if err := chromedp.Run(live, chromedp.Navigate(h.url("/frame-inner2.html"))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the last segment", func() bool {
			for _, u := range h.coll.snapshot() {
				if strings.Contains(string(u.Body), "NAVIGATION-MARKER") {
					return true
				}
			}
			return false
		})
		if _, err := h.coll.events(sid, vid); err != nil {
			t.Errorf("view not complete after the navigation: %v", err)
		}
		h.coll.checkProblems(t)
	})

	t.Run("pagehide sends beacons", func(t *testing.T) {
		h.coll.reset()
		live := b.tab(t)
		h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 600000, tick: 100}`))
		sid, vid := ids(t, live)
		// pagehide without beforeunload (as when a tab is discarded or
		// closed from outside): nothing was compressed, everything goes in
		// beacons, JSON with enc=identity.
		act(t, live, `document.body.append('PAGEHIDE-MARKER'); dispatchEvent(new PageTransitionEvent('pagehide', {persisted: false}))`)
		var last *upload
		waitFor(t, 15*time.Second, "the beacons", func() bool {
			for _, u := range h.coll.snapshot() {
				if strings.Contains(string(u.Body), "PAGEHIDE-MARKER") {
					last = u
					return true
				}
			}
			return false
		})
		if last.Enc != "identity" || last.ContentEncoding != "" {
			t.Errorf("pagehide segment sent with enc=%q Content-Encoding %q, want a beacon with enc=identity", last.Enc, last.ContentEncoding)
		}
		if _, err := h.coll.events(sid, vid); err != nil {
			t.Errorf("view not complete after pagehide: %v", err)
		}
		h.coll.checkProblems(t)
	})

	t.Run("a visitor who leaves at once leaves the snapshot", func(t *testing.T) {
		h.coll.reset()
		live := b.tab(t)
		// The shipped flush delay: a segment stays open for 5 s, and at
		// pagehide the snapshot's ~150 KB of JSON would be more than a
		// beacon can carry (the whole view was lost).
		h.open(t, live, "/long.html?privacy=allow&timing="+urlq(`{flush: 5000, tick: 1000}`))
		sid, vid := ids(t, live)
		time.Sleep(300 * time.Millisecond)
		if err := chromedp.Run(live, chromedp.Navigate(h.url("/basic.html?privacy=allow"))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the first view's snapshot", func() bool {
			evs, err := h.coll.events(sid, vid)
			return err == nil && len(evs) > 1
		})
		h.coll.checkProblems(t)
	})

	t.Run("429 Retry-After is honoured", func(t *testing.T) {
		h.coll.reset()
		h.coll.set(func(c *collector) { c.script = []int{429}; c.retry = "1" })
		live := b.tab(t)
		h.open(t, live, "/basic.html?privacy=allow")
		waitFor(t, 15*time.Second, "the retry after 429", func() bool { return h.coll.count() >= 2 })
		ups := h.coll.snapshot()
		if gap := ups[1].At.Sub(ups[0].At); gap < 950*time.Millisecond || gap > 4*time.Second {
			t.Errorf("retry %v after the 429 with Retry-After: 1 (retry base is 100 ms)", gap)
		}
		if ups[1].Seq != ups[0].Seq || ups[1].Status != 200 {
			t.Errorf("second upload seq %d status %d, want a successful retry of seq %d", ups[1].Seq, ups[1].Status, ups[0].Seq)
		}
	})

	t.Run("collector down: page unaffected, recording resumes", func(t *testing.T) {
		h.coll.reset()
		live, replay := b.tab(t), b.ctx
		con := watch(live)
		h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 200, retryBase: 50, retryMax: 300, tick: 100, queueLength: 4}`))
		flush(t, live)
		// The page keeps working hard while the collector is down: DOM
		// changes every 20 ms and a frame-rate probe.
		type probe struct {
			Ticks   int      `json:"ticks"`
			MaxGap  float64  `json:"maxGap"`
			Paused  []string `json:"paused"`
			MaxQ    int      `json:"maxQ"`
			Message string   `json:"message"`
		}
		js := `new Promise((done) => {
			const out = {ticks: 0, maxGap: 0, paused: [], maxQ: 0};
			let last = performance.now();
			const frame = (t) => { out.maxGap = Math.max(out.maxGap, t - last); last = t; if (!out.end) requestAnimationFrame(frame); };
			requestAnimationFrame(frame);
			const iv = setInterval(() => {
				out.ticks++;
				const d = document.createElement('div'); d.textContent = 'tick ' + out.ticks; document.body.appendChild(d);
				document.getElementById('box').setAttribute('data-t', out.ticks);
				const s = window.__replayTestHooks.state();
				if (s.paused && !out.paused.includes(s.paused)) out.paused.push(s.paused);
				out.maxQ = Math.max(out.maxQ, s.queue);
			}, 20);
			setTimeout(() => { clearInterval(iv); out.end = true; done(out); }, 2000);
		})`
		// The same work with the collector up first: what the machine
		// allows the page. A loaded machine ran it 24 to 27 times in 2 s
		// with the collector down and up alike, so the page's work while
		// down is held to what it was while up, not to a fixed figure.
		var base, res probe
		if err := eval(live, js, &base); err != nil {
			t.Fatal(err)
		}
		h.coll.set(func(c *collector) { c.down = true })
		if err := eval(live, js, &res); err != nil {
			t.Fatal(err)
		}
		t.Logf("page work in 2 s: %d times (longest frame %.0f ms) with the collector up, %d (%.0f ms) down", base.Ticks, base.MaxGap, res.Ticks, res.MaxGap)
		if res.Ticks < min(40, base.Ticks*2/3) {
			t.Errorf("page work ran %d times in 2 s while the collector was down, %d while it was up", res.Ticks, base.Ticks)
		}
		if res.MaxGap > max(500, 2*base.MaxGap) {
			t.Errorf("a frame took %.0f ms while the collector was down (%.0f ms at most while it was up)", res.MaxGap, base.MaxGap)
		}
		if res.MaxQ > 4 {
			t.Errorf("upload queue grew to %d (bound 4)", res.MaxQ)
		}
		// The queue fills as fast as segments close and retries fail, which
		// on a loaded machine can take longer than the 2 s above.
		if len(res.Paused) == 0 {
			waitFor(t, 15*time.Second, "a pause for the full queue", func() bool {
				if p := state(t, live).Paused; p != "" {
					res.Paused = append(res.Paused, p)
					return true
				}
				return false
			})
		}
		if len(res.Paused) == 0 || res.Paused[0] != "queue" {
			t.Errorf("recorder states while down: %v, want a pause for the full queue", res.Paused)
		}
		up := time.Now()
		h.coll.set(func(c *collector) { c.down = false })
		waitForRecording(t, live)
		act(t, live, "reorder")
		h.roundTrip(t, live, replay, "allow", "after the collector came back")
		resumed := false
		for _, u := range h.coll.snapshot() {
			if u.Status == 200 && u.Full && u.At.After(up) {
				resumed = true
			}
		}
		if !resumed {
			t.Errorf("no full snapshot after the pause")
		}
		sid, _ := ids(t, live)
		replayable(t, h, sid)
		if _, exc := con.Snapshot(); len(exc) > 0 {
			t.Errorf("exceptions in the page: %v", exc)
		}
	})

	t.Run("after a segment the full queue dropped, only a full snapshot follows", func(t *testing.T) {
		h.coll.reset()
		live, replay := b.tab(t), b.ctx
		h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 200, retryBase: 50, retryMax: 300, tick: 100}`))
		flush(t, live)
		sid, first := ids(t, live)
		h.coll.set(func(c *collector) { c.down = true })
		// A small segment waits in the queue, retried while the collector is down...
		act(t, live, `document.body.append(Object.assign(document.createElement('p'), {textContent: 'waiting'}))`)
		waitFor(t, 15*time.Second, "a segment in the queue", func() bool { return state(t, live).Queue >= 1 })
		// ...then one over the queue's 4 MB: 30 text nodes of 200,000
		// random characters (the cap on one text node), about 4.5 MB
		// compressed. It is dropped and capture pauses. The pause's own
		// segment (replay/paused) would fit, but what follows the dropped
		// segment cannot be replayed without it: it must be dropped too.
		act(t, live, bigText)
		waitFor(t, 15*time.Second, "a pause for the full queue", func() bool { return state(t, live).Paused == "queue" })
		// The page drops the big nodes while capture is paused (the next
		// snapshot stays small) and the collector comes back.
		act(t, live, `document.querySelectorAll('.big').forEach((n) => n.remove())`)
		time.Sleep(300 * time.Millisecond) // time for the pause's segment to be compressed and queued (or dropped)
		h.coll.set(func(c *collector) { c.down = false })
		waitForRecording(t, live)
		_, resumed := ids(t, live)
		if resumed == first {
			t.Errorf("capture resumed in view %s, the view whose segments were dropped; want a new view", first)
		}
		act(t, live, "reorder")
		h.roundTrip(t, live, replay, "allow", "after the dropped segment")
		replayable(t, h, sid)
		for _, u := range h.coll.views(sid)[first] {
			for _, e := range u.Events {
				if strings.Contains(string(e), `"replay/paused"`) {
					t.Errorf("segment %d, after the dropped one, was delivered: %.200s", u.Seq, e)
				}
			}
		}

		// With the queue empty, a segment is queued whatever its size (the
		// collector is the judge): capture neither pauses nor stalls.
		n0 := h.coll.count()
		act(t, live, bigText)
		flush(t, live)
		if s := state(t, live); s.Paused != "" || !s.Recording {
			t.Errorf("after a lone 4.5 MB segment: %+v, want recording", s)
		}
		big := false
		for _, u := range h.coll.snapshot()[n0:] {
			big = big || u.Status == 200 && u.Wire > 4e6
		}
		if !big {
			t.Errorf("the lone 4.5 MB segment was not delivered")
		}
		replayable(t, h, sid)
	})

	t.Run("a refused full snapshot stops recording instead of taking another", func(t *testing.T) {
		h.coll.reset()
		// The collector refuses the first segment (the full snapshot) as
		// too large: a new snapshot of the same page would be refused too,
		// so the recorder stops for this page rather than upload snapshot
		// after snapshot.
		h.coll.set(func(c *collector) { c.script = []int{413} })
		live := b.tab(t)
		h.open(t, live, "/basic.html?privacy=allow")
		waitFor(t, 15*time.Second, "the refused upload", func() bool { return h.coll.count() >= 1 })
		waitFor(t, 5*time.Second, "the recorder to stop", func() bool { return state(t, live).Halted })
		act(t, live, "appendMany")
		time.Sleep(700 * time.Millisecond)
		if n := h.coll.count(); n != 1 {
			t.Errorf("%d uploads after the refused full snapshot, want none", n-1)
		}
	})

	t.Run("413 drops the segment and resumes with a full snapshot", func(t *testing.T) {
		h.coll.reset()
		h.coll.set(func(c *collector) { c.script = []int{200, 413} })
		live, replay := b.tab(t), b.ctx
		h.open(t, live, "/basic.html?privacy=allow")
		flush(t, live)
		_, first := ids(t, live)
		act(t, live, "reorder")
		flush(t, live)
		act(t, live, "textEdits")
		h.roundTrip(t, live, replay, "allow", "after 413")
		full := false
		for _, u := range h.coll.snapshot() {
			if u.Status == 200 && u.Full && u.Vid != first {
				full = true
			}
		}
		if !full {
			t.Errorf("no full snapshot (in a new view) after the refused segment")
		}
		sid, _ := ids(t, live)
		replayable(t, h, sid)
	})

	t.Run("a refused segment takes the queued ones after it along", func(t *testing.T) {
		live, replay := b.tab(t), b.ctx
		// Segments pile up while the collector is down; when it is back it
		// refuses the first of them: those queued after it follow a
		// segment the replay will never have, and must not be delivered.
		sid, first := h.pileUp(t, live)
		h.coll.set(func(c *collector) { c.down, c.script = false, []int{400} })
		waitFor(t, 15*time.Second, "a new view", func() bool {
			_, vid := ids(t, live)
			return vid != first
		})
		waitForRecording(t, live)
		act(t, live, "reorder")
		h.roundTrip(t, live, replay, "allow", "after the refused segment")
		refused := -1
		for _, u := range h.coll.snapshot() {
			if u.Status == 400 {
				refused = u.Seq
			}
		}
		for _, u := range h.coll.views(sid)[first] {
			if u.Seq > refused {
				t.Errorf("segment %d of the view was delivered after segment %d was refused", u.Seq, refused)
			}
		}
		replayable(t, h, sid)
	})

	t.Run("403 stops recording", func(t *testing.T) {
		h.coll.reset()
		h.coll.set(func(c *collector) { c.script = []int{403} })
		live := b.tab(t)
		h.open(t, live, "/basic.html?privacy=allow")
		waitFor(t, 15*time.Second, "the refused upload", func() bool { return h.coll.count() >= 1 })
		act(t, live, "appendMany")
		time.Sleep(700 * time.Millisecond)
		if n := h.coll.count(); n != 1 {
			t.Errorf("%d uploads after a 403, want none after it", n-1)
		}
	})

	t.Run("410 starts a new session", func(t *testing.T) {
		h.coll.reset()
		h.coll.set(func(c *collector) { c.script = []int{410} })
		live, replay := b.tab(t), b.ctx
		h.open(t, live, "/basic.html?privacy=allow")
		waitFor(t, 15*time.Second, "the refused upload", func() bool { return h.coll.count() >= 1 })
		first := h.coll.snapshot()[0].Sid
		waitFor(t, 15*time.Second, "a new session", func() bool {
			sid, _ := ids(t, live)
			return sid != first
		})
		act(t, live, "reorder")
		h.roundTrip(t, live, replay, "allow", "new session")
	})

	t.Run("410 with more of the session queued starts one new session", func(t *testing.T) {
		live, replay := b.tab(t), b.ctx
		// Segments pile up while the collector is down; meanwhile the
		// session is deleted, so each of them is answered 410.
		first, _ := h.pileUp(t, live)
		h.coll.set(func(c *collector) { c.down, c.gone = false, first })
		waitFor(t, 15*time.Second, "a new session", func() bool {
			sid, _ := ids(t, live)
			return sid != first
		})
		act(t, live, "reorder")
		h.roundTrip(t, live, replay, "allow", "one new session")
		sid, _ := ids(t, live)
		refused, sessions := 0, map[string]bool{}
		for _, u := range h.coll.snapshot() {
			if u.Status == 410 {
				refused++
			} else if u.Sid != first {
				sessions[u.Sid] = true
			}
		}
		if refused < 3 || len(sessions) != 1 || !sessions[sid] {
			t.Errorf("after %d segments refused with 410, uploads in %d new sessions (%v), want only the tab's %s", refused, len(sessions), sessions, sid)
		}
	})
}

// bigText adds 30 elements (class big) of 200,000 random characters each:
// about 4.5 MB once compressed.
const bigText = `(() => {
	const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
	for (let i = 0; i < 30; i++) {
		const d = document.createElement('div');
		d.className = 'big';
		d.textContent = Array.from({length: 200000}, () => abc[(Math.random() * 64) | 0]).join('');
		document.body.append(d);
	}
})()`

// pileUp opens a page in tab live with short timers, and with the
// collector down makes it close segments until at least three wait in its
// queue. It returns the session and view ids; the collector stays down.
func (h *harness) pileUp(t *testing.T, live context.Context) (sid, vid string) {
	t.Helper()
	h.coll.reset()
	h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 200, retryBase: 50, retryMax: 300, tick: 100}`))
	flush(t, live)
	sid, vid = ids(t, live)
	h.coll.set(func(c *collector) { c.down = true })
	for i := 0; i < 4; i++ {
		act(t, live, "reorder")
		time.Sleep(250 * time.Millisecond)
	}
	waitFor(t, 15*time.Second, "segments in the queue", func() bool { return state(t, live).Queue >= 3 })
	return sid, vid
}

// waitForRecording waits for capture to resume after a pause.
func waitForRecording(t *testing.T, ctx context.Context) {
	t.Helper()
	waitFor(t, 15*time.Second, "recording to resume", func() bool {
		s := state(t, ctx)
		return s.Paused == "" && s.Recording
	})
}

// replayable checks that every view of the session can be replayed: a
// segment missing from a view is followed by a full snapshot or by nothing.
func replayable(t *testing.T, h *harness, sid string) {
	t.Helper()
	for vid := range h.coll.views(sid) {
		if _, err := h.coll.events(sid, vid); err != nil {
			t.Error(err)
		}
	}
}

func urlq(s string) string {
	r := strings.NewReplacer(" ", "%20", "{", "%7B", "}", "%7D", ":", "%3A", ",", "%2C")
	return r.Replace(s)
}
