package replaycore

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
)

// TestReplayEdgeCases rebuilds recordings whose events come in orders the
// recorder's own round trip never produces, or whose state lives where
// the first tests did not look (inside same-origin frames, on canvases
// drawn and cleared between two checkpoints), in one Chromium.
func TestReplayEdgeCases(t *testing.T) {
	s := newServer(t)
	ctx := browsertest.New(t, 2*time.Minute)
	con := browsertest.WatchConsole(ctx)
	run := func(t *testing.T, js string) {
		t.Helper()
		if err := chromedp.Run(ctx, chromedp.Navigate(s.URL+"/host.html")); err != nil {
			t.Fatal(err)
		}
		var res []string
		if err := eval(ctx, js, &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Error(r)
		}
	}

	t.Run("checkpoint keeps adopted sheets inside frames", func(t *testing.T) {
		// A seek restores a checkpoint: the adopted sheets of a
		// same-origin frame's document and of a shadow root in that frame
		// were restored before the frame's document was built, found no
		// node to adopt them, and were lost (and with them from every
		// later checkpoint).
		run(t, frameSheetsJS)
	})

	_, exc := con.Snapshot()
	for _, e := range exc {
		t.Errorf("uncaught exception in the host page: %s", e)
	}
}

// frameSheetsJS rebuilds a page whose same-origin frame adopts a sheet on
// its document and another (shared with the top document) on a shadow
// root, restores a checkpoint of it in another frame, and returns what
// differs.
const frameSheetsJS = `(async () => {
	const errs = [];
	const f = document.getElementById('sandboxed'), g = document.getElementById('third');
	const rb = new ReplayCore.Rebuilder(f.contentDocument);
	const E = (id, tagName, attributes, childNodes, extra) => Object.assign({type: 2, id, tagName, attributes: attributes || {}, childNodes: childNodes || []}, extra || {});
	const T = (id, t) => ({type: 3, id, textContent: t});
	rb.apply({type: 4, timestamp: 1, data: {href: 'http://example.test/', width: 800, height: 600}});
	rb.apply({type: 2, timestamp: 1, data: {node: {type: 0, id: 1, childNodes: [E(2, 'html', {}, [E(3, 'head'), E(4, 'body', {}, [E(5, 'p', {id: 'top'}, [T(6, 'top')]), E(7, 'iframe', {id: 'fr'})])])]}, initialOffset: {left: 0, top: 0}}});
	rb.apply({type: 3, timestamp: 2, data: {source: 0, texts: [], attributes: [], removes: [], isAttachIframe: true, adds: [{parentId: 7, nextId: null, node: {type: 0, id: 20, childNodes: [E(21, 'html', {}, [E(22, 'head'), E(23, 'body', {}, [E(24, 'p', {id: 'inner'}, [T(25, 'in frame')]), E(26, 'div', {id: 'host'}, [E(27, 'b', {id: 'sh'}, [T(28, 'shadow')], {isShadow: true})], {isShadowHost: true})])])]}}]}});
	rb.apply({type: 3, timestamp: 3, data: {source: 15, id: 20, styleIds: [1], styles: [{styleId: 1, rules: [{rule: 'p { color: rgb(1, 2, 3); }', index: 0}]}]}});
	rb.apply({type: 3, timestamp: 3, data: {source: 15, id: 26, styleIds: [2], styles: [{styleId: 2, rules: [{rule: 'b { color: rgb(4, 5, 6); }', index: 0}]}]}});
	rb.apply({type: 3, timestamp: 3, data: {source: 15, id: 1, styleIds: [2]}});
	const look = (where, d) => {
		const fd = d.getElementById('fr').contentDocument;
		const inner = fd.getElementById('inner'), sh = fd.getElementById('host').shadowRoot.getElementById('sh');
		const got = [getComputedStyle(inner).color, getComputedStyle(sh).color].join(' ');
		if (got !== 'rgb(1, 2, 3) rgb(4, 5, 6)') errs.push(where + ': frame paragraph and shadow text are ' + got + ', want rgb(1, 2, 3) rgb(4, 5, 6)');
	};
	look('rebuilt', f.contentDocument);
	const cp = structuredClone(rb.checkpoint());
	const rb2 = new ReplayCore.Rebuilder(g.contentDocument);
	rb2.restore(cp);
	look('restored', g.contentDocument);
	// The restored state checkpoints the same again (a second seek).
	const again = JSON.stringify(rb2.checkpoint().adopted), want = JSON.stringify(cp.adopted);
	if (again !== want) errs.push('adopted sheets of the restored page ' + again + ', want ' + want);
	return errs;
})()`
