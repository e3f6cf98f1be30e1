package player

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A popover opened at 5 s is closed again when the player seeks back
// before it. The in-place restore (a seek within the page on screen)
// compared the checkpoint's attributes, where an open popover is only a
// special rr_popover_open, with the live ones, which never carry it: the
// popover the live page had opened stayed open at 1 s.
func TestSeekBackClosesPopover(t *testing.T) {
	var n nodes
	pop := n.el("div", ev{"id": "pop", "popover": ""}, n.text("Menu"))
	counter := n.el("div", ev{"id": "n"})
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil), n.el("body", nil, n.el("h1", nil, n.text("Shop")), pop, counter)))
	open := mutation(t0+5000, ev{"attributes": []ev{{"id": pop["id"], "attributes": ev{"rr_popover_open": true}}}})
	ctx, sid := openChangedAt5s(t, "popover", doc, counter, open)
	for _, c := range []struct {
		sec  float64
		open bool
	}{{8.5, true}, {1, false}, {7, true}, {2, false}} {
		seekAndCheck(t, ctx, sid, c.sec, "popover", fmt.Sprintf(`d.getElementById('pop').matches(':popover-open') === %t`, c.open))
	}
}

// A constructed sheet the page adopted at 5 s no longer styles it when the
// player seeks back before then. The in-place restore declined only for
// a checkpoint holding constructed sheets; one taken before the page
// made any kept the sheets on screen adopted: the heading stayed red at
// 1 s.
func TestSeekBackDropsAdoptedSheets(t *testing.T) {
	var n nodes
	counter := n.el("div", ev{"id": "n"})
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil), n.el("body", nil, n.el("h1", ev{"id": "h"}, n.text("Shop")), counter)))
	adopt := inc(t0+5000, 15, ev{"id": doc["id"], "styleIds": []int{1}, "styles": []ev{{"styleId": 1, "rules": []ev{{"rule": "h1 { color: rgb(255, 0, 0); }", "index": 0}}}}})
	ctx, sid := openChangedAt5s(t, "sheets", doc, counter, adopt)
	for _, c := range []struct {
		sec   float64
		color string
	}{{8.5, "rgb(255, 0, 0)"}, {1, "rgb(0, 0, 0)"}, {7, "rgb(255, 0, 0)"}, {2, "rgb(0, 0, 0)"}} {
		seekAndCheck(t, ctx, sid, c.sec, "heading", fmt.Sprintf(`getComputedStyle(d.getElementById('h')).color === %q`, c.color))
	}
}

// A rule the page inserted into a <style> at 5 s (CSSOM, as CSS-in-JS
// libraries do) no longer applies when the player seeks back before then.
// The in-place restore compared the element's text, which insertRule
// does not change, with the checkpoint's: they matched, and the inserted
// rule stayed, the heading red at 1 s.
func TestSeekBackDropsInsertedRules(t *testing.T) {
	var n nodes
	counter := n.el("div", ev{"id": "n"})
	style := n.el("style", nil, ev{"type": 3, "id": n.id(), "textContent": "h1 { font-size: 20px; }", "isStyle": true})
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil, style), n.el("body", nil, n.el("h1", ev{"id": "h"}, n.text("Shop")), counter)))
	insert := inc(t0+5000, 8, ev{"id": style["id"], "adds": []ev{{"rule": "h1 { color: rgb(255, 0, 0); }", "index": 1}}})
	ctx, sid := openChangedAt5s(t, "rules", doc, counter, insert)
	// A short seek forward applies the insertion on screen; the seek back
	// then restores the checkpoint before it in place.
	for _, c := range []struct {
		sec   float64
		color string
	}{{5.5, "rgb(255, 0, 0)"}, {1, "rgb(0, 0, 0)"}, {8.5, "rgb(255, 0, 0)"}, {1.5, "rgb(0, 0, 0)"}, {5.2, "rgb(255, 0, 0)"}, {2, "rgb(0, 0, 0)"}} {
		seekAndCheck(t, ctx, sid, c.sec, "heading", fmt.Sprintf(`getComputedStyle(d.getElementById('h')).color === %q`, c.color))
	}
}

