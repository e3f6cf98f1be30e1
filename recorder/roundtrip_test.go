package recorder

import (
	"testing"
)

// TestRoundTrip records fixture pages while driving changes, and at every
// flush compares the live document with the one replaycore rebuilds from
// what the collector received (and with one restored from a checkpoint).
func TestRoundTrip(t *testing.T) {
	h := newHarness(t)
	b := newBrowser(t)
	t.Run("basic", func(t *testing.T) {
		live, replay := b.tab(t), b.tab(t)
		h.open(t, live, "/basic.html?privacy=allow")
		h.roundTrip(t, live, replay, "allow", "initial snapshot")
		for _, step := range []string{"reorder", "moveThenRemove", "attrChurn", "textEdits", "appendMany", "deep", "addRemoveSameBatch", "formProgrammatic", "scrolls", "innerHTML", "svgChange"} {
			var ignored any
			if err := eval(live, "window.act."+step+"()", &ignored); err != nil {
				t.Fatal(err)
			}
			h.roundTrip(t, live, replay, "allow", step)
		}
	})
}
