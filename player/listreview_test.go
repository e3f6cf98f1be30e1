package player

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
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
	var clear bool
	eval(t, ctx, `[...document.querySelectorAll('.filters button')].some((b) => b.textContent === 'Clear filters')`, &clear)
	if !clear {
		t.Error("a typed filter offers no \"Clear filters\"")
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

// TestPreviousAfterTheBackButton: after Next, Next, then the browser's
// Back button (page 2), "Previous" goes to page 1. The list kept a stack
// of cursors that Back did not pop, so Previous "went" to page 2 again:
// the same URL, so nothing happened at all.
func TestPreviousAfterTheBackButton(t *testing.T) {
	ts, ctx := openListOf(t, 5, 12, 60*time.Second)
	settled := func(rows int) []string {
		t.Helper()
		waitJS(t, ctx, fmt.Sprintf(`!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === %d`, rows), 5*time.Second)
		var ids []string
		eval(t, ctx, `[...document.querySelectorAll('a.srow')].map((r) => r.dataset.id)`, &ids)
		return ids
	}
	next := `//div[@class='pager']/button[contains(., 'Next')]`
	prev := `//div[@class='pager']/button[contains(., 'Previous')]`
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("")))
	page1 := settled(5)
	run(t, ctx, chromedp.Click(next, chromedp.BySearch))
	waitJS(t, ctx, `location.search.includes('page=2')`, 3*time.Second)
	settled(5)
	run(t, ctx, chromedp.Click(next, chromedp.BySearch))
	waitJS(t, ctx, `location.search.includes('page=3')`, 3*time.Second)
	settled(2)
	run(t, ctx, chromedp.NavigateBack())
	waitJS(t, ctx, `location.search.includes('page=2')`, 3*time.Second)
	settled(5)
	run(t, ctx, chromedp.Click(prev, chromedp.BySearch))
	waitJS(t, ctx, `!location.search.includes('page=2')`, 3*time.Second)
	if got := settled(5); strings.Join(got, ",") != strings.Join(page1, ",") {
		t.Errorf("Previous from page 2 (reached with Back) shows %v, want page 1 %v", got, page1)
	}
	var pager string
	eval(t, ctx, `document.querySelector('.pager').innerText`, &pager)
	if !strings.Contains(pager, "Page 1 of 3") {
		t.Errorf("pager after Previous: %q", pager)
	}
}

// TestRelativeTimesRoundUpToTheNextUnit: a session that started 59 min
// 50 s ago is "1 hour ago", and one 23 h 50 min ago is "yesterday" (the
// list said "60 minutes ago" and "24 hours ago": it rounded within a unit
// and never carried into the next one).
func TestRelativeTimesRoundUpToTheNextUnit(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 1, time.Now().UnixMilli())
	ctx, _ := browser(t, 30*time.Second)
	for _, c := range []struct {
		ago  time.Duration
		want string
	}{
		{59*time.Minute + 50*time.Second, "1 hour ago"},
		{23*time.Hour + 50*time.Minute, "yesterday"},
		{90 * time.Minute, "2 hours ago"},
		{44 * time.Minute, "44 minutes ago"},
		// A visitor's clock that runs fast (the collector accepts up to
		// ten minutes ahead) puts a start in the future: it happened just
		// now, not "in 5 minutes".
		{-5 * time.Minute, "just now"},
	} {
		ts.store.mu.Lock()
		ts.store.sessions[sessionID(1)].Start = time.Now().Add(-c.ago).UnixMilli()
		ts.store.mu.Unlock()
		run(t, ctx, chromedp.Navigate(ts.url("")))
		waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 1`, 5*time.Second)
		var got string
		eval(t, ctx, `document.querySelector('.rel-time').textContent`, &got)
		if got != c.want {
			t.Errorf("started %v ago: %q, want %q", c.ago, got, c.want)
		}
	}
}

// TestCustomDatesOnDaylightSavingDays: a custom range of one day is that
// day on the viewer's clock, whatever its length. The list ended it 24 h
// after its midnight, so in New York the 25-hour 1 November 2026 lost its
// last hour (a session at 23:30 was not in it) and the 23-hour 8 March
// 2026 took in the first hour of the 9th.
func TestCustomDatesOnDaylightSavingDays(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 1, time.Now().UnixMilli())
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, emulation.SetTimezoneOverride("America/New_York"))
	for _, c := range []struct {
		start time.Time
		query string
		rows  int
	}{
		{time.Date(2026, 11, 2, 4, 30, 0, 0, time.UTC), "range=custom&from=2026-11-01&to=2026-11-01", 1}, // 23:30 EST on 1 Nov
		{time.Date(2026, 11, 2, 4, 30, 0, 0, time.UTC), "range=custom&from=2026-11-02&to=2026-11-02", 0},
		{time.Date(2026, 3, 9, 4, 30, 0, 0, time.UTC), "range=custom&from=2026-03-08&to=2026-03-08", 0}, // 00:30 EDT on 9 Mar
		{time.Date(2026, 3, 9, 4, 30, 0, 0, time.UTC), "range=custom&from=2026-03-09&to=2026-03-09", 1},
	} {
		ts.store.mu.Lock()
		ts.store.sessions[sessionID(1)].Start = c.start.UnixMilli()
		ts.store.mu.Unlock()
		run(t, ctx, chromedp.Navigate(ts.url(c.query)))
		waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && (document.querySelector('a.srow') || document.querySelector('.empty'))`, 5*time.Second)
		var rows int
		eval(t, ctx, `document.querySelectorAll('a.srow').length`, &rows)
		if rows != c.rows {
			t.Errorf("session at %s, %s: %d rows, want %d", c.start.In(time.FixedZone("", 0)).Format(time.RFC3339), c.query, rows, c.rows)
		}
	}
}

