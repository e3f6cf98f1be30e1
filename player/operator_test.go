package player

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Tests of what an operator meets using the player end to end, found by
// going through the demo as a new user would.

// exportLink is the header's Export action of a stored session.
const exportLink = `//header//a[contains(., 'Export')]`

// An export that cannot be served says why, on the page. The Export
// action was a plain download link: with the session deleted meanwhile
// (or the store closed), the browser's download failed in its download
// list and the player showed nothing at all.
func TestExportFailureIsShown(t *testing.T) {
	ts, ctx := openShop(t, "1")
	dir := t.TempDir()
	run(t, ctx, cdpbrowser.SetDownloadBehavior(cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName).WithDownloadPath(dir).WithEventsEnabled(true))

	// A session that is there still downloads, as one rrweb JSON array.
	run(t, ctx, chromedp.Click(exportLink, chromedp.BySearch))
	var got []byte
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasSuffix(strings.TrimSpace(string(got)), "]") {
		if time.Now().After(deadline) {
			t.Fatalf("no export downloaded into %s (%d bytes so far)", dir, len(got))
		}
		time.Sleep(100 * time.Millisecond)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			// AllowAndName saves under the download's GUID, without
			// an extension; Chromium's partial files end in .crdownload.
			if !strings.HasSuffix(e.Name(), ".crdownload") {
				got, _ = os.ReadFile(filepath.Join(dir, e.Name()))
			}
		}
	}
	if !strings.HasPrefix(string(got), "[{") {
		t.Errorf("the export starts %.40q, want a JSON array of events", got)
	}
	var errorToasts int
	eval(t, ctx, `document.querySelectorAll('.toast-error').length`, &errorToasts)
	if errorToasts != 0 {
		t.Errorf("a working export showed %d error toasts", errorToasts)
	}

	// Deleted while on screen: Export says so instead of doing nothing.
	if err := ts.store.DeleteSession(t.Context(), shopID); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Click(exportLink, chromedp.BySearch))
	waitJS(t, ctx, `[...document.querySelectorAll('.toast-error')].some((e) => /export/i.test(e.textContent) && /deleted|expired/i.test(e.textContent))`, 5*time.Second)
}

// On a laptop-sized window (under 1100 px wide, where the side panel
// narrows to 300 px) the side panel's tabs fit: "Details" stuck out of the
// panel by a few pixels and the whole page scrolled sideways, a
// horizontal scrollbar under the player. Counts of a long session (five
// digits) must not push the page wider either.
func TestSidePanelTabsFitALaptop(t *testing.T) {
	_, ctx := openShop(t, "1")
	fits := `(() => {
		const side = document.querySelector('.side').getBoundingClientRect();
		const tabs = [...document.querySelectorAll('.side .tab')].map((e) => e.getBoundingClientRect());
		const doc = document.documentElement;
		return JSON.stringify({
			pageOverflow: doc.scrollWidth - doc.clientWidth,
			tabsOutside: tabs.filter((r) => r.right > side.right + 0.5 || r.left < side.left - 0.5).length,
		});
	})()`
	for _, size := range [][2]int64{{1024, 640}, {1100, 700}, {1280, 800}} {
		run(t, ctx, chromedp.EmulateViewport(size[0], size[1]))
		time.Sleep(150 * time.Millisecond)
		// A typical session's counts (the demo visit had 16 events, 6
		// pages; this fixture has fewer).
		eval(t, ctx, `(() => { const c = document.querySelectorAll('.side .tab-count'); c[0].dataset.was = c[0].textContent; c[1].dataset.was = c[1].textContent; c[0].textContent = '128'; c[1].textContent = '12'; })()`, nil)
		var got string
		eval(t, ctx, fits, &got)
		if got != `{"pageOverflow":0,"tabsOutside":0}` {
			t.Errorf("at %dx%d: %s, want no overflow and every tab inside the side panel", size[0], size[1], got)
		}
		// A long session's counts: the page still does not scroll
		// sideways (the tab row may).
		eval(t, ctx, `(() => { const c = document.querySelectorAll('.side .tab-count'); c[0].textContent = '48213'; c[1].textContent = '1000'; })()`, nil)
		var overflow int
		eval(t, ctx, `document.documentElement.scrollWidth - document.documentElement.clientWidth`, &overflow)
		if overflow != 0 {
			t.Errorf("at %dx%d with five-digit counts, the page scrolls sideways by %d px", size[0], size[1], overflow)
		}
		eval(t, ctx, `document.querySelectorAll('.side .tab-count').forEach((c) => { c.textContent = c.dataset.was; })`, nil)
	}
}

