package player

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/store"
)

// hostileSession is a recording an attacker posted: every way markup can
// run script or navigate, in the full snapshot and in later mutations.
// Every payload, if it ran, would hit /canary/... or open a dialog.
func hostileSession() []fixtureView {
	var n nodes
	js := func(tag string) string { return "fetch('/canary/" + tag + "');alert('" + tag + "')" }
	script := n.el("script", nil, n.text(js("inline-script")))
	scriptSrc := n.el("script", ev{"src": "/canary/script-src"})
	refresh := n.el("meta", ev{"http-equiv": "refresh", "content": "0;url=/canary/meta-refresh"})
	base := n.el("base", ev{"href": "/canary/base/"})
	head := n.el("head", nil, refresh, base, script, scriptSrc)
	img := n.el("img", ev{"src": "x-missing.png", "onerror": js("img-onerror")})
	jsLink := n.el("a", ev{"href": "javascript:" + js("a-href"), "id": "jslink"}, n.text("click me"))
	clickable := n.el("button", ev{"onclick": js("onclick"), "id": "btn"}, n.text("button"))
	svgScript := n.el("script", nil, n.text(js("svg-script")))
	svgScript["isSVG"] = true
	svgA := n.el("a", ev{"xlink:href": "javascript:" + js("svg-href")}, n.text("svg link"))
	svgA["isSVG"] = true
	svg := n.el("svg", ev{"onload": js("svg-onload"), "width": "10", "height": "10"}, svgScript, svgA)
	svg["isSVG"] = true
	srcdoc := n.el("iframe", ev{"srcdoc": "<script>" + js("srcdoc") + "</script><img src=x onerror=\"" + js("srcdoc-img") + "\">"})
	jsFrame := n.el("iframe", ev{"src": "javascript:" + js("iframe-src")})
	frame := n.el("iframe", ev{"src": "/canary/iframe-src"})
	obj := n.el("object", ev{"data": "/canary/object"})
	embed := n.el("embed", ev{"src": "/canary/embed"})
	details := n.el("details", ev{"open": "", "ontoggle": js("ontoggle")}, n.el("summary", nil, n.text("s")))
	focus := n.el("input", ev{"autofocus": "", "onfocus": js("onfocus")})
	form := n.el("form", ev{"action": "/canary/form", "method": "post", "id": "form"}, n.el("button", ev{"type": "submit", "id": "submit"}, n.text("send")))
	video := n.el("video", nil, n.el("source", ev{"src": "x-missing.mp4", "onerror": js("source-onerror")}))
	target := n.el("div", ev{"id": "target"})
	body := n.el("body", ev{"onload": js("body-onload"), "onpageshow": js("onpageshow")},
		n.el("h1", nil, n.text("Hostile page")), img, jsLink, clickable, svg, srcdoc, jsFrame, frame, obj, embed, details, focus, form, video, target)
	doc := n.doc(n.doctype(), n.el("html", nil, head, body))
	id := func(e ev) int { return e["id"].(int) }
	later := n.id()
	laterText := n.id()
	events := []ev{
		meta(t0, "javascript:"+js("meta-href"), 1000, 700),
		custom(t0, "replay/view", ev{"url": "https://hostile.example/", "title": "<img src=x onerror=\"" + js("title") + "\">"}),
		full(t0+1, doc),
		click(t0+500, id(jsLink), 10, 10),
		mutation(t0+1000, ev{"adds": []ev{
			{"parentId": id(target), "nextId": nil, "node": ev{"type": 2, "id": later, "tagName": "script", "attributes": ev{}, "childNodes": []ev{}}},
			{"parentId": later, "nextId": nil, "node": ev{"type": 3, "id": laterText, "textContent": js("added-script")}},
		}}),
		mutation(t0+1500, ev{"attributes": []ev{
			{"id": id(img), "attributes": ev{"onerror": js("attr-onerror"), "src": "y-missing.png"}},
			{"id": id(clickable), "attributes": ev{"onclick": js("attr-onclick"), "onmouseover": js("attr-mouseover")}},
			{"id": id(frame), "attributes": ev{"srcdoc": "<script>" + js("attr-srcdoc") + "</script>", "src": "javascript:" + js("attr-iframe-src")}},
			{"id": id(jsLink), "attributes": ev{"href": "javascript:" + js("attr-href")}},
		}}),
		mutation(t0+2000, ev{"adds": []ev{
			{"parentId": id(target), "nextId": nil, "node": ev{"type": 2, "id": n.id(), "tagName": "meta", "attributes": ev{"http-equiv": "refresh", "content": "0;url=/canary/added-refresh"}, "childNodes": []ev{}}},
			{"parentId": id(target), "nextId": nil, "node": ev{"type": 2, "id": n.id(), "tagName": "img", "attributes": ev{"src": "z-missing.png", "onerror": js("added-img")}, "childNodes": []ev{}}},
			{"parentId": id(target), "nextId": nil, "node": ev{"type": 2, "id": n.id(), "tagName": "iframe", "attributes": ev{"srcdoc": "<script>" + js("added-srcdoc") + "</script>"}, "childNodes": []ev{}}},
		}}),
		mutation(t0+2500, ev{"texts": []ev{{"id": laterText, "value": js("script-text")}}}),
		custom(t0+3000, "replay/error", ev{"message": "<img src=x onerror=\"" + js("error-marker") + "\">", "source": "error"}),
		click(t0+3500, id(clickable), 20, 20),
		move(t0+4000, id(clickable), [2]int{30, 30}),
	}
	return []fixtureView{{id: "view-hostile-0000001", url: "javascript:" + js("view-url"), title: "<b onmouseover=\"" + js("view-title") + "\">t</b>", tab: "tab-hostile-000001", segments: [][]ev{events}}}
}

