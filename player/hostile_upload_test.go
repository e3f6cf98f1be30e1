package player

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestHostileUploadRunsNothing posts hostileSession (script tags, on*
// handlers, javascript: URLs, srcdoc, SVG script and onload, meta refresh,
// in the snapshot and in later mutations) through the real collector, as
// an attacker on the recorded site would, with a hostile user name, and
// plays it: nothing reaches the canary on another host (every payload
// fetches it) and no dialog opens (browser fails the test on one).
// TestHostileRecordingRunsNothing checks the same recording put into the
// store directly, and more of what the rebuilt page holds.
func TestHostileUploadRunsNothing(t *testing.T) {
	a := newAttackStack(t)
	const sid = "hostile-upload-000000001"
	views := hostileSession()
	// The canary moves to the outside host, and the recording to now (the
	// collector refuses timestamps far in the past).
	shift := nowish() - t0
	for _, v := range views {
		for seq, seg := range v.segments {
			raw, err := json.Marshal(seg)
			if err != nil {
				t.Fatal(err)
			}
			raw = []byte(strings.ReplaceAll(string(raw), "/canary/", a.outside.URL+"/canary/"))
			var events []ev
			if err := json.Unmarshal(raw, &events); err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				e["timestamp"] = int64(e["timestamp"].(float64)) + shift
				e["type"] = int(e["type"].(float64))
			}
			events = append(events[:2:2], append([]ev{custom(events[1]["timestamp"].(int64), "replay/user", ev{"id": "u-1", "name": `<img src=x onerror="fetch('` + a.outside.URL + `/canary/user-name')">`})}, events[2:]...)...)
			a.upload(t, sid, v.id, seq, events)
		}
	}

	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.Navigate(a.playerURL("")))
	waitJS(t, ctx, `document.querySelectorAll('a.srow').length === 1`, 10*time.Second)
	var listText string
	eval(t, ctx, `document.querySelector('a.srow').innerText`, &listText)
	if !strings.Contains(listText, `<img src=x onerror=`) {
		t.Errorf("the list did not show the user name as text: %q", listText)
	}
	run(t, ctx, chromedp.Navigate(a.playerURL("session="+sid)))
	playAndPoke(t, ctx, sid)
	frameCheck(t, ctx, "the hostile page was rebuilt", `d.querySelector('h1')?.textContent === 'Hostile page'`)
	time.Sleep(1500 * time.Millisecond)
	for _, h := range a.hitsSnapshot() {
		if strings.Contains(h.Path, "/canary/") {
			t.Errorf("recorded content ran or navigated: %s was requested", h.Path)
		}
	}
}
