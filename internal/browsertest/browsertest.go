// Package browsertest starts headless Chromium for tests through chromedp.
//
// A browser test must fail, never skip, when Chromium cannot run: CI has to
// notice that the browser checks did not happen. `make test` installs
// Debian's chromium before running the tests.
package browsertest

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Path is the Chromium binary: $CHROMIUM, else /usr/bin/chromium.
func Path() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// New starts a fresh headless Chromium (empty profile, no background
// networking) and returns a context for its first tab. The browser is
// closed when the test ends. timeout bounds the whole test's browser use.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	return NewWith(t, timeout)
}

// NewWith is New with more Chromium options (flags), after the usual ones.
func NewWith(t testing.TB, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(Path()); err != nil {
		t.Fatalf("Chromium is required for this test and was not found at %s (run `make test`, which installs it, or set $CHROMIUM): %v", Path(), err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path()),
		chromedp.UserDataDir(profileDir(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 800),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(quietLogf), chromedp.WithErrorf(quietLogf))
	tctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Run(tctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", Path(), err)
	}
	return tctx
}

// profileDir is a fresh Chromium profile directory, removed when the test
// ends. Chromium's helper processes may write to it for a moment after the
// browser exits, so removal is retried (t.TempDir's cleanup would fail the
// test with "directory not empty").
func profileDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the browser's own cleanup, so it runs after it.
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the Chromium profile %s", dir)
	})
	return dir
}

// quietLogf drops chromedp's complaints about CDP events newer than the
// pinned chromedp (e.g. "unhandled node event DOM.topLayerElementsUpdated"):
// they say nothing about the tests and would bury their output.
func quietLogf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, "unhandled node event") || strings.Contains(msg, "could not unmarshal event") {
		return
	}
	log.Print(msg)
}

// NewTab opens another tab in the browser of ctx (for multi-tab tests).
func NewTab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Run(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tab
}

// Console collects a tab's console messages and uncaught exceptions.
type Console struct {
	mu         sync.Mutex
	Messages   []string
	Exceptions []string
}

// WatchConsole starts collecting ctx's console output.
func WatchConsole(ctx context.Context) *Console {
	c := &Console{}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var s string
			for _, a := range e.Args {
				if len(a.Value) > 0 {
					s += string(a.Value) + " "
				} else {
					s += a.Description + " "
				}
			}
			c.mu.Lock()
			c.Messages = append(c.Messages, string(e.Type)+": "+s)
			c.mu.Unlock()
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				d += " " + e.ExceptionDetails.Exception.Description
			}
			c.mu.Lock()
			c.Exceptions = append(c.Exceptions, d)
			c.mu.Unlock()
		}
	})
	return c
}

// Snapshot returns copies of what was collected so far.
func (c *Console) Snapshot() (messages, exceptions []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.Messages...), append([]string(nil), c.Exceptions...)
}
