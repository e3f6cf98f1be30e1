package player

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
)

// ev is one rrweb event.
type ev = map[string]any

// t0 is the fixtures' epoch: 2023-11-14T22:13:20Z.
const t0 int64 = 1_700_000_000_000

// node builds serialized rrweb nodes with ids in document order.
type nodes struct{ next int }

func (n *nodes) id() int { n.next++; return n.next }

func (n *nodes) doc(children ...ev) ev {
	return ev{"type": 0, "id": n.id(), "childNodes": children}
}

func (n *nodes) doctype() ev {
	return ev{"type": 1, "id": n.id(), "name": "html", "publicId": "", "systemId": ""}
}

func (n *nodes) el(tag string, attrs ev, children ...ev) ev {
	if attrs == nil {
		attrs = ev{}
	}
	if children == nil {
		children = []ev{}
	}
	return ev{"type": 2, "id": n.id(), "tagName": tag, "attributes": attrs, "childNodes": children}
}

func (n *nodes) text(s string) ev {
	return ev{"type": 3, "id": n.id(), "textContent": s}
}

// Constructors for events; ids refer to nodes built above.

func meta(ts int64, href string, w, h int) ev {
	return ev{"type": 4, "timestamp": ts, "data": ev{"href": href, "width": w, "height": h}}
}

func custom(ts int64, tag string, payload ev) ev {
	return ev{"type": 5, "timestamp": ts, "data": ev{"tag": tag, "payload": payload}}
}

func full(ts int64, doc ev) ev {
	return ev{"type": 2, "timestamp": ts, "data": ev{"node": doc, "initialOffset": ev{"left": 0, "top": 0}}}
}

func inc(ts int64, source int, data ev) ev {
	data["source"] = source
	return ev{"type": 3, "timestamp": ts, "data": data}
}

func move(ts int64, id int, pts ...[2]int) ev {
	var ps []ev
	for i, p := range pts {
		ps = append(ps, ev{"x": p[0], "y": p[1], "id": id, "timeOffset": -(len(pts) - 1 - i) * 50})
	}
	return inc(ts, 1, ev{"positions": ps})
}

func click(ts int64, id, x, y int) ev {
	return inc(ts, 2, ev{"type": 2, "id": id, "x": x, "y": y})
}

func typed(ts int64, id int, text string) ev {
	return inc(ts, 5, ev{"id": id, "text": text, "isChecked": false})
}

func mutation(ts int64, m ev) ev {
	for _, k := range []string{"adds", "removes", "texts", "attributes"} {
		if m[k] == nil {
			m[k] = []ev{}
		}
	}
	return inc(ts, 0, m)
}

func scroll(ts int64, id, x, y int) ev {
	return inc(ts, 3, ev{"id": id, "x": x, "y": y})
}

// fixtureView is one view's events, split into segments.
type fixtureView struct {
	id, url, title, tab string
	segments            [][]ev
}