func TestHostileRecordingRunsNothing(t *testing.T) {
	ts := newTestServer(t)
	putSession(t, ts.store, "hostile-session-0001", hostileSession(), func(s *store.Session) {
		s.UserName = `<img src=x onerror="fetch('/canary/list-user')">`
		s.EntryURL = `javascript:fetch('/canary/list-url')`
	})
	ctx, _ := browser(t, 60*time.Second)
	// The list shows the hostile metadata as text.
	run(t, ctx, chromedp.Navigate(ts.url("")))
	waitJS(t, ctx, `document.querySelectorAll('a.srow').length === 1`, 10*time.Second)
	var listText string
	eval(t, ctx, `document.querySelector('a.srow').innerText`, &listText)
	if !strings.Contains(listText, `<img src=x onerror=`) {
		t.Errorf("the list did not show the user name as text: %q", listText)
	}
	run(t, ctx, chromedp.Navigate(ts.url("session=hostile-session-0001")))
	playAndPoke(t, ctx, "hostile-session-0001")
	// The player's own policy refuses inline script: the second wall if
	// the sandbox were ever missing.
	eval(t, ctx, `(() => { const s = document.createElement('script'); s.textContent = "fetch('/canary/player-inline')"; document.head.append(s); return true; })()`, nil)
	time.Sleep(1500 * time.Millisecond)
	if n := ts.canary.Load(); n != 0 {
		t.Errorf("the canary was hit %d times: recorded content ran or navigated", n)
	}
	// The iframe still holds the document the player built (nothing
	// navigated it; its URL is about:blank, or the player's own once the
	// rebuilder re-opened it in standards mode), and it is sandboxed with
	// nothing allowed but same-origin access.
	var frame struct {
		Sandbox, URL, Page string
		Heading            string
	}
	eval(t, ctx, `(() => { const f = document.querySelector('.replay-frame'); return {Sandbox: f.getAttribute('sandbox'), URL: f.contentDocument.URL, Page: location.origin + location.pathname, Heading: f.contentDocument.querySelector('h1')?.textContent || ''} })()`, &frame)
	if frame.Sandbox != "allow-same-origin" || (frame.URL != "about:blank" && !strings.HasPrefix(frame.URL, frame.Page+"?")) || frame.Heading != "Hostile page" {
		t.Errorf("replay frame: %+v", frame)
	}
	// No handler attribute, script body or javascript: URL survived into
	// the rebuilt document (replaycore's sanitizer; the sandbox and CSP
	// stop them anyway).
	var leftovers []string
	eval(t, ctx, `(() => {
		const out = [];
		const walk = (d) => {
			for (const el of d.querySelectorAll('*')) {
				for (const a of el.attributes) {
					if (/^on/i.test(a.name) || a.name === 'srcdoc' || /^\s*javascript:/i.test(a.value)) out.push(el.localName + '[' + a.name + '=' + a.value.slice(0, 40) + ']');
				}
				if (el.localName === 'script' && el.textContent.trim()) out.push('script: ' + el.textContent.slice(0, 40));
				if (el.localName === 'meta' && /refresh/i.test(el.getAttribute('http-equiv') || '')) out.push('meta refresh');
				if (el.localName === 'iframe' && el.contentDocument) walk(el.contentDocument);
			}
		};
		walk(document.querySelector('.replay-frame').contentDocument);
		return out;
	})()`, &leftovers)
	if len(leftovers) > 0 {
		t.Errorf("hostile markup in the rebuilt document: %q", leftovers)
	}
	// Markers and page names show hostile text as text.
	var evText string
	eval(t, ctx, `document.querySelector('.events').innerText`, &evText)
	if !strings.Contains(evText, `<img src=x onerror=`) {
		t.Errorf("the error marker's message is not shown as text: %q", evText)
	}
}

// playAndPoke plays session id, open in the player, to its end, seeks back
// and forth (restores rebuild everything again), then pokes the rebuilt
// page the way an attacker hopes someone will: clicks every element,
// submits every form, fires events at every handler, in nested frames too.
func playAndPoke(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	waitJS(t, ctx, `document.querySelector('.replay-screen')?.dataset.state === 'ended'`, 20*time.Second)
	for _, sec := range []float64{0.6, 1.2, 2.2, 4, 0.1, 3.9} {
		seekTo(t, ctx, id, sec)
		time.Sleep(150 * time.Millisecond)
	}
	eval(t, ctx, `(() => {
		const d = document.querySelector('.replay-frame').contentDocument;
		for (const el of d.querySelectorAll('*')) {
			try { el.click(); } catch (e) {}
			for (const type of ['error', 'load', 'mouseover', 'focus', 'toggle']) {
				try { el.dispatchEvent(new Event(type)); } catch (e) {}
			}
		}
		for (const f of d.querySelectorAll('form')) { try { f.requestSubmit(); } catch (e) {} try { f.submit(); } catch (e) {} }
		for (const fr of d.querySelectorAll('iframe')) {
			const fd = fr.contentDocument;
			if (fd) for (const el of fd.querySelectorAll('*')) { try { el.click(); el.dispatchEvent(new Event('error')); } catch (e) {} }
		}
		return true;
	})()`, nil)
}
