package player

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
)

var bootBlock = regexp.MustCompile(`<script type="application/json" id="boot">([^<]*)</script>`)

// Recorded text is hostile: carried in the page, the first segment must not
// be able to end its data block or open an element of its own.
func TestPageFirstSegmentCannotEndItsBlock(t *testing.T) {
	p, st := newPlayer(t)
	hostile := `</script><script>alert(1)</script><!--<script>&amp;` + "\u2028"
	var n nodes
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("body", nil, n.el("p", ev{"title": hostile}, n.text(hostile)))))
	putSession(t, st, "hostile-session-0001", []fixtureView{{
		id: "view-one-00000000001", url: "https://evil.example/", tab: "tab-one-0000000001",
		segments: [][]ev{{meta(t0, "https://evil.example/", 800, 600), full(t0+1, doc)}},
	}}, nil)
	_, body := do(t, p, "GET", "/?session=hostile-session-0001", nil)
	if got := bytes.Count(body, []byte("<script")); got != 2 {
		t.Errorf("%d <script in the page, want 2 (the module and the boot data)", got)
	}
	m := bootBlock.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no boot data in the page")
	}
	var boot struct {
		First []struct {
			Type int
			Data struct {
				Node json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(m[1], &boot); err != nil {
		t.Fatal(err)
	}
	if len(boot.First) != 2 || boot.First[1].Type != 2 {
		t.Fatalf("first segment in the page: %+v", boot.First)
	}
	// The text comes back intact once parsed.
	want, _ := json.Marshal(hostile)
	var node any
	json.Unmarshal(boot.First[1].Data.Node, &node)
	again, _ := json.Marshal(node)
	if !bytes.Contains(again, want) {
		t.Errorf("the hostile text did not survive the page: %s", again)
	}
}

// A first segment the page cannot carry (unreadable here) is preloaded
// instead, and the page still opens the session.
func TestPageFirstSegmentUnreadableIsPreloaded(t *testing.T) {
	p, st := newPlayer(t)
	views, _, _ := shopSession()
	putSession(t, st, "shop-session-0000001", views, nil)
	st.mu.Lock()
	st.bodies[store.SegmentKey{Session: "shop-session-0000001", View: "view-one-00000000001", Seq: 0}] = []byte("not gzip")
	st.mu.Unlock()
	_, body := do(t, p, "GET", "/?session=shop-session-0000001", nil)
	m := bootBlock.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no boot data in the page")
	}
	var boot struct{ First []json.RawMessage }
	if err := json.Unmarshal(m[1], &boot); err != nil {
		t.Fatal(err)
	}
	if boot.First != nil {
		t.Errorf("unreadable first segment carried: %d events", len(boot.First))
	}
	if !bytes.Contains(body, []byte(`<link rel="preload" as="fetch" crossorigin href="api/sessions/shop-session-0000001/segments/view-one-00000000001/0">`)) {
		t.Errorf("no preload of the first segment in %s", body)
	}
}

// TestPageIsCompressedWhenAccepted: a session's page carries its first
// segment, so it goes gzip-compressed to a browser that accepts it (the
// player often runs without `encode` in front), whole and with the same
// head for HEAD; a client that does not accept gzip gets it as it is.
func TestPageIsCompressedWhenAccepted(t *testing.T) {
	p, st := newPlayer(t)
	var n nodes
	var rows []ev
	for i := 0; i < 300; i++ {
		rows = append(rows, n.el("li", ev{"class": "row"}, n.text("Order #"+strconv.Itoa(1000+i)+": two bags of Ethiopia Guji, delivered")))
	}
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("body", nil, n.el("ul", nil, rows...))))
	putSession(t, st, "orders-session-00001", []fixtureView{{
		id: "view-one-00000000001", url: "https://shop.example/orders", tab: "tab-one-0000000001",
		segments: [][]ev{{meta(t0, "https://shop.example/orders", 800, 600), full(t0+1, doc)}},
	}}, nil)
	const page = "/?session=orders-session-00001"
	plainRes, plain := do(t, p, "GET", page, nil)
	if plainRes.Header.Get("Content-Encoding") != "" || plainRes.Header.Get("Content-Length") != strconv.Itoa(len(plain)) {
		t.Fatalf("without Accept-Encoding: Content-Encoding %q, Content-Length %q for %d bytes", plainRes.Header.Get("Content-Encoding"), plainRes.Header.Get("Content-Length"), len(plain))
	}
	if len(plain) <= minCompressedPage {
		t.Fatalf("the page is %d bytes: too small to test compression", len(plain))
	}
	res, body := do(t, p, "GET", page, map[string]string{"Accept-Encoding": "br;q=1, gzip;q=0.8"})
	if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Content-Length") != "" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("headers %v", res.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// The CSRF token and the nonce differ between two renderings.
	norm := regexp.MustCompile(`(nonce="|data-csrf=")[^"]+`)
	if a, b := norm.ReplaceAll(unzipped, nil), norm.ReplaceAll(plain, nil); !bytes.Equal(a, b) {
		t.Fatalf("the compressed page differs from the plain one (%d and %d bytes)", len(a), len(b))
	}
	if len(body) > len(plain)/3 {
		t.Errorf("compressed to %d of %d bytes", len(body), len(plain))
	}
	head, headBody := do(t, p, "HEAD", page, map[string]string{"Accept-Encoding": "gzip"})
	if head.Header.Get("Content-Encoding") != "gzip" || len(headBody) != 0 {
		t.Errorf("HEAD: Content-Encoding %q, %d body bytes", head.Header.Get("Content-Encoding"), len(headBody))
	}
	if res, _ := do(t, p, "GET", page, map[string]string{"Accept-Encoding": "gzip;q=0"}); res.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 got Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
}
