package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
			if err := s.Reload(t); err != nil {
				reloadErr = err
				return
			}
			reloads.Add(1)
		}
	}()
	clicks := 0
	click := countedClick(&clicks)
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.Site+"/"),
		chromedp.WaitVisible("#shop-now"),
		recorderStarted(),
		click("#subscribe-toggle"),
		click("#shop-now"),
		chromedp.WaitVisible(`[data-filter="dark"]`),
		recorderStarted(),
		click(`[data-filter="dark"]`),
		click(`[data-filter="all"]`),
		click(`[data-add="guji"]`),
		click(`a[href="/account.html"]`),
		chromedp.WaitVisible("#name"),
		recorderStarted(),
		click(`a[href="/app/"]`),
		chromedp.WaitVisible(`a[href="/app/orders"]`),
		recorderStarted(),
		click(`a[href="/app/orders"]`),
		chromedp.WaitVisible("#orders-box"),
		click(`a[href="/app/settings"]`),
		chromedp.WaitVisible("#pause"),
		chromedp.Navigate("about:blank"),
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
	t.Logf("%d reloads, %d segments, %d events", reloads.Load(), len(segs), len(seen))
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
