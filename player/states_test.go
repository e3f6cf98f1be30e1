package player

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/store"
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

// The timeline is painted on a canvas in the theme's colors: toggling the
// theme repaints it (it kept the light track in the dark theme).
func TestTimelineFollowsTheTheme(t *testing.T) {
	_, ctx := openShop(t, "1")
	// The track's right end (no marker there), as painted.
	track := `(() => { const c = document.querySelector('.tl-canvas'); const d = c.getContext('2d').getImageData(c.width - Math.round(20 * devicePixelRatio), c.height - Math.round(9 * devicePixelRatio), 1, 1).data; return (d[0] + d[1] + d[2]) / 3; })()`
	var light, dark float64
	eval(t, ctx, `document.documentElement.dataset.theme = 'light'`, nil)
	waitJS(t, ctx, track+` > 160`, 2*time.Second)
	eval(t, ctx, track, &light)
	// The toggle cycles system → light → dark.
	eval(t, ctx, `localStorage.setItem('caddy-replay-theme', 'light')`, nil)
	run(t, ctx, chromedp.Click(`.topbar .icon-btn:last-of-type`, chromedp.ByQuery))
	eval(t, ctx, `document.documentElement.dataset.theme`, new(string))
	time.Sleep(200 * time.Millisecond)
	eval(t, ctx, track, &dark)
	var theme string
	eval(t, ctx, `document.documentElement.dataset.theme || ''`, &theme)
	if theme != "dark" {
		t.Fatalf("the toggle chose %q", theme)
	}
	if dark > 100 {
		t.Errorf("timeline track brightness %v in the dark theme (was %v in the light one)", dark, light)
	}
}

// allGated holds back every segment until gate closes.
type allGated struct {
	*memStore
	gate chan struct{}
}

func (g *allGated) OpenSegment(ctx context.Context, key store.SegmentKey) (io.ReadCloser, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.memStore.OpenSegment(ctx, key)
}

// A link to a moment of the session being opened, followed before its
// first frame, opens there (it was dropped: the session started playing
// from its start under a ?t= address).
func TestLinkFollowedWhileLoadingOpensThere(t *testing.T) {
	gate := make(chan struct{})
	ts := newTestServerWith(t, Config{}, func(m *memStore) store.Store { return &allGated{memStore: m, gate: gate} })
	views, _, _ := shopSession()
	putSession(t, ts.store, shopID, views, nil)
	ctx, _ := browser(t, 30*time.Second)
	// From the list, so that the page carries no session.
	run(t, ctx, chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `document.querySelector('.list-screen')`, 5*time.Second)
	eval(t, ctx, `history.pushState(null, '', '?session=`+shopID+`'); dispatchEvent(new PopStateEvent('popstate'))`, nil)
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'loading'`, 5*time.Second)
	seekTo(t, ctx, shopID, 22.5)
	close(gate)
	waitJS(t, ctx, `document.querySelector('.replay-screen').dataset.loaded === '1'`, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if s := readState(t, ctx); s.State != "paused" || s.Time != "22500" {
		t.Errorf("opened %s at %s ms, want paused at 22500", s.State, s.Time)
	}
}