// openChangedAt5s stores and opens a one-page session (host names its
// ids) in which change happens at 5 s, followed by more than one
// checkpoint's worth of mutations of counter and a pointer move at 9 s,
// and waits for the seek index.
func openChangedAt5s(t *testing.T, host string, doc, counter, change ev) (context.Context, string) {
	t.Helper()
	ts := newTestServer(t)
	events := []ev{meta(t0, "https://"+host+".example/", 800, 600), full(t0+1, doc), change}
	for i := 1; i <= 3500; i++ {
		events = append(events, mutation(t0+5000+int64(i), ev{"attributes": []ev{{"id": counter["id"], "attributes": ev{"data-n": strconv.Itoa(i)}}}}))
	}
	events = append(events, move(t0+9000, counter["id"].(int), [2]int{10, 10}))
	pad := func(s string) string { return (s + "-00000000000000000000")[:20] }
	sid := pad(host + "-session")
	putSession(t, ts.store, sid, []fixtureView{{id: pad("view-" + host), url: "https://" + host + ".example/", tab: pad("tab-" + host), segments: [][]ev{events}}}, nil)
	// The index wait (10 s), the seeks (3 s each) and a browser start.
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("session="+sid+"&t=0")))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.indexed === '1'`, 10*time.Second)
	return ctx, sid
}

// seekAndCheck seeks session sid to sec and checks js (a boolean
// expression of the frame's document d) there.
func seekAndCheck(t *testing.T, ctx context.Context, sid string, sec float64, what, js string) {
	t.Helper()
	seekTo(t, ctx, sid, sec)
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('.replay-screen').dataset.time === '%d'`, int(sec*1000)), 3*time.Second)
	frameCheck(t, ctx, fmt.Sprintf("%s at %gs", what, sec), js)
}

// Clicking the end of the timeline while the session plays shows its end.
// The timeline resumes playing after a click or a drag, and play() at the
// end starts over: the click at the end restarted the session from 0 s.
func TestTimelineClickAtTheEndWhilePlaying(t *testing.T) {
	_, ctx := openShop(t, "0")
	run(t, ctx, chromedp.Click(`.play-btn`, chromedp.ByQuery))
	waitJS(t, ctx, `document.querySelector('.replay-screen').dataset.state === 'playing'`, 3*time.Second)
	var r struct{ X, Y, W float64 }
	eval(t, ctx, `(() => { const r = document.querySelector('.timeline').getBoundingClientRect(); return {X: r.left, Y: r.top + r.height / 2, W: r.width} })()`, &r)
	// On the track's end cap, which the timeline's canvas draws past its box.
	run(t, ctx, chromedp.MouseClickXY(r.X+r.W+3, r.Y))
	time.Sleep(300 * time.Millisecond)
	if got := timeMs(t, ctx); got < 29000 {
		t.Errorf("clicked the end of the timeline while playing: at %v ms (state %+v), want the end (29999 ms)", got, readState(t, ctx))
	}
	frameCheck(t, ctx, "the end of the session", `d.body.innerText.includes('Checkout')`)
}

