package player

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/store"
)

// Tests from a product review of the player by use: each one pins a defect
// an operator saw on screen (cut off, unlabelled, unreadable, misleading).

// lateSnapshotSession is one ten-second page whose view marker comes
// snapshotDelay ms before its first frame (the recorder announces the view,
// then serializes the page), with a click and an error message.
func lateSnapshotSession(snapshotDelay int64, errMsg string) []fixtureView {
	var n nodes
	btn := n.el("button", ev{"id": "go"}, n.text("Go"))
	body := n.el("body", nil, n.el("h1", nil, n.text("Late")), btn)
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil), body))
	events := []ev{
		meta(t0, "https://shop.example/late", 1024, 700),
		custom(t0, "replay/view", ev{"url": "https://shop.example/late", "title": "Late", "tab": "tab-late-000000001"}),
		full(t0+snapshotDelay, doc),
		click(t0+2000, btn["id"].(int), 20, 60),
		custom(t0+3000, "replay/error", ev{"message": errMsg, "source": "custom"}),
		move(t0+10000, btn["id"].(int), [2]int{30, 70}),
	}
	return []fixtureView{{id: "view-late-0000000001", url: "https://shop.example/late", title: "Late", tab: "tab-late-000000001", segments: [][]ev{events}}}
}

const lateID = "late-session-0000001"

