package replaycore

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
)

// TestPrivateAddressesNotFetched rebuilds a recording of a public page
// whose resources point at a service on the replaying machine's own
// network (another loopback port), in every spelling and every place a
// rebuilt page loads from: none of them may be fetched. The same
// recording made on a page that was itself on a private address (a site
// on localhost) loads them: the control that shows the canary can be hit.
func TestPrivateAddressesNotFetched(t *testing.T) {
	s := newServer(t)
	var mu sync.Mutex
	var hits []string
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.URL.RawQuery)
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, ".css"):
			w.Header().Set("Content-Type", "text/css")
		default:
			w.Header().Set("Content-Type", "image/svg+xml")
			fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>`)
		}
	}))
	defer internal.Close()
	port := internal.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), hits...)
	}

	ctx := browsertest.New(t, time.Minute)
	if err := chromedp.Run(ctx, chromedp.Navigate(s.URL+"/host.html")); err != nil {
		t.Fatal(err)
	}
	rebuild := func(page string) {
		t.Helper()
		js := fmt.Sprintf(`(() => {
  const P = %q;
  const u = (host, q) => 'http://' + host + ':' + P + '/r.svg?' + q;
  let id = 1;
  const el = (tagName, attributes, ...childNodes) => ({type: 2, tagName, attributes, childNodes, id: ++id});
  const svg = (...a) => Object.assign(el(...a), {isSVG: true});
  const css = (text) => ({type: 3, textContent: text, isStyle: true, id: ++id});
  const body = el('body', {style: 'background-image: url("' + u('127.0.0.1', 'style-attr') + '")'},
    el('img', {src: u('127.0.0.1', 'img')}),
    el('img', {src: u('localhost', 'localhost')}),
    el('img', {src: u('0x7f.1', 'hex')}),
    el('img', {src: u('2130706433', 'decimal')}),
    el('img', {src: u('127.1', 'short')}),
    el('img', {src: u('[::ffff:127.0.0.1]', 'mapped')}),
    el('img', {src: '//127.0.0.1:' + P + '/r.svg?scheme-relative'}),
    el('img', {src: 'http://x@127.0.0.1:' + P + '/r.svg?userinfo'}),
    el('img', {srcset: u('127.0.0.1', 'srcset') + ' 1x, ' + u('127.0.0.1', 'srcset2') + ' 2x'}),
    el('video', {poster: u('127.0.0.1', 'poster')}),
    el('input', {type: 'image', src: u('127.0.0.1', 'input')}),
    svg('svg', {width: '4', height: '4'}, svg('image', {href: u('127.0.0.1', 'svg-image'), width: '4', height: '4'}), svg('use', {href: u('127.0.0.1', 'use') + '#a'})),
    el('div', {style: 'width:10px;height:10px;background:url(' + u('127.0.0.1', 'unquoted') + ')'}),
    el('div', {class: 'b'}, {type: 3, textContent: 'x', id: ++id}));
  const head = el('head', {},
    el('link', {rel: 'stylesheet', href: 'http://127.0.0.1:' + P + '/s.css?link'}),
    el('link', {rel: 'preload', as: 'image', href: u('127.0.0.1', 'preload')}),
    el('style', {}, css('@import "http://127.0.0.1:' + P + '/s.css?import"; .b { background: url(' + u('localhost', 'css-url') + '); } @font-face { font-family: F; src: url(http://127.0.0.1:' + P + '/f.woff2?font); } .b { font-family: F; }')));
  const doc = {type: 0, childNodes: [{type: 1, name: 'html', publicId: '', systemId: '', id: ++id}, el('html', {}, head, body)], id: 1};
  const f = document.getElementById('third');
  const rb = new ReplayCore.Rebuilder(f.contentDocument, {resolveURL: (x) => x});
  rb.apply({type: 4, timestamp: 1, data: {href: %q, width: 800, height: 600}});
  rb.apply({type: 2, timestamp: 2, data: {node: doc, initialOffset: {left: 0, top: 0}}});
  return true;
})()`, port, page)
		var ok bool
		if err := eval(ctx, js, &ok); err != nil {
			t.Fatal(err)
		}
	}

	rebuild("https://shop.example/")
	time.Sleep(1500 * time.Millisecond)
	if h := taken(); len(h) != 0 {
		t.Errorf("a recording of a public page made the replaying browser fetch from a private address: %v", h)
	}

	// The control: the same recording of a page on localhost loads them
	// (all but the URL with credentials, which Chromium never fetches for
	// a subresource, and the cross-origin <use>, which it refuses too).
	rebuild("http://localhost:" + port + "/")
	want := strings.Fields("img localhost hex decimal short mapped scheme-relative srcset poster input svg-image style-attr unquoted link preload import css-url font")
	deadline := time.Now().Add(5 * time.Second)
	for len(taken()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := map[string]bool{}
	for _, h := range taken() {
		got[h] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("the control (a page recorded on localhost) did not fetch %q (fetched %v): the test cannot see that fetch", w, taken())
		}
	}
}
