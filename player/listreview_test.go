package player

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestFilterTypingSurvivesThePause: an operator who types "ca", pauses
// (the list reloads for "ca"), then types "rt" filters by "cart". The
// list used to rebuild the filter bar on every load, so the field they
// were typing in was replaced by a new one without focus and the rest of
// what they typed went nowhere.
func TestFilterTypingSurvivesThePause(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 12, time.Now().UnixMilli())
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length > 0`, 5*time.Second)
	run(t, ctx, chromedp.Focus(`input[name=url]`, chromedp.ByQuery))
	run(t, ctx, chromedp.KeyEvent("ca"))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('url') === 'ca' && !document.querySelector('.list-screen.loading')`, 3*time.Second)
	time.Sleep(200 * time.Millisecond)
	run(t, ctx, chromedp.KeyEvent("rt"))
	time.Sleep(700 * time.Millisecond)
	var got struct {
		Value, Query string
		Focused      bool
	}
	eval(t, ctx, `({Value: document.querySelector('input[name=url]').value, Query: new URLSearchParams(location.search).get('url') || '',
		Focused: document.activeElement === document.querySelector('input[name=url]')})`, &got)
	if got.Value != "cart" || got.Query != "cart" || !got.Focused {
		t.Errorf("typed ca, paused, typed rt: field %q (focused %v), url filter %q; want cart, still focused", got.Value, got.Focused, got.Query)
	}
	// A keyboard user toggling a signal chip keeps the focus on it.
	run(t, ctx, chromedp.Focus(`//button[contains(@class,'chip')][contains(., 'Errors')]`, chromedp.BySearch), chromedp.KeyEvent(" "))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('errors') === '1' && !document.querySelector('.list-screen.loading')`, 3*time.Second)
	var focus string
	eval(t, ctx, `document.activeElement.className + ' ' + document.activeElement.textContent`, &focus)
	if focus != "chip on Errors" {
		t.Errorf("after toggling the Errors chip with the keyboard, focus is on %q, want the chip", focus)
	}
}
