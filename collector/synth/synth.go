// Package synth makes rrweb-shaped recordings for tests and load
// generation: a visit with page loads, a DOM snapshot, mouse trails,
// clicks, scrolls, typing, DOM mutations and errors, cut into segments the
// way the recorder cuts them, with the upload query of docs/FORMAT.md.
//
// The events follow the recorder's wire format closely enough to exercise
// every collector path; they are not a substitute for the recorder's own
// output, which benchmarks capture when it is available.
package synth

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Segment is one upload: the query metadata and the JSON body.
type Segment struct {
	SID, VID   string
	Seq        int
	Start, End int64
	Full       bool
	Events     []json.RawMessage
	// Truth is what the segment's events contain, for assertions.
	Truth Truth
}

// Truth counts what a segment (or a visit) holds.
type Truth struct {
	Clicks, Inputs, Errors, Mutations int
}

// Body is the segment's JSON array of events.
func (s *Segment) Body() []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, e := range s.Events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// Gzip is the body compressed as the recorder's worker sends it.
func (s *Segment) Gzip() []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(s.Body())
	zw.Close()
	return b.Bytes()
}

// Query is the upload's query string, for a body of raw bytes.
func (s *Segment) Query(raw int) string {
	full := 0
	if s.Full {
		full = 1
	}
	return fmt.Sprintf("v=1&sid=%s&vid=%s&seq=%d&start=%d&end=%d&full=%d&n=%d&raw=%d",
		s.SID, s.VID, s.Seq, s.Start, s.End, full, len(s.Events), raw)
}

// Options shape a visit.
type Options struct {
	// Seed makes the visit reproducible.
	Seed uint64
	// Start is the first event's time (ms since the Unix epoch).
	Start int64
	// Views is the number of page loads; Seconds the time spent on each.
	Views, Seconds int
	// Nodes is the size of each page's DOM snapshot.
	Nodes int
	// Origin is the site's origin, e.g. "https://shop.example".
	Origin string
	// SegmentMs is how often the recorder flushes (5000 like ours).
	SegmentMs int64
	// User, when set, is passed to setUser on the first page.
	User string
}

func (o *Options) defaults() {
	if o.Views <= 0 {
		o.Views = 3
	}
	if o.Seconds <= 0 {
		o.Seconds = 20
	}
	if o.Nodes <= 0 {
		o.Nodes = 400
	}
	if o.Origin == "" {
		o.Origin = "https://shop.example"
	}
	if o.SegmentMs <= 0 {
		o.SegmentMs = 5000
	}
	if o.Start == 0 {
		o.Start = 1_780_000_000_000
	}
}

// ID returns a random id in the recorder's format.
func ID(r *rand.Rand) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 22)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// Visit is a whole recorded visit.
type Visit struct {
	SID      string
	Segments []*Segment
	URLs     []string
	Truth    Truth
	End      int64
}

