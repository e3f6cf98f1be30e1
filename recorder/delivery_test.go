package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// beforeLoad runs js in every document the tab loads from now on, before
// the page's own scripts (and the recorder) run.
func beforeLoad(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(js).Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
}

// TestTransportWithoutCompression records in a browser without
// CompressionStream (Safari before 16.4, Firefox before 113), where
// segments go as JSON (enc=identity), on a page in Japanese: three bytes a
// character. A segment of 30,000 characters is 90 KB: sent with fetch
// keepalive, which browsers refuse over 64 KB, it failed on every retry,
// for ever, and nothing after it was delivered. Segments close at about
// 60 KB as they do compressed (they reached 360 KB of characters, over a
// MB of UTF-8, past the collector's 1 MiB limit).
func TestTransportWithoutCompression(t *testing.T) {
	h := newHarness(t)
	b := newBrowserFor(t, 3*time.Minute)
	live := b.tab(t)
	beforeLoad(t, live, `delete window.CompressionStream`)
	// No timed flush: only size closes segments here.
	h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 600000, retryBase: 100, retryMax: 1000, tick: 100}`))
	sid, vid := ids(t, live)
	// Everything recorded until now is answered within 20 s (the
	// keepalive request was refused and retried for ever).
	delivered := func(what string) {
		t.Helper()
		wait, cancel := context.WithTimeout(live, 20*time.Second)
		defer cancel()
		var ok bool
		if err := eval(wait, `window.__replayTestHooks.flush()`, &ok); err != nil {
			s := state(t, live)
			t.Fatalf("%s: the uploads did not end (%v): %d segments still queued, %d requests received", what, err, s.Queue, h.coll.count())
		}
	}
	// 30,000 characters in one text, in a segment of its own: 90 KB of
	// UTF-8 in 30,000 characters.
	act(t, live, `document.getElementById('box').textContent = '日本語のテキスト'.repeat(3750)`)
	delivered("a 90 KB segment")
	// Then 240,000 characters more in 40 tasks (6,000 each): 720 KB in all.
	for i := 0; i < 40; i++ {
		act(t, live, `(() => { const p = document.createElement('p'); p.textContent = 'お問い合わせ'.repeat(1000); document.body.append(p); return new Promise((r) => setTimeout(r, 5)); })()`)
	}
	delivered("720 KB of events")
	h.coll.checkProblems(t)
	var sizes []int
	for _, u := range h.coll.snapshot() {
		sizes = append(sizes, u.Wire)
		if u.Enc != "identity" {
			t.Errorf("segment %d sent with enc=%q, want identity (no CompressionStream)", u.Seq, u.Enc)
		}
		if u.Status != 200 {
			t.Errorf("segment %d answered %d", u.Seq, u.Status)
		}
		// A segment closes at about 60 KB, estimated from the characters
		// per byte of the segment before: after the ASCII snapshot the
		// first is 60,000 characters, 180 KB of Japanese (it was 360,000,
		// over 1 MB), the next ones 60 KB, plus the event that took each
		// past it.
		if !u.Full && u.Wire > 200000 {
			t.Errorf("segment %d is %d bytes, want about 60 KB", u.Seq, u.Wire)
		}
	}
	t.Logf("segment sizes: %v", sizes)
	if _, err := h.coll.events(sid, vid); err != nil {
		t.Error(err)
	}
	all := string(joinBodies(h.coll.allBodies()))
	if n := strings.Count(all, "お問い合わせ"); n < 40000 {
		t.Errorf("%d of 40,000 texts delivered", n)
	}
}

func joinBodies(b [][]byte) []byte {
	var out []byte
	for _, x := range b {
		out = append(out, x...)
	}
	return out
}

// TestSessionSamplingRates checks that Go's Sampled reads rates as the
// recorder does (docs/FORMAT.md: over 100 is 100, negative is 0, not a
// number is 100), first against ids chosen for their hash, then against
// the decisions the recorder wrote into its cookie for rates given as
// data- attributes. Go multiplied the raw rates: 150 × 50 sampled 75% of
// sessions where the recorder samples 50%, NaN none where it samples all.
func TestSessionSamplingRates(t *testing.T) {
	// An id whose hash mod 10000 is in [5000, 7500): sampled at 75%, not at 50%.
	var id string
	for i := 0; id == ""; i++ {
		s := fmt.Sprintf("probe-%d-0123456789", i)
		if h := fnv32(s) % 10000; h >= 5000 && h < 7500 {
			id = s
		}
	}
	for _, c := range []struct {
		rate, replay float64
		want         bool
	}{{150, 50, false}, {100, 50, false}, {100, 150, true}, {math.NaN(), 100, true}, {math.NaN(), 50, false}, {-10, -10, false}, {-10, 100, false}, {math.Inf(1), 80, true}} {
		if got := Sampled(id, c.rate, c.replay); got != c.want {
			t.Errorf("Sampled(%s (hash %d), %v, %v) = %v, want %v", id, fnv32(id)%10000, c.rate, c.replay, got, c.want)
		}
	}

	h := newHarness(t)
	b := newBrowserFor(t, 3*time.Minute)
	live := b.tab(t)
	bc, _ := b.contexts.Load(live)
	for _, c := range []struct {
		attrs        string
		rate, replay float64
	}{{"sample-rate=150&replay-sample-rate=50", 150, 50}, {"sample-rate=abc&replay-sample-rate=50", math.NaN(), 50}, {"sample-rate=33.3&replay-sample-rate=33.3", 33.3, 33.3}, {"sample-rate=-5&replay-sample-rate=-5", -5, -5}} {
		for i := 0; i < 6; i++ {
			// A new visitor each time: no cookie, a new session.
			if err := chromedp.Run(live, chromedp.ActionFunc(func(ctx context.Context) error {
				return storage.ClearCookies().WithBrowserContextID(bc.(cdp.BrowserContextID)).Do(cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser))
			})); err != nil {
				t.Fatal(err)
			}
			h.navigate(t, live, "/basic.html?start=manual&"+c.attrs)
			ck := cookie(t, live)
			if ck == nil {
				t.Fatal("no session cookie")
			}
			s, ok := ParseCookie(ck.Value)
			if !ok {
				t.Fatalf("cookie %q does not parse", ck.Value)
			}
			if want := Sampled(s.ID, c.rate, c.replay); s.Sampled != want {
				t.Errorf("%s: session %s (hash %d): the recorder sampled=%v, Go Sampled()=%v", c.attrs, s.ID, fnv32(s.ID)%10000, s.Sampled, want)
			}
		}
	}
}

// fnv32 is FNV-1a (32 bit) of s's bytes.
func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// randomText is a script adding a div of n random characters (6 bits of
// entropy each: about 0.75 n bytes once compressed) and closing the
// segment, so that each call makes one segment of known size.
func randomText(n int) string {
	return fmt.Sprintf(`(() => {
	const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
	const d = document.createElement('div');
	d.textContent = Array.from({length: %d}, () => abc[(Math.random() * 64) | 0]).join('');
	document.body.append(d);
	return new Promise((r) => setTimeout(r, 0)).then(() => window.__replayTestHooks.i[2]());
})()`, n)
}

// TestTransportPagehideWithinTheKeepaliveQuota leaves a page while an
// upload is in flight: the browser allows 64 KB of keepalive requests in
// flight in all, beacons included, and the in-flight upload holds part of
// it. A beacon over what is left is refused (sendBeacon returns false); the
// recorder then tried the same with fetch keepalive, refused too (its
// promise rejects later), counted it as sent and took its size off its own
// budget, so a smaller segment after it, which fitted, was not even tried,
// and was lost.
func TestTransportPagehideWithinTheKeepaliveQuota(t *testing.T) {
	h := newHarness(t)
	b := newBrowserFor(t, 3*time.Minute)
	// Large uploads are answered after 3 s: the one in flight at pagehide
	// still is.
	live := b.tab(t)
	h.openSlow(t, live, func(r *http.Request) bool { return r.ContentLength > 20000 })
	flush(t, live)
	sid, vid := ids(t, live)
	// A: about 34 KB compressed, in flight (keepalive) until 3 s later; B:
	// about 40 KB, queued, which cannot fit beside A; C: about 22 KB,
	// queued, which can (34 + 22 < 64).
	for _, n := range []int{46000, 54000, 30000} {
		act(t, live, randomText(n))
	}
	waitFor(t, 10*time.Second, "three segments queued", func() bool { return state(t, live).Queue == 3 })
	if err := chromedp.Run(live, chromedp.Navigate(h.url("/basic.html?notag"))); err != nil {
		t.Fatal(err)
	}
	var seqs []int
	waitFor(t, 10*time.Second, "the segment in flight", func() bool {
		seqs = seqs[:0]
		for _, u := range h.coll.views(sid)[vid] {
			seqs = append(seqs, u.Seq)
		}
		return len(seqs) >= 2 && seqs[1] == 1
	})
	time.Sleep(time.Second) // the beacons went before A was answered
	seqs = seqs[:0]
	var sizes []int
	for _, u := range h.coll.views(sid)[vid] {
		seqs = append(seqs, u.Seq)
		sizes = append(sizes, u.Wire)
	}
	t.Logf("segments stored: %v, %v bytes", seqs, sizes)
	if fmt.Sprint(seqs) != "[0 1 3]" {
		t.Errorf("segments %v of the view stored, want [0 1 3]: the snapshot, the one in flight at pagehide and the one that fitted beside it (not 2, which did not)", seqs)
	}
	h.coll.checkProblems(t)
}

// TestTransportClockSetBack sets the system clock back an hour in the
// middle of a visit (by hand, or NTP correcting it). The recorder's clock
// went back with it: the open segment ended an hour before it started
// (start > end, which the collector refuses, losing the segment and the
// view), and the mutation-storm budget's second never ended (now minus
// its start stayed negative for an hour), so everything the page changed
// for the next hour counted in one second, and capture paused as if for a
// storm again and again. Its clock now never goes back: events keep the
// order they happened in, and time goes on at the clock's pace.
func TestTransportClockSetBack(t *testing.T) {
	h := newHarness(t)
	b := newBrowserFor(t, 3*time.Minute)
	live := b.tab(t)
	// 3000 mutation units (records and added nodes) a second at most:
	// the page below stays under it, second by second.
	h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 300, retryBase: 100, retryMax: 1000, tick: 100, stormBudget: 3000, stormPause: 200}`))
	flush(t, live)
	sid, vid := ids(t, live)
	const add = `(n) => { for (let i = 0; i < n; i++) document.body.append(document.createElement('i')); return new Promise((r) => setTimeout(r, 0)); }`
	// Events before and after the step, in one segment.
	act(t, live, `(async () => { const add = `+add+`; await add(500); window.__clockOffset = -3600e3; await add(500); })()`)
	time.Sleep(1100 * time.Millisecond) // 2000 units: the next second's come in the next second
	// Then 2000 units a second (1000 records, 1000 nodes) for 6 seconds.
	for i := 0; i < 6; i++ {
		act(t, live, `(`+add+`)(1000)`)
		time.Sleep(1100 * time.Millisecond)
		if s := state(t, live); s.Paused != "" || !s.Recording {
			t.Errorf("%d s after the clock went back: paused %q, recording %v", i+1, s.Paused, s.Recording)
		}
	}
	flush(t, live)
	h.coll.checkProblems(t)
	var last int64
	for _, u := range h.coll.snapshot() {
		if u.Start > u.End {
			t.Errorf("segment %d: start %d after end %d (the collector refuses it)", u.Seq, u.Start, u.End)
		}
		for _, e := range u.Events {
			var ev struct {
				Type      int   `json:"type"`
				Timestamp int64 `json:"timestamp"`
			}
			json.Unmarshal(e, &ev)
			if ev.Timestamp < last {
				t.Errorf("segment %d: an event at %d after one at %d", u.Seq, ev.Timestamp, last)
			}
			last = ev.Timestamp
			if ev.Type == 5 && strings.Contains(string(e), `"replay/paused"`) {
				t.Errorf("segment %d: capture paused: %s", u.Seq, e)
			}
		}
	}
	if views := h.coll.views(sid); len(views) != 1 || len(views[vid]) == 0 {
		t.Errorf("%d views recorded, want the one", len(views))
	}
}

