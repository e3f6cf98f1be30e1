package player

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/store"
)

// listPage reads what the list shows.
type listPage struct {
	Rows    []string
	Summary string
	Pager   string
	Query   string
	Empty   string
}

func TestSessionListInBrowser(t *testing.T) {
	ts := newTestServerWith(t, Config{PageSize: 5}, nil)
	listSessions(t, ts.store, 12, time.Now().UnixMilli())
	ctx, _ := browser(t, 60*time.Second)
	read := func() listPage {
		t.Helper()
		var p listPage
		eval(t, ctx, `({
			Rows: [...document.querySelectorAll('a.srow')].map((r) => r.dataset.id),
			Summary: document.querySelector('.list-summary').innerText,
			Pager: document.querySelector('.pager').innerText,
			Query: location.search,
			Empty: document.querySelector('.empty')?.innerText || '',
		})`, &p)
		return p
	}
	settled := func(rows int) listPage {
		t.Helper()
		waitJS(t, ctx, fmt.Sprintf(`!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === %d`, rows), 5*time.Second)
		return read()
	}
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("")))
	p := settled(5)
	if !strings.Contains(p.Summary, "12 sessions") || !strings.Contains(p.Summary, "1–5") || !strings.Contains(p.Pager, "Page 1 of 3") {
		t.Errorf("first page: %+v", p)
	}
	// Pagination.
	next := `//div[@class='pager']/button[contains(., 'Next')]`
	prev := `//div[@class='pager']/button[contains(., 'Previous')]`
	run(t, ctx, chromedp.Click(next, chromedp.BySearch))
	p2 := settled(5)
	if !strings.Contains(p2.Summary, "6–10") || !strings.Contains(p2.Query, "page=2") || p2.Rows[0] == p.Rows[0] {
		t.Errorf("page 2: %+v", p2)
	}
	run(t, ctx, chromedp.Click(next, chromedp.BySearch))
	p3 := settled(2)
	var nextDisabled bool
	eval(t, ctx, `document.evaluate("`+next+`", document, null, 9).singleNodeValue.disabled`, &nextDisabled)
	if !nextDisabled || !strings.Contains(p3.Pager, "Page 3 of 3") {
		t.Errorf("last page: next disabled %v, %+v", nextDisabled, p3)
	}
	run(t, ctx, chromedp.Click(prev, chromedp.BySearch))
	if back := settled(5); strings.Join(back.Rows, ",") != strings.Join(p2.Rows, ",") {
		t.Errorf("previous from page 3 shows %v, want page 2 %v", back.Rows, p2.Rows)
	}
	run(t, ctx, chromedp.Click(prev, chromedp.BySearch))
	settled(5)

	// URL filter, typed: kept in the address bar.
	run(t, ctx, chromedp.SendKeys(`input[name=url]`, "cart", chromedp.ByQuery))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('url') === 'cart'`, 3*time.Second)
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 2`, 5*time.Second)
	var paths []string
	eval(t, ctx, `[...document.querySelectorAll('a.srow .c-page .primary')].map((e) => e.textContent)`, &paths)
	for _, pth := range paths {
		if pth != "/cart" {
			t.Errorf("url=cart lists %q", pth)
		}
	}
	// A signal chip.
	run(t, ctx, chromedp.Click(`//button[contains(@class,'chip')][contains(., 'Errors')]`, chromedp.BySearch))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('errors') === '1'`, 3*time.Second)
	run(t, ctx, chromedp.Click(`//button[contains(@class,'chip')][contains(., 'Errors')]`, chromedp.BySearch))
	waitJS(t, ctx, `!new URLSearchParams(location.search).has('errors')`, 3*time.Second)
	// Clear the URL filter and filter by errors alone.
	run(t, ctx, chromedp.Click(`//button[contains(., 'Clear filters')]`, chromedp.BySearch))
	waitJS(t, ctx, `location.search === ''`, 3*time.Second)
	settled(5)
	run(t, ctx, chromedp.Click(`//button[contains(@class,'chip')][contains(., 'Errors')]`, chromedp.BySearch))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('errors') === '1' && !document.querySelector('.list-screen.loading')`, 3*time.Second)
	var rows, withErrors int
	eval(t, ctx, `document.querySelectorAll('a.srow').length`, &rows)
	eval(t, ctx, `document.querySelectorAll('a.srow .badge-error').length`, &withErrors)
	if rows == 0 || rows != withErrors {
		t.Errorf("errors filter: %d rows, %d with errors", rows, withErrors)
	}
	// Filters survive a reload.
	run(t, ctx, chromedp.Reload())
	waitJS(t, ctx, `document.querySelector('.chip.on') && !document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length > 0`, 5*time.Second)
	// Sort by duration.
	run(t, ctx, chromedp.SetValue(`select[name=sort]`, "longest", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('select[name=sort]').dispatchEvent(new Event('change'))`, nil))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('sort') === 'longest' && !document.querySelector('.list-screen.loading')`, 3*time.Second)
	var ids []string
	eval(t, ctx, `[...document.querySelectorAll('a.srow')].map((r) => r.dataset.id)`, &ids)
	var lastDur int64 = 1 << 62
	for _, id := range ids {
		s := ts.store.sessions[id]
		if s.Duration > lastDur {
			t.Errorf("longest first: %s (%d ms) after a shorter one", id, s.Duration)
		}
		lastDur = s.Duration
	}
	// A time range: the last hour holds the two newest sessions.
	run(t, ctx, chromedp.Navigate(ts.url("range=1h")))
	if got := settled(2); !strings.Contains(got.Summary, "2 sessions") {
		t.Errorf("last hour: %+v", got)
	}
	// Nothing matches: say so and offer to clear.
	run(t, ctx, chromedp.Navigate(ts.url("url=no-such-page")))
	waitJS(t, ctx, `document.querySelector('.empty')`, 5*time.Second)
	if p := read(); !strings.Contains(p.Empty, "No sessions match these filters") {
		t.Errorf("no match: %+v", p)
	}
	run(t, ctx, chromedp.Click(`.empty button`, chromedp.ByQuery))
	settled(5)
	// A row opens the replay; Back returns to the list as it was.
	run(t, ctx, chromedp.Navigate(ts.url("sort=oldest")))
	first := settled(5).Rows[0]
	run(t, ctx, chromedp.Click(`a.srow`, chromedp.ByQuery))
	waitJS(t, ctx, `new URLSearchParams(location.search).get('session') === `+fmt.Sprintf("%q", first)+` && document.querySelector('.replay-screen')`, 5*time.Second)
	run(t, ctx, chromedp.NavigateBack())
	if p := settled(5); p.Rows[0] != first || !strings.Contains(p.Query, "sort=oldest") {
		t.Errorf("back to the list: %+v", p)
	}
}

func TestSessionListEmptyAndErrorStates(t *testing.T) {
	ts := newTestServer(t)
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `document.querySelector('.empty')`, 5*time.Second)
	var text string
	eval(t, ctx, `document.querySelector('.empty').innerText`, &text)
	if !strings.Contains(text, "No sessions recorded yet") || !strings.Contains(text, "reverse_proxy") {
		t.Errorf("empty store: %q", text)
	}
	// The store failing: the list says what happened and offers a retry.
	ts2 := newTestServerWith(t, Config{}, func(m *memStore) store.Store { return failingStore{m} })
	run(t, ctx, chromedp.Navigate(ts2.url("")))
	waitJS(t, ctx, `document.querySelector('.error-box')`, 5*time.Second)
	eval(t, ctx, `document.querySelector('.error-box').innerText`, &text)
	if !strings.Contains(text, "Could not load sessions") || !strings.Contains(text, "try again in a few seconds") || !strings.Contains(text, "Try again") {
		t.Errorf("failing store: %q", text)
	}
}

// TestListTimesStayCurrent: a list left open for twenty minutes does not
// go on saying "10 minutes ago" (Chromium's virtual time runs the clock
// and the list's timers forward without waiting).
func TestListTimesStayCurrent(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 1, time.Now().UnixMilli()) // started ten minutes ago
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === 1`, 5*time.Second)
	var before, after string
	eval(t, ctx, `document.querySelector('.rel-time').textContent`, &before)
	budget := make(chan struct{})
	chromedp.ListenTarget(ctx, func(ev any) {
		if _, ok := ev.(*emulation.EventVirtualTimeBudgetExpired); ok {
			close(budget)
		}
	})
	run(t, ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := emulation.SetVirtualTimePolicy(emulation.VirtualTimePolicyAdvance).WithBudget(20 * 60 * 1000).Do(ctx)
		return err
	}))
	select {
	case <-budget:
	case <-time.After(20 * time.Second):
		t.Fatal("virtual time did not advance")
	}
	eval(t, ctx, `document.querySelector('.rel-time').textContent`, &after)
	if before != "10 minutes ago" || after != "30 minutes ago" {
		t.Errorf("started ten minutes ago: %q, and twenty minutes later %q, want 10 then 30 minutes ago", before, after)
	}
}