// TestStaleCursorOffersTheFirstPage: a bookmarked page whose cursor the
// store no longer accepts says so and offers the first page. The list
// offered only "Try again", which sent the same cursor and failed again:
// the operator was stuck until they edited the address by hand.
func TestStaleCursorOffersTheFirstPage(t *testing.T) {
	ts, ctx := openListOf(t, 5, 12, 30*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("errors=1&cursor=not-a-cursor&page=3")))
	waitJS(t, ctx, `document.querySelector('.error-box')`, 5*time.Second)
	var buttons []string
	eval(t, ctx, `[...document.querySelectorAll('.error-box button')].map((b) => b.textContent)`, &buttons)
	if len(buttons) != 1 || buttons[0] != "Go to the first page" {
		t.Fatalf("a refused cursor offers %q, want only \"Go to the first page\"", buttons)
	}
	run(t, ctx, chromedp.Click(`.error-box button`, chromedp.ByQuery))
	waitJS(t, ctx, `location.search === '?errors=1' && !document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length > 0`, 5*time.Second)
	// Dates typed in the wrong order: the way out is clearing the filters.
	run(t, ctx, chromedp.Navigate(ts.url("range=custom&from=2026-11-10&to=2026-11-01&sort=longest")))
	waitJS(t, ctx, `document.querySelector('.error-box')`, 5*time.Second)
	eval(t, ctx, `[...document.querySelectorAll('.error-box button')].map((b) => b.textContent)`, &buttons)
	if len(buttons) != 1 || buttons[0] != "Clear filters" {
		t.Fatalf("refused filters offer %q, want only \"Clear filters\"", buttons)
	}
	run(t, ctx, chromedp.Click(`.error-box button`, chromedp.ByQuery))
	waitJS(t, ctx, `location.search === '?sort=longest' && !document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 5`, 5*time.Second)
}

