package recorder

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
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