// TestAPIQueueWithJunk queues calls before the recorder loads, some of
// them not calls at all: an entry that was not an array (null, an
// object) threw a TypeError out of the recorder's script into the page
// (its onerror, its error tracker) and the calls after it were dropped;
// a name of an inherited method called it with whatever came along.
func TestAPIQueueWithJunk(t *testing.T) {
	h := newHarness(t)
	b := newBrowserFor(t, 2*time.Minute)
	live := b.tab(t)
	beforeLoad(t, live, `window.__pageErrors = [];
		window.addEventListener('error', (e) => window.__pageErrors.push(String(e.message)));
		window.SessionReplay = {q: [null, {method: 'setUser'}, 42, ['__defineGetter__', 'x', 1], ['noSuchMethod'], ['setUser', {id: 'queued-after-junk'}]]};`)
	con := watch(live)
	h.open(t, live, "/basic.html?privacy=allow")
	flush(t, live)
	var errs []string
	if err := eval(live, `window.__pageErrors`, &errs); err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("the page saw: %s", e)
	}
	_, excs := con.Snapshot()
	for _, e := range excs {
		t.Errorf("exception: %s", e)
	}
	if !strings.Contains(string(joinBodies(h.coll.allBodies())), `"replay/user","payload":{"id":"queued-after-junk"}`) {
		t.Errorf("the setUser queued after the junk was not applied")
	}
	h.coll.checkProblems(t)
}

