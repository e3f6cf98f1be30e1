package recorder

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// plantRE finds the secrets planted in testdata/privacy-attack.html; the
// prefix says at which levels a secret may never be uploaded.
var plantRE = regexp.MustCompile(`\b(?:ALWAYS|INPUT|TEXT|MASK|HIDDEN)_[A-Z0-9_]+`)

// hiddenBox is how the snapshot records the page's hidden region.
var hiddenBox = regexp.MustCompile(`"attributes":\{"id":"hidden","data-replay-privacy":"hidden","rr_width":"120px","rr_height":"40px"\},"id":\d+,"childNodes":\[\]\}`)

// forbidden reports whether a planted secret may not be uploaded at level.
func forbidden(secret, level string) bool {
	switch secret[:strings.IndexByte(secret, '_')] {
	case "INPUT":
		return level != "allow"
	case "TEXT":
		return level == "mask"
	}
	return true // ALWAYS, MASK, HIDDEN
}

// TestPrivacyAttack records testdata/privacy-attack.html at each default
// privacy level (the default first) while a visitor and the page's scripts
// put secrets everywhere a value can hide — typed, pasted, set by script,
// in attributes, shadow roots, frames, contenteditable, moved between
// regions, under privacy changed at run time, in the targets of clicks —
// and searches every decompressed upload for the secrets that level must
// not let out.
func TestPrivacyAttack(t *testing.T) {
	page, err := os.ReadFile("testdata/privacy-attack.html")
	if err != nil {
		t.Fatal(err)
	}
	plants := map[string]bool{}
	for _, m := range plantRE.FindAll(append(page, typedSecrets...), -1) {
		plants[string(m)] = true
	}
	h := newHarness(t)
	b := newBrowserFor(t, 2*time.Minute)
	for _, tc := range []struct {
		level, query string
		present      []string // recorded at this level: the test sees what it looks for
	}{
		{"mask-user-input", "", []string{"TEXT_PARAGRAPH", "TEXT_DATA_ATTR", "TEXT_APPENDED", "TEXT_OPEN_SHADOW", "TEXT_FRAME_APPENDED", "ALLOW-IN-MASK"}},
		{"allow", "?privacy=allow", []string{"INPUT_PLAIN_TYPED", "INPUT_SCRIPT_VALUE", "INPUT_FRAME_TYPED", "INPUT_SHADOW_TYPED", "INPUT_CE_TYPED", "TEXT_LINK_HREF"}},
		{"mask", "?privacy=mask", []string{"ALLOW-IN-MASK", "BUTTON-VALUE-IS-A-LABEL"}},
	} {
		t.Run(tc.level, func(t *testing.T) {
			h.coll.reset()
			live := b.tab(t)
			h.open(t, live, "/privacy-attack.html"+tc.query)
			attack(t, live)
			flush(t, live)
			all := bytes.Join(h.coll.allBodies(), []byte("\n"))
			if !bytes.Contains(all, []byte("custom action is the page")) {
				t.Fatal("the last step was not uploaded")
			}
			for s := range plants {
				if i := bytes.Index(all, []byte(s)); i >= 0 && forbidden(s, tc.level) {
					t.Errorf("%s was uploaded: …%s…", s, all[max(0, i-80):min(len(all), i+len(s)+20)])
				}
			}
			// Which radio, checkbox or option is chosen is user input too, whoever chose it.
			for _, s := range []string{`"checked":`, `"selected":`} {
				if i := bytes.Index(all, []byte(s)); i >= 0 && tc.level != "allow" {
					t.Errorf("%s was uploaded: …%s…", s, all[max(0, i-80):min(len(all), i+len(s)+20)])
				}
			}
			// A hidden element is only its box: its id and size, nothing inside.
			if !hiddenBox.Match(all) {
				t.Errorf("the hidden region is not recorded as an empty 120×40 box")
			}
			for _, s := range tc.present {
				if !bytes.Contains(all, []byte(s)) {
					t.Errorf("%s was not recorded", s)
				}
			}
		})
	}
}

// typedSecrets are what attack types: planted secrets too.
var typedSecrets = []byte(`ALWAYS_PW_TYPED ALWAYS_EMAIL_TYPED ALWAYS_TEL_TYPED ALWAYS_CC_TYPED ALWAYS_OTP_TYPED INPUT_PLAIN_TYPED
INPUT_SEARCH_TYPED INPUT_TA_TYPED INPUT_DATALIST_TYPED HIDDEN_TYPED INPUT_SHADOW_TYPED INPUT_FRAME_TYPED INPUT_CE_TYPED ALWAYS_PWTOGGLE_TYPED`)

// attack types into every field, lets the page's scripts set values and
// mutate, and clicks on what holds secrets.
func attack(t *testing.T, ctx context.Context) {
	t.Helper()
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	js := func(src string) {
		t.Helper()
		var ignored any
		if err := eval(ctx, src, &ignored); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
	}
	// Light DOM fields: a few real key events, then the rest as text input (as a paste or an IME does).
	for _, f := range [][2]string{
		{"#pw", "ALWAYS_PW_TYPED"}, {"#email", "ALWAYS_EMAIL_TYPED"}, {"#tel", "ALWAYS_TEL_TYPED"},
		{"#cc", "ALWAYS_CC_TYPED"}, {"#otp", "ALWAYS_OTP_TYPED"}, {"#plain", "INPUT_PLAIN_TYPED"},
		{"#search", "INPUT_SEARCH_TYPED"}, {"#ta", "INPUT_TA_TYPED"}, {"#dl", "INPUT_DATALIST_TYPED"},
		{"#hin", "HIDDEN_TYPED"},
	} {
		run("typing into "+f[0], chromedp.SendKeys(f[0], f[1][:3], chromedp.ByQuery), input.InsertText(f[1][3:]))
	}
	// Fields the selectors cannot reach: focused by script, then typed into.
	for _, f := range [][2]string{
		{"document.getElementById('host').shadowRoot.getElementById('si').focus()", "INPUT_SHADOW_TYPED"},
		{"document.getElementById('fr').contentDocument.getElementById('fi').focus()", "INPUT_FRAME_TYPED"},
		{"(() => { const ce = document.getElementById('ce'); ce.focus(); getSelection().selectAllChildren(ce); getSelection().collapseToEnd(); })()", "INPUT_CE_TYPED"},
	} {
		js(f[0])
		run("typing "+f[1], input.InsertText(f[1]))
	}
	run("checking", chromedp.Click("#cb", chromedp.ByQuery), chromedp.Click("#r1", chromedp.ByQuery), chromedp.SetValue("#sel", "one", chromedp.ByQuery))
	js("window.act.scripted()")
	// A "show password" toggle: typed while the field is type=text.
	js("window.act.toggle()")
	run("typing into the shown password", chromedp.SendKeys("#pwtoggle", "ALWAYS_PWTOGGLE_TYPED", chromedp.ByQuery))
	js("window.act.untoggle()")
	for _, step := range []string{"mutate", "move", "moveBack", "toMask", "toHidden"} {
		js("window.act." + step + "()")
		flush(t, ctx) // each step in its own batch
	}
	// Clicks on what holds secrets: their action names.
	for _, sel := range []string{"#pw", "#plain", "#ta", "#cc", "#btn", "#mp", "#ce", "#note", "#hin", "#sel"} {
		run("clicking "+sel, chromedp.Click(sel, chromedp.ByQuery))
	}
	js("window.act.custom()")
}
