package player

import (
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
