package player

import (
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
	ts := newTestServer(t)
	var n nodes
	pop := n.el("div", ev{"id": "pop", "popover": ""}, n.text("Menu"))
	counter := n.el("div", ev{"id": "n"})
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil), n.el("body", nil, n.el("h1", nil, n.text("Shop")), pop, counter)))
	id := func(e ev) int { return e["id"].(int) }
	events := []ev{
		meta(t0, "https://popover.example/", 800, 600),
		full(t0+1, doc),
		mutation(t0+5000, ev{"attributes": []ev{{"id": id(pop), "attributes": ev{"rr_popover_open": true}}}}),
	}
	for i := 1; i <= 3500; i++ { // more than one checkpoint's worth of events
		events = append(events, mutation(t0+5000+int64(i), ev{"attributes": []ev{{"id": id(counter), "attributes": ev{"data-n": strconv.Itoa(i)}}}}))
	}
	events = append(events, move(t0+9000, id(counter), [2]int{10, 10}))
	const sid = "popover-session-0001"
	putSession(t, ts.store, sid, []fixtureView{{id: "view-popover-0000001", url: "https://popover.example/", tab: "tab-popover-00000001", segments: [][]ev{events}}}, nil)
	// The waits below (10 s, 4 × 3 s) and a browser start.
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("session="+sid+"&t=0")))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.indexed === '1'`, 10*time.Second)
	for _, c := range []struct {
		sec  float64
		open bool
	}{{8.5, true}, {1, false}, {7, true}, {2, false}} {
		seekTo(t, ctx, sid, c.sec)
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('.replay-screen').dataset.time === '%d'`, int(c.sec*1000)), 3*time.Second)
		frameCheck(t, ctx, fmt.Sprintf("popover at %gs", c.sec), fmt.Sprintf(`d.getElementById('pop').matches(':popover-open') === %t`, c.open))
	}
}
