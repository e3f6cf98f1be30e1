package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
	"github.com/caddy-replay/caddy-replay/store"
)

// TestReloadWhileRecording reloads Caddy again and again while a visitor
// browses the demo (page loads, clicks, uploads on every page change):
// the visit is still one session, every view's segments are numbered
// without a gap, no event is stored twice and every click is counted
// once.
func TestReloadWhileRecording(t *testing.T) {
	s := StartStack(t, StackOptions{})
	ctx := browsertest.New(t, 90*time.Second)

	// Reloads pause while the visitor leaves a page, and the visitor leaves
	// only when no upload is in flight. What the recorder sends at pagehide
	// (sendBeacon, fetch keepalive), and a request still in flight then,
	// goes out once: no page is left to retry it. A reload closes the old
	// server's idle keep-alive connections, which drops a request written
	// on one at that moment (HTTP/1.1 cannot tell the client it went
	// unprocessed, and Chrome resends only idempotent requests;
	// docs/FORMAT.md). Every other upload is retried until answered, and
	// that is what this test checks.
	var gate sync.Mutex
	var reloads atomic.Int32
	var reloadErr error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			gate.Lock()
			err := s.Reload(t)
			gate.Unlock()
			if err != nil {
				reloadErr = err
				return
			}
			reloads.Add(1)
		}
	}()
	clicks := 0
	click := countedClick(&clicks)
	var retries int
	ready := pageReady(t, &retries)
	// The uploads in flight, by the document that sent them (a page's last
	// requests are not reported once it is gone). An upload ends with its
	// answer: the recorder never reads the body, so Chrome reports no
	// loadingFinished.
	var uploadsMu sync.Mutex
	uploads := map[network.RequestID]cdp.LoaderID{}
	var current cdp.LoaderID
	chromedp.ListenTarget(ctx, func(ev any) {
		uploadsMu.Lock()
		defer uploadsMu.Unlock()
		switch e := ev.(type) {
		case *page.EventFrameNavigated:
			if e.Frame.ParentID == "" {
				current = e.Frame.LoaderID
			}
		case *network.EventRequestWillBeSent:
			if strings.Contains(e.Request.URL, "/__replay/v1/segments") {
				uploads[e.RequestID] = e.LoaderID
			}
		case *network.EventResponseReceived:
			delete(uploads, e.RequestID)
		case *network.EventLoadingFailed:
			delete(uploads, e.RequestID)
		}
	})
	idle := func() error {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			uploadsMu.Lock()
			n := 0
			for _, l := range uploads {
				if l == current {
					n++
				}
			}
			uploadsMu.Unlock()
			if n == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%d uploads still in flight after 10 s", n)
			}
		}
	}
	leave := func(a chromedp.Action, sel string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			gate.Lock()
			defer gate.Unlock()
			if err := idle(); err != nil {
				return err
			}
			if err := a.Do(ctx); err != nil {
				return err
			}
			return ready(sel).Do(ctx)
		})
	}
	// On a quick machine the visit can end before the reloads it is meant
	// to live through (4 in 2.9 s once): the visitor stays on a page until
	// enough have happened.
	reloadsAtLeast := func(n int32) chromedp.Action {
		return chromedp.ActionFunc(func(context.Context) error {
			for deadline := time.Now().Add(20 * time.Second); reloads.Load() < n; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					return fmt.Errorf("only %d reloads in 20 s", reloads.Load())
				}
			}
			return nil
		})
	}
	err := chromedp.Run(ctx,
		navigate(s.Site+"/"),
		ready("#shop-now"),
		click("#subscribe-toggle"),
		reloadsAtLeast(2),
		leave(click("#shop-now"), `[data-filter="dark"]`),
		click(`[data-filter="dark"]`),
		click(`[data-filter="all"]`),
		click(`[data-add="guji"]`),
		leave(click(`a[href="/account.html"]`), "#name"),
		leave(click(`a[href="/app/"]`), `a[href="/app/orders"]`),
		click(`a[href="/app/orders"]`),
		chromedp.WaitVisible("#orders-box"),
		routeRecorded(),
		click(`a[href="/app/settings"]`),
		chromedp.WaitVisible("#pause"),
		routeRecorded(),
		reloadsAtLeast(5),
		leave(chromedp.Navigate("about:blank"), ""),
	)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if reloadErr != nil {
		t.Fatalf("reload %d failed: %v", reloads.Load()+1, reloadErr)
	}
	if reloads.Load() < 5 {
		t.Fatalf("only %d reloads happened during the visit", reloads.Load())
	}

	st := s.Store(t)
	sess := wholeVisit(t, st, clicks, 6, fmt.Sprintf(" across %d reloads", reloads.Load()))
	if sess.Clicks != clicks {
		t.Errorf("clicks = %d, want %d (a segment stored twice?)", sess.Clicks, clicks)
	}
	segs, err := st.SegmentList(context.Background(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[string][]int{}
	seen := map[string]store.SegmentKey{}
	for _, sg := range segs {
		seqs[sg.View] = append(seqs[sg.View], sg.Seq)
		for _, ev := range segmentEvents(t, st, sg.SegmentKey) {
			if k, dup := seen[ev]; dup && k != sg.SegmentKey {
				t.Fatalf("an event of segment %v is also in %v: %.200s", sg.SegmentKey, k, ev)
			}
			seen[ev] = sg.SegmentKey
		}
	}
	if len(seqs) != len(sess.Views) {
		t.Errorf("%d views have segments, the index lists %d views", len(seqs), len(sess.Views))
	}
	for view, list := range seqs {
		sort.Ints(list)
		for i, n := range list {
			if n != i {
				t.Errorf("view %s: segment numbers %v have a gap (a segment lost during a reload)", view, list)
				break
			}
		}
	}
	t.Logf("%d reloads, %d segments, %d events, %d pages loaded again", reloads.Load(), len(segs), len(seen), retries)
}

// navigate loads url, leaving a page that failed to load to pageReady.
func navigate(url string) chromedp.Action { return loadAnyway(chromedp.Navigate(url)) }

// loadAnyway runs a page load, leaving a page that failed to load (an
// error page) to pageReady.
func loadAnyway(load chromedp.Action) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		err := load.Do(ctx)
		if err != nil && strings.HasPrefix(err.Error(), "page load error") {
			return nil
		}
		return err
	})
}

