package replaycore

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/internal/browsertest"
)

// TestPrivateAddressesNotFetched rebuilds, in a player served from a
// public-looking name (player.test), a recording whose resources point at
// a service on the replaying machine's own network (loopback, on another
// port), in every spelling and every place a rebuilt page loads from:
// none may be fetched, except from the player's own host. The control
// replays the same recording with the resources on a public-looking name
// (cdn.test): each one is fetched, so the test sees every kind of fetch.
// Both names resolve to 127.0.0.1 in this browser only.
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
	port := internal.Listener.Addr().String()
	port = port[strings.LastIndex(port, ":")+1:]
	playerPort := s.Listener.Addr().String()
	playerPort = playerPort[strings.LastIndex(playerPort, ":")+1:]
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), hits...)
	}

	ctx := browsertest.NewWith(t, time.Minute, chromedp.Flag("host-resolver-rules", "MAP player.test 127.0.0.1, MAP cdn.test 127.0.0.1, MAP files.lan 127.0.0.1"))
	if err := chromedp.Run(ctx, chromedp.Navigate("http://player.test:"+playerPort+"/host.html")); err != nil {
		t.Fatal(err)
	}
	// rebuild replays the recording; host(h) is the host its resource
	// URLs name where the attack names h.
	rebuild := func(host string) {
		t.Helper()
		js := fmt.Sprintf(`(() => {
  const P = %q, H = %q;
  const host = (h) => H || h;
  const u = (h, q) => 'http://' + host(h) + ':' + P + '/r.svg?' + q;
  let id = 1;
  const el = (tagName, attributes, ...childNodes) => ({type: 2, tagName, attributes, childNodes, id: ++id});
  const svg = (...a) => Object.assign(el(...a), {isSVG: true});
  const css = (text) => ({type: 3, textContent: text, isStyle: true, id: ++id});
  const body = el('body', {style: 'background-image: url("' + u('127.0.0.1', 'style-attr') + '")'},
    el('img', {src: 'http://player.test:' + P + '/r.svg?same-host'}),
    el('img', {src: u('127.0.0.1', 'img')}),
    el('img', {src: u('localhost', 'localhost')}),
    el('img', {src: u('0x7f.1', 'hex')}),
    el('img', {src: u('2130706433', 'decimal')}),
    el('img', {src: u('127.1', 'short')}),
    el('img', {src: u('[::ffff:127.0.0.1]', 'mapped')}),
    el('img', {src: '//' + host('127.0.0.1') + ':' + P + '/r.svg?scheme-relative'}),
    el('img', {srcset: u('127.0.0.1', 'srcset') + ' 1x, ' + u('127.0.0.1', 'srcset2') + ' 2x'}),
    el('video', {poster: u('127.0.0.1', 'poster')}),
    el('input', {type: 'image', src: u('127.0.0.1', 'input')}),
    svg('svg', {width: '4', height: '4'}, svg('image', {href: u('127.0.0.1', 'svg-image'), width: '4', height: '4'})),
    el('div', {style: 'width:10px;height:10px;background:url(' + u('127.0.0.1', 'unquoted') + ')'}),
    el('div', {class: 'b'}, {type: 3, textContent: 'x', id: ++id}));
  const head = el('head', {},
    el('link', {rel: 'stylesheet', href: 'http://' + host('127.0.0.1') + ':' + P + '/s.css?link'}),
    el('link', {rel: 'preload', as: 'image', href: u('127.0.0.1', 'preload')}),
    el('style', {}, css('@import "http://' + host('127.0.0.1') + ':' + P + '/s.css?import"; .b { background: url(' + u('localhost', 'css-url') + '); } @font-face { font-family: F; src: url(http://' + host('127.0.0.1') + ':' + P + '/f.woff2?font); } .b { font-family: F; }')));
  const doc = {type: 0, childNodes: [{type: 1, name: 'html', publicId: '', systemId: '', id: ++id}, el('html', {}, head, body)], id: 1};
  const f = document.getElementById('third');
  const rb = new ReplayCore.Rebuilder(f.contentDocument, {resolveURL: (x) => x});
  // The recording says its page was on localhost: not believed.
  rb.apply({type: 4, timestamp: 1, data: {href: 'http://localhost/', width: 800, height: 600}});
  rb.apply({type: 2, timestamp: 2, data: {node: doc, initialOffset: {left: 0, top: 0}}});
  return true;
})()`, port, host)
		var ok bool
		if err := eval(ctx, js, &ok); err != nil {
			t.Fatal(err)
		}
	}
	want := strings.Fields("same-host img localhost hex decimal short mapped scheme-relative srcset poster input svg-image style-attr unquoted link preload import css-url font")

	rebuild("")
	deadline := time.Now().Add(15 * time.Second)
	for !slices.Contains(taken(), "same-host") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if h := taken(); len(h) != 1 || h[0] != "same-host" {
		t.Errorf("fetched %v: want only the image on the player's own host; the rest point at private addresses", h)
	}

	mu.Lock()
	hits = nil
	mu.Unlock()
	rebuild("cdn.test")
	// The image on player.test is the same URL as before: the browser's
	// cache may answer it.
	missing := func() []string {
		var out []string
		for _, w := range want[1:] {
			if !slices.Contains(taken(), w) {
				out = append(out, w)
			}
		}
		return out
	}
	deadline = time.Now().Add(15 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, w := range missing() {
		t.Errorf("the control (resources on a public name) did not fetch %q (fetched %v): the test cannot see that fetch", w, taken())
	}

	// A player on loopback (a site developed and watched on one machine):
	// loopback resources, under any loopback name, are its own host's and
	// load; another private name does not.
	for _, c := range []struct {
		host string
		all  bool
	}{{"localhost", true}, {"files.lan", false}} {
		if err := chromedp.Run(ctx, chromedp.Navigate("http://127.0.0.1:"+playerPort+"/host.html?"+c.host)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		hits = nil
		mu.Unlock()
		rebuild(c.host)
		// The image on player.test (a public name from here) loads too:
		// count the others.
		others := func() int {
			n := 0
			for _, h := range taken() {
				if h != "same-host" {
					n++
				}
			}
			return n
		}
		deadline = time.Now().Add(15 * time.Second)
		for c.all && others() < len(want)-1 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !c.all {
			time.Sleep(time.Second)
		}
		n := others()
		if c.all && n < len(want)-1 || !c.all && n != 0 {
			t.Errorf("player on 127.0.0.1, resources on %s: fetched %v", c.host, taken())
		}
	}
}
