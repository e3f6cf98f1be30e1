package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
)

// TestVisitorClockHoursFast: a visitor whose computer's clock runs three
// hours fast is recorded like any other, and the index and the stored
// events are on the server's clock: the session lists at the time it
// happened and plays with its own timing.
func TestVisitorClockHoursFast(t *testing.T) {
	s := StartStack(t, StackOptions{})
	ctx := browsertest.New(t, 90*time.Second)
	err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`{
			const real = Date.now.bind(Date);
			Date.now = () => real() + 3 * 3600e3;
		}`).Do(ctx)
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now().UnixMilli()
	clicks := 0
	click := countedClick(&clicks)
	var local float64
	err = chromedp.Run(ctx,
		chromedp.Navigate(s.Site+"/"),
		chromedp.WaitVisible("#shop-now"),
		recorderStarted(),
		chromedp.Evaluate(`Date.now()`, &local),
		chromedp.Sleep(300*time.Millisecond),
		click("#subscribe-toggle"),
		click("#shop-now"),
		chromedp.WaitVisible(`[data-filter="dark"]`),
		recorderStarted(),
		chromedp.Sleep(300*time.Millisecond),
		click(`[data-filter="dark"]`),
		chromedp.Navigate("about:blank"),
	)
	if err != nil {
		t.Fatal(err)
	}
	ended := time.Now().UnixMilli()
	if off := int64(local) - ended; off < 2*3600e3 {
		t.Fatalf("the page's clock is only %d ms ahead: the test's clock patch did not apply", off)
	}

	st := s.Store(t)
	sess := wholeVisit(t, st, clicks, 2, " (a visitor whose clock is 3 h fast)")
	if sess.Start < started-2000 || sess.End > ended+2000 {
		t.Errorf("session %d..%d is not within the visit %d..%d on the server's clock", sess.Start, sess.End, started, ended)
	}
	if sess.Clicks != clicks {
		t.Errorf("clicks = %d, want %d", sess.Clicks, clicks)
	}
	segs, err := st.SegmentList(context.Background(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, sg := range segs {
		var evs []struct {
			Timestamp int64 `json:"timestamp"`
		}
		if err := json.Unmarshal([]byte(readSegment(t, st, sg.SegmentKey)), &evs); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Timestamp < sg.Start || e.Timestamp > sg.End || e.Timestamp < started-2000 || e.Timestamp > ended+2000 {
				t.Fatalf("segment %v: event at %d, outside its %d..%d or the visit %d..%d", sg.SegmentKey, e.Timestamp, sg.Start, sg.End, started, ended)
			}
		}
	}
	// The list's default time range (recent sessions) finds it.
	var list struct {
		Sessions []struct {
			ID string `json:"id"`
		} `json:"sessions"`
	}
	resp := Get(t, s.Player+"/api/sessions?from="+itoa(int(started-60_000)))
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("player API: %d %v", resp.StatusCode, err)
	}
	if len(list.Sessions) != 1 || list.Sessions[0].ID != sess.ID {
		t.Errorf("the player's list from a minute before the visit: %+v", list.Sessions)
	}
}