// TestSessionCookieReadAsTheRecorderReadsIt compares ParseCookie with the
// recorder's own reading of the cookie (the regular expression in
// src/session.js): the handler leaves the recorder out of a page when
// ParseCookie finds a live unsampled session, so a value the recorder
// does not take (and replaces with a session of its own) must not be
// taken here either. ParseInt took signed times ("+1700000000000").
func TestSessionCookieReadAsTheRecorderReadsIt(t *testing.T) {
	src, err := sources.ReadFile("src/session.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`_replay_s=(v1:[^/]*)\(\?:;\|\$\)/`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no cookie expression in src/session.js")
	}
	// The JS expression's syntax is RE2's here ([\w-], \d, groups).
	js := regexp.MustCompile(`^` + string(m[1]) + `$`)
	id := "AAAAAAAAAAAAAAAAAAAAAA"
	for _, v := range []string{
		"v1:" + id + ":1699999000000:1700000600000:0",
		"v1:" + id + ":+1699999000000:+1700000600000:0",
		"v1:" + id + ":1699999000000:+1700000600000:1",
		"v1:" + id + ":-1:1700000600000:0",
		"v1:" + id + ":01699999000000:1700000600000:0",
		"v1:" + id + "::1700000600000:0",
		"v1:" + id + ":1 :1700000600000:0",
		"v1:" + id + ":0x10:1700000600000:0",
		"v1:" + id + ":1_000:1700000600000:0",
	} {
		_, ok := ParseCookie(v)
		if want := js.MatchString(v); ok != want {
			t.Errorf("ParseCookie(%q) ok=%v, the recorder takes it: %v", v, ok, want)
		}
	}
	// The cookie the handler writes to extend an unsampled session is one
	// the recorder reads.
	created := time.UnixMilli(1699999000000)
	for _, sampled := range []bool{false, true} {
		c := Session{ID: id, Created: created, Expires: created.Add(time.Minute), Sampled: sampled}.ExtendedAt(created.Add(time.Hour)).Cookie(created.Add(time.Hour), true)
		if !js.MatchString(c.Value) {
			t.Errorf("the recorder does not read the cookie Session.Cookie writes: %q", c.Value)
		}
		if s, ok := ParseCookie(c.Value); !ok || s.Sampled != sampled || s.Expires.Sub(created) != time.Hour+SessionInactivity {
			t.Errorf("Session.Cookie wrote %q: read back as %+v", c.Value, s)
		}
	}
}