// TestSpaceActivatesTheFocusedControl: on the replay screen, Space on a
// focused button or switch does what it does on every page (activates
// it); elsewhere it plays or pauses. The Space shortcut took it first, so
// a keyboard user who tabbed to "2×", "Skip inactivity" or "Delete" and
// pressed Space started playback instead.
func TestSpaceActivatesTheFocusedControl(t *testing.T) {
	ts := newTestServer(t)
	views, _, _ := shopSession()
	putSession(t, ts.store, "shop-session-0000001", views, nil)
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("session=shop-session-0000001&t=2")))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'paused'`, 10*time.Second)
	state := func() string {
		var s string
		eval(t, ctx, `document.querySelector('.replay-screen').dataset.state`, &s)
		return s
	}
	run(t, ctx, chromedp.Focus(`button[data-speed="2"]`, chromedp.ByQuery), chromedp.KeyEvent(" "))
	waitJS(t, ctx, `document.querySelector('button[data-speed="2"]').classList.contains('on')`, 2*time.Second)
	if s := state(); s != "paused" {
		t.Errorf("Space on the 2× button: the replay is %s, want still paused", s)
	}
	var skip bool
	eval(t, ctx, `document.querySelector('.switch-input').checked`, &skip)
	run(t, ctx, chromedp.Focus(`.switch-input`, chromedp.ByQuery), chromedp.KeyEvent(" "))
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('.switch-input').checked === %v`, !skip), 2*time.Second)
	if s := state(); s != "paused" {
		t.Errorf("Space on the skip switch: the replay is %s, want still paused", s)
	}
	run(t, ctx, chromedp.Focus(`//button[contains(., 'Delete')]`, chromedp.BySearch), chromedp.KeyEvent(" "))
	waitJS(t, ctx, `document.querySelector('dialog[open]')`, 2*time.Second)
	run(t, ctx, chromedp.KeyEvent("\x1b"))
	waitJS(t, ctx, `!document.querySelector('dialog[open]')`, 2*time.Second)
	// The play button, focused, toggles once.
	run(t, ctx, chromedp.Focus(`.play-btn`, chromedp.ByQuery), chromedp.KeyEvent(" "))
	waitJS(t, ctx, `document.querySelector('.replay-screen').dataset.state === 'playing'`, 2*time.Second)
	run(t, ctx, chromedp.KeyEvent(" "))
	waitJS(t, ctx, `document.querySelector('.replay-screen').dataset.state === 'paused'`, 2*time.Second)
	// Space does nothing to a link, so on a focused link it still pauses.
	run(t, ctx, chromedp.Focus(`//nav[@class='crumbs']/a`, chromedp.BySearch), chromedp.KeyEvent(" "))
	waitJS(t, ctx, `document.querySelector('.replay-screen').dataset.state === 'playing'`, 2*time.Second)
	run(t, ctx, chromedp.KeyEvent(" "))
	waitJS(t, ctx, `document.querySelector('.replay-screen').dataset.state === 'paused'`, 2*time.Second)
	// A button clicked with the mouse keeps focus without showing it:
	// Space then plays, as a mouse user expects.
	run(t, ctx, chromedp.Click(`button[data-speed="1"]`, chromedp.ByQuery), chromedp.KeyEvent(" "))
	waitJS(t, ctx, `document.querySelector('.replay-screen').dataset.state === 'playing'`, 2*time.Second)
}

