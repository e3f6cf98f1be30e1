package recorder

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestColorScheme records a page with a dark mode in tabs that prefer
// dark and light, and replays each in a tab that prefers the other: the
// rebuilt page, and the one restored from a checkpoint, must follow the
// visitor's preference, not the one of the browser that replays (the
// replay frame used to answer prefers-color-scheme like the operator's
// browser, so a dark-mode visitor was replayed in light).
func TestColorScheme(t *testing.T) {
	h := newHarness(t)
	// The operator's preference is the browser's own (a flag), not an
	// emulated one: DevTools' emulation would answer for every frame of
	// the tab, the replay frame included.
	browsers := map[string]*browser{
		"light": newBrowser(t),
		"dark":  {ctx: browsertest.NewWith(t, 10*time.Minute, chromedp.Flag("force-dark-mode", true))},
	}
	const dark, light = "rgb(20, 22, 24)", "rgb(250, 250, 250)"
	for _, c := range []struct {
		visitor, operator, want string
	}{
		{"dark", "light", dark},
		{"light", "dark", light},
	} {
		t.Run(c.visitor+" visitor", func(t *testing.T) {
			live, replay := browsers["light"].tab(t), browsers[c.operator].tab(t)
			prefer(t, live, c.visitor)
			h.open(t, live, "/scheme.html")
			var bg string
			if err := eval(live, `getComputedStyle(document.body).backgroundColor`, &bg); err != nil || bg != c.want {
				t.Fatalf("live page background %q (%v), want %q: the emulated preference did not apply", bg, err, c.want)
			}
			if err := eval(live, `window.__replayTestHooks.flush()`, nil); err != nil {
				t.Fatal(err)
			}
			sid, vid := ids(t, live)
			if err := chromedp.Run(replay, chromedp.Navigate(h.url("/replay.html"))); err != nil {
				t.Fatal(err)
			}
			var operatorDark bool
			if err := eval(replay, `matchMedia('(prefers-color-scheme: dark)').matches`, &operatorDark); err != nil || operatorDark != (c.operator == "dark") {
				t.Fatalf("the replaying browser prefers dark: %v (%v), want %v", operatorDark, err, c.operator == "dark")
			}
			var got []string
			if err := eval(replay, fmt.Sprintf(`rebuild('/test/events?sid=%s&vid=%s', 'mask-user-input', '/test/session-events?sid=%s').then(() =>
				['f', 'g'].map((id) => getComputedStyle(document.getElementById(id).contentDocument.body).backgroundColor))`, sid, vid, sid), &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0] != c.want || got[1] != c.want {
				t.Fatalf("replayed background (rebuilt, restored) = %q, want %q for a %s visitor replayed by a %s operator", got, c.want, c.visitor, c.operator)
			}
		})
	}
}

// prefer makes the tab (the visitor's) prefer a color scheme (dark or light).
func prefer(t *testing.T, ctx context.Context, scheme string) {
	t.Helper()
	err := chromedp.Run(ctx, emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
	if err != nil {
		t.Fatal(err)
	}
}
