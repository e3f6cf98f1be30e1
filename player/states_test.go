package player

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Tests of the player's state between screens and over time: what one
// screen leaves behind for the next, and what arrives in another order
// than the code once expected.

const otherID = "other-session-000001"

// A confirmation asked on one session's screen does not survive leaving
// it: confirmed on the next screen, it deleted the session the user was
// no longer looking at (and then left that screen for the list).
func TestDialogsCloseWithTheirScreen(t *testing.T) {
	ts, ctx := openShop(t, "1")
	views, _, _ := shopSession()
	putSession(t, ts.store, otherID, views[:1], nil)
	run(t, ctx, chromedp.Click(`//header//button[contains(., 'Delete')]`, chromedp.BySearch))
	waitJS(t, ctx, `document.querySelector('dialog[open]')`, 2*time.Second)
	seekTo(t, ctx, otherID, 1)
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.loaded === '1' && document.querySelector('.replay-screen').dataset.state === 'paused'`, 10*time.Second)
	var open int
	eval(t, ctx, `document.querySelectorAll('dialog[open]').length`, &open)
	if open != 0 {
		t.Errorf("%d dialogs of the previous screen still open", open)
	}
	// Whatever is on screen, confirming now deletes nothing.
	eval(t, ctx, `document.querySelector('dialog[open] .danger')?.click()`, nil)
	time.Sleep(300 * time.Millisecond)
	if _, err := ts.store.Session(t.Context(), shopID); err != nil {
		t.Errorf("the session left behind was deleted: %v", err)
	}
	var search string
	eval(t, ctx, `location.search`, &search)
	if search != "?session="+otherID+"&t=1" {
		t.Errorf("the screen moved to %q", search)
	}
	// The help sheet, too, goes with its screen (it left the next
	// screen's shortcuts dead while open).
	run(t, ctx, key("?"))
	waitJS(t, ctx, `document.querySelector('dialog[open]')`, 2*time.Second)
	eval(t, ctx, `history.back()`, nil)
	waitJS(t, ctx, `location.search.includes('`+shopID+`') && document.querySelector('.replay-screen')?.dataset.loaded === '1'`, 10*time.Second)
	eval(t, ctx, `document.querySelectorAll('dialog[open]').length`, &open)
	if open != 0 {
		t.Errorf("the help sheet of the previous screen is still open")
	}
}
