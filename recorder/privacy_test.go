package recorder

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// typed are the values typed (with real key events) into each field.
var typed = map[string]string{
	"#pw":       "TYPED-PASSWORD-SECRET",
	"#email":    "typed-email-secret@example.com",
	"#tel":      "5550000TYPEDTEL",
	"#cc":       "4111TYPEDCARDNUMBER",
	"#np":       "TYPED-NEWPASSWORD-SECRET",
	"#plain":    "TYPED-PLAIN-TEXT",
	"#ta":       "TYPED-TEXTAREA-TEXT",
	"#inmask":   "TYPED-IN-MASKED-REGION",
	"#inhidden": "TYPED-IN-HIDDEN-REGION",
	"#allowed":  "TYPED-IN-ALLOWED-REGION",
}

// alwaysSecret never leaves the browser, whatever the level.
var alwaysSecret = []string{
	"TYPED-PASSWORD-SECRET", "typed-email-secret", "5550000TYPEDTEL", "4111TYPEDCARDNUMBER", "TYPED-NEWPASSWORD-SECRET",
	"HIDDEN-INPUT-SECRET", "PROG-PASSWORD-SECRET", "ATTR-PASSWORD-SECRET",
	"MASKED-REGION-TEXT", "MASKED-PLACEHOLDER", "MASKED-TITLE", "MASKED-ALT", "MASKED-ARIA", "TYPED-IN-MASKED-REGION",
	"HIDDEN-REGION-TEXT", "TYPED-IN-HIDDEN-REGION", "MUTATED-MASKED-TEXT", "MUTATED-MASKED-TITLE", "MUTATED-HIDDEN-TEXT",
	"ADDED-HIDDEN-TEXT", "ADDED-MASKED-TEXT", "ADDED-MASKED-TITLE", "NOW-MASKED-TEXT",
}

// testPrivacy types secrets into every always-masked field and into masked
// regions, and checks that no decompressed request body contains them,
// while what may be recorded is.
func testPrivacy(t *testing.T, h *harness, b *browser) {
	for _, tc := range []struct {
		level   string
		secret  []string // also absent at this level
		present []string // must be recorded at this level
	}{
		{"mask-user-input", []string{"TYPED-PLAIN-TEXT", "TYPED-TEXTAREA-TEXT", "ATTR-PLAIN-SECRET", "PROG-TEXTAREA-SECRET", "LATE-TEXTAREA-SECRET"}, []string{"VISIBLE-PAGE-TEXT", "ALLOWED-INSIDE-MASK", "TYPED-IN-ALLOWED-REGION"}},
		{"allow", nil, []string{"TYPED-PLAIN-TEXT", "TYPED-TEXTAREA-TEXT", "PROG-TEXTAREA-SECRET", "LATE-TEXTAREA-SECRET", "VISIBLE-PAGE-TEXT", "ALLOWED-INSIDE-MASK"}},
		{"mask", []string{"TYPED-PLAIN-TEXT", "VISIBLE-PAGE-TEXT", "ATTR-PLAIN-SECRET"}, []string{"ALLOWED-INSIDE-MASK", "TYPED-IN-ALLOWED-REGION"}},
	} {
		t.Run(tc.level, func(t *testing.T) {
			h.coll.reset()
			live, replay := b.tab(t), b.ctx
			h.open(t, live, "/privacy.html?privacy="+tc.level)
			for sel, v := range typed {
				// A few real key events, then the rest as text input (trusted input events too).
				if err := chromedp.Run(live, chromedp.SendKeys(sel, v[:3], chromedp.ByQuery), input.InsertText(v[3:])); err != nil {
					t.Fatalf("typing into %s: %v", sel, err)
				}
			}
			if err := chromedp.Run(live, chromedp.Click("#cb", chromedp.ByQuery), chromedp.SetValue("#sel", "two", chromedp.ByQuery)); err != nil {
				t.Fatal(err)
			}
			h.roundTrip(t, live, replay, tc.level, "typed")
			for _, step := range []string{"programmatic", "mutate", "reveal"} {
				var ignored any
				if err := eval(live, "window.act."+step+"()", &ignored); err != nil {
					t.Fatal(err)
				}
				h.roundTrip(t, live, replay, tc.level, step)
			}
			all := bytes.Join(h.coll.allBodies(), []byte("\n"))
			if len(all) == 0 {
				t.Fatal("nothing was uploaded")
			}
			for _, s := range append(append([]string{}, alwaysSecret...), tc.secret...) {
				if bytes.Contains(all, []byte(s)) {
					t.Errorf("%q was uploaded", s)
				}
			}
			for _, s := range tc.present {
				if !bytes.Contains(all, []byte(s)) {
					t.Errorf("%q was not recorded", s)
				}
			}
			// The hidden region is a box of the same size.
			if !bytes.Contains(all, []byte(`"rr_width":"123px"`)) || !bytes.Contains(all, []byte(`"rr_height":"45px"`)) {
				t.Errorf("hidden region not recorded as a 123×45 box")
			}
			// Masked text keeps its shape.
			if tc.level != "allow" && !bytes.Contains(all, []byte(`"`+strings.Repeat("x", len("MASKED-REGION-TEXT"))+`"`)) {
				t.Errorf("masked text lost its shape (MASKED-REGION-TEXT not 18 x)")
			}
			checkReplayBox(t, h, replay, live)
		})
	}
}

// checkReplayBox compares the size of the hidden box live and rebuilt.
func checkReplayBox(t *testing.T, h *harness, replay, live context.Context) {
	t.Helper()
	var want, got []float64
	if err := eval(live, `(() => { const r = document.getElementById('hiddenbox').getBoundingClientRect(); return [r.width, r.height]; })()`, &want); err != nil {
		t.Fatal(err)
	}
	if err := eval(replay, `(() => { const r = document.getElementById('f').contentDocument.getElementById('hiddenbox').getBoundingClientRect(); return [r.width, r.height]; })()`, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("hidden box: live %v, rebuilt %v", want, got)
	}
	if !strings.Contains(h.srv.URL, "127.0.0.1") {
		t.Errorf("test server not on loopback: %s", h.srv.URL)
	}
}