func openLate(t *testing.T, errMsg string) context.Context {
	t.Helper()
	ts := newTestServer(t)
	putSession(t, ts.store, lateID, lateSnapshotSession(600, errMsg), nil)
	ctx, _ := browser(t, 60*time.Second)
	run(t, ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.url("session="+lateID+"&t=5")))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'paused' && document.querySelector('.replay-screen').dataset.loaded === '1'`, 10*time.Second)
	return ctx
}

func TestTimelineShowsMarkersBeforeTheFirstFrame(t *testing.T) {
	ctx := openLate(t, "boom")
	// The page view marker sits 600 ms before the timeline's start: it
	// must be drawn at the start, not 50 px off the canvas.
	var painted int
	eval(t, ctx, `(() => {
		const c = document.querySelector('.tl-canvas');
		const dpr = devicePixelRatio || 1;
		// The left end of the canvas (its 6 px overhang and 6 px of track),
		// above the track: only markers are drawn there.
		const d = c.getContext('2d').getImageData(0, 0, Math.round(12 * dpr), c.height - Math.round(15 * dpr)).data;
		let n = 0;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
		return n;
	})()`, &painted)
	if painted == 0 {
		t.Errorf("no marker is drawn at the start of the timeline")
	}
	// Hovering the start names it.
	var tip string
	eval(t, ctx, `(() => {
		const el = document.querySelector('.timeline'), r = el.getBoundingClientRect();
		el.dispatchEvent(new PointerEvent('pointermove', { clientX: r.left + 1, clientY: r.top + 10, bubbles: true }));
		return document.querySelector('.tl-tip').textContent;
	})()`, &tip)
	if !strings.Contains(tip, "Page view") {
		t.Errorf("hovering the start of the timeline shows %q, want the page view", tip)
	}
}

func TestErrorMessagesAreReadableInTheEventList(t *testing.T) {
	msg := "TypeError: Cannot read properties of undefined (reading 'total') at renderCheckout (https://shop.example/assets/checkout.3f9a1c.js:1:48213) while rendering the order summary for a returning customer with a saved card"
	ctx := openLate(t, msg)
	var got struct {
		Lines   float64
		Clamped bool
		Title   string
	}
	eval(t, ctx, `(() => {
		const d = document.querySelector('.ev-error .ev-detail');
		const lh = parseFloat(getComputedStyle(d).lineHeight);
		return { Lines: d.clientHeight / lh, Clamped: d.scrollHeight > d.clientHeight + 1, Title: d.title };
	})()`, &got)
	// Cut to one line, an error said "TypeError: Cannot read properti…".
	if got.Lines < 2.5 || got.Lines > 3.5 || !got.Clamped || got.Title != msg {
		t.Errorf("error row shows %.1f lines (clamped %v, title %q), want three lines and the whole message on hover", got.Lines, got.Clamped, got.Title)
	}
}

func TestListRowsSayWhatTheyCount(t *testing.T) {
	ts := newTestServer(t)
	listSessions(t, ts.store, 6, time.Now().UnixMilli())
	longUser := "user-8f3a2c1e-5b7d-4e9a-a1c3-9d2f6e8b4a70-tenant-acme-corporation-enterprise-eu-west"
	views, _, _ := shopSession()
	one := []fixtureView{{id: views[0].id, url: views[0].url, title: views[0].title, tab: views[0].tab, segments: views[0].segments[:1]}}
	putSession(t, ts.store, lateID, one, func(s *store.Session) {
		s.UserID = longUser
		s.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
		s.ViewportWidth, s.ViewportHeight = 1280, 657
		s.Duration = 59_600
		s.Clicks, s.Inputs = 1, 0
		s.Errors, s.RageClicks, s.DeadClicks = 1, 3, 1
	})
	ctx, _ := browser(t, 60*time.Second)
	// A zone whose name the check can spell: the session starts at t0,
	// 22:13:20 UTC on Nov 14, 2023.
	run(t, ctx, emulation.SetTimezoneOverride("America/New_York"))
	for _, width := range []int64{1280, 1440} {
		run(t, ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(ts.url("")))
		waitJS(t, ctx, `document.querySelectorAll('a.srow').length === 7 && !document.querySelector('.list-screen.loading')`, 10*time.Second)
		var cut []string
		eval(t, ctx, `[...document.querySelectorAll('a.srow .c-dev > div, a.srow .c-act > span, a.srow .c-sig .badge')]
			.filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > e.closest('.srow > div').getBoundingClientRect().right + 1)
			.map((e) => e.textContent)`, &cut)
		if len(cut) > 0 {
			t.Errorf("at %d px these cells are cut off: %q", width, cut)
		}
	}
	var row struct {
		When, WhenTitle, User, UserTitle, Dur, Act, Sig, Dev string
	}
	eval(t, ctx, `(() => {
		const r = document.querySelector('a.srow[data-id="`+lateID+`"]');
		const q = (s) => r.querySelector(s);
		return {
			When: q('.c-when .small').textContent, WhenTitle: q('.c-when .small').title,
			User: q('.c-user .primary').textContent, UserTitle: q('.c-user .primary').title,
			Dur: q('.c-dur .primary').textContent, Act: q('.c-act').innerText, Sig: q('.c-sig').innerText, Dev: q('.c-dev').innerText,
		};
	})()`, &row)
	want := map[string][2]string{
		// The hour as the locale writes it, not "05:13 PM"; the zone named.
		"start":    {row.When, "Nov 14, 5:13 PM"},
		"tooltip":  {row.WhenTitle, "Nov 14, 2023, 5:13:20 PM EST"},
		"user":     {row.UserTitle, longUser},
		"duration": {row.Dur, "59s"}, // as the player's clock (0:59), not "1m 00s"
		"activity": {strings.Join(strings.Fields(row.Act), " "), "1 click 0 inputs"},
		"signals":  {strings.Join(strings.Fields(row.Sig), " "), "1 error 3 rage 1 dead"},
		"device":   {strings.Join(strings.Fields(row.Dev), " "), "Headless Chrome 156 Linux · 1280×657 px"},
	}
	for what, w := range want {
		if w[0] != w[1] {
			t.Errorf("%s: %q, want %q", what, w[0], w[1])
		}
	}
	// The details of a one-segment session.
	run(t, ctx, chromedp.Click(`a.srow[data-id="`+lateID+`"]`, chromedp.ByQuery))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.loaded === '1'`, 10*time.Second)
	run(t, ctx, chromedp.Click(`//button[@role='tab'][contains(., 'Details')]`, chromedp.BySearch))
	var info string
	eval(t, ctx, `document.querySelector('.details').innerText`, &info)
	if !regexp.MustCompile(`Stored\s+1 segment ·`).MatchString(info) || !strings.Contains(info, "Nov 14, 2023, 5:13:20 PM EST") {
		t.Errorf("details: %q", info)
	}
}

// contrast is the WCAG contrast ratio of an element's text on its
// background, in the page.
const contrast = `function contrast(el) {
	const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
	const lum = ([r, g, b]) => {
		const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
		return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
	};
	const cs = getComputedStyle(el);
	const a = lum(rgb(cs.color)), b = lum(rgb(cs.backgroundColor));
	return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}`

func TestDangerSurfacesAreReadableInBothThemes(t *testing.T) {
	ts := newTestServer(t)
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `document.querySelector('.empty')`, 5*time.Second)
	eval(t, ctx, contrast, nil)
	for _, theme := range []string{"light", "dark"} {
		var ratios map[string]float64
		eval(t, ctx, fmt.Sprintf(`(() => {
			document.documentElement.dataset.theme = %q;
			const toast = document.createElement('div'); toast.className = 'toast toast-error'; toast.textContent = 'x';
			const btn = document.createElement('button'); btn.className = 'btn danger'; btn.textContent = 'Delete';
			document.body.append(toast, btn);
			const r = { toast: contrast(toast), button: contrast(btn) };
			toast.remove(); btn.remove();
			return r;
		})()`, theme), &ratios)
		for what, r := range ratios {
			// The error toast was white on dark theme's light red: 2.6:1.
			if r < 4.5 {
				t.Errorf("%s theme: the %s's text has a contrast of %.2f:1, want at least 4.5:1", theme, what, r)
			}
		}
	}
}

