package player

import (
	"bytes"
	"encoding/json"
	"regexp"
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
