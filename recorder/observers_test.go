package recorder

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// event is a decoded recorded event.
type event struct {
	Type      int             `json:"type"`
	Timestamp int64           `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

type incData struct {
	Source    int    `json:"source"`
	Type      int    `json:"type"`
	ID        int    `json:"id"`
	X         int    `json:"x"`
	Y         int    `json:"y"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	Tag       string `json:"tag"`
	Positions []struct {
		X, Y, ID   int
		TimeOffset int `json:"timeOffset"`
	} `json:"positions"`
	Payload json.RawMessage `json:"payload"`
}

// recorded returns every event of a session's views, in upload order.
func (c *collector) recorded(sid string) []event {
	var out []event
	for _, u := range c.snapshot() {
		if u.Sid != sid || u.Status != 200 {
			continue
		}
		for _, raw := range u.Events {
			var e event
			json.Unmarshal(raw, &e)
			out = append(out, e)
		}
	}
	return out
}

func decode(e event) incData {
	var d incData
	json.Unmarshal(e.Data, &d)
	return d
}

// testInteractions drives the pointer, touch, focus, scroll and the
// viewport, and checks the events that describe them.
func testInteractions(t *testing.T, h *harness, b *browser) {
	h.coll.reset()
	live := b.tab(t)
	h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 300, tick: 100, mouseBatch: 200}`))
	sid, _ := ids(t, live)
	var moves []chromedp.Action
	for i := 0; i <= 40; i++ {
		moves = append(moves, chromedp.MouseEvent(input.MouseMoved, float64(10+i*5), float64(100+i*3)), chromedp.Sleep(10e6))
	}
	if err := chromedp.Run(live, moves...); err != nil {
		t.Fatal(err)
	}
	var btn []float64
	if err := eval(live, `(() => { const r = document.querySelector('#f button').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`, &btn); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Run(live,
		chromedp.MouseClickXY(btn[0], btn[1]),
		chromedp.MouseClickXY(btn[0], btn[1], chromedp.ClickCount(2)),
		chromedp.MouseClickXY(btn[0], btn[1], chromedp.Button("right")),
		chromedp.Focus(`#f input[name=name]`, chromedp.ByQuery),
		chromedp.Blur(`#f input[name=name]`, chromedp.ByQuery),
		emulation.SetTouchEmulationEnabled(true),
		input.DispatchTouchEvent(input.TouchStart, []*input.TouchPoint{{X: 50, Y: 60}}),
		input.DispatchTouchEvent(input.TouchMove, []*input.TouchPoint{{X: 60, Y: 70}}),
		input.DispatchTouchEvent(input.TouchMove, []*input.TouchPoint{{X: 70, Y: 80}}),
		input.DispatchTouchEvent(input.TouchEnd, []*input.TouchPoint{}),
		emulation.SetTouchEmulationEnabled(false),
		chromedp.Evaluate(`window.scrollTo(0, 250)`, nil),
		emulation.SetDeviceMetricsOverride(1000, 700, 1, false),
		chromedp.Sleep(400e6),
		emulation.ClearDeviceMetricsOverride(),
	)
	if err != nil {
		t.Fatal(err)
	}
	flush(t, live)
	evs := h.coll.recorded(sid)
	seen := map[string]bool{}
	var lastMove incData
	var docID int
	for _, e := range evs {
		if e.Type == 2 {
			var fs struct {
				Node struct{ ID int } `json:"node"`
			}
			json.Unmarshal(e.Data, &fs)
			docID = fs.Node.ID
		}
		if e.Type == 5 {
			d := decode(e)
			if d.Tag == "replay/action" && strings.Contains(string(d.Payload), `"name":"Press"`) {
				seen["action"] = true
			}
		}
		if e.Type != 3 {
			continue
		}
		d := decode(e)
		switch d.Source {
		case 1:
			prev := -1 << 31
			for _, p := range d.Positions {
				if p.TimeOffset > 0 || p.TimeOffset < prev {
					t.Errorf("position time offsets not ≤ 0 and increasing: %+v", d.Positions)
				}
				prev = p.TimeOffset
			}
			if len(d.Positions) > 0 {
				lastMove = d
			}
			seen["move"] = true
		case 2:
			names := map[int]string{2: "click", 3: "contextmenu", 4: "dblclick", 5: "focus", 6: "blur", 7: "touchstart", 9: "touchend"}
			if n, ok := names[d.Type]; ok {
				seen[n] = true
				if n == "click" && (d.ID <= 0 || abs(d.X-int(btn[0])) > 1 || abs(d.Y-int(btn[1])) > 1) {
					t.Errorf("click at %d,%d on %d, want %.0f,%.0f on the button", d.X, d.Y, d.ID, btn[0], btn[1])
				}
			}
		case 3:
			if d.ID == docID && d.Y == 250 {
				seen["scroll"] = true
			}
		case 4:
			if d.Width == 1000 && d.Height == 700 {
				seen["resize"] = true
			}
		case 6:
			seen["touchmove"] = true
		}
	}
	for _, want := range []string{"move", "click", "dblclick", "contextmenu", "focus", "blur", "touchstart", "touchmove", "touchend", "scroll", "resize", "action"} {
		if !seen[want] {
			t.Errorf("no %s event recorded", want)
		}
	}
	if n := len(lastMove.Positions); n == 0 || lastMove.Positions[n-1].X != 210 || lastMove.Positions[n-1].Y != 220 {
		t.Errorf("the last mouse position was not kept: %+v", lastMove.Positions)
	}
	// Sampling keeps at most one position per MOUSE_SAMPLE (50 ms), plus
	// the newest one at each batch (mouseBatch, 200 ms here). The bound
	// follows the span the recorded positions cover, not the 0.5 s the
	// moves take on an idle machine: on a loaded one they were seen to
	// take longer, and 26 positions for them were right.
	total := 0
	first, last := int64(1<<62), int64(-1<<62)
	for _, e := range evs {
		if d := decode(e); e.Type == 3 && d.Source == 1 {
			total += len(d.Positions)
			for _, p := range d.Positions {
				at := e.Timestamp + int64(p.TimeOffset)
				first, last = min(first, at), max(last, at)
			}
		}
	}
	span := last - first
	if limit := int(span/50+2) + int(span/200+2); total > limit {
		t.Errorf("%d positions for 41 moves over %d ms (at most %d when sampled every 50 ms and batched every 200 ms): not sampled", total, span, limit)
	}
	t.Logf("%d positions for 41 moves over %d ms", total, span)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// testGuardrails checks the mutation-storm pause and the caps on huge text
// and data: URLs.
func testGuardrails(t *testing.T, h *harness, b *browser) {
	h.coll.reset()
	live := b.tab(t)
	h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 300, tick: 100, stormBudget: 3000, stormPause: 200}`))
	sid, _ := ids(t, live)
	act(t, live, `(() => { const big = 'T'.repeat(300000); document.body.append(big); const img = document.createElement('img'); img.src = 'data:image/png;base64,' + 'A'.repeat(200000); document.body.append(img); })()`)
	flush(t, live)
	// What was capped differs from the page on purpose: remove it before comparing.
	act(t, live, `(() => { document.body.lastChild.remove(); document.body.lastChild.remove(); })()`)
	// A storm: 5000 nodes in one task.
	act(t, live, `(() => { const d = document.createElement('div'); document.body.append(d); for (let i = 0; i < 5000; i++) { const s = document.createElement('span'); s.textContent = i; d.appendChild(s); document.body.appendChild(document.createElement('i')); } })()`)
	// The pause is short (stormPause): rather than catch it in the act, wait
	// for its event to arrive and for recording to be back.
	waitFor(t, 15*time.Second, "the storm pause to end", func() bool {
		if s := state(t, live); s.Paused != "" || !s.Recording {
			return false
		}
		for _, e := range h.coll.recorded(sid) {
			if e.Type == 5 && strings.Contains(string(e.Data), `"replay/paused"`) {
				return true
			}
		}
		return false
	})
	replay := b.ctx
	h.roundTrip(t, live, replay, "allow", "after the storm")
	var texts, dataURLs, pausedEv, fulls int
	for _, e := range h.coll.recorded(sid) {
		raw := string(e.Data)
		if strings.Contains(raw, strings.Repeat("T", 1000)) {
			texts++
			if strings.Contains(raw, strings.Repeat("T", 200001)) {
				t.Errorf("a 300,000-character text node was not cut at 200,000")
			}
		}
		if strings.Contains(raw, strings.Repeat("A", 1000)) {
			dataURLs++
		}
		if e.Type == 5 && strings.Contains(raw, `"replay/paused"`) && strings.Contains(raw, `"storm"`) {
			pausedEv++
		}
		if e.Type == 2 {
			fulls++
		}
	}
	if texts == 0 {
		t.Errorf("the huge text node was not recorded at all")
	}
	if dataURLs > 0 {
		t.Errorf("a 200,000-character data: URL was uploaded")
	}
	if pausedEv == 0 || fulls < 2 {
		t.Errorf("storm: %d pause events, %d full snapshots; want a pause and a new full snapshot", pausedEv, fulls)
	}
}

// testChangedWhilePaused: a scroll position or a field value that changes
// while capture is paused, then returns to what was sent before the
// pause, is sent again (the snapshot that resumed capture has the changed
// state, so the replay would keep it).
func testChangedWhilePaused(t *testing.T, h *harness, b *browser) {
	h.coll.reset()
	live := b.tab(t)
	h.open(t, live, "/basic.html?privacy=allow&timing="+urlq(`{flush: 300, tick: 100, stormBudget: 3000, stormPause: 1500}`))
	set := func(top int, value string) {
		act(t, live, fmt.Sprintf(`new Promise((done) => { document.getElementById('scroller').scrollTop = %d; document.querySelector('input[name=name]').value = %q; requestAnimationFrame(() => setTimeout(done, 50)); })`, top, value))
	}
	set(50, "before the pause")
	flush(t, live)
	act(t, live, `(() => { const d = document.createElement('div'); document.body.append(d); for (let i = 0; i < 5000; i++) d.appendChild(document.createElement('i')); })()`)
	waitFor(t, 10*time.Second, "the storm pause", func() bool { return state(t, live).Paused == "storm" })
	set(300, "while paused")
	if s := state(t, live); s.Paused != "storm" {
		t.Fatalf("the pause ended before the page changed (%+v): raise stormPause", s)
	}
	waitForRecording(t, live)
	set(50, "before the pause")
	h.roundTrip(t, live, b.ctx, "allow", "back to the state before the pause")
}
