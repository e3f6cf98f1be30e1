package replaycore

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
	"github.com/caddy-replay/caddy-replay/jsbundle"
)

// server serves the replay core, the host page and a canary endpoint that
// hostile recordings try to reach.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	canary []string
}

func (s *server) hits() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.canary...)
}

const hostPage = `<!doctype html><html><head><meta charset=utf-8>
<script src="/replaycore.js"></script><script src="/hostile.js"></script></head>
<body>
<iframe id=sandboxed sandbox="allow-same-origin" width=800 height=600></iframe>
<iframe id=open width=800 height=600></iframe>
<iframe id=third sandbox="allow-same-origin" width=800 height=600></iframe>
</body></html>`

func newServer(t *testing.T) *server {
	t.Helper()
	entry := fstest.MapFS{"entry.js": {Data: []byte("import * as RC from 'replaycore/index.js'; window.ReplayCore = RC;")}}
	rc, err := jsbundle.Build(jsbundle.Options{FS: entry, Entry: "entry.js", Name: "replaycore", Packages: map[string]fs.FS{"replaycore": FS}, NoMinify: true})
	if err != nil {
		t.Fatal(err)
	}
	hostile, err := os.ReadFile(filepath.Join("testdata", "hostile.js"))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{}
	mux := http.NewServeMux()
	mux.Handle("/replaycore.js", rc)
	mux.HandleFunc("/hostile.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(hostile)
	})
	mux.HandleFunc("/host.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, hostPage)
	})
	mux.HandleFunc("/canary", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.canary = append(s.canary, r.URL.RawQuery)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/tall.svg", func(w http.ResponseWriter, r *http.Request) {
		// Late and tall: the page is too short for its scroll position
		// until these arrive.
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Type", "image/svg+xml")
		io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="200"><rect width="10" height="200" fill="blue"/></svg>`)
	})
	mux.HandleFunc("/img.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4" fill="red"/></svg>`)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func eval(ctx context.Context, js string, out any) error {
	return chromedp.Run(ctx, chromedp.Evaluate(js, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// TestReplayCore runs the replay core's browser tests in one Chromium.
func TestReplayCore(t *testing.T) {
	s := newServer(t)
	ctx := browsertest.New(t, 2*time.Minute)
	var dialogs []string
	var dmu sync.Mutex
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dmu.Lock()
			dialogs = append(dialogs, e.Message)
			dmu.Unlock()
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(false))
		}
	})
	con := browsertest.WatchConsole(ctx)
	load := func(t *testing.T) {
		t.Helper()
		if err := chromedp.Run(ctx, chromedp.Navigate(s.URL+"/host.html")); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("canary works", func(t *testing.T) {
		// The control: markup inserted without replaycore into the frame
		// without a sandbox does run, so the canary would see a leak.
		load(t)
		var ok bool
		if err := eval(ctx, `(() => { const d = document.getElementById('open').contentDocument; d.body.innerHTML = '<img src=x onerror="fetch(\'/canary?control\')">'; return true; })()`, &ok); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(3 * time.Second)
		for len(s.hits()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if h := s.hits(); len(h) != 1 || h[0] != "control" {
			t.Fatalf("canary control: hits %v", h)
		}
		s.mu.Lock()
		s.canary = nil
		s.mu.Unlock()
	})

	t.Run("hostile recording runs nothing", func(t *testing.T) {
		load(t)
		var res struct {
			Bad      []string `json:"bad"`
			Built    []bool   `json:"built"`
			Warnings int      `json:"warnings"`
			Thrown   []string `json:"thrown"`
		}
		js := `(async () => {
			const out = {bad: [], built: [], warnings: 0, thrown: []};
			for (const fid of ['sandboxed', 'open']) {
				const f = document.getElementById(fid);
				const doc = f.contentDocument;
				const rb = new ReplayCore.Rebuilder(doc, {onWarning: () => out.warnings++});
				try {
					rb.apply(Hostile.snapshot());
					const q = (s) => rb.idOf(doc.querySelector(s));
					const ph = Array.from(doc.querySelectorAll('noscript')).find((e) => rb._placeholders.has(e));
					for (const e of Hostile.mutations(q('#after-clobber'), q('iframe'), q('meta'), rb.idOf(ph))) rb.apply(e);
				} catch (e) { out.thrown.push(String(e)); }
				out.built.push(!!doc.getElementById('after-clobber') && doc.getElementById('after-clobber').textContent === 'still built');
				out.bad.push(...Hostile.audit(doc).map((b) => fid + ' ' + b));
			}
			// Poke everything in the frame without a sandbox.
			const d = document.getElementById('open').contentDocument;
			for (const e of Array.from(d.querySelectorAll('*'))) {
				if (e.closest('form')) continue; // a submit would navigate the frame away before the audit
				for (const type of ['mouseover', 'focus', 'error', 'load', 'toggle']) e.dispatchEvent(new Event(type));
				if (typeof e.click === 'function') e.click();
			}
			for (const a of d.querySelectorAll('a')) a.dispatchEvent(new MouseEvent('click', {bubbles: true}));
			await new Promise((r) => setTimeout(r, 1000));
			out.bad.push(...Hostile.audit(d).map((b) => 'after clicks ' + b));
			return out;
		})()`
		if err := eval(ctx, js, &res); err != nil {
			t.Fatal(err)
		}
		for _, b := range res.Bad {
			t.Errorf("dangerous content in the rebuilt document: %s", b)
		}
		for i, ok := range res.Built {
			if !ok {
				t.Errorf("frame %d: the document after the clobbering elements was not built", i)
			}
		}
		for _, e := range res.Thrown {
			t.Errorf("apply threw: %s", e)
		}
		time.Sleep(200 * time.Millisecond)
		if h := s.hits(); len(h) > 0 {
			t.Errorf("hostile recording reached the canary: %v", h)
		}
		dmu.Lock()
		if len(dialogs) > 0 {
			t.Errorf("dialogs opened: %v", dialogs)
		}
		dmu.Unlock()
		var href string
		if err := eval(ctx, `location.href`, &href); err != nil || !strings.HasSuffix(href, "/host.html") {
			t.Errorf("the host page navigated: %q %v", href, err)
		}
	})

	t.Run("garbage never throws", func(t *testing.T) {
		load(t)
		// One evaluation per seed: long evaluations that rewrite frames make chromedp stall.
		events := 0
		for seed := 1; seed <= 15; seed++ {
			var res struct {
				Thrown []string `json:"thrown"`
				Events int      `json:"events"`
			}
			js := fmt.Sprintf(`(() => {
				const out = {thrown: [], events: 0};
				const doc = document.getElementById('open').contentDocument;
				const rb = window.__rb || (window.__rb = new ReplayCore.Rebuilder(doc, {onWarning: () => {}}));
				for (const e of [Hostile.snapshot(), ...Hostile.garbage(%d)]) {
					out.events++;
					try { rb.apply(e); } catch (err) { out.thrown.push(String(err)); }
				}
				for (const x of [null, undefined, 1, 'x', [], {v: 1}, {v: 1, tree: {type: 0, id: 'a'}}]) {
					try { rb.restore(x); } catch (err) { out.thrown.push('restore: ' + err); }
				}
				try { const cp = rb.checkpoint(); if (cp) rb.restore(structuredClone(cp)); } catch (err) { out.thrown.push('checkpoint: ' + err); }
				return out;
			})()`, seed)
			if err := eval(ctx, js, &res); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			events += res.Events
			for _, e := range res.Thrown {
				t.Errorf("seed %d threw: %s", seed, e)
			}
		}
		if events < 5000 {
			t.Errorf("only %d events applied", events)
		}
		var bad []string
		if err := eval(ctx, `Hostile.audit(document.getElementById('open').contentDocument)`, &bad); err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Errorf("dangerous content after garbage: %s", b)
		}
		time.Sleep(300 * time.Millisecond)
		if h := s.hits(); len(h) > 0 {
			t.Errorf("garbage reached the canary: %v", h)
		}
	})

	t.Run("checkpoint restores the same state", func(t *testing.T) {
		load(t)
		var res struct {
			Same    bool     `json:"same"`
			A       string   `json:"a"`
			B       string   `json:"b"`
			Checks  []string `json:"checks"`
			CpBytes int      `json:"cpBytes"`
		}
		if err := eval(ctx, checkpointJS, &res); err != nil {
			t.Fatal(err)
		}
		if !res.Same {
			t.Errorf("checkpoint of the restored document differs:\n%s\n---\n%s", diffAt(res.A, res.B), diffAt(res.B, res.A))
		}
		for _, c := range res.Checks {
			t.Errorf("restored state: %s", c)
		}
	})

	t.Run("hover, focus and resolveURL", func(t *testing.T) {
		load(t)
		var res []string
		if err := eval(ctx, hoverJS, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	})

	t.Run("scroll positions applied again after late images, once per frame", func(t *testing.T) {
		load(t)
		var res struct {
			Before, After, Passes, Images int
		}
		if err := eval(ctx, lateImagesJS, &res); err != nil {
			t.Fatal(err)
		}
		if res.Before != 0 || res.After != 2000 {
			t.Errorf("document scrollTop %d before the images, %d after; want 0 (clamped) then 2000", res.Before, res.After)
		}
		// Each pass sets every position (a forced layout each): twenty
		// images loading in one task must cost one pass, not twenty.
		if res.Images != 20 || res.Passes != 1 {
			t.Errorf("%d images loaded, %d passes over the scroll positions for 20 loads in one task; want 20 images, 1 pass", res.Images, res.Passes)
		}
	})

	t.Run("noscript content stays hidden", func(t *testing.T) {
		// Found on real pages (BBC, Google): the recorded page ran scripts,
		// so its <noscript> fallback never showed; the sandboxed replay
		// frame runs none and showed the fallback markup as text, over
		// the page.
		load(t)
		var res []string
		if err := eval(ctx, noscriptJS, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	})

	t.Run("links to refused schemes still look like links", func(t *testing.T) {
		// Found on real pages (Xinhua, Caddy, ECMA-402): <a href="javascript:…">
		// lost its href and with it the link colour and underline.
		load(t)
		var res []string
		if err := eval(ctx, linksJS, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	})

	t.Run("rendering mode from the recorded doctype", func(t *testing.T) {
		// Found on real pages (Xinhua, XHTML 1.0 Transitional): the page
		// rendered in limited-quirks mode and its replay in standards
		// mode, every line holding only an iframe 4 px taller.
		load(t)
		var res []string
		if err := eval(ctx, modeJS, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	})

	t.Run("attribute names only the parser makes", func(t *testing.T) {
		// Found on a real page (Arabic newspapers): <td onclick target=_top
		// ="f(this,'a/b c.htm')"> gives attributes named ="f(this,'a and
		// c.htm')", which setAttribute refuses: they were lost.
		load(t)
		var res []string
		if err := eval(ctx, parsedAttrsJS, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	})

	t.Run("objects show their fallback content", func(t *testing.T) {
		// Found on a real page (the ES6 spec): <object data=figure.svg
		// type=image/svg+xml><img src=figure.png></object> lost its data
		// (sanitized) but kept its type, and Chromium drew an empty
		// 719x354 box instead of the fallback image.
		load(t)
		var res []string
		if err := eval(ctx, objectJS, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	})

	t.Run("stylesheets sent in earlier views", func(t *testing.T) {
		load(t)
		var res []string
		if err := eval(ctx, sheetsJS, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	})

	t.Run("nesting is bounded", func(t *testing.T) {
		// A hostile recording nests as deep as it likes: one mutation of
		// 30,000 adds, each inside the last; a subtree 3,000 deep added at
		// the bottom; a snapshot 6,000 deep; frames inside frames. Before
		// the bound, the checkpoint walk ran out of stack and the player
		// never showed the session.
		load(t)
		var res []string
		if err := eval(ctx, deepJS, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	})

	t.Run("ids that cycle or are reused", func(t *testing.T) {
		load(t)
		var res []string
		if err := eval(ctx, cycleJS, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	})

	_, exc := con.Snapshot()
	for _, e := range exc {
		t.Errorf("uncaught exception in the host page: %s", e)
	}
}

// cycleJS applies adds that make a node its own parent, put a node under
// its own descendant, reuse an element's id for a text node and the
// document's id for an element, and remove the document; then checks that
// nothing threw, the page still holds one <html> with its body, every
// registered id names a node in the page, and a checkpoint restores.
const cycleJS = `(() => {
	const errs = [];
	const doc = document.getElementById('sandboxed').contentDocument;
	const rb = new ReplayCore.Rebuilder(doc, {onWarning: () => {}});
	const el = (id, tag, kids) => ({type: 2, id, tagName: tag, attributes: {id: 'n' + id}, childNodes: kids || []});
	const mut = (d) => ({type: 3, timestamp: 2, data: Object.assign({source: 0, texts: [], attributes: [], removes: [], adds: []}, d)});
	const apply = (what, e) => { try { rb.apply(e); } catch (err) { errs.push(what + ': apply threw ' + err); } };
	apply('snapshot', {type: 2, timestamp: 1, data: {node: {type: 0, id: 1, childNodes: [el(2, 'html', [el(3, 'head'), el(4, 'body', [el(5, 'div', [el(6, 'p', [el(7, 'span')])]), el(8, 'b')])])]}, initialOffset: {left: 0, top: 0}}});
	apply('own parent', mut({adds: [{parentId: 5, nextId: null, node: el(5, 'div')}]}));
	apply('under its descendant', mut({adds: [{parentId: 7, nextId: null, node: el(6, 'p', [el(7, 'span')])}]}));
	apply('next is itself', mut({adds: [{parentId: 4, nextId: 8, node: el(8, 'i')}]}));
	apply('element id reused by text', mut({adds: [{parentId: 4, nextId: null, node: {type: 3, id: 8, textContent: 'text now'}}]}));
	apply('document id reused', mut({adds: [{parentId: 4, nextId: null, node: el(1, 'em')}]}));
	apply('waits on each other', mut({adds: [{parentId: 100, nextId: null, node: el(101, 'u')}, {parentId: 101, nextId: null, node: el(100, 'u')}]}));
	apply('remove the document', mut({removes: [{parentId: 0, id: 1}]}));
	apply('remove html', mut({removes: [{parentId: 1, id: 2}]}));
	apply('add back', mut({adds: [{parentId: 1, nextId: null, node: el(2, 'html', [el(4, 'body', [el(9, 'h1')])])}]}));
	if (doc.documentElement?.localName !== 'html' || !doc.body || !doc.getElementById('n9')) errs.push('the page lost its structure: ' + doc.documentElement?.outerHTML);
	for (const [id, node] of rb._nodes) {
		if (node !== doc && !doc.contains(node)) errs.push('id ' + id + ' names a node outside the page');
	}
	try {
		const cp = rb.checkpoint();
		rb.restore(structuredClone(cp));
		if (!doc.getElementById('n9')) errs.push('the restored page lost its content');
	} catch (e) { errs.push('checkpoint: ' + e); }
	return errs;
})()`

// deepJS builds hostile nesting in every way a recording can and returns
// what went wrong: a throw, a rebuilt page deeper than the bound (frames
// and shadow roots counted), a checkpoint that cannot be taken, cloned or
// restored.
const deepJS = `(() => {
	const errs = [];
	const f = document.getElementById('sandboxed');
	const doc = f.contentDocument;
	const rb = new ReplayCore.Rebuilder(doc, {onWarning: () => {}});
	let id = 0;
	const el = (tag, kids, extra) => Object.assign({type: 2, id: ++id, tagName: tag, attributes: {}, childNodes: kids || []}, extra || {});
	const chain = (n, leaf) => { let node = leaf || el('i'); for (let i = 0; i < n; i++) node = el('b', [node]); return node; };
	const snap = (body) => ({type: 2, timestamp: 1, data: {node: {type: 0, id: ++id, childNodes: [el('html', [el('head'), body])]}, initialOffset: {left: 0, top: 0}}});
	const maxDepth = (d) => {
		let max = 0;
		const stack = [[d, 0]];
		while (stack.length) {
			const [n, k] = stack.pop();
			if (k > max) max = k;
			for (let c = n.firstChild; c; c = c.nextSibling) stack.push([c, k + 1]);
			if (n.shadowRoot) stack.push([n.shadowRoot, k + 1]);
			if (n.localName === 'iframe' && n.contentDocument && n.contentDocument.documentElement) stack.push([n.contentDocument, k + 1]);
		}
		return max;
	};
	const check = (what) => {
		const depth = maxDepth(doc);
		if (depth > 1010) errs.push(what + ': rebuilt page is ' + depth + ' levels deep');
		let cp;
		try { cp = rb.checkpoint(); } catch (e) { errs.push(what + ': checkpoint threw ' + e); return; }
		if (!cp) { errs.push(what + ': no checkpoint'); return; }
		try { cp = structuredClone(cp); } catch (e) { errs.push(what + ': checkpoint cannot be cloned: ' + e); return; }
		try { rb.restore(cp); } catch (e) { errs.push(what + ': restore threw ' + e); }
		if (maxDepth(doc) !== depth) errs.push(what + ': restored depth ' + maxDepth(doc) + ', was ' + depth);
	};
	const apply = (what, e) => { try { rb.apply(e); } catch (err) { errs.push(what + ': apply threw ' + err); } };
	const mut = (adds) => ({type: 3, timestamp: 2, data: {source: 0, texts: [], attributes: [], removes: [], adds}});

	// A snapshot 6,000 deep.
	apply('snapshot', snap(el('body', [chain(6000)], {attributes: {id: 'top'}})));
	check('deep snapshot');
	// One mutation, 30,000 adds, each inside the last.
	const top = el('body');
	apply('chain snapshot', snap(top));
	const adds = [];
	let parent = top.id;
	for (let i = 0; i < 30000; i++) {
		const n = el('div');
		adds.push({parentId: parent, nextId: null, node: n});
		parent = n.id;
	}
	const t0 = performance.now();
	apply('chain adds', mut(adds));
	if (performance.now() - t0 > 5000) errs.push('30,000 nested adds took ' + Math.round(performance.now() - t0) + ' ms');
	// A subtree added at the bottom of what was built.
	let bottom = doc.body;
	while (bottom.lastElementChild) bottom = bottom.lastElementChild;
	apply('subtree', mut([{parentId: rb.idOf(bottom), nextId: null, node: chain(3000)}]));
	check('nested adds');
	// Frames inside frames, each with a document 400 deep, and shadow roots.
	const frameDoc = (k) => ({type: 0, id: ++id, childNodes: [el('html', [el('body', [chain(400, k > 0 ? el('iframe', [], {iframeDoc: frameDoc(k - 1)}) : el('div', [chain(400)], {isShadowHost: true}))])])]});
	apply('frames', snap(el('body', [el('iframe', [], {iframeDoc: frameDoc(12)})])));
	check('nested frames');
	return errs;
})()`

// lateImagesJS rebuilds a page scrolled to 2000 px whose height comes
// from twenty images that arrive 300 ms later, and counts the passes
// over the scroll positions their load events cause.
// noscriptJS rebuilds a page with a <noscript> (its content recorded as
// text, as a page with scripts parses it), in the document, in a restored
// checkpoint, in a same-origin frame and after adopted sheets change, and
// returns what is wrong: the fallback must never take space, the page's
// own adopted sheets must still apply, and the replay sheet must never
// show in the tree nor among the recorded adopted sheets.
const noscriptJS = `(() => {
	const errs = [];
	const f = document.getElementById('sandboxed');
	let id = 0;
	const E = (tagName, attributes, childNodes) => ({type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: ++id});
	const T = (textContent) => ({type: 3, textContent, id: ++id});
	const ns = E('noscript', {}, [T('<div style="height:300px">Please enable JavaScript</div>')]);
	const p = E('p', {id: 'after', style: 'margin:0'}, [T('text')]);
	const frameDoc = {type: 0, id: 1000, childNodes: [{type: 2, tagName: 'html', id: 1001, attributes: {}, childNodes: [
		{type: 2, tagName: 'body', id: 1002, attributes: {style: 'margin:0'}, childNodes: [
			{type: 2, tagName: 'noscript', id: 1003, attributes: {}, childNodes: [{type: 3, id: 1004, textContent: 'fallback text'}]},
			{type: 2, tagName: 'p', id: 1005, attributes: {id: 'in', style: 'margin:0'}, childNodes: [{type: 3, id: 1006, textContent: 'x'}]}]}]}]};
	const frame = E('iframe', {}, []);
	frame.iframeDoc = frameDoc;
	const doc = {type: 0, id: ++id, childNodes: [E('html', {}, [E('head', {}, []), E('body', {style: 'margin:0'}, [ns, p, frame])])]};
	const rb = new ReplayCore.Rebuilder(f.contentDocument);
	rb.apply({type: 4, timestamp: 1, data: {href: location.origin + '/', width: 800, height: 600}});
	rb.apply({type: 2, timestamp: 1, data: {node: doc, initialOffset: {left: 0, top: 0}}});
	const check = (d, what) => {
		const n = d.querySelector('noscript');
		if (!n) return errs.push(what + ': no <noscript> rebuilt');
		if (n.textContent.indexOf('enable JavaScript') < 0 && n.textContent !== 'fallback text') errs.push(what + ': the <noscript> lost its content: ' + JSON.stringify(n.textContent));
		if (n.getBoundingClientRect().height !== 0 || d.defaultView.getComputedStyle(n).display !== 'none') errs.push(what + ': the <noscript> renders (display ' + d.defaultView.getComputedStyle(n).display + ')');
		const after = d.getElementById('after') || d.getElementById('in');
		if (after.getBoundingClientRect().top !== 0) errs.push(what + ': the element after the <noscript> is at ' + after.getBoundingClientRect().top + ', not 0');
		if (n.hasAttribute('style') || d.querySelectorAll('style').length) errs.push(what + ': the replay sheet shows in the tree');
		const own = d.adoptedStyleSheets.filter((s) => ReplayCore.isReplaySheet(s));
		if (own.length !== 1) errs.push(what + ': ' + own.length + ' replay sheets adopted, want 1');
	};
	const d = f.contentDocument;
	check(d, 'snapshot');
	const inner = d.querySelector('iframe');
	if (!inner || !inner.contentDocument || !inner.contentDocument.getElementById('in')) errs.push('frame document not rebuilt');
	else check(inner.contentDocument, 'frame');
	// The page adopts a sheet of its own: both apply, only it is recorded.
	rb.apply({type: 3, timestamp: 2, data: {source: 15, id: doc.id, styleIds: [1], styles: [{styleId: 1, rules: [{rule: '#after { color: rgb(0, 128, 0); }'}]}]}});
	check(d, 'adopted');
	if (d.defaultView.getComputedStyle(d.getElementById('after')).color !== 'rgb(0, 128, 0)') errs.push('the page\'s adopted sheet does not apply');
	if (d.adoptedStyleSheets.filter((s) => !ReplayCore.isReplaySheet(s)).length !== 1) errs.push('want the page\'s one adopted sheet beside the replay sheet');
	if (JSON.stringify(rb.checkpoint().adopted) !== JSON.stringify([[doc.id, [1]]])) errs.push('checkpoint records adopted sheets ' + JSON.stringify(rb.checkpoint().adopted));
	const g = document.getElementById('third');
	const rb2 = new ReplayCore.Rebuilder(g.contentDocument);
	rb2.restore(structuredClone(rb.checkpoint()));
	check(g.contentDocument, 'restored');
	return errs;
})()`

// linksJS rebuilds links whose targets the sanitizer refuses (in the
// snapshot and set by a mutation) and returns what is wrong: they must
// keep an inert href="#" (so :link styles them as the page did) and
// nothing of the refused URL.
const linksJS = `(() => {
	const errs = [];
	const f = document.getElementById('sandboxed');
	let id = 0;
	const E = (tagName, attributes, childNodes) => ({type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: ++id});
	const T = (textContent) => ({type: 3, textContent, id: ++id});
	const refused = ['javascript:void(0)', ' java\tscript:alert(1)', 'ircs://irc.example.net:6667', 'data:text/html,<b>x</b>'];
	const links = refused.map((h, i) => E('a', {href: h, id: 'l' + i}, [T('link')]));
	const plain = E('a', {id: 'plain'}, [T('anchor')]);
	const ok = E('a', {id: 'ok', href: location.origin + '/page'}, [T('ok')]);
	const later = E('a', {id: 'later', href: location.origin + '/x'}, [T('later')]);
	const doc = {type: 0, id: ++id, childNodes: [E('html', {}, [E('head', {}, []), E('body', {}, [...links, plain, ok, later])])]};
	const rb = new ReplayCore.Rebuilder(f.contentDocument);
	rb.apply({type: 4, timestamp: 1, data: {href: location.origin + '/', width: 800, height: 600}});
	rb.apply({type: 2, timestamp: 1, data: {node: doc}});
	rb.apply({type: 3, timestamp: 2, data: {source: 0, texts: [], removes: [], adds: [], attributes: [{id: later.id, attributes: {href: 'javascript:go()'}}]}});
	const d = f.contentDocument;
	const color = (el) => d.defaultView.getComputedStyle(el).color;
	const check = (el, what) => {
		if (el.getAttribute('href') !== '#') errs.push(what + ': href ' + JSON.stringify(el.getAttribute('href')) + ', want "#"');
		if (!el.matches(':link') || color(el) !== color(d.getElementById('ok'))) errs.push(what + ': not styled as a link (' + color(el) + ')');
	};
	refused.forEach((h, i) => check(d.getElementById('l' + i), JSON.stringify(h)));
	check(d.getElementById('later'), 'javascript: set by a mutation');
	if (d.getElementById('plain').hasAttribute('href')) errs.push('an anchor without href got one');
	if (d.getElementById('ok').getAttribute('href') !== location.origin + '/page') errs.push('an http link changed: ' + d.getElementById('ok').getAttribute('href'));
	if (color(d.getElementById('plain')) === color(d.getElementById('ok'))) errs.push('control: an anchor without href is coloured as a link');
	return errs;
})()`

// modeJS rebuilds the same body under several recorded doctypes, one
// after the other in one frame (as a player seeking between views does)
// and restored from a checkpoint, and returns what is wrong: the frame's
// mode (compatMode, and the height of a line holding only a 70 px iframe,
// which tells limited-quirks from standards) must be the recorded page's,
// and hostile doctype identifiers must stay inside the doctype.
const modeJS = `(() => {
	const errs = [];
	const f = document.getElementById('sandboxed');
	const rb = new ReplayCore.Rebuilder(f.contentDocument, {onWarning: (m) => errs.push('warning: ' + m)});
	let id = 0;
	const E = (tagName, attributes, childNodes) => ({type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: ++id});
	const page = (compatMode, doctype) => {
		const kids = [E('html', {}, [E('head', {}, []), E('body', {style: 'margin:0'}, [E('div', {id: 'line'}, [E('iframe', {style: 'height:70px;width:100px;border:0'}, [])])])])];
		if (doctype) kids.unshift({type: 1, id: ++id, ...doctype});
		return {type: 0, id: ++id, compatMode, childNodes: kids};
	};
	const cases = [
		// [what, compatMode, doctype, want compatMode, want line height 70 (quirky line height)]
		['XHTML 1.0 Transitional (limited quirks)', 'CSS1Compat', {name: 'html', publicId: '-//W3C//DTD XHTML 1.0 Transitional//EN', systemId: 'http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd'}, 'CSS1Compat', true],
		['html5', 'CSS1Compat', {name: 'html', publicId: '', systemId: ''}, 'CSS1Compat', false],
		['HTML 4.01 Transitional without system id (quirks)', 'BackCompat', {name: 'html', publicId: '-//W3C//DTD HTML 4.01 Transitional//EN', systemId: ''}, 'BackCompat', true],
		['no doctype, quirks', 'BackCompat', null, 'BackCompat', true],
		['no doctype, standards (a script removed it)', 'CSS1Compat', null, 'CSS1Compat', false],
		['hostile identifiers', 'CSS1Compat', {name: 'html><img id=evil src=x>', publicId: '"><img id=evil2>', systemId: "'><b id=evil3>"}, 'CSS1Compat', false],
		['XHTML 1.0 Transitional again after a standards page', 'CSS1Compat', {name: 'html', publicId: '-//W3C//DTD XHTML 1.0 Transitional//EN', systemId: 'http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd'}, 'CSS1Compat', true],
	];
	let ts = 1;
	for (const [what, cm, dt, wantMode, quirkyLine] of cases) {
		rb.apply({type: 4, timestamp: ts, data: {href: location.origin + '/', width: 800, height: 600}});
		rb.apply({type: 2, timestamp: ts++, data: {node: page(cm, dt)}});
		const d = f.contentDocument;
		const h = d.getElementById('line') ? d.getElementById('line').getBoundingClientRect().height : -1;
		if (d.compatMode !== wantMode) errs.push(what + ': compatMode ' + d.compatMode + ', want ' + wantMode);
		if ((h === 70) !== quirkyLine) errs.push(what + ': a line holding only a 70px iframe is ' + h + 'px high');
		if (d.querySelector('img, b') || !d.body || d.body.children.length !== 1) errs.push(what + ': the doctype put elements into the document: ' + (d.documentElement && d.documentElement.outerHTML.slice(0, 200)));
		if (d.doctype && dt && d.doctype.publicId !== String(dt.publicId)) errs.push(what + ': doctype node publicId ' + JSON.stringify(d.doctype.publicId));
		if (what.startsWith('XHTML')) {
			const g = document.getElementById('third');
			new ReplayCore.Rebuilder(g.contentDocument).restore(structuredClone(rb.checkpoint()));
			if (g.contentDocument.getElementById('line').getBoundingClientRect().height !== 70) errs.push(what + ': not in limited-quirks mode once restored from a checkpoint');
		}
	}
	return errs;
})()`

// parsedAttrsJS takes the attributes the parser gives malformed markup,
// records them (in a snapshot and in a mutation) and returns what is
// wrong: the rebuilt elements must have the same attributes, and names no
// markup can make must be skipped without losing the others.
const parsedAttrsJS = `(() => {
	const errs = [];
	const src = document.createElement('template');
	src.innerHTML = '<table><tr><td class="nav" onclick target="_top"\n ="f(this,1,\'news/qatar aljazeera.htm\')" height="16">x</td></tr></table>';
	const td = src.content.querySelector('td');
	const attrs = {};
	for (const a of td.attributes) if (a.name !== 'onclick') attrs[a.name] = a.value; // event handlers are never rebuilt
	const names = Object.keys(attrs).sort();
	if (!names.some((n) => n.charAt(0) === '=')) errs.push('control: the parser made no name starting with "=": ' + JSON.stringify(names));
	const weird = {...attrs, onclick: 'f()', 'a b': '1', 'x>y': '1', '': '1', id: 'cell'};
	let id = 0;
	const E = (tagName, attributes, childNodes) => ({type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: ++id});
	const cell = E('td', weird, []);
	const other = E('td', {id: 'other'}, []);
	const doc = {type: 0, id: ++id, childNodes: [E('html', {}, [E('head', {}, []), E('body', {}, [E('table', {}, [E('tbody', {}, [E('tr', {}, [cell, other])])])])])]};
	const f = document.getElementById('sandboxed');
	const rb = new ReplayCore.Rebuilder(f.contentDocument, {onWarning: (m) => errs.push('warning: ' + m)});
	rb.apply({type: 4, timestamp: 1, data: {href: location.origin + '/', width: 800, height: 600}});
	rb.apply({type: 2, timestamp: 1, data: {node: doc}});
	rb.apply({type: 3, timestamp: 2, data: {source: 0, texts: [], removes: [], adds: [], attributes: [{id: other.id, attributes: attrs}]}});
	const d = f.contentDocument;
	const got = (el) => Array.from(el.attributes, (a) => a.name + '=' + a.value).sort().join(' | ');
	const want = (extra) => [...names.map((n) => n + '=' + attrs[n]), ...extra].sort().join(' | ');
	if (got(d.getElementById('cell')) !== want(['id=cell'])) errs.push('snapshot: ' + got(d.getElementById('cell')) + '\\n want ' + want(['id=cell']));
	if (got(d.getElementById('other')) !== want(['id=other'])) errs.push('mutation: ' + got(d.getElementById('other')) + '\\n want ' + want(['id=other']));
	if (d.querySelector('b')) errs.push('the template parse left an element behind');
	return errs;
})()`

// objectJS rebuilds <object> elements (an SVG one with an image as
// fallback, a Flash one with text, one without fallback) and returns what
// is wrong: the fallback shows where there is one, else a box of the
// object's size, and no object keeps data or type.
const objectJS = `(() => {
	const errs = [];
	let id = 0;
	const E = (tagName, attributes, childNodes) => ({type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: ++id});
	const T = (textContent) => ({type: 3, textContent, id: ++id});
	const body = E('body', {style: 'margin:0'}, [
		E('object', {id: 'svg', data: location.origin + '/img.svg', type: 'image/svg+xml', width: '719', height: '354'}, [E('img', {id: 'fb', src: location.origin + '/img.svg', width: '40', height: '30'})]),
		E('object', {id: 'flash', classid: 'clsid:D27CDB6E', data: location.origin + '/x.swf', type: 'application/x-shockwave-flash', width: '120', height: '30'}, [T('no flash')]),
		E('object', {id: 'bare', data: location.origin + '/img.svg', type: 'image/svg+xml', width: '120', height: '50'}, []),
	]);
	const doc = {type: 0, id: ++id, childNodes: [E('html', {}, [E('head', {}, []), body])]};
	const f = document.getElementById('sandboxed');
	const rb = new ReplayCore.Rebuilder(f.contentDocument);
	rb.apply({type: 4, timestamp: 1, data: {href: location.origin + '/', width: 800, height: 600}});
	rb.apply({type: 2, timestamp: 1, data: {node: doc}});
	const d = f.contentDocument;
	const box = (i) => { const r = d.getElementById(i).getBoundingClientRect(); return Math.round(r.width) + 'x' + Math.round(r.height); };
	return new Promise((resolve) => setTimeout(() => {
		for (const o of d.querySelectorAll('object')) for (const a of ['data', 'type', 'classid']) if (o.hasAttribute(a)) errs.push(o.id + ' keeps ' + a);
		if (box('fb') !== '40x30') errs.push('the fallback image is ' + box('fb') + ', want 40x30 (shown)');
		if (box('svg') === '719x354') errs.push('the SVG object is an empty 719x354 box over its fallback');
		if (d.getElementById('flash').getBoundingClientRect().width < 20 || box('flash') === '120x30') errs.push('the Flash object does not show its fallback text: ' + box('flash'));
		if (box('bare') !== '120x50') errs.push('an object without fallback is ' + box('bare') + ', want its own 120x50');
		resolve(errs);
	}, 300));
})()`

const lateImagesJS = `(async () => {
	const f = document.getElementById('sandboxed');
	const rb = new ReplayCore.Rebuilder(f.contentDocument);
	let id = 0;
	const E = (tagName, attributes, childNodes) => ({type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: ++id});
	const imgs = [];
	for (let k = 0; k < 20; k++) imgs.push(E('img', {src: '/tall.svg?' + k, style: 'display:block'}));
	const doc = {type: 0, id: ++id, childNodes: [E('html', {}, [E('head', {}, []), E('body', {style: 'margin:0'}, imgs)])]};
	rb.apply({type: 4, timestamp: 1, data: {href: location.origin + '/', width: 800, height: 600}});
	rb.apply({type: 2, timestamp: 1, data: {node: doc, initialOffset: {left: 0, top: 2000}}});
	const d = f.contentDocument;
	const before = d.scrollingElement.scrollTop;
	// One scroll position (the document's): a pass is one call.
	let passes = 0;
	const apply = rb._applyScroll.bind(rb);
	rb._applyScroll = (id) => { passes++; apply(id); };
	const done = () => Array.from(d.images).every((i) => i.complete);
	const t0 = performance.now();
	while (!done() && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
	const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
	await frames();
	const after = d.scrollingElement.scrollTop;
	// Twenty loads in one task (real ones may spread over frames on a
	// busy machine): one pass.
	passes = 0;
	for (const i of d.images) i.dispatchEvent(new Event('load'));
	await frames();
	return {Before: before, After: after, Passes: passes, Images: Array.from(d.images).filter((i) => i.naturalHeight === 200).length};
})()`

// sheetsJS records a stylesheet's text in one view and its key (rr_css)
// in the next, as our recorder does, and rebuilds the second view alone:
// with the session's texts collected it gets the text; without them, the
// link keeps its href.
const sheetsJS = `(() => {
	const errs = [];
	const css = '.x { color: rgb(1, 2, 3); }';
	const key = ReplayCore.stylesheetKey(css);
	if (!/^[0-9a-z]+\.[0-9a-z]+$/.test(key) || key === ReplayCore.stylesheetKey(css + ' ')) errs.push('key ' + key);
	let id = 0;
	const E = (tagName, attributes, childNodes) => ({type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: ++id});
	const T = (t) => ({type: 3, textContent: t, id: ++id});
	const view = (link) => [{type: 4, timestamp: 1, data: {href: 'http://example.test/', width: 800, height: 600}},
		{type: 2, timestamp: 1, data: {node: {type: 0, id: ++id, childNodes: [E('html', {}, [E('head', {}, [E('link', link)]), E('body', {}, [E('p', {class: 'x'}, [T('styled')])])])]}, initialOffset: {left: 0, top: 0}}}];
	const first = view({_cssText: css});
	const second = view({rel: 'stylesheet', href: '/orig/s.css', rr_css: key});
	// A link that loads after its view's snapshot, with a text sent before.
	const late = view({rel: 'stylesheet', href: '/orig/late.css'});
	const loaded = (rb) => ({type: 3, timestamp: 2, data: {source: 0, texts: [], removes: [], adds: [], attributes: [{id: rb.idOf(d.querySelector('link')), attributes: {rr_css: key}}]}});
	const sheets = ReplayCore.collectStylesheets(first.concat(second, late));
	if (sheets.size !== 1 || sheets.get(key) !== css) errs.push('collected ' + JSON.stringify([...sheets]));
	const d = document.getElementById('sandboxed').contentDocument;
	const color = () => getComputedStyle(d.querySelector('p')).color;
	for (const [name, events] of [['snapshot', second], ['mutation', late]]) {
		const rb = new ReplayCore.Rebuilder(d, {stylesheets: sheets});
		for (const e of events) rb.apply(e);
		if (events === late) rb.apply(loaded(rb));
		if (d.querySelector('link') || !d.querySelector('style') || color() !== 'rgb(1, 2, 3)') errs.push(name + ': not rebuilt from the text sent before: ' + d.head.innerHTML);
		if (rb.idOf(d.querySelector('style')) < 0) errs.push(name + ': the style has no id');
	}
	const bare = new ReplayCore.Rebuilder(d);
	for (const e of second) bare.apply(e);
	const l = d.querySelector('link');
	if (!l || l.getAttribute('href') !== '/orig/s.css' || l.getAttribute('rel') !== 'stylesheet' || l.hasAttribute('rr_css')) errs.push('without the texts, the link is not kept: ' + d.head.innerHTML);
	return errs;
})()`

// checkpointJS builds a document with every kind of state, checkpoints it,
// restores the checkpoint into another frame and compares.
const checkpointJS = `(async () => {
	const f = document.getElementById('sandboxed'), g = document.getElementById('third');
	const rb = new ReplayCore.Rebuilder(f.contentDocument);
	let id = 0;
	const E = (tagName, attributes, childNodes, extra) => Object.assign({type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: ++id}, extra || {});
	const T = (t) => ({type: 3, textContent: t, id: ++id});
	const doc = {type: 0, id: ++id, childNodes: [{type: 1, name: 'html', publicId: '', systemId: '', id: ++id}, E('html', {}, [
		E('head', {}, [E('style', {}, [T('.a:hover{color:rgb(1,2,3)} #s{height:50px;overflow:auto} #s div{height:500px}')], {})]),
		E('body', {}, [
			E('div', {id: 's', rr_scrollTop: 120}, [E('div', {}, [T('tall')])]),
			E('input', {id: 'i', value: 'typed'}), E('input', {id: 'c', type: 'checkbox'}), E('textarea', {id: 't', value: 'area'}),
			E('select', {id: 'sel'}, [E('option', {value: 'a'}, [T('A')]), E('option', {value: 'b', selected: true}, [T('B')])]),
			E('div', {id: 'host'}, [E('p', {}, [T('light')]), E('b', {}, [T('in shadow')], {isShadow: true})], {isShadowHost: true}),
			E('iframe', {id: 'fr'}),
			E('canvas', {id: 'cv', width: 4, height: 4}),
			E('canvas', {id: 'cv2', width: 30, height: 20}),
			E('dialog', {id: 'dl'}, [T('dialog')]),
			E('div', {id: 'pop', popover: ''}, [T('pop')]),
			E('script', {}, []),
			E('svg', {width: 10, height: 10}, [E('circle', {r: 3, cx: 5, cy: 5}, [], {isSVG: true})], {isSVG: true}),
			T('tail'),
		]),
	])]};
	rb.apply({type: 4, timestamp: 1, data: {href: 'http://example.test/', width: 800, height: 600}});
	rb.apply({type: 2, timestamp: 1, data: {node: doc, initialOffset: {left: 0, top: 0}}});
	const d = f.contentDocument;
	const idOf = (s) => rb.idOf(d.querySelector(s)) >= 0 ? rb.idOf(d.querySelector(s)) : rb.idOf(d.querySelector('#host').shadowRoot.querySelector(s));
	const fr = idOf('#fr');
	rb.apply({type: 3, timestamp: 2, data: {source: 0, texts: [], attributes: [], removes: [], isAttachIframe: true, adds: [{parentId: fr, nextId: null, node: {type: 0, id: 900, childNodes: [E('html', {}, [E('body', {}, [E('p', {id: 'inner'}, [T('in frame')])])])]}}]}});
	rb.apply({type: 3, timestamp: 3, data: {source: 5, id: idOf('#c'), text: 'on', isChecked: true}});
	rb.apply({type: 3, timestamp: 3, data: {source: 5, id: idOf('#i'), text: 'typed more', isChecked: false}});
	rb.apply({type: 3, timestamp: 4, data: {source: 8, id: idOf('style'), adds: [{rule: '#i { color: rgb(9, 9, 9); }', index: 1}]}});
	rb.apply({type: 3, timestamp: 4, data: {source: 15, id: 1, styleIds: [1], styles: [{styleId: 1, rules: [{rule: 'p { margin: 3px; }', index: 0}]}]}});
	rb.apply({type: 3, timestamp: 5, data: {source: 8, styleId: 1, adds: [{rule: 'b { font-weight: 900; }', index: 1}]}});
	rb.apply({type: 3, timestamp: 5, data: {source: 0, texts: [], removes: [], adds: [], attributes: [{id: idOf('#dl'), attributes: {open: '', rr_open_mode: 'modal'}}, {id: idOf('#pop'), attributes: {rr_popover_open: true}}]}});
	rb.apply({type: 3, timestamp: 6, data: {source: 1, positions: [{x: 1, y: 1, id: idOf('#i'), timeOffset: 0}]}});
	// A 4x4 red frame.
	const c = document.createElement('canvas'); c.width = c.height = 4; const cx = c.getContext('2d'); cx.fillStyle = 'red'; cx.fillRect(0, 0, 4, 4);
	const b64 = c.toDataURL('image/png').split(',')[1];
	rb.apply({type: 3, timestamp: 7, data: {source: 9, id: idOf('#cv'), type: 0, commands: [{property: 'clearRect', args: [0, 0, 4, 4]}, {property: 'drawImage', args: [{rr_type: 'ImageBitmap', args: [{rr_type: 'Blob', data: [{rr_type: 'ArrayBuffer', base64: b64}], type: 'image/png'}]}, 0, 0, 4, 4]}]}});
	await new Promise((r) => setTimeout(r, 200));
	const cp = structuredClone(rb.checkpoint());
	const rb2 = new ReplayCore.Rebuilder(g.contentDocument);
	rb2.restore(cp);
	await new Promise((r) => setTimeout(r, 200));
	const cp2 = rb2.checkpoint();
	const a = JSON.stringify(cp), b = JSON.stringify(cp2);
	const checks = [];
	const d2 = g.contentDocument;
	const q = (s) => d2.querySelector(s);
	if (q('#s').scrollTop !== 120) checks.push('scrollTop ' + q('#s').scrollTop);
	if (q('#i').value !== 'typed more') checks.push('input value ' + q('#i').value);
	if (!q('#c').checked) checks.push('checkbox not checked');
	if (q('#t').value !== 'area') checks.push('textarea ' + q('#t').value);
	if (q('#sel').value !== 'b') checks.push('select ' + q('#sel').value);
	if (!q('#host').shadowRoot || q('#host').shadowRoot.textContent !== 'in shadow') checks.push('shadow root');
	if (!q('#fr').contentDocument.getElementById('inner')) checks.push('iframe content');
	if (!q('#dl').matches(':modal')) checks.push('dialog not modal');
	if (!q('#pop').matches(':popover-open')) checks.push('popover not open');
	const recorded = d2.adoptedStyleSheets.filter((s) => !ReplayCore.isReplaySheet(s)); // beside the replay's own sheet
	if (recorded.length !== 1 || recorded[0].cssRules.length !== 2) checks.push('adopted sheets');
	if (q('style').sheet.cssRules.length !== 4) checks.push('style edits: ' + q('style').sheet.cssRules.length + ' rules');
	if (!q('#i').classList.contains('replay-hover')) checks.push('hover class');
	if (getComputedStyle(q('#i')).color !== 'rgb(9, 9, 9)') checks.push('inserted rule not applied');
	const px = q('#cv').getContext('2d').getImageData(1, 1, 1, 1).data;
	if (px[0] !== 255 || px[3] !== 255) checks.push('canvas frame not drawn: ' + Array.from(px));
	// The frames run no script, so a <canvas> would render its fallback
	// content (nothing, no height): its pixels are shown as its content,
	// at the size the live canvas had; a canvas never drawn keeps its size.
	for (const [where, dd] of [['built', d], ['restored', d2]]) {
		for (const [sel, w, h, img] of [['#cv', 4, 4, true], ['#cv2', 30, 20, false]]) {
			const el = dd.querySelector(sel), r = el.getBoundingClientRect(), content = getComputedStyle(el).content;
			if (r.width !== w || r.height !== h) checks.push(where + ' ' + sel + ' is ' + r.width + 'x' + r.height + ', want ' + w + 'x' + h);
			if (img !== content.startsWith('url("data:image/png')) checks.push(where + ' ' + sel + ' shows ' + content.slice(0, 40));
		}
	}
	if (!rb2._placeholders.has(d2.querySelector('noscript'))) checks.push('script placeholder');
	return {same: a === b, a: a === b ? '' : a, b: a === b ? '' : b, checks, cpBytes: a.length};
})()`

// hoverJS checks :hover/:focus emulation and resolveURL.
const hoverJS = `(() => {
	const errs = [];
	const f = document.getElementById('sandboxed');
	const seen = [];
	const rb = new ReplayCore.Rebuilder(f.contentDocument, {resolveURL: (u, kind) => { seen.push(kind + ' ' + u); return u.replace('/orig/', '/img.svg?'); }});
	let id = 0;
	const E = (tagName, attributes, childNodes) => ({type: 2, tagName, attributes: attributes || {}, childNodes: childNodes || [], id: ++id});
	const T = (t) => ({type: 3, textContent: t, id: ++id});
	rb.apply({type: 2, timestamp: 1, data: {node: {type: 0, id: ++id, childNodes: [E('html', {}, [
		E('head', {}, [E('style', {}, [T('a:hover { color: rgb(255, 0, 0); } input:focus { color: rgb(0, 0, 255); } @media (hover: hover) { b { color: rgb(0, 128, 0); } } .bg { background: url(/orig/a.png); } @font-face { font-family: X; src: url(/orig/f.woff2); } .s ::-webkit-scrollbar-thumb:hover, .s:focus::-webkit-scrollbar { color: red; } .t:hover::before { content: "t"; } x-card:not(:defined) { display: none; } x-card:defined { color: rgb(0, 0, 200); } @media (scripting: none) { #card { display: none; } } @media (scripting) { #card { border-left: 3px solid; } } @media screen and (SCRIPTING:enabled) { #card { padding-left: 4px; } }')]),
			E('link', {rel: 'stylesheet', href: '/orig/s.css'})]),
		E('body', {}, [E('x-card', {id: 'card'}, [T('component')]), E('a', {id: 'a', href: '/x'}, [E('span', {id: 'sp'}, [T('link')])]), E('input', {id: 'in'}), E('b', {}, [T('b')]), E('img', {src: '/orig/i.png', srcset: '/orig/i2.png 2x'}), E('video', {poster: '/orig/p.png', src: '/orig/v.mp4'})]),
	])]}}});
	const d = f.contentDocument;
	const a = d.getElementById('a');
	if (getComputedStyle(a).color === 'rgb(255, 0, 0)') errs.push('hover color before any mouse event');
	rb.apply({type: 3, timestamp: 2, data: {source: 1, positions: [{x: 1, y: 1, id: rb.idOf(d.getElementById('sp')), timeOffset: 0}]}});
	if (getComputedStyle(a).color !== 'rgb(255, 0, 0)') errs.push(':hover not emulated on the ancestor: ' + getComputedStyle(a).color);
	rb.apply({type: 3, timestamp: 3, data: {source: 1, positions: [{x: 1, y: 1, id: rb.idOf(d.body), timeOffset: 0}]}});
	if (getComputedStyle(a).color === 'rgb(255, 0, 0)') errs.push(':hover not removed');
	rb.apply({type: 3, timestamp: 4, data: {source: 2, type: 5, id: rb.idOf(d.getElementById('in'))}});
	if (getComputedStyle(d.getElementById('in')).color !== 'rgb(0, 0, 255)') errs.push(':focus not emulated');
	rb.apply({type: 3, timestamp: 5, data: {source: 2, type: 6, id: rb.idOf(d.getElementById('in'))}});
	if (getComputedStyle(d.getElementById('in')).color === 'rgb(0, 0, 255)') errs.push(':focus not removed');
	if (d.querySelector('style').textContent.indexOf('(hover: hover)') < 0) errs.push('media query rewritten: ' + d.querySelector('style').textContent);
	// Custom elements were defined live; the frame defines none.
	const card = getComputedStyle(d.getElementById('card'));
	if (card.display === 'none' || card.color !== 'rgb(0, 0, 200)') errs.push('a custom element styled as undefined: display ' + card.display + ', color ' + card.color);
	// The page ran with scripts; the frame runs none.
	if (card.borderLeftWidth !== '3px' || card.paddingLeft !== '4px') errs.push('@media (scripting) answered as in the frame: border ' + card.borderLeftWidth + ', padding ' + card.paddingLeft);
	// A pseudo-element's :hover is left alone (no class can match there);
	// a :hover before one is emulated as anywhere else.
	const sels = Array.from(d.querySelector('style').sheet.cssRules, (r) => r.selectorText || '');
	if (!sels.includes('.s ::-webkit-scrollbar-thumb:hover, .s:is(:focus, .replay-focus)::-webkit-scrollbar')) errs.push('pseudo-element rule: ' + JSON.stringify(sels));
	if (!sels.includes('.t:is(:hover, .replay-hover)::before')) errs.push(':hover before a pseudo-element not emulated: ' + JSON.stringify(sels));
	for (const want of ['image /orig/a.png', 'font /orig/f.woff2', 'stylesheet /orig/s.css', 'image /orig/i.png', 'image /orig/i2.png', 'image /orig/p.png', 'media /orig/v.mp4']) {
		if (!seen.includes(want)) errs.push('resolveURL not called for ' + want + ' (saw ' + seen.join(', ') + ')');
	}
	if (d.querySelector('img').getAttribute('src') !== '/img.svg?i.png') errs.push('resolved URL not used: ' + d.querySelector('img').getAttribute('src'));
	return errs;
})()`

// diffAt returns a's text around the first byte where it differs from b.
func diffAt(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[max(0, i-200):min(len(a), i+200)]
}
