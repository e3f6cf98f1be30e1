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

	t.Run("a canvas cleared while its last frame decodes stays blank", func(t *testing.T) {
		// Applied in one go (the seek index applies a session's events in
		// milliseconds), a frame and the blank frame that follows it (a
		// clearRect alone): the first frame finished decoding after the
		// clear, was drawn over it, and the next checkpoint showed it.
		run(t, canvasClearJS)
	})

	t.Run("an input's value attribute changed by a mutation shows", func(t *testing.T) {
		// Our recorder sends an input's value attribute as its current
		// value (docs/FORMAT.md: values follow the rules of snapshots),
		// e.g. when a script calls setAttribute('value', …). The replay set
		// only the attribute: the input, built with its value set (or
		// typed into), kept showing the old one.
		run(t, inputValueJS)
	})

	t.Run("a stylesheet link that loads late keeps its media", func(t *testing.T) {
		// A <link rel=stylesheet media=print> (or a dark-scheme sheet)
		// whose rules arrive after the snapshot became a <style> with the
		// rules and nothing else: print rules applied on screen. Built from
		// a snapshot the same link kept its media.
		run(t, lateLinkJS)
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

// canvasClearJS applies a red frame to a canvas and, before it decodes,
// the blank frame our recorder sends when the canvas is cleared; then
// checks the canvas's pixels, what it shows, and what a checkpoint
// restores.
const canvasClearJS = `(async () => {
	const errs = [];
	const f = document.getElementById('sandboxed'), g = document.getElementById('third');
	const rb = new ReplayCore.Rebuilder(f.contentDocument);
	rb.apply({type: 2, timestamp: 1, data: {node: {type: 0, id: 1, childNodes: [{type: 2, id: 2, tagName: 'html', attributes: {}, childNodes: [{type: 2, id: 3, tagName: 'body', attributes: {}, childNodes: [
		{type: 2, id: 4, tagName: 'canvas', attributes: {id: 'cv', width: 4, height: 4}, childNodes: []},
		{type: 2, id: 5, tagName: 'canvas', attributes: {id: 'cv2', width: 4, height: 4}, childNodes: []}]}]}]}, initialOffset: {left: 0, top: 0}}});
	const c = document.createElement('canvas'); c.width = c.height = 4; const cx = c.getContext('2d'); cx.fillStyle = 'red'; cx.fillRect(0, 0, 4, 4);
	const b64 = c.toDataURL('image/png').split(',')[1];
	rb.apply({type: 3, timestamp: 1000, data: {source: 9, id: 4, type: 0, commands: [{property: 'clearRect', args: [0, 0, 4, 4]}, {property: 'drawImage', args: [{rr_type: 'ImageBitmap', args: [{rr_type: 'Blob', data: [{rr_type: 'ArrayBuffer', base64: b64}], type: 'image/png'}]}, 0, 0, 4, 4]}]}});
	rb.apply({type: 3, timestamp: 2000, data: {source: 9, id: 4, type: 0, commands: [{property: 'clearRect', args: [0, 0, 4, 4]}]}});
	// rrweb's model: 2D commands drawn over a frame, here one still decoding.
	rb.apply({type: 3, timestamp: 1000, data: {source: 9, id: 5, type: 0, commands: [{property: 'drawImage', args: [{rr_type: 'ImageBitmap', args: [{rr_type: 'Blob', data: [{rr_type: 'ArrayBuffer', base64: b64}], type: 'image/png'}]}, 0, 0, 4, 4]}]}});
	rb.apply({type: 3, timestamp: 1100, data: {source: 9, id: 5, type: 0, commands: [{property: 'fillStyle', args: ['#0000ff'], setter: true}, {property: 'fillRect', args: [0, 0, 2, 2]}]}});
	await new Promise((r) => setTimeout(r, 300));
	const px2 = (x, y) => Array.from(f.contentDocument.getElementById('cv2').getContext('2d').getImageData(x, y, 1, 1).data).join(',');
	if (px2(0, 0) !== '0,0,255,255' || px2(3, 3) !== '255,0,0,255') errs.push('commands over a decoding frame: pixels ' + px2(0, 0) + ' and ' + px2(3, 3) + ', want blue over red');
	const check = (where, d) => {
		const el = d.getElementById('cv');
		const px = Array.from(el.getContext('2d').getImageData(1, 1, 1, 1).data);
		if (px[3] !== 0) errs.push(where + ': canvas pixel ' + px + ', want blank');
		// What is on screen is the canvas's content image: draw it and read it.
		return new Promise((resolve) => {
			const m = /^url\("(.*)"\)$/.exec(getComputedStyle(el).content);
			if (!m) { errs.push(where + ': canvas shows ' + getComputedStyle(el).content.slice(0, 40)); resolve(); return; }
			const img = new Image();
			img.onload = () => {
				const k = document.createElement('canvas'); k.width = k.height = 4;
				const kx = k.getContext('2d'); kx.drawImage(img, 0, 0, 4, 4);
				const p = Array.from(kx.getImageData(1, 1, 1, 1).data);
				if (p[3] !== 0) errs.push(where + ': canvas shows pixel ' + p + ', want blank');
				resolve();
			};
			img.onerror = () => { errs.push(where + ': canvas content does not load'); resolve(); };
			img.src = m[1];
		});
	};
	await check('rebuilt', f.contentDocument);
	const rb2 = new ReplayCore.Rebuilder(g.contentDocument);
	rb2.restore(structuredClone(rb.checkpoint()));
	await new Promise((r) => setTimeout(r, 300));
	await check('restored', g.contentDocument);
	return errs;
})()`

// inputValueJS changes inputs' value attributes through mutations, one
// built with a value, one typed into first, and returns what they show.
const inputValueJS = `(() => {
	const errs = [];
	const d = document.getElementById('sandboxed').contentDocument;
	const rb = new ReplayCore.Rebuilder(d);
	const input = (id, value) => ({type: 2, id, tagName: 'input', attributes: value === undefined ? {id: 'i' + id} : {id: 'i' + id, value}, childNodes: []});
	rb.apply({type: 2, timestamp: 1, data: {node: {type: 0, id: 1, childNodes: [{type: 2, id: 2, tagName: 'html', attributes: {}, childNodes: [{type: 2, id: 3, tagName: 'body', attributes: {}, childNodes: [
		input(4, 'first'), input(5), input(6, 'kept')]}]}]}, initialOffset: {left: 0, top: 0}}});
	rb.apply({type: 3, timestamp: 2, data: {source: 5, id: 5, text: 'typed', isChecked: false}});
	rb.apply({type: 3, timestamp: 3, data: {source: 0, texts: [], removes: [], adds: [], attributes: [{id: 4, attributes: {value: 'second'}}, {id: 5, attributes: {value: 'reset'}}, {id: 6, attributes: {class: 'x'}}]}});
	const got = ['i4', 'i5', 'i6'].map((s) => d.getElementById(s).value).join(' ');
	if (got !== 'second reset kept') errs.push('inputs show ' + got + ', want second reset kept');
	return errs;
})()`

// lateLinkJS rebuilds links with media queries whose rules come in the
// snapshot, in a Mutation after it (_cssText), and as the key of a text
// sent earlier (rr_css), and returns the ones whose rules apply where
// their media does not.
const lateLinkJS = `(() => {
	const errs = [];
	const d = document.getElementById('sandboxed').contentDocument;
	const css = (c) => '#' + c + ' { color: rgb(1, 2, 3); }';
	const key = ReplayCore.stylesheetKey(css('rr'));
	const rb = new ReplayCore.Rebuilder(d, {stylesheets: new Map([[key, css('rr')]])});
	const href = location.origin + '/none.css';
	const p = (id, name) => ({type: 2, id, tagName: 'p', attributes: {id: name}, childNodes: [{type: 3, id: id + 1, textContent: name}]});
	rb.apply({type: 2, timestamp: 1, data: {node: {type: 0, id: 1, childNodes: [{type: 2, id: 2, tagName: 'html', attributes: {}, childNodes: [
		{type: 2, id: 3, tagName: 'head', attributes: {}, childNodes: [
			{type: 2, id: 4, tagName: 'link', attributes: {rel: 'stylesheet', media: 'print', _cssText: css('snap')}, childNodes: []},
			{type: 2, id: 5, tagName: 'link', attributes: {rel: 'stylesheet', media: 'print', href}, childNodes: []},
			{type: 2, id: 6, tagName: 'link', attributes: {rel: 'stylesheet', media: 'print', href}, childNodes: []}]},
		{type: 2, id: 7, tagName: 'body', attributes: {}, childNodes: [p(10, 'snap'), p(12, 'late'), p(14, 'rr')]}]}]}, initialOffset: {left: 0, top: 0}}});
	rb.apply({type: 3, timestamp: 2, data: {source: 0, texts: [], removes: [], adds: [], attributes: [
		{id: 5, attributes: {_cssText: css('late'), href: null, rel: null}},
		{id: 6, attributes: {rr_css: key}}]}});
	for (const name of ['snap', 'late', 'rr']) {
		const c = getComputedStyle(d.getElementById(name)).color;
		if (c === 'rgb(1, 2, 3)') errs.push(name + ': a print stylesheet applies on screen');
	}
	const rb2 = new ReplayCore.Rebuilder(document.getElementById('third').contentDocument);
	rb2.restore(structuredClone(rb.checkpoint()));
	for (const name of ['snap', 'late', 'rr']) {
		const c = getComputedStyle(document.getElementById('third').contentDocument.getElementById(name)).color;
		if (c === 'rgb(1, 2, 3)') errs.push('restored ' + name + ': a print stylesheet applies on screen');
	}
	return errs;
})()`