// The screen's seek figures (data-seek-events, data-seek-restore, which
// the benchmarks and the checkpoint tests read) describe the seek just
// made. They were written on the seek's frame, before the seek measured
// itself: each seek showed the figures of the one before.
func TestSeekFiguresDescribeTheLastSeek(t *testing.T) {
	ts := newTestServer(t)
	var n nodes
	counter := n.el("div", ev{"id": "n"})
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil), n.el("body", nil, counter)))
	id := func(e ev) int { return e["id"].(int) }
	events := []ev{meta(t0, "https://figures.example/", 800, 600), full(t0+1, doc)}
	for i := 1; i <= 3500; i++ {
		events = append(events, mutation(t0+1000+int64(i), ev{"attributes": []ev{{"id": id(counter), "attributes": ev{"data-n": strconv.Itoa(i)}}}}))
	}
	events = append(events, move(t0+9000, id(counter), [2]int{10, 10}))
	const sid = "figures-session-0001"
	putSession(t, ts.store, sid, []fixtureView{{id: "view-figures-0000001", url: "https://figures.example/", tab: "tab-figures-00000001", segments: [][]ev{events}}}, nil)
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("session="+sid+"&t=0")))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.indexed === '1'`, 10*time.Second)
	figures := func() (events int, restore string) {
		var s struct{ Events, Restore string }
		eval(t, ctx, `(() => { const d = document.querySelector('.replay-screen').dataset; return {Events: d.seekEvents, Restore: d.seekRestore} })()`, &s)
		k, err := strconv.Atoi(s.Events)
		if err != nil {
			t.Fatalf("data-seek-events %q", s.Events)
		}
		return k, s.Restore
	}
	for _, c := range []struct {
		sec     float64
		restore string // "none", "restored" (a seek back), or "" (either)
		most    int    // events it applies at most
	}{{4, "", 3500}, {4.001, "none", 1}, {1.5, "restored", 600}, {1.501, "none", 1}} {
		seekTo(t, ctx, sid, c.sec)
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('.replay-screen').dataset.time === '%d'`, int(c.sec*1000)), 3*time.Second)
		k, restore := figures()
		if k > c.most {
			t.Errorf("seek to %gs: figures say %d events applied, want at most %d", c.sec, k, c.most)
		}
		if (c.restore == "none" && restore != "none") || (c.restore == "restored" && restore == "none") {
			t.Errorf("seek to %gs: figures say restore %q, want %s", c.sec, restore, c.restore)
		}
	}
}

// A tab opened in the background (its view starts hidden: its first
// replay/visibility says it became visible) takes the screen when the
// visitor turns to it, not at its first frame: until then the visitor was
// looking at the other tab, and the replay showed a page they had not seen.
func TestBackgroundTabWaitsUntilVisible(t *testing.T) {
	// The tab that loads in the background says so: with a visibility
	// event when it becomes visible (rrweb-style recordings, older ones
	// of ours), or also with one, hidden, with its snapshot (our recorder).
	for _, hiddenFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("hidden first %v", hiddenFirst), func(t *testing.T) { backgroundTab(t, hiddenFirst) })
	}
}

func backgroundTab(t *testing.T, hiddenFirst bool) {
	ts := newTestServer(t)
	views, _, _ := shopSession()
	var n nodes
	n.next = 5000
	tab := []ev{
		meta(t0+1500, "https://shop.example/help", 800, 600),
		custom(t0+1500, "replay/view", ev{"url": "https://shop.example/help", "tab": "tab-two-0000000002"}),
		full(t0+1501, n.doc(n.el("html", nil, n.el("body", nil, n.text("Help page"))))),
	}
	if hiddenFirst {
		tab = append(tab, custom(t0+1501, "replay/visibility", ev{"state": "hidden"}))
	}
	tab = append(tab, custom(t0+3000, "replay/visibility", ev{"state": "visible"}))
	views = append(views, fixtureView{id: "view-tab-two-0000003", url: "https://shop.example/help", tab: "tab-two-0000000002", segments: [][]ev{tab}})
	ctx := openViews(t, ts, views)
	for _, c := range []struct {
		sec  float64
		view string
	}{
		{1.6, "view-one-00000000001"},  // tab two loads in the background
		{3.05, "view-tab-two-0000003"}, // the visitor turns to it
	} {
		seekTo(t, ctx, shopID, c.sec)
		time.Sleep(200 * time.Millisecond)
		var view string
		eval(t, ctx, `document.querySelector('.replay-screen').dataset.view`, &view)
		if view != c.view {
			t.Errorf("at %gs the replay shows %s, want %s", c.sec, view, c.view)
		}
	}
	// The page list still opens the background tab's page: where it is
	// on screen.
	seekTo(t, ctx, shopID, 0.5)
	time.Sleep(200 * time.Millisecond)
	run(t, ctx, chromedp.Click(`//button[@role='tab'][contains(., 'Pages')]`, chromedp.BySearch),
		chromedp.Click(`.page-item[data-view="view-tab-two-0000003"] .row-btn`, chromedp.ByQuery))
	waitJS(t, ctx, `document.querySelector('.replay-screen').dataset.view === 'view-tab-two-0000003'`, 3*time.Second)
}