// estimatingStore answers every listing with an estimated Total of 10, as
// the embedded store does when counting a broad filter over a large index
// would take too long.
type estimatingStore struct{ *memStore }

func (s estimatingStore) ListSessions(ctx context.Context, q store.Query) (*store.SessionPage, error) {
	p, err := s.memStore.ListSessions(ctx, q)
	if err == nil {
		p.Total, p.TotalEstimated = 10, true
	}
	return p, err
}

// TestListEstimatedTotal: an estimated total reads "about", and the pager
// never says there are fewer pages than the visitor has already seen
// (12 sessions in pages of 5 against an estimate of 10).
func TestListEstimatedTotal(t *testing.T) {
	ts := newTestServerWith(t, Config{PageSize: 5}, func(m *memStore) store.Store { return estimatingStore{m} })
	listSessions(t, ts.store, 12, time.Now().UnixMilli())
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("")))
	next := `//div[@class='pager']/button[contains(., 'Next')]`
	for i, want := range []struct {
		rows           int
		summary, pager string
	}{
		{5, "about 10 sessions", "Page 1 of about 2"},
		{5, "about 10 sessions", "Page 2 of about 3"},
		{2, "about 10 sessions", "Page 3 of about 3"},
	} {
		if i > 0 {
			run(t, ctx, chromedp.Click(next, chromedp.BySearch))
		}
		waitJS(t, ctx, fmt.Sprintf(`!document.querySelector('.list-screen.loading') && document.querySelectorAll('a.srow').length === %d && new URLSearchParams(location.search).get('page') == %s`, want.rows, map[bool]string{true: "null", false: fmt.Sprintf("'%d'", i+1)}[i == 0]), 5*time.Second)
		var got struct{ Summary, Pager string }
		eval(t, ctx, `({Summary: document.querySelector('.list-summary').innerText, Pager: document.querySelector('.pager').innerText})`, &got)
		if !strings.Contains(got.Summary, want.summary) || !strings.Contains(got.Pager, want.pager) {
			t.Errorf("page %d: summary %q, pager %q; want %q and %q", i+1, got.Summary, got.Pager, want.summary, want.pager)
		}
	}
}
