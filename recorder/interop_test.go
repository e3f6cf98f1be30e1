package recorder

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

var rrwebReplayDir = filepath.Join("..", "testdata", "npm", "node_modules", "@rrweb", "replay", "dist")

// testRRWebPlaysOurs plays our recordings in rrweb's own Replayer (npm
// @rrweb/replay, a test peer installed by `make test`) and compares the
// document it shows at the end with the live page: the visible text and the
// element structure of <body> (rrweb adds its own styles and attributes, so
// the comparison is looser than our own round trip).
func testRRWebPlaysOurs(t *testing.T, h *harness, b *browser) {
	js, err := os.ReadFile(filepath.Join(rrwebReplayDir, "replay.umd.min.cjs"))
	if err != nil {
		t.Fatalf("@rrweb/replay is not installed (%v): run `make test-deps` or `npm ci --prefix testdata/npm`", err)
	}
	if i := bytes.LastIndex(js, []byte("\n//# sourceMappingURL=")); i > 0 {
		js = js[:i+1]
	}
	css, _ := os.ReadFile(filepath.Join(rrwebReplayDir, "style.css"))
	mux := h.srv.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("/test/rrweb-replay.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(js)
	})
	mux.HandleFunc("/test/rrweb-replay.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Write(css)
	})
	mux.HandleFunc("/test/rrweb.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><meta charset=utf-8><link rel=stylesheet href="/test/rrweb-replay.css"><script src="/test/rrweb-replay.js"></script></head><body><div id=root></div></body></html>`)
	})
	// A structural digest of <body>: element names in order (SVG case kept) and the visible text.
	const digest = `((doc) => {
		const tags = [];
		const walk = (n, d) => {
			for (const c of n.childNodes) {
				if (c.nodeType !== 1) continue;
				const t = c.localName;
				if (t === 'script' || t === 'noscript' || t === 'style') continue;
				tags.push(' '.repeat(d) + t);
				walk(c, d + 1);
				if (c.shadowRoot) walk(c.shadowRoot, d + 1);
				if (t === 'iframe' && c.contentDocument && c.contentDocument.body) walk(c.contentDocument.body, d + 1);
			}
		};
		walk(doc.body, 0);
		const text = (n) => Array.from(n.querySelectorAll('*')).filter((e) => !/^(script|noscript|style|textarea)$/.test(e.localName)).map((e) => Array.from(e.childNodes).filter((c) => c.nodeType === 3).map((c) => c.data.trim()).join(' ')).join('|').replace(/\|+/g, '|');
		return {tags: tags.join('\n'), text: text(doc.body)};
	})`
	for _, c := range []struct {
		page  string
		steps []string
	}{
		{"/basic.html", []string{"reorder", "moveThenRemove", "textEdits", "appendMany", "innerHTML", "svgChange"}},
		{"/shadow.html", []string{"shadowMutate", "lateShadow"}},
	} {
		t.Run(c.page[1:], func(t *testing.T) {
			h.coll.reset()
			live := b.tab(t)
			h.open(t, live, c.page+"?privacy=allow")
			for _, s := range c.steps {
				act(t, live, s)
			}
			var want struct{ Tags, Text string }
			if err := eval(live, `(async () => { const d = `+digest+`(document); await window.__replayTestHooks.flush(); return d; })()`, &want); err != nil {
				t.Fatal(err)
			}
			sid, vid := ids(t, live)
			if err := chromedp.Run(b.ctx, chromedp.Navigate(h.url("/test/rrweb.html"))); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Tags, Text string
				Warnings   []string
			}
			js := `(async () => {
				const events = await (await fetch('/test/events?sid=` + sid + `&vid=` + vid + `')).json();
				const warnings = [];
				const r = new rrwebReplay.Replayer(events, {root: document.getElementById('root'), showWarning: false, mouseTail: false, logger: {log() {}, warn: (...a) => warnings.push(a.map(String).join(' '))}});
				r.pause(events[events.length - 1].timestamp - events[0].timestamp + 1000);
				await new Promise((res) => setTimeout(res, 100));
				const d = ` + digest + `(r.iframe.contentDocument);
				d.warnings = warnings;
				return d;
			})()`
			if err := eval(b.ctx, js, &got); err != nil {
				t.Fatal(err)
			}
			compare(t, c.page+": elements in rrweb's replay", want.Tags, got.Tags)
			compare(t, c.page+": text in rrweb's replay", strings.ReplaceAll(want.Text, "|", "\n"), strings.ReplaceAll(got.Text, "|", "\n"))
		})
	}
}