// TestBackUndoesATypedFilter: Back after typing a filter returns to the
// list as it was before it, with the field empty again; pauses within
// one piece of typing do not each add a step. Every typed change
// replaced the history entry, the first one too, so the unfiltered list
// was gone from history and Back left the player.
func TestBackUndoesATypedFilter(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 12, time.Now().UnixMilli())
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("sort=oldest")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 12`, 5*time.Second)
	run(t, ctx, chromedp.Focus(`input[name=url]`, chromedp.ByQuery), chromedp.KeyEvent("ca"))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('url') === 'ca' && !document.querySelector('.list-screen.loading')`, 3*time.Second)
	run(t, ctx, chromedp.KeyEvent("rt"))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('url') === 'cart' && !document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 2`, 3*time.Second)
	run(t, ctx, chromedp.NavigateBack())
	waitJS(t, ctx, `location.search === '?sort=oldest' && !document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 12 && document.querySelector('input[name=url]').value === ''`, 3*time.Second)
	// Forward brings the typed filter back.
	run(t, ctx, chromedp.NavigateForward())
	waitJS(t, ctx, `new URLSearchParams(location.search).get('url') === 'cart' && document.querySelector('input[name=url]').value === 'cart' && document.querySelectorAll('a.srow').length === 2`, 3*time.Second)
}

// TestPageBeyondTheEndSaysSo: a later page that has become empty (its
// sessions deleted or expired since the link was made) says so and
// offers the first page; with no filter set it blamed "these filters".
func TestPageBeyondTheEndSaysSo(t *testing.T) {
	ts, ctx := openListOf(t, 5, 4, 30*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("cursor=10&page=3")))
	waitJS(t, ctx, `document.querySelector('.empty')`, 5*time.Second)
	var got struct{ Text, Button string }
	eval(t, ctx, `({Text: document.querySelector('.empty h2').textContent, Button: document.querySelector('.empty button').textContent})`, &got)
	if got.Text != "No sessions on this page any more" || got.Button != "Go to the first page" {
		t.Errorf("an empty page 3 without filters: %+v", got)
	}
	run(t, ctx, chromedp.Click(`.empty button`, chromedp.ByQuery))
	waitJS(t, ctx, `location.search === '' && !document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 4`, 5*time.Second)
}

// TestFocusedRowShowsItsWholeOutline: a session row reached with Tab
// shows its focus ring on all four sides. The ring sat outside the row
// and the table clips what overflows it (for its rounded corners), so
// only a line above and below the row was left.
func TestFocusedRowShowsItsWholeOutline(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 3, time.Now().UnixMilli())
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 3`, 5*time.Second)
	for i := 0; i < 30; i++ {
		var onRow bool
		eval(t, ctx, `document.activeElement.matches('a.srow')`, &onRow)
		if onRow {
			break
		}
		run(t, ctx, chromedp.KeyEvent(kb.Tab))
	}
	var got struct {
		OnRow, Visible bool
		Outside        float64
	}
	eval(t, ctx, `(() => {
		const row = document.activeElement, table = row.closest('.stable');
		const cs = getComputedStyle(row), r = row.getBoundingClientRect(), tr = table.getBoundingClientRect();
		const out = parseFloat(cs.outlineOffset) + parseFloat(cs.outlineWidth), b = parseFloat(getComputedStyle(table).borderLeftWidth);
		return { OnRow: row.matches('a.srow'), Visible: row.matches(':focus-visible') && cs.outlineStyle !== 'none',
			Outside: Math.max(tr.left + b - (r.left - out), (r.right + out) - (tr.right - b)) };
	})()`, &got)
	if !got.OnRow || !got.Visible {
		t.Fatalf("Tab did not reach a row with a visible focus ring: %+v", got)
	}
	if got.Outside > 0 {
		t.Errorf("the focused row's ring reaches %.0f px past the table's clip: its sides are cut off", got.Outside)
	}
}

// TestTypingACustomDate: a custom date typed digit by digit ends up whole
// in the URL and the field keeps the focus. The date fields had no name,
// so the list's rebuild after the first complete date lost the focus,
// and the rest of the year went nowhere.
func TestTypingACustomDate(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 3, time.Now().UnixMilli())
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("range=custom")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelector('input[type=date]')`, 5*time.Second)
	run(t, ctx, chromedp.Focus(`input[type=date]`, chromedp.ByQuery))
	for _, k := range "11012026" {
		run(t, ctx, chromedp.KeyEvent(string(k)))
		time.Sleep(60 * time.Millisecond)
	}
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading')`, 3*time.Second)
	var got struct {
		From, Value string
		Focused     bool
	}
	eval(t, ctx, `({From: new URLSearchParams(location.search).get('from') || '', Value: document.querySelector('input[type=date]').value,
		Focused: document.activeElement === document.querySelector('input[type=date]')})`, &got)
	if got.From != "2026-11-01" || got.Value != "2026-11-01" || !got.Focused {
		t.Errorf("typed 11/01/2026 in From: %+v", got)
	}
}

