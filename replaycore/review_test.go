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

	t.Run("a checkpoint anywhere then the rest equals applying everything", func(t *testing.T) {
		// What a seek does, at every point of a recording that uses each
		// kind of state the rebuilt page keeps. It caught the adopted
		// sheets of frames lost by restore (23 of 31 points differed).
		run(t, seekEqualsJS)
	})

	t.Run("the pointer over a frame's content hovers the frame and its ancestors", func(t *testing.T) {
		// Live, the pointer over a same-origin frame's text makes the
		// <iframe> and every element around it :hover too (a card that
		// lights up under the pointer). The emulation stopped at the
		// frame's document.
		run(t, frameHoverJS)
	})

	t.Run("the recorded focus matches :focus-within", func(t *testing.T) {
		// :focus matched the recorded focus, :focus-within nothing: a
		// search form that lights up while its field has the focus, or
		// a menu kept open by :focus-within, showed as unfocused.
		run(t, focusWithinJS)
	})

	t.Run("a frame that loads another document forgets the old one's scroll", func(t *testing.T) {
		// A same-origin frame scrolled, then navigated (attached again):
		// the old document's id still named the frame's document, and
		// every image that loaded later scrolled the new page to the old
		// one's position.
		run(t, frameReloadScrollJS)
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

// seekEqualsJS applies a recording that uses every kind of state the
// rebuilt page keeps, and for every prefix of it, restores the
// checkpoint of that prefix in another frame and applies the rest: what
// a seek does. The final checkpoints must be the same.
const seekEqualsJS = `(async () => {
	const errs = [];
	const f = document.getElementById('sandboxed'), g = document.getElementById('third');
	const E = (id, tagName, attributes, childNodes, extra) => Object.assign({type: 2, id, tagName, attributes: attributes || {}, childNodes: childNodes || []}, extra || {});
	const T = (id, t, extra) => Object.assign({type: 3, id, textContent: t}, extra || {});
	const mut = (d) => ({type: 3, timestamp: 10, data: Object.assign({source: 0, texts: [], attributes: [], removes: [], adds: []}, d)});
	const inc = (source, d) => ({type: 3, timestamp: 10, data: Object.assign({source}, d)});
	const events = [
		{type: 4, timestamp: 1, data: {href: 'http://example.test/', width: 800, height: 600}},
		{type: 2, timestamp: 1, data: {node: {type: 0, id: 1, childNodes: [E(2, 'html', {}, [
			E(3, 'head', {}, [E(4, 'style', {}, [T(5, '@media all { p { margin: 1px; } } .x { color: red; }', {isStyle: true})]),
				E(6, 'link', {rel: 'stylesheet', media: 'print', href: location.origin + '/none.css'})]),
			E(7, 'body', {}, [
				E(8, 'div', {id: 'box', style: 'height:50px;overflow:auto'}, [E(9, 'div', {style: 'height:500px'}, [T(10, 'tall')])]),
				E(11, 'input', {id: 'in', value: 'a'}), E(12, 'input', {id: 'cb', type: 'checkbox'}),
				E(13, 'select', {id: 'sel'}, [E(14, 'option', {value: 'a'}, [T(15, 'A')]), E(16, 'option', {value: 'b'}, [T(17, 'B')])]),
				E(18, 'textarea', {id: 'ta', value: 'x'}),
				E(19, 'dialog', {id: 'dl'}, [T(20, 'dialog')]), E(21, 'div', {id: 'pop', popover: ''}, [T(22, 'pop')]),
				E(23, 'div', {id: 'host'}, [E(24, 'span', {}, [T(25, 'light')])]),
				E(26, 'iframe', {id: 'fr'}),
				E(27, 'ul', {id: 'list'}, [E(28, 'li', {}, [T(29, 'one')]), E(30, 'li', {}, [T(31, 'two')])]),
				E(32, 'video', {id: 'vid'}),
			])])]}, initialOffset: {left: 0, top: 0}}},
		inc(3, {id: 8, x: 0, y: 120}),
		mut({isAttachIframe: true, adds: [{parentId: 26, nextId: null, node: {type: 0, id: 100, childNodes: [E(101, 'html', {}, [E(102, 'body', {}, [E(103, 'p', {id: 'inner'}, [T(104, 'in frame')]), E(105, 'div', {id: 'fhost'}, [E(106, 'b', {}, [T(107, 'fshadow')], {isShadow: true})], {isShadowHost: true})])])]}}]}),
		inc(15, {id: 1, styleIds: [1], styles: [{styleId: 1, rules: [{rule: 'p { color: rgb(1, 2, 3); }', index: 0}, {rule: '@media all { b { color: rgb(0, 0, 1); } }', index: 1}]}]}),
		inc(15, {id: 100, styleIds: [1]}),
		inc(15, {id: 105, styleIds: [1]}),
		inc(8, {styleId: 1, adds: [{rule: 'i { color: rgb(0, 1, 0); }', index: [1, 1]}]}),
		inc(13, {styleId: 1, index: [0], set: {property: 'margin', value: '2px', priority: 'important'}}),
		inc(8, {id: 4, adds: [{rule: 'b { margin: 3px; }', index: [0, 1]}], removes: [{index: 1}]}),
		inc(13, {id: 4, index: [0, 0], remove: {property: 'margin'}}),
		inc(5, {id: 11, text: 'typed', isChecked: false}),
		inc(5, {id: 12, text: 'on', isChecked: true}),
		inc(5, {id: 13, text: 'b', isChecked: false}),
		inc(5, {id: 18, text: 'area', isChecked: false}),
		mut({attributes: [{id: 19, attributes: {open: '', rr_open_mode: 'modal'}}, {id: 21, attributes: {rr_popover_open: true}}]}),
		mut({adds: [{parentId: 23, nextId: null, node: E(40, 'em', {}, [], {isShadow: true})}, {parentId: 40, nextId: null, node: T(41, 'late shadow')}]}),
		inc(15, {id: 23, styleIds: [1, 2], styles: [{styleId: 2, rules: [{rule: 'em { color: rgb(3, 3, 3); }', index: 0}]}]}),
		mut({removes: [{parentId: 27, id: 28}], adds: [{parentId: 27, nextId: null, node: E(28, 'li', {}, [])}, {parentId: 28, nextId: null, node: T(29, 'one moved')}]}),
		mut({adds: [{parentId: 27, nextId: 43, node: E(42, 'li', {}, [])}, {parentId: 27, nextId: 28, node: E(43, 'li', {}, [])}, {parentId: 42, nextId: null, node: T(44, 'new')}], texts: [{id: 44, value: 'new text'}], attributes: [{id: 42, attributes: {class: 'x'}}]}),
		mut({attributes: [{id: 6, attributes: {_cssText: '.late { color: rgb(5, 5, 5); }', href: null, rel: null}}]}),
		mut({attributes: [{id: 11, attributes: {value: 'attr'}}]}),
		inc(7, {id: 32, type: 0, currentTime: 3, playbackRate: 2, volume: 0.5, muted: true, loop: false}),
		inc(7, {id: 32, type: 1, currentTime: 4}),
		inc(1, {positions: [{x: 1, y: 1, id: 44, timeOffset: 0}]}),
		inc(2, {type: 5, id: 11}),
		mut({attributes: [{id: 19, attributes: {open: null, rr_open_mode: null}}, {id: 21, attributes: {rr_popover_open: null}}]}),
		inc(3, {id: 8, x: 0, y: 200}),
		inc(4, {width: 640, height: 480}),
	];
	const settle = () => new Promise((r) => setTimeout(r, 30));
	const state = (rb) => JSON.stringify(rb.checkpoint());
	let rb = new ReplayCore.Rebuilder(f.contentDocument);
	for (const e of events) rb.apply(e);
	await settle();
	const want = state(rb);
	for (let k = 2; k < events.length; k++) {
		const a = new ReplayCore.Rebuilder(f.contentDocument);
		for (let i = 0; i < k; i++) a.apply(events[i]);
		const cp = structuredClone(a.checkpoint());
		const b = new ReplayCore.Rebuilder(g.contentDocument);
		b.restore(cp);
		for (let i = k; i < events.length; i++) b.apply(events[i]);
		await settle();
		const got = state(b);
		if (got !== want) {
			let i = 0;
			while (i < got.length && got[i] === want[i]) i++;
			errs.push('checkpoint after ' + k + ' events, then the rest: differs at ' + i + ': ' + got.slice(Math.max(0, i - 80), i + 120) + ' WANT ' + want.slice(Math.max(0, i - 80), i + 120));
		}
	}
	return errs;
})()`

// frameHoverJS moves the recorded pointer onto a paragraph inside a
// same-origin frame and returns the elements that should be hovered and
// are not.
const frameHoverJS = `(() => {
	const errs = [];
	const d = document.getElementById('sandboxed').contentDocument;
	const rb = new ReplayCore.Rebuilder(d);
	const E = (id, tagName, attributes, childNodes) => ({type: 2, id, tagName, attributes: attributes || {}, childNodes: childNodes || []});
	rb.apply({type: 2, timestamp: 1, data: {node: {type: 0, id: 1, childNodes: [E(2, 'html', {}, [E(3, 'head', {}, [E(4, 'style', {}, [{type: 3, id: 5, textContent: '.card:hover { outline: 3px solid rgb(1, 2, 3); }', isStyle: true}])]),
		E(6, 'body', {}, [E(7, 'div', {class: 'card', id: 'card'}, [E(8, 'iframe', {id: 'fr'})])])])]}, initialOffset: {left: 0, top: 0}}});
	rb.apply({type: 3, timestamp: 2, data: {source: 0, texts: [], attributes: [], removes: [], isAttachIframe: true, adds: [{parentId: 8, nextId: null, node: {type: 0, id: 20, childNodes: [E(21, 'html', {}, [E(22, 'body', {}, [E(23, 'p', {id: 'inner'}, [{type: 3, id: 24, textContent: 'in frame'}])])])]}}]}});
	rb.apply({type: 3, timestamp: 3, data: {source: 1, positions: [{x: 5, y: 5, id: 24, timeOffset: 0}]}});
	const inner = d.getElementById('fr').contentDocument.getElementById('inner');
	if (!inner.classList.contains('replay-hover')) errs.push('the paragraph in the frame is not hovered');
	for (const id of ['fr', 'card']) if (!d.getElementById(id).classList.contains('replay-hover')) errs.push('#' + id + ' around the hovered frame content is not hovered');
	if (getComputedStyle(d.getElementById('card')).outlineColor !== 'rgb(1, 2, 3)') errs.push('the card\'s :hover rule does not apply');
	// Moving off clears them all.
	rb.apply({type: 3, timestamp: 4, data: {source: 1, positions: [{x: 5, y: 5, id: 6, timeOffset: 0}]}});
	for (const el of [inner, d.getElementById('fr'), d.getElementById('card')]) if (el.classList.contains('replay-hover')) errs.push(el.localName + ' still hovered after the pointer left');
	return errs;
})()`

// focusWithinJS focuses a field inside a form whose :focus-within rule
// colours its outline, and returns what does not match; then checks that
// a restored checkpoint keeps the same (idempotent) rule text.
const focusWithinJS = `(() => {
	const errs = [];
	const d = document.getElementById('sandboxed').contentDocument;
	const rb = new ReplayCore.Rebuilder(d);
	const E = (id, tagName, attributes, childNodes) => ({type: 2, id, tagName, attributes: attributes || {}, childNodes: childNodes || []});
	rb.apply({type: 2, timestamp: 1, data: {node: {type: 0, id: 1, childNodes: [E(2, 'html', {}, [E(3, 'head', {}, [E(4, 'style', {}, [{type: 3, id: 5, textContent: 'form:focus-within { outline: 3px solid rgb(1, 2, 3); } p:focus-within { color: rgb(4, 5, 6); }', isStyle: true}])]),
		E(6, 'body', {}, [E(7, 'form', {id: 'f'}, [E(8, 'input', {id: 'q'})]), E(9, 'p', {id: 'p'}, [{type: 3, id: 10, textContent: 'unrelated'}])])])]}, initialOffset: {left: 0, top: 0}}});
	const outline = () => getComputedStyle(d.getElementById('f')).outlineColor;
	if (outline() === 'rgb(1, 2, 3)') errs.push('the form matches :focus-within before anything has the focus');
	rb.apply({type: 3, timestamp: 2, data: {source: 2, type: 5, id: 8}});
	if (outline() !== 'rgb(1, 2, 3)') errs.push('the form around the focused field does not match :focus-within (outline ' + outline() + ')');
	if (getComputedStyle(d.getElementById('p')).color === 'rgb(4, 5, 6)') errs.push('a paragraph without the focus matches :focus-within');
	const cp = rb.checkpoint();
	const rb2 = new ReplayCore.Rebuilder(document.getElementById('third').contentDocument);
	rb2.restore(structuredClone(cp));
	if (JSON.stringify(rb2.checkpoint()) !== JSON.stringify(cp)) errs.push('the restored checkpoint differs (the adapted rule is not stable)');
	rb.apply({type: 3, timestamp: 3, data: {source: 2, type: 6, id: 8}});
	if (outline() === 'rgb(1, 2, 3)') errs.push('the form still matches :focus-within after the blur');
	return errs;
})()`

// frameReloadScrollJS scrolls a frame's document, attaches another
// document to the frame, lets an image load in the page (which applies
// the scroll positions again), and returns what is wrong.
const frameReloadScrollJS = `(async () => {
	const errs = [];
	const d = document.getElementById('sandboxed').contentDocument;
	const rb = new ReplayCore.Rebuilder(d);
	const E = (id, tagName, attributes, childNodes) => ({type: 2, id, tagName, attributes: attributes || {}, childNodes: childNodes || []});
	const frameDoc = (id, text) => ({type: 0, id, childNodes: [E(id + 1, 'html', {}, [E(id + 2, 'body', {}, [E(id + 3, 'div', {style: 'height: 3000px'}, [{type: 3, id: id + 4, textContent: text}])])])]});
	const attach = (doc) => ({type: 3, timestamp: 2, data: {source: 0, texts: [], attributes: [], removes: [], isAttachIframe: true, adds: [{parentId: 7, nextId: null, node: doc}]}});
	rb.apply({type: 2, timestamp: 1, data: {node: {type: 0, id: 1, childNodes: [E(2, 'html', {}, [E(3, 'head'), E(4, 'body', {}, [E(7, 'iframe', {id: 'fr', width: 300, height: 200})])])]}, initialOffset: {left: 0, top: 0}}});
	rb.apply(attach(frameDoc(100, 'first page')));
	rb.apply({type: 3, timestamp: 3, data: {source: 3, id: 100, x: 0, y: 300}});
	const fd = () => d.getElementById('fr').contentDocument;
	if (fd().scrollingElement.scrollTop !== 300) errs.push('the first page is not scrolled: ' + fd().scrollingElement.scrollTop);
	rb.apply(attach(frameDoc(200, 'second page')));
	rb.apply({type: 3, timestamp: 4, data: {source: 0, texts: [], attributes: [], removes: [], adds: [{parentId: 4, nextId: null, node: E(300, 'img', {src: location.origin + '/img.svg'})}]}});
	await new Promise((r) => setTimeout(r, 500));
	if (!fd().body.textContent.includes('second page')) errs.push('the frame does not show the second page');
	if (fd().scrollingElement.scrollTop !== 0) errs.push('the second page is scrolled to ' + fd().scrollingElement.scrollTop + ' after an image loaded, want 0 (the first page was at 300)');
	if (rb.node(100) || rb.node(103)) errs.push('ids of the first page still name nodes');
	return errs;
})()`