// The skip-inactivity switch says what it is at every width: under
// 1100 px its label was hidden to save room, leaving a bare toggle beside
// the fullscreen button that only a hover explained. There it now reads
// "Skip idle" (narrower than a laptop, under 960 px, the toggle alone
// fits); the controls still fit on one row without scrolling.
func TestSkipSwitchLabelledAtEveryWidth(t *testing.T) {
	_, ctx := openShop(t, "1")
	probe := `(() => {
		const sw = document.querySelector('.controls .switch');
		const row = document.querySelector('.controls');
		const r = row.getBoundingClientRect();
		const inside = [...row.children].every((c) => { const b = c.getBoundingClientRect(); return b.right <= r.right + 0.5 && b.top >= r.top - 0.5 && b.bottom <= r.bottom + 0.5; });
		// The text a user sees: text nodes drawn at a size that shows.
		const seen = [];
		const walk = document.createTreeWalker(sw, NodeFilter.SHOW_TEXT);
		for (let n; (n = walk.nextNode());) {
			const range = document.createRange();
			range.selectNodeContents(n);
			const b = range.getBoundingClientRect();
			if (b.width > 4 && b.height > 6 && parseFloat(getComputedStyle(n.parentElement).fontSize) >= 10) seen.push(n.data.trim());
		}
		return JSON.stringify({label: seen.join(' '), inside, overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth});
	})()`
	for _, c := range []struct {
		w, h  int64
		label string
	}{{1280, 800, "Skip inactivity"}, {1100, 700, "Skip idle"}, {1024, 640, "Skip idle"}, {900, 600, ""}} {
		run(t, ctx, chromedp.EmulateViewport(c.w, c.h))
		time.Sleep(150 * time.Millisecond)
		var got struct {
			Label    string
			Inside   bool
			Overflow int
		}
		var raw string
		eval(t, ctx, probe, &raw)
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatal(err)
		}
		if got.Label != c.label || !got.Inside || got.Overflow != 0 {
			t.Errorf("at %dx%d: switch label %q, controls on one row inside the bar %v, page overflow %d px; want %q, true, 0", c.w, c.h, got.Label, got.Inside, got.Overflow, c.label)
		}
	}
}

// An export cut short (a download interrupted, or the stream the server
// cuts when a segment fails mid-export) is a recording that ends early,
// not "not a JSON file": the import said the latter, and told the user
// to pick another kind of file when the one they had was only incomplete.
func TestImportOfACutExportSaysItIsCut(t *testing.T) {
	ts := newTestServer(t)
	views, _, _ := shopSession()
	var events []ev
	for _, seg := range views[0].segments {
		events = append(events, seg...)
	}
	whole, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "session-cut.rrweb.json")
	if err := os.WriteFile(cut, whole[:len(whole)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	_, msg := importError(t, ts, cut)
	if strings.Contains(msg, "not a JSON file") || !strings.Contains(msg, "cut short") || !strings.Contains(msg, "session-cut.rrweb.json") {
		t.Errorf("import of a cut export: %q, want it to say the file was cut short", msg)
	}
}

// Fullscreen gives the replay the whole screen. The side panel is hidden
// there, but its grid column stayed: the stage and the controls kept the
// left part of the screen and a blank 344 px strip filled the right.
func TestFullscreenUsesTheWholeWidth(t *testing.T) {
	_, ctx := openShop(t, "1")
	run(t, ctx, chromedp.Click(`button[aria-label="Fullscreen"]`, chromedp.ByQuery))
	waitJS(t, ctx, `document.fullscreenElement === document.querySelector('.replay-screen')`, 2*time.Second)
	time.Sleep(200 * time.Millisecond)
	var gap float64
	eval(t, ctx, `innerWidth - document.querySelector('.player-box').getBoundingClientRect().right`, &gap)
	if gap > 1 {
		t.Errorf("in fullscreen the player ends %v px before the screen's right edge", gap)
	}
}

// The empty store's screen says "Sessions appear here a few seconds after
// a visitor arrives", and an operator on their first day waits on it
// while they browse their site in another tab: the first session did not
// appear until they reloaded the page. It now appears by itself.
func TestFirstSessionAppearsWithoutReload(t *testing.T) {
	ts := newTestServer(t)
	ctx, _ := browser(t, 30*time.Second)
	run(t, ctx, chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `document.querySelector('.list-screen .empty')?.textContent.includes('No sessions recorded yet')`, 5*time.Second)
	views, _, _ := shopSession()
	putSession(t, ts.store, shopID, views, nil)
	waitJS(t, ctx, `document.querySelectorAll('a.srow').length === 1`, 12*time.Second)
}