// TestSessionsCrumbReturnsToTheListAsLeft: the "Sessions" crumb of a
// replay opened from a filtered, sorted list page goes back to that
// page, filters and all; it went to the unfiltered first page, so an
// operator working through "errors, oldest first" set them again after
// every session.
func TestSessionsCrumbReturnsToTheListAsLeft(t *testing.T) {
	ts, ctx := openListOf(t, 2, 12, 30*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("errors=1&sort=oldest")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 2`, 5*time.Second)
	run(t, ctx, chromedp.Click(`//div[@class='pager']/button[contains(., 'Next')]`, chromedp.BySearch))
	waitJS(t, ctx, `location.search.includes('page=2') && !document.querySelector('.list-screen.loading')`, 5*time.Second)
	var list string
	eval(t, ctx, `location.search`, &list)
	run(t, ctx, chromedp.Click(`a.srow`, chromedp.ByQuery))
	waitJS(t, ctx, `document.querySelector('.replay-screen')`, 5*time.Second)
	run(t, ctx, chromedp.Click(`//nav[@class='crumbs']/a[contains(., 'Sessions')]`, chromedp.BySearch))
	waitJS(t, ctx, `document.querySelector('.list-screen')`, 5*time.Second)
	var got string
	eval(t, ctx, `location.search`, &got)
	if got != list {
		t.Errorf("the Sessions crumb goes to %q, want the list as left, %q", got, list)
	}
	// A replay opened from a link, with no list seen, goes to the first page.
	run(t, ctx, chromedp.Navigate(ts.url("session="+sessionID(1))))
	waitJS(t, ctx, `document.querySelector('.replay-screen')`, 5*time.Second)
	run(t, ctx, chromedp.Click(`//nav[@class='crumbs']/a[contains(., 'Sessions')]`, chromedp.BySearch))
	waitJS(t, ctx, `document.querySelector('.list-screen') && location.search === ''`, 5*time.Second)
}

// TestDeletingReturnsToTheListAsLeft: deleting a session opened from a
// filtered list returns to that list, filters and all, with the session
// gone from it; it returned to the unfiltered list.
func TestDeletingReturnsToTheListAsLeft(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 12, time.Now().UnixMilli())
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("errors=1&sort=oldest")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 3`, 5*time.Second)
	var id string
	eval(t, ctx, `document.querySelector('a.srow').dataset.id`, &id)
	run(t, ctx, chromedp.Click(`a.srow`, chromedp.ByQuery))
	waitJS(t, ctx, `document.querySelector('.replay-screen')`, 5*time.Second)
	run(t, ctx, chromedp.Click(`//header//button[contains(., 'Delete')]`, chromedp.BySearch),
		chromedp.Click(`//dialog//button[.='Delete session']`, chromedp.BySearch))
	waitJS(t, ctx, `document.querySelector('.list-screen') && !document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length > 0`, 5*time.Second)
	var got struct {
		Query string
		Rows  []string
	}
	eval(t, ctx, `({Query: location.search, Rows: [...document.querySelectorAll('a.srow')].map((r) => r.dataset.id)})`, &got)
	if got.Query != "?errors=1&sort=oldest" || len(got.Rows) != 2 || strings.Contains(strings.Join(got.Rows, ","), id) {
		t.Errorf("after deleting %s from the errors list: %+v", id, got)
	}
}

// TestThemeFollowsOtherTabs: the theme chosen in one player tab applies
// to the player's other open tabs at once, as the remembered choice
// does after a reload; they stayed in the old theme (and their toggles
// named it) until reloaded.
func TestThemeFollowsOtherTabs(t *testing.T) {
	ts := newTestServer(t)
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("")))
	eval(t, ctx, `localStorage.removeItem('caddy-replay-theme')`, nil)
	run(t, ctx, chromedp.Reload())
	other, cancel := chromedp.NewContext(ctx)
	defer cancel()
	run(t, other, chromedp.Navigate(ts.url("")))
	waitJS(t, other, `document.querySelector('.topbar button[aria-label^="Theme"]')`, 5*time.Second)
	waitJS(t, ctx, `document.querySelector('.topbar button[aria-label^="Theme"]')`, 5*time.Second)
	run(t, ctx, chromedp.Click(`.topbar button[aria-label^="Theme"]`, chromedp.ByQuery)) // system → light
	run(t, ctx, chromedp.Click(`.topbar button[aria-label^="Theme"]`, chromedp.ByQuery)) // light → dark
	waitJS(t, ctx, `document.documentElement.dataset.theme === 'dark'`, 2*time.Second)
	deadline := time.Now().Add(2 * time.Second)
	for {
		var got string
		eval(t, other, `(document.documentElement.dataset.theme || 'auto') + ' ' + document.querySelector('.topbar button[aria-label^="Theme"]').getAttribute('aria-label')`, &got)
		if got == "dark Theme: dark" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other tab after choosing dark: %q, want dark and its toggle saying so", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBackAfterATypedSpaceEmptiesTheField: a typed change that leaves the
// filter as it was (a trailing space) does not pin the field, so Back
// still shows the previous filter in it. The field was kept as typed
// across the next reload, whatever it came from, and read "cart" over a
// list no longer filtered.
func TestBackAfterATypedSpaceEmptiesTheField(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 12, time.Now().UnixMilli())
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 12`, 5*time.Second)
	run(t, ctx, chromedp.Focus(`input[name=url]`, chromedp.ByQuery), chromedp.KeyEvent("cart"))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('url') === 'cart' && !document.querySelector('.list-screen.loading')`, 3*time.Second)
	run(t, ctx, chromedp.KeyEvent(" "))
	time.Sleep(500 * time.Millisecond)
	run(t, ctx, chromedp.NavigateBack())
	waitJS(t, ctx, `location.search === '' && !document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 12`, 3*time.Second)
	var value string
	eval(t, ctx, `document.querySelector('input[name=url]').value`, &value)
	if value != "" {
		t.Errorf("after Back to the unfiltered list the URL field reads %q", value)
	}
}