func TestDeletingASessionDeletedMeanwhile(t *testing.T) {
	ts, ctx := openShop(t, "1")
	// Another tab, or the retention sweep, deletes it first.
	if err := ts.store.DeleteSession(t.Context(), shopID); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Click(`//header//button[contains(., 'Delete')]`, chromedp.BySearch),
		chromedp.Click(`//dialog//button[.='Delete session']`, chromedp.BySearch))
	// What the operator asked for is done: say so, and go back to the list
	// (it said "Not found: it may have expired" and stayed).
	waitJS(t, ctx, `document.querySelector('.list-screen') && document.querySelector('.toasts').innerText.includes('already been deleted')`, 5*time.Second)
	var errors int
	eval(t, ctx, `document.querySelectorAll('.toast-error').length`, &errors)
	if errors != 0 {
		t.Errorf("an error toast for a session that is gone as asked")
	}
}

func TestReplayThatCannotLoadOffersARetry(t *testing.T) {
	ts := newTestServerWith(t, Config{}, func(m *memStore) store.Store { return closedSessions{m} })
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("session="+shopID)))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'error'`, 10*time.Second)
	var msg string
	eval(t, ctx, `document.querySelector('.replay-error').innerText`, &msg)
	if !strings.Contains(msg, "Could not open this session") || !strings.Contains(msg, "Try again") || !strings.Contains(msg, "Back to sessions") {
		t.Errorf("store down: %q", msg)
	}
}

// closedSessions answers every session lookup as a closed store does.
type closedSessions struct{ *memStore }

func (closedSessions) Session(ctx context.Context, id string) (*store.Session, error) {
	return nil, store.ErrClosed
}

func TestShareWithoutClipboardSaysHowToCopy(t *testing.T) {
	ts, ctx := openShop(t, "2.3")
	eval(t, ctx, `navigator.clipboard.writeText = async () => { throw new DOMException('denied', 'NotAllowedError'); }`, nil)
	run(t, ctx, chromedp.Click(`//header//button[contains(., 'Share')]`, chromedp.BySearch))
	waitJS(t, ctx, `document.querySelector('dialog[open] .share-input')`, 2*time.Second)
	var got struct{ Text, Link, Selected string }
	eval(t, ctx, `(() => { const i = document.querySelector('dialog[open] .share-input'); return {
		Text: document.querySelector('dialog[open]').innerText, Link: i.value, Selected: i.value.slice(i.selectionStart, i.selectionEnd) }; })()`, &got)
	want := ts.url("session=" + shopID + "&t=2.3")
	if got.Link != want || got.Selected != want || !strings.Contains(got.Text, "Ctrl+C") {
		t.Errorf("share dialog: %+v, want the selected link %q and how to copy it", got, want)
	}
}

// importError opens the empty list of ts in a browser, imports file and
// returns the browser and the error the import shows.
func importError(t *testing.T, ts *testServer, file string) (context.Context, string) {
	t.Helper()
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `document.querySelector('.empty')`, 5*time.Second)
	run(t, ctx, chromedp.SetUploadFiles(`input[type=file]`, []string{file}, chromedp.ByQuery))
	waitJS(t, ctx, `document.querySelector('.toast-error')`, 5*time.Second)
	var msg string
	eval(t, ctx, `document.querySelector('.toast-error').innerText`, &msg)
	return ctx, msg
}

func TestImportsSayWhatToPickAndOfferNoShareLink(t *testing.T) {
	ts := newTestServer(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "notes.json")
	good := filepath.Join(dir, "visit.json")
	if err := os.WriteFile(bad, []byte("not json{"), 0o644); err != nil {
		t.Fatal(err)
	}
	views, _, _ := shopSession()
	var events []ev
	for _, seg := range views[0].segments {
		events = append(events, seg...)
	}
	b, _ := json.Marshal(events)
	if err := os.WriteFile(good, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, msg := importError(t, ts, bad)
	if !strings.Contains(msg, `"notes.json" is not a JSON file`) || !strings.Contains(msg, "choose a .json file of rrweb events") {
		t.Errorf("bad import: %q", msg)
	}
	run(t, ctx, chromedp.SetUploadFiles(`input[type=file]`, []string{good}, chromedp.ByQuery))
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.loaded === '1'`, 10*time.Second)
	// An import lives in this tab: no link can open it, so no Share button
	// (it was a disabled button that said nothing).
	var actions []string
	eval(t, ctx, `[...document.querySelectorAll('.header-actions > *')].map((e) => e.textContent)`, &actions)
	if strings.Join(actions, ",") != "Export" {
		t.Errorf("import header actions: %q, want Export only", actions)
	}
}