// NewVisit records a visit.
func NewVisit(o Options) *Visit {
	o.defaults()
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	v := &Visit{SID: ID(r)}
	tab := ID(r)
	t := o.Start
	pages := []string{"/", "/products", "/products/42", "/cart", "/checkout", "/account", "/search?q=shoes"}
	for view := 0; view < o.Views; view++ {
		u := o.Origin + pages[view%len(pages)]
		v.URLs = append(v.URLs, u)
		g := &gen{r: r, nextID: 1}
		vid := ID(r)
		var evs []timed
		emit := func(e map[string]any) {
			b, _ := json.Marshal(e)
			evs = append(evs, timed{t, e["type"].(int), b})
		}
		emit(ev(4, t, map[string]any{"href": u, "width": 1280, "height": 800, "dark": false}))
		emit(ev(5, t, map[string]any{"tag": "replay/view", "payload": map[string]any{
			"url": u, "referrer": "", "title": "Shop — " + pages[view%len(pages)], "tab": tab,
			"service": "shop", "env": "prod", "version": "1.4.2", "applicationId": "app-1",
		}}))
		if o.User != "" && view == 0 {
			emit(ev(5, t, map[string]any{"tag": "replay/user", "payload": map[string]any{
				"id": o.User, "name": "Test User", "email": o.User + "@example.com"}}))
		}
		root := g.document(o.Nodes)
		emit(ev(2, t, map[string]any{"node": root, "initialOffset": map[string]int{"top": 0, "left": 0}}))
		var truth Truth
		lastInput := -1
		end := t + int64(o.Seconds)*1000
		for t < end {
			t += 50 + int64(r.IntN(400))
			switch k := r.IntN(100); {
			case k < 45: // a mouse trail, sent in batches like rrweb's
				var pos []map[string]any
				for i := range 8 {
					pos = append(pos, map[string]any{"x": r.IntN(1280), "y": r.IntN(800), "id": g.any(), "timeOffset": -50 * (8 - i)})
				}
				emit(ev(3, t, map[string]any{"source": 1, "positions": pos}))
			case k < 55:
				x, y := r.IntN(1280), r.IntN(800)
				emit(ev(3, t, map[string]any{"source": 2, "type": 1, "id": g.any(), "x": x, "y": y}))
				emit(ev(3, t, map[string]any{"source": 2, "type": 0, "id": g.any(), "x": x, "y": y}))
				emit(ev(3, t, map[string]any{"source": 2, "type": 2, "id": g.any(), "x": x, "y": y}))
				truth.Clicks++
				if r.IntN(3) > 0 { // most clicks change something
					t += 30
					emit(ev(3, t, g.mutation()))
					truth.Mutations++
				}
			case k < 70:
				emit(ev(3, t, map[string]any{"source": 3, "id": 1, "x": 0, "y": r.IntN(4000)}))
			case k < 80:
				id := g.any()
				for i := range 1 + r.IntN(6) {
					emit(ev(3, t, map[string]any{"source": 5, "text": "*****"[:1+i%5], "isChecked": false, "id": id}))
					t += 120
				}
				// Typing into the field typed into just before is the
				// same input.
				if id != lastInput {
					truth.Inputs++
				}
				lastInput = id
			case k < 97:
				emit(ev(3, t, g.mutation()))
				truth.Mutations++
			default:
				emit(ev(5, t, map[string]any{"tag": "replay/error", "payload": map[string]any{
					"message": "TypeError: cannot read properties of undefined (reading 'price')",
					"stack":   "TypeError: cannot read properties of undefined\n    at render (https://shop.example/app.js:1:2345)",
					"source":  "error"}}))
				truth.Errors++
			}
		}
		v.Segments = append(v.Segments, cut(v.SID, vid, evs, o.SegmentMs)...)
		v.Truth.Clicks += truth.Clicks
		v.Truth.Inputs += truth.Inputs
		v.Truth.Errors += truth.Errors
		v.Truth.Mutations += truth.Mutations
		t += 200 + int64(r.IntN(800)) // navigation
	}
	v.End = t
	return v
}

type timed struct {
	t   int64
	typ int
	b   json.RawMessage
}

// cut slices a view's events into segments opened by their first event
// and closed segMs later, as the recorder does.
func cut(sid, vid string, evs []timed, segMs int64) []*Segment {
	var out []*Segment
	var cur *Segment
	for _, e := range evs {
		if cur != nil && e.t-cur.Start >= segMs {
			cur = nil
		}
		if cur == nil {
			cur = &Segment{SID: sid, VID: vid, Seq: len(out), Start: e.t}
			out = append(out, cur)
		}
		cur.Events = append(cur.Events, e.b)
		cur.End = e.t
		if e.typ == 2 {
			cur.Full = true
		}
	}
	return out
}

func ev(typ int, t int64, data any) map[string]any {
	return map[string]any{"type": typ, "data": data, "timestamp": t}
}