// pageReady returns a step that waits until the page shows sel and its
// recorder runs, and loads the page again when it does not within 15 s.
// A reload closes the old server's idle keep-alive connections, and now
// and then one closes just as the browser sends a request on it: Chrome
// then gets no response (ERR_EMPTY_RESPONSE) and, when its one retry
// meets the same fate, shows an error page or runs the page without its
// scripts, the recorder's among them. The demo's upstream, reloaded with
// the rest of the stack here, drops requests the same way. That is the
// browser and Caddy, not the recorder's uploads this test is about, and
// a page that never loaded has no view to lose; *n counts the pages
// loaded again.
func pageReady(t *testing.T, n *int) func(sel string) chromedp.Action {
	return func(sel string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if sel == "" {
				return nil
			}
			for try := 0; ; try++ {
				wait, cancel := context.WithTimeout(ctx, 15*time.Second)
				err := chromedp.Run(wait, chromedp.WaitVisible(sel), recorderStarted())
				cancel()
				if err == nil || try == 3 || ctx.Err() != nil {
					return err
				}
				t.Logf("the page showing %s did not load (%v): loading it again", sel, err)
				*n++
				if err := chromedp.Run(ctx, loadAnyway(chromedp.Reload())); err != nil {
					return err
				}
			}
		})
	}
}

// segmentEvents is a stored segment's events, each as its JSON text.
func segmentEvents(t *testing.T, st store.Store, key store.SegmentKey) []string {
	t.Helper()
	var evs []json.RawMessage
	if err := json.Unmarshal([]byte(readSegment(t, st, key)), &evs); err != nil {
		t.Fatalf("segment %v: %v", key, err)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e)
	}
	return out
}
