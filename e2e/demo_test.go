package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
	"github.com/caddy-replay/caddy-replay/store"
)

// watchCSP records every CSP violation a page reports, from the DOM event
// and from Chromium's log, from the first script on.
func watchCSP(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var logged []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*log.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "Content Security Policy") {
			logged = append(logged, e.Entry.Text)
		}
	})
	err := chromedp.Run(ctx, log.Enable(), chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`
			window.__csp = [];
			document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " blocked " + e.blockedURI));
		`).Do(ctx)
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	return func() []string {
		var inPage []string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`window.__csp || []`, &inPage)); err != nil {
			t.Fatal(err)
		}
		return append(inPage, logged...)
	}
}

// TestDemoThroughProxyLoadsRecorder is issue 2's browser check: the demo,
// through `replay`, loads the recorder bundle under its nonce-based CSP,
// window.SessionReplay exists, and nothing violates the policy.
func TestDemoThroughProxyLoadsRecorder(t *testing.T) {
	s := StartStack(t, StackOptions{})
	ctx := browsertest.New(t, 60*time.Second)
	violations := watchCSP(t, ctx)
	con := browsertest.WatchConsole(ctx)
	for _, path := range []string{"/", "/shop.html", "/account.html", "/app/"} {
		var api []string
		var recorderLoaded bool
		err := chromedp.Run(ctx,
			chromedp.Navigate(s.Site+path),
			chromedp.Poll(`window.SessionReplay && typeof window.SessionReplay.startSessionReplayRecording === "function"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Evaluate(`Object.keys(window.SessionReplay).sort()`, &api),
			chromedp.Evaluate(`performance.getEntriesByType("resource").some((e) => /\/__replay\/recorder\.[0-9a-f]+\.js$/.test(e.name) && e.responseStatus === 200)`, &recorderLoaded),
		)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !recorderLoaded {
			t.Errorf("%s: the recorder bundle was not loaded from /__replay/", path)
		}
		for _, fn := range []string{"init", "startSessionReplayRecording", "stopSessionReplayRecording", "setUser", "addAction", "addError"} {
			if !contains(api, fn) {
				t.Errorf("%s: window.SessionReplay lacks %s (has %v)", path, fn, api)
			}
		}
	}
	// The demo's fonts come from the second origin: they load only because
	// `replay` added crossorigin and Access-Control-Allow-Origin.
	var fontLoaded bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.fonts.ready.then(() => document.fonts.check("16px 'Open Sans'"))`, &fontLoaded, awaitPromise)); err != nil {
		t.Fatal(err)
	}
	if !fontLoaded {
		t.Errorf("the web font from the assets origin did not load")
	}
	if v := violations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
	_, exceptions := con.Snapshot()
	if len(exceptions) > 0 {
		t.Errorf("page exceptions: %q", exceptions)
	}
}

// TestScriptedVisitBecomesOneSession is issue 4's whole-stack check: a
// scripted visit over the demo ends up as one session with the right
// pages, clicks and duration in the index.
func TestScriptedVisitBecomesOneSession(t *testing.T) {
	s := StartStack(t, StackOptions{})
	ctx := browsertest.New(t, 90*time.Second)
	started := time.Now()
	clicks := 0
	click := countedClick(&clicks)
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.Site+"/"),
		chromedp.WaitVisible("#shop-now"),
		recorderStarted(),
		chromedp.Sleep(300*time.Millisecond),
		click("#subscribe-toggle"),
		click("#shop-now"),
		chromedp.WaitVisible(`[data-filter="dark"]`),
		recorderStarted(),
		chromedp.Sleep(300*time.Millisecond),
		click(`[data-filter="dark"]`),
		click(`[data-filter="all"]`),
		click(`[data-add="guji"]`),
		click(`[data-add="kiambu"]`),
		click(`#cart-button`),
		click(`a[href="/account.html"]`),
		chromedp.WaitVisible("#name"),
		recorderStarted(),
		chromedp.Sleep(300*time.Millisecond),
		signUp(click),
		click(`a[href="/app/"]`),
		chromedp.WaitVisible(`a[href="/app/orders"]`),
		recorderStarted(),
		chromedp.Sleep(300*time.Millisecond),
		click(`a[href="/app/orders"]`),
		chromedp.WaitVisible("#orders-box"),
		routeRecorded(),
		click(`a[href="/app/settings"]`),
		chromedp.WaitVisible("#pause"),
		routeRecorded(),
		click("#pause"),
		// Leaving the page flushes the last segment (pagehide).
		chromedp.Navigate("about:blank"),
	)
	if err != nil {
		t.Fatal(err)
	}
	visit := time.Since(started)

	st := s.Store(t)
	sess := wholeVisit(t, st, clicks, 6, "")

	var paths []string
	for _, v := range sess.Views {
		paths = append(paths, strings.TrimPrefix(v.URL, s.Site))
	}
	want := []string{"/", "/shop.html", "/account.html", "/app/", "/app/orders", "/app/settings"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("views = %q, want %q", paths, want)
	}
	if sess.Clicks != clicks {
		t.Errorf("clicks = %d, want %d", sess.Clicks, clicks)
	}
	if sess.Inputs == 0 {
		t.Errorf("no inputs counted")
	}
	if d := time.Duration(sess.Duration) * time.Millisecond; d < visit/2 || d > visit+2*time.Second {
		t.Errorf("duration %v does not match the visit (%v)", d, visit)
	}
	if sess.EntryURL != s.Site+"/" {
		t.Errorf("entry URL = %q", sess.EntryURL)
	}
	if sess.Service != "caddy-coffee" || sess.Env != "demo" || sess.Version != "1.0.0" {
		t.Errorf("service/env/version = %q/%q/%q", sess.Service, sess.Env, sess.Version)
	}
	if sess.UserID != "demo-ada-lovelace" {
		t.Errorf("user id = %q, want the one the form set with setUser", sess.UserID)
	}
	if sess.ClientIP != "" {
		t.Errorf("an IP address was stored without store_client_ip: %q", sess.ClientIP)
	}
	// The typed secrets never reached the store.
	segs, err := st.SegmentList(context.Background(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, sg := range segs {
		body := readSegment(t, st, sg.SegmentKey)
		for _, secret := range []string{"correct horse battery", "ada@example.com"} {
			if strings.Contains(body, secret) {
				t.Errorf("segment %v contains %q", sg.SegmentKey, secret)
			}
		}
	}
}

func readSegment(t *testing.T, st store.Store, key store.SegmentKey) string {
	t.Helper()
	rc, err := st.OpenSegment(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := gunzip(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// signUp fills the demo's account form as a visitor would (a click into
// each field, then typing) and submits it; click is the caller's, so that
// it can count the clicks it makes.
func signUp(click func(sel string) chromedp.Action) chromedp.Tasks {
	return chromedp.Tasks{
		click("#name"),
		chromedp.SendKeys("#name", "Ada Lovelace"),
		click("#email"),
		chromedp.SendKeys("#email", "ada@example.com"),
		click("#password"),
		chromedp.SendKeys("#password", "correct horse battery"),
		click("#submit"),
		chromedp.WaitVisible("#form-success"),
	}
}

// wholeVisit waits until the store holds exactly one session with at
// least clicks clicks and views views (the visit, once its last segments
// arrived), and returns it. where is added to a failure's message.
func wholeVisit(t *testing.T, st store.Store, clicks, views int, where string) *store.Session {
	t.Helper()
	var sess *store.Session
	deadline := time.Now().Add(20 * time.Second)
	for {
		page, err := st.ListSessions(context.Background(), store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Sessions) > 1 {
			t.Fatalf("one visit became %d sessions%s", len(page.Sessions), where)
		}
		if len(page.Sessions) == 1 {
			if sess, err = st.Session(context.Background(), page.Sessions[0].ID); err != nil {
				t.Fatal(err)
			}
			if sess.Clicks >= clicks && len(sess.Views) >= views {
				return sess
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index never showed the whole visit%s: %+v", where, sess)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// recorderStarted waits until the page's recorder records (it knows its
// session): a click before that is one no recorder can see, and on a
// loaded machine the async script may run after a test's first click
// (the reload test lost its first page that way, not a segment).
func recorderStarted() chromedp.Action {
	return chromedp.Poll(`!!(window.SessionReplay && SessionReplay.getSessionId && SessionReplay.getSessionId())`, nil, chromedp.WithPollingTimeout(15*time.Second))
}

// countedClick returns a click (clickCentered) that counts itself in *n,
// for checking the clicks the index reports.
func countedClick(n *int) func(sel string) chromedp.Action {
	return func(sel string) chromedp.Action {
		*n++
		return clickCentered(sel)
	}
}

// routeRecorded waits until the recorder has started the view of a route
// change (pushState): it does so in a task after the change (a
// framework's pushState then replaceState is one view), and Chromium runs
// the input of the test's next click before that task when the machine is
// loaded, so two routes became one view. A zero-delay timer set now runs
// after the recorder's.
func routeRecorded() chromedp.Action {
	return chromedp.Evaluate(`new Promise((r) => setTimeout(() => r(true)))`, nil, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})
}

// clickCentered clicks a visible element after scrolling it to the middle
// of the viewport: chromedp scrolls a target only until it is inside the
// viewport and clicks at its centre, so a target just above the fold ends
// under the demo's sticky header and the click lands on the header's home
// link (the reload test then waited 90 s for a shop page that never came).
func clickCentered(sel string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.WaitVisible(sel),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).scrollIntoView({block: "center"})`, sel), nil),
		chromedp.Click(sel, chromedp.NodeVisible),
	}
}