// shopSession is a two-page visit with the moments the tests check:
//
//	+0.0 s  page 1 "Welcome", #out empty
//	+2.0 s  click on Buy → +2.1 s #out says "Added to cart"
//	+3.0 s  input "shoes" in the search field
//	+4.0 s  h1 turns red; then nothing happens for 16 s (inactive)
//	+20 s   scroll; +21 s "Added to cart" removed; +22 s error reported
//	+25 s   page 2 "Checkout"; +27 s click on Pay → "Paid"; ends at +30 s
func shopSession() (views []fixtureView, startMs, endMs int64) {
	var n nodes
	style := n.text("body{font-family:sans-serif;margin:0;padding:24px}h1{color:rgb(51, 51, 51)}.btn:hover{background:rgb(255, 0, 0)}p{height:2000px}")
	style["isStyle"] = true
	styleEl := n.el("style", nil, style)
	head := n.el("head", nil, styleEl)
	h1Text := n.text("Welcome")
	h1 := n.el("h1", nil, h1Text)
	btnText := n.text("Buy")
	btn := n.el("button", ev{"class": "btn", "id": "buy"}, btnText)
	in := n.el("input", ev{"type": "text", "name": "q", "value": ""})
	out := n.el("div", ev{"id": "out"})
	para := n.el("p", nil, n.text("Long page"))
	body := n.el("body", nil, h1, btn, in, out, para)
	html := n.el("html", nil, head, body)
	doc := n.doc(n.doctype(), html)
	id := func(e ev) int { return e["id"].(int) }
	added := n.id()
	v1 := []ev{
		meta(t0, "https://shop.example/", 1024, 700),
		custom(t0, "replay/view", ev{"url": "https://shop.example/", "title": "Shop", "tab": "tab-one-0000000001"}),
		full(t0+1, doc),
		move(t0+600, id(btn), [2]int{300, 300}, [2]int{200, 200}, [2]int{120, 110}),
		move(t0+1900, id(btn), [2]int{60, 90}, [2]int{50, 80}),
		click(t0+2000, id(btn), 50, 80),
		mutation(t0+2100, ev{"adds": []ev{{"parentId": id(out), "nextId": nil, "node": ev{"type": 3, "id": added, "textContent": "Added to cart"}}}}),
	}
	v1b := []ev{
		typed(t0+3000, id(in), "shoes"),
		mutation(t0+4000, ev{"attributes": []ev{{"id": id(h1), "attributes": ev{"style": "color: rgb(255, 0, 0)"}}}}),
		scroll(t0+20000, id(doc), 0, 400),
		mutation(t0+21000, ev{"removes": []ev{{"parentId": id(out), "id": added}}}),
		custom(t0+22000, "replay/error", ev{"message": "TypeError: cart is undefined", "source": "error"}),
		move(t0+24000, id(h1), [2]int{400, 40}),
	}
	var m nodes
	m.next = 1000
	payText := m.text("Pay")
	pay := m.el("button", ev{"id": "pay"}, payText)
	status := m.el("div", ev{"id": "status"})
	h := m.el("h1", nil, m.text("Checkout"))
	body2 := m.el("body", nil, h, pay, status)
	doc2 := m.doc(m.doctype(), m.el("html", nil, m.el("head", nil), body2))
	paid := m.id()
	v2 := []ev{
		meta(t0+25000, "https://shop.example/checkout", 1024, 700),
		custom(t0+25000, "replay/view", ev{"url": "https://shop.example/checkout", "title": "Checkout", "tab": "tab-one-0000000001"}),
		full(t0+25001, doc2),
		move(t0+26500, id(pay), [2]int{40, 90}),
		click(t0+27000, id(pay), 40, 90),
		mutation(t0+27100, ev{"adds": []ev{{"parentId": id(status), "nextId": nil, "node": ev{"type": 3, "id": paid, "textContent": "Paid"}}}}),
		move(t0+30000, id(pay), [2]int{60, 120}),
	}
	return []fixtureView{
		{id: "view-one-00000000001", url: "https://shop.example/", title: "Shop", tab: "tab-one-0000000001", segments: [][]ev{v1, v1b}},
		{id: "view-two-00000000002", url: "https://shop.example/checkout", title: "Checkout", tab: "tab-one-0000000001", segments: [][]ev{v2}},
	}, t0, t0 + 30000
}

func gz(t testing.TB, v any) (body []byte, raw int) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes(), len(b)
}

// putSession stores views as session id. sum, when set, fills in the
// summary fields the collector would compute (counts, user, user agent);
// it runs at every segment, after the backend accounted for times and
// sizes.
func putSession(t testing.TB, st store.Store, id string, views []fixtureView, sum func(*store.Session)) {
	t.Helper()
	for _, v := range views {
		for seq, events := range v.segments {
			body, raw := gz(t, events)
			start := events[0]["timestamp"].(int64)
			end := events[len(events)-1]["timestamp"].(int64)
			hasFull := false
			for _, e := range events {
				if e["type"] == 2 {
					hasFull = true
				}
			}
			view := store.View{ID: v.id, URL: v.url, Title: v.title, Tab: v.tab, Start: start, End: end}
			_, err := st.PutSegment(context.Background(), &store.NewSegment{
				SegmentInfo: store.SegmentInfo{
					SegmentKey: store.SegmentKey{Session: id, View: v.id, Seq: seq},
					Start:      start, End: end, FullSnapshot: hasFull, Records: len(events), RawSize: int64(raw),
				},
				Body: body,
				Update: func(s *store.Session) {
					found := false
					for i := range s.Views {
						if s.Views[i].ID == view.ID {
							s.Views[i].URL, s.Views[i].Title, s.Views[i].Tab = view.URL, view.Title, view.Tab
							s.Views[i].Start = min(s.Views[i].Start, start)
							s.Views[i].End = max(s.Views[i].End, end)
							found = true
						}
					}
					if !found {
						s.Views = append(s.Views, view)
					}
					if s.EntryURL == "" {
						s.EntryURL = view.URL
					}
					if !slices.Contains(s.URLs, view.URL) {
						s.URLs = append(s.URLs, view.URL)
					}
					if sum != nil {
						sum(s)
					}
				},
			})
			if err != nil {
				t.Fatalf("storing %s/%d: %v", v.id, seq, err)
			}
		}
	}
}

// sessionID makes a valid session id from a number.
func sessionID(i int) string {
	return fmt.Sprintf("sess-%016d", i)
}