// TestTransportGoneWhileIdle: a session deleted (410) while capture is
// paused for inactivity must not be posted to again when the visitor comes
// back; the resumed view belongs to the new session.
func TestTransportGoneWhileIdle(t *testing.T) {
	h := newHarness(t)
	b := newBrowserFor(t, 2*time.Minute)
	live := b.tab(t)
	first, _ := h.pileUp(t, live)
	// The visitor goes idle: the session expires, capture pauses.
	act(t, live, `window.__clockOffset = 16 * 60e3`)
	waitFor(t, 15*time.Second, "the idle pause", func() bool { return state(t, live).Paused == "idle" })
	// The collector is back and says the session was deleted.
	h.coll.set(func(c *collector) { c.down, c.gone = false, first })
	waitFor(t, 15*time.Second, "a new session", func() bool { return sessionID(t, live) != first })
	waitFor(t, 15*time.Second, "the queue to empty", func() bool { return state(t, live).Queue == 0 })
	n := h.coll.count()
	// The visitor is back.
	time.Sleep(1100 * time.Millisecond)
	if err := chromedp.Run(live, chromedp.MouseEvent(input.MouseMoved, 100, 100)); err != nil {
		t.Fatal(err)
	}
	act(t, live, "reorder")
	time.Sleep(2 * time.Second)
	sid := sessionID(t, live)
	old, neu := 0, 0
	for _, u := range h.coll.snapshot()[n:] {
		if u.Sid == first {
			old++
		} else if u.Sid == sid {
			neu++
		}
	}
	t.Logf("after the visitor came back: %d uploads under the deleted session, %d under the new one %s", old, neu, sid)
	if old > 0 || neu == 0 {
		t.Errorf("the recorder keeps posting under the deleted session")
	}
}