// gen builds serialized DOM nodes with stable ids.
type gen struct {
	r      *rand.Rand
	nextID int
}

func (g *gen) id() int { id := g.nextID; g.nextID++; return id }

func (g *gen) any() int { return 1 + g.r.IntN(max(1, g.nextID-1)) }

var (
	tags  = []string{"div", "div", "div", "span", "a", "p", "li", "ul", "img", "button", "section", "h2", "input"}
	words = []string{"shoes", "price", "add to cart", "free shipping", "size", "colour", "reviews", "in stock", "sale", "new arrivals", "checkout", "account"}
)

func (g *gen) text() string {
	n := 1 + g.r.IntN(8)
	var b bytes.Buffer
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[g.r.IntN(len(words))])
	}
	return b.String()
}

func (g *gen) element(budget *int, depth int) map[string]any {
	tag := tags[g.r.IntN(len(tags))]
	attrs := map[string]any{"class": "c-" + strconv.Itoa(g.r.IntN(50)) + " " + words[g.r.IntN(len(words))]}
	switch tag {
	case "a":
		attrs["href"] = "https://shop.example/products/" + strconv.Itoa(g.r.IntN(1000))
	case "img":
		attrs["src"] = "https://cdn.shop.example/img/" + strconv.Itoa(g.r.IntN(1000)) + ".webp"
		attrs["alt"] = g.text()
	case "input":
		attrs["type"] = "text"
		attrs["value"] = "****"
	}
	n := map[string]any{"type": 2, "tagName": tag, "attributes": attrs, "id": g.id()}
	var kids []any
	for *budget > 0 && len(kids) < 6 && depth < 14 {
		*budget--
		if g.r.IntN(3) == 0 || tag == "img" || tag == "input" {
			if tag != "img" && tag != "input" {
				kids = append(kids, map[string]any{"type": 3, "textContent": g.text(), "id": g.id()})
			}
			if g.r.IntN(2) == 0 {
				break
			}
			continue
		}
		kids = append(kids, g.element(budget, depth+1))
	}
	n["childNodes"] = kids
	return n
}

func (g *gen) document(nodes int) map[string]any {
	doc := map[string]any{"type": 0, "id": g.id()}
	dt := map[string]any{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": g.id()}
	head := map[string]any{"type": 2, "tagName": "head", "attributes": map[string]any{}, "id": g.id(), "childNodes": []any{
		map[string]any{"type": 2, "tagName": "style", "attributes": map[string]any{"_cssText": "body{margin:0;font:16px/1.4 system-ui}.c-1{color:#333}.c-2{display:flex;gap:8px}"}, "id": g.id(), "childNodes": []any{}},
	}}
	budget := nodes
	var body []any
	for budget > 0 {
		budget--
		body = append(body, g.element(&budget, 1))
	}
	html := map[string]any{"type": 2, "tagName": "html", "attributes": map[string]any{"lang": "en"}, "id": g.id(), "childNodes": []any{
		head, map[string]any{"type": 2, "tagName": "body", "attributes": map[string]any{}, "id": g.id(), "childNodes": body},
	}}
	doc["childNodes"] = []any{dt, html}
	return doc
}

func (g *gen) mutation() map[string]any {
	parent := g.any()
	return map[string]any{
		"source":     0,
		"texts":      []any{map[string]any{"id": g.any(), "value": g.text()}},
		"attributes": []any{map[string]any{"id": g.any(), "attributes": map[string]any{"class": "c-" + strconv.Itoa(g.r.IntN(50)) + " active"}}},
		"removes":    []any{map[string]any{"parentId": parent, "id": g.any()}},
		"adds": []any{map[string]any{"parentId": parent, "nextId": nil, "node": map[string]any{
			"type": 2, "tagName": "li", "attributes": map[string]any{"class": "item"}, "id": g.id(), "childNodes": []any{
				map[string]any{"type": 3, "textContent": g.text(), "id": g.id()}}}}},
	}
}
