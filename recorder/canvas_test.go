package recorder

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestCanvasFrames checks when canvas pixels leave the page, with the
// shipped frame rate (one frame per canvas per second) and a slow tick (3
// s instead of 1, so that a frame that waits for it cannot pass for one
// that does not): a canvas the replay shows blank gets its first drawing at once (a chart
// drawn after the snapshot used to wait up to two seconds, and pages left
// sooner replayed it blank), and later drawings are still held to one
// frame per second.
func TestCanvasFrames(t *testing.T) {
	h := newHarness(t)
	b := newBrowser(t)
	live := b.tab(t)
	h.open(t, live, "/media.html?privacy=allow&timing="+urlq(`{flush: 200, tick: 3000, canvasFrame: 1000}`))
	sid, vid := ids(t, live)

	var canvas int
	waitFor(t, 5*time.Second, "the full snapshot", func() bool {
		evs, err := h.coll.events(sid, vid)
		if err != nil {
			return false
		}
		for _, raw := range evs {
			var e event
			json.Unmarshal(raw, &e)
			if e.Type == 2 {
				canvas = nodeWithID(e.Data, "blank")
			}
		}
		return canvas != 0
	})

	frames := func() []int64 {
		var out []int64
		for _, e := range h.coll.recorded(sid) {
			if d := decode(e); e.Type == 3 && d.Source == 9 && d.ID == canvas && strings.Contains(string(e.Data), `"drawImage"`) {
				out = append(out, e.Timestamp)
			}
		}
		return out
	}
	draw := func(color string) {
		act(t, live, `(() => { const c = document.getElementById('blank').getContext('2d'); c.fillStyle = '`+color+`'; c.fillRect(0, 0, 20, 20); })()`)
	}

	drawn := time.Now()
	draw("rgb(255, 0, 0)")
	// 100 ms to the frame, 200 ms to the segment's upload; the next tick
	// (which used to be the first chance) is seconds away.
	waitFor(t, 1500*time.Millisecond, "the first frame of a canvas drawn after the snapshot", func() bool { return len(frames()) == 1 })
	t.Logf("first frame uploaded %v after the drawing", time.Since(drawn).Round(time.Millisecond))

	for i := 0; i < 5; i++ {
		draw([]string{"rgb(0, 255, 0)", "rgb(0, 0, 255)"}[i%2])
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, 4*time.Second, "the frame after the first (at the next tick)", func() bool { return len(frames()) >= 2 })
	time.Sleep(300 * time.Millisecond)
	f := frames()
	if len(f) != 2 {
		t.Fatalf("%d frames, want 2: five drawings within 250 ms after the first frame are one frame", len(f))
	}
	if gap := f[1] - f[0]; gap < 1000 {
		t.Fatalf("second frame %d ms after the first: at most one frame per second", gap)
	}
}

// nodeWithID returns the recorded id of the element whose id attribute is
// id in a full snapshot's data, or 0.
func nodeWithID(data json.RawMessage, id string) int {
	var snap struct{ Node json.RawMessage }
	json.Unmarshal(data, &snap)
	var walk func(raw json.RawMessage) int
	walk = func(raw json.RawMessage) int {
		var n struct {
			ID         int               `json:"id"`
			Attributes map[string]any    `json:"attributes"`
			ChildNodes []json.RawMessage `json:"childNodes"`
		}
		json.Unmarshal(raw, &n)
		if n.Attributes["id"] == id {
			return n.ID
		}
		for _, c := range n.ChildNodes {
			if found := walk(c); found != 0 {
				return found
			}
		}
		return 0
	}
	return walk(snap.Node)
}