// TestTransportStopThenLeave: what was recorded before
// stopSessionReplayRecording() is still delivered when the visitor leaves
// the page before the queue has drained.
func TestTransportStopThenLeave(t *testing.T) {
	h := newHarness(t)
	b := newBrowserFor(t, 2*time.Minute)
	live := b.tab(t)
	h.openSlow(t, live, func(r *http.Request) bool { return r.URL.Query().Get("seq") == "1" })
	flush(t, live)
	sid, vid := ids(t, live)
	for i := 0; i < 3; i++ {
		act(t, live, randomText(2000))
	}
	waitFor(t, 10*time.Second, "three segments queued", func() bool { return state(t, live).Queue == 3 })
	act(t, live, `SessionReplay.stopSessionReplayRecording()`)
	if err := chromedp.Run(live, chromedp.Navigate(h.url("/basic.html?notag"))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	var seqs []int
	for _, u := range h.coll.views(sid)[vid] {
		seqs = append(seqs, u.Seq)
	}
	t.Logf("stored after stop and leave: %v", seqs)
	if len(seqs) != 4 {
		t.Errorf("segments recorded before stop were lost at pagehide")
	}
}

// TestTransportBackForwardCache leaves a page and comes back to it from
// the back/forward cache, where its script goes on where it was.
//
// A pause for the full queue ended only with an upload's answer: when the
// beacons at pagehide emptied the queue, no answer was left to come, and
// the page came back paused for good, recording nothing more. And a
// segment too large for the pagehide beacons was dropped without a trace:
// back from the cache, the recording went on in the same view with
// events about nodes the replay never got.
func TestTransportBackForwardCache(t *testing.T) {
	h := newHarness(t)
	b := newBrowserFor(t, 3*time.Minute)
	hide := `dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))`
	show := `dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))`

	t.Run("a pause for the queue the beacons emptied", func(t *testing.T) {
		h.coll.reset()
		live, replay := b.tab(t), b.ctx
		// Retries 4-5 s apart: after the first one fails nothing is in
		// flight, and the queue of two fills from the page alone.
		h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 200, retryBase: 5000, retryMax: 5000, tick: 100, queueLength: 2}`))
		flush(t, live)
		_, first := ids(t, live)
		h.coll.set(func(c *collector) { c.down = true })
		for i := 0; i < 6 && state(t, live).Paused != "queue"; i++ {
			act(t, live, "reorder")
			time.Sleep(300 * time.Millisecond)
		}
		waitFor(t, 10*time.Second, "a pause for the full queue", func() bool { return state(t, live).Paused == "queue" })
		act(t, live, hide)
		if q := state(t, live).Queue; q != 0 {
			t.Fatalf("%d segments still queued after pagehide's beacons", q)
		}
		h.coll.set(func(c *collector) { c.down = false })
		act(t, live, show)
		waitForRecording(t, live)
		if _, vid := ids(t, live); vid == first {
			t.Errorf("capture resumed in view %s, whose last segments went with the beacons to a collector that was down; want a new view", first)
		}
		// The first view's queued segments went in beacons while the
		// collector was down: some or all of them are lost, as on a real
		// network. What counts is the new view.
		act(t, live, "textEdits")
		h.roundTrip(t, live, replay, "allow", "back from the cache")
	})

	t.Run("a segment too large for the beacons", func(t *testing.T) {
		h.coll.reset()
		live, replay := b.tab(t), b.ctx
		h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 600000, tick: 100}`))
		flush(t, live)
		sid, first := ids(t, live)
		// About 100 KB of JSON in the open segment: at pagehide it is not
		// compressed yet, and more than a beacon may carry.
		act(t, live, `(() => {
			const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
			const d = document.createElement('div');
			d.textContent = Array.from({length: 100000}, () => abc[(Math.random() * 64) | 0]).join('');
			document.body.append(d);
		})()`)
		act(t, live, hide)
		act(t, live, show)
		waitForRecording(t, live)
		act(t, live, "reorder")
		h.roundTrip(t, live, replay, "allow", "back from the cache")
		replayable(t, h, sid)
		if _, vid := ids(t, live); vid == first {
			t.Errorf("capture went on in view %s after its segment was dropped at pagehide; want a new view with a full snapshot", first)
		}
	})
}

