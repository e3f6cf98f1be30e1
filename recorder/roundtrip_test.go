package recorder

import (
	"testing"
)

// TestRecorder runs the recorder's browser tests in one Chromium: each
// subtest uses fresh browser contexts (cookies, storage).
func TestRecorder(t *testing.T) {
	h := newHarness(t)
	b := newBrowser(t)
	t.Run("roundtrip", func(t *testing.T) { testRoundTrip(t, h, b) })
	t.Run("privacy", func(t *testing.T) { testPrivacy(t, h, b) })
	t.Run("transport", func(t *testing.T) { testTransport(t, h, b) })
	t.Run("session", func(t *testing.T) { testSession(t, h, b) })
	t.Run("interactions", func(t *testing.T) { testInteractions(t, h, b) })
	t.Run("guardrails", func(t *testing.T) { testGuardrails(t, h, b) })
	t.Run("changed while paused", func(t *testing.T) { testChangedWhilePaused(t, h, b) })
	t.Run("api by hand", func(t *testing.T) { testAPIByHand(t, h, b) })
	t.Run("snapshot urls and scripts", func(t *testing.T) { testSnapshotURLsAndScripts(t, h, b) })
	t.Run("demo", func(t *testing.T) { testDemo(t, h, b) })
	t.Run("rrweb plays ours", func(t *testing.T) { testRRWebPlaysOurs(t, h, b) })
}

// testRoundTrip records fixture pages while driving changes, and at every
// flush compares the live document with the one replaycore rebuilds from
// what the collector received (and with one restored from a checkpoint):
// normalized DOM, form values, scroll positions, canvas and media state.
func testRoundTrip(t *testing.T, h *harness, b *browser) {
	cases := []struct {
		page  string
		steps []string
	}{
		{"/basic.html", []string{"reorder", "moveThenRemove", "attrChurn", "textEdits", "appendMany", "deep", "addRemoveSameBatch", "formProgrammatic", "scrolls", "innerHTML", "svgChange"}},
		{"/shadow.html", []string{"shadowMutate", "lateShadow", "attachToExisting", "closedShadow", "adoptInShadow", "moveHost"}},
		{"/frames.html", []string{"frameMutate", "nestedMutate", "frameInput", "addFrame", "reloadFrame"}},
		{"/cssom.html", []string{"insertRules", "deleteRule", "setProperty", "constructed", "constructedEdit", "adoptPush", "replaceAsync", "styleText", "cssInJs"}},
		{"/media.html", []string{"draw", "play", "seekPause", "volume", "dialogModal", "dialogClose", "popover", "popoverHide"}},
	}
	for _, c := range cases {
		t.Run(c.page[1:], func(t *testing.T) {
			h.coll.reset()
			live, replay := b.tab(t), b.ctx
			h.open(t, live, c.page+"?privacy=allow")
			h.roundTrip(t, live, replay, "allow", "initial snapshot")
			for _, step := range c.steps {
				var ignored any
				if err := eval(live, "window.act."+step+"()", &ignored); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				h.roundTrip(t, live, replay, "allow", step)
			}
		})
	}
}