// TestPreviousShowsThePageFromTheTop: "Previous", pressed at the foot of
// a long page, shows the page before from its top, as "Next" does; it
// left the window scrolled to the foot of the new page.
func TestPreviousShowsThePageFromTheTop(t *testing.T) {
	ts, ctx := openListOf(t, 20, 30, 30*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 20`, 5*time.Second)
	run(t, ctx, chromedp.Click(`//div[@class='pager']/button[contains(., 'Next')]`, chromedp.BySearch))
	waitJS(t, ctx, `location.search.includes('page=2') && !document.querySelector('.list-screen.loading')`, 5*time.Second)
	// Page 2 is short: make it long enough to scroll, as a page of 20 is.
	eval(t, ctx, `document.querySelector('.pager').style.marginTop = '1500px'; scrollTo(0, document.body.scrollHeight); scrollY > 0`, nil)
	run(t, ctx, chromedp.Click(`//div[@class='pager']/button[contains(., 'Previous')]`, chromedp.BySearch))
	waitJS(t, ctx, `!location.search.includes('page=2') && !document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 20`, 5*time.Second)
	var y float64
	eval(t, ctx, `scrollY`, &y)
	if y != 0 {
		t.Errorf("after Previous the window is scrolled to %v px, want the top", y)
	}
}

// TestBackWhileTypingStaysBack: Back pressed within the typing pause
// stays where Back went. The pending pause of the replaced field fired
// after it and navigated again, to its text over the filters Back had
// restored.
func TestBackWhileTypingStaysBack(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 12, time.Now().UnixMilli())
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("sort=oldest")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 12`, 5*time.Second)
	run(t, ctx, chromedp.Click(`//button[contains(@class,'chip')][contains(., 'Errors')]`, chromedp.BySearch))
	waitJS(t, ctx, `location.search === '?sort=oldest&errors=1' && !document.querySelector('.list-screen.loading')`, 3*time.Second)
	run(t, ctx, chromedp.Focus(`input[name=url]`, chromedp.ByQuery), chromedp.KeyEvent("zz"), chromedp.NavigateBack())
	waitJS(t, ctx, `location.search === '?sort=oldest'`, 3*time.Second)
	time.Sleep(700 * time.Millisecond)
	var got string
	eval(t, ctx, `location.search`, &got)
	if got != "?sort=oldest" {
		t.Errorf("Back while typing: the list went on to %q", got)
	}
	// A chip pressed within the pause takes the typed text along.
	run(t, ctx, chromedp.Focus(`input[name=url]`, chromedp.ByQuery), chromedp.KeyEvent("cart"),
		chromedp.Click(`//button[contains(@class,'chip')][contains(., 'Errors')]`, chromedp.BySearch))
	time.Sleep(700 * time.Millisecond)
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading')`, 3*time.Second)
	eval(t, ctx, `location.search + ' ' + document.querySelector('input[name=url]').value`, &got)
	if got != "?sort=oldest&url=cart&errors=1 cart" {
		t.Errorf("typed cart and pressed Errors at once: %q", got)
	}
}

// openListOf starts a player with pageSize sessions a page over n stored
// sessions, and a browser that lasts d.
func openListOf(t *testing.T, pageSize, n int, d time.Duration) (*testServer, context.Context) {
	t.Helper()
	ts := newTestServerWith(t, Config{PageSize: pageSize}, nil)
	listSessions(t, ts.store, n, time.Now().UnixMilli())
	ctx, _ := browser(t, d)
	return ts, ctx
}