// TestAPILoadedTwice: a page that includes the recorder itself and is
// injected too runs one recorder, not two recording everything twice.
func TestAPILoadedTwice(t *testing.T) {
	h := newHarness(t)
	b := newBrowserFor(t, 2*time.Minute)
	live := b.tab(t)
	h.open(t, live, "/basic.html?privacy=allow")
	if err := eval(live, `new Promise((done) => {
		window.__first = window.SessionReplay;
		const s = document.createElement('script');
		for (const a of document.querySelector('script[src*="/__replay/"]').attributes) s.setAttribute(a.name, a.value);
		s.src += '?again';
		s.onload = done;
		document.head.append(s);
	})`, nil); err != nil {
		t.Fatal(err)
	}
	act(t, live, "reorder")
	flush(t, live)
	var same bool
	if err := eval(live, `window.__first === window.SessionReplay`, &same); err != nil {
		t.Fatal(err)
	}
	if !same {
		t.Errorf("the second copy replaced window.SessionReplay")
	}
	views := 0
	for _, vs := range h.coll.snapshot() {
		if vs.Seq == 0 {
			views++
		}
	}
	if views != 1 {
		t.Errorf("%d views started: the page is recorded by %d recorders", views, views)
	}
	h.coll.checkProblems(t)
}

// openSlow opens basic.html (privacy allow, segments closed only when the
// test flushes, quick retries) uploading to an endpoint that answers the
// uploads slow picks 3 s late, so that they are still in flight when the
// test acts.
func (h *harness) openSlow(t *testing.T, live context.Context, slow func(*http.Request) bool) {
	t.Helper()
	h.srv.Config.Handler.(*http.ServeMux).HandleFunc("/slow/segments", func(w http.ResponseWriter, r *http.Request) {
		if slow(r) {
			time.Sleep(3 * time.Second)
		}
		h.coll.ServeHTTP(w, r)
	})
	h.open(t, live, "/basic.html?privacy=allow&endpoint=/slow/segments&timing="+urlq(`{flush: 600000, retryBase: 100, retryMax: 1000, tick: 100}`))
}
