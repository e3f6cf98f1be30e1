package player

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
)

func TestStylesheetKeyMatchesTheRecorder(t *testing.T) {
	// Computed by replaycore/sheets.js's stylesheetKey (UTF-16 code units:
	// é is one, 😀 two).
	for css, want := range map[string]string{
		"":                        "ztntfp.0",
		"a":                       "1r9wi7g.1",
		"#t{color:rgb(1, 2, 3)}":  "qu4uql.m",
		`p::before{content:"é😀"}`: "bbctz1.o",
	} {
		if got := stylesheetKey(css); got != want {
			t.Errorf("stylesheetKey(%q) = %s, want %s", css, got, want)
		}
	}
}

// Stylesheet texts of sheetSession.
const (
	sheetCSS = "#t{color:rgb(1, 2, 3)}body{margin:0}"
	lateCSS  = "#late{color:rgb(4, 5, 6)}"
	sheetID  = "sess-sheets-0000000001"
)

// sheetSession is two views of one tab, as our recorder sends them: view
// one carries the texts of a link and of a link that loads late (_cssText,
// no href and rel); view two names both (rr_css, keeping href and rel),
// plus a link whose text no segment holds. The hrefs are base's
// /live.css, with a query per link.
func sheetSession(base string) []fixtureView {
	sheetHref := base + "/live.css"
	tab := "tab-sheet-00000001"
	var n nodes
	link := n.el("link", ev{"_cssText": sheetCSS, "media": "all"})
	late := n.el("link", ev{"rel": "stylesheet", "href": sheetHref + "?late"})
	doc := n.doc(n.doctype(), n.el("html", nil, n.el("head", nil, link, late), n.el("body", nil, n.el("h1", ev{"id": "t"}, n.text("One")), n.el("p", ev{"id": "late"}, n.text("late")))))
	v1 := []ev{
		meta(t0, "https://shop.example/", 1024, 700),
		custom(t0, "replay/view", ev{"url": "https://shop.example/", "title": "One", "tab": tab}),
		full(t0+1, doc),
		mutation(t0+500, ev{"attributes": []ev{{"id": late["id"], "attributes": ev{"_cssText": lateCSS, "href": nil, "rel": nil}}}}),
		move(t0+900, 0, [2]int{10, 10}),
	}
	var m nodes
	m.next = 100
	link2 := m.el("link", ev{"rel": "stylesheet", "href": sheetHref + "?two", "rr_css": stylesheetKey(sheetCSS), "media": "all"})
	lost := m.el("link", ev{"rel": "stylesheet", "href": sheetHref + "?lost", "rr_css": "lost.1"})
	late2 := m.el("link", ev{"rel": "stylesheet", "href": sheetHref + "?late2"})
	doc2 := m.doc(m.doctype(), m.el("html", nil, m.el("head", nil, link2, lost, late2), m.el("body", nil, m.el("h1", ev{"id": "t"}, m.text("Two")), m.el("p", ev{"id": "late"}, m.text("late")))))
	v2 := []ev{
		meta(t0+2000, "https://shop.example/two", 1024, 700),
		custom(t0+2000, "replay/view", ev{"url": "https://shop.example/two", "title": "Two", "tab": tab}),
		full(t0+2001, doc2),
		mutation(t0+2500, ev{"attributes": []ev{{"id": late2["id"], "attributes": ev{"rr_css": stylesheetKey(lateCSS)}}}}),
		move(t0+3000, 0, [2]int{20, 20}),
	}
	return []fixtureView{
		{id: "view-sheet-00000001", url: "https://shop.example/", title: "One", tab: tab, segments: [][]ev{v1}},
		{id: "view-sheet-00000002", url: "https://shop.example/two", title: "Two", tab: tab, segments: [][]ev{v2[:3], v2[3:]}},
	}
}

// exportEvents exports session id with opts, decoded.
func exportEvents(t *testing.T, st ExportStore, id string, opts ExportOptions) []map[string]any {
	t.Helper()
	exp, err := OpenExport(context.Background(), st, id, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	var buf bytes.Buffer
	n, err := exp.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d bytes, %v (wrote %d)", n, err, buf.Len())
	}
	var events []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &events); err != nil {
		t.Fatalf("export is not a JSON array: %v", err)
	}
	return events
}

// linksOf returns the attributes of the <link> nodes of a full snapshot.
func linksOf(e map[string]any) []map[string]any {
	var out []map[string]any
	stack := []any{e["data"].(map[string]any)["node"]}
	for len(stack) > 0 {
		n := stack[len(stack)-1].(map[string]any)
		stack = stack[:len(stack)-1]
		if n["tagName"] == "link" {
			out = append(out, n["attributes"].(map[string]any))
		}
		if kids, ok := n["childNodes"].([]any); ok {
			for i := len(kids) - 1; i >= 0; i-- {
				stack = append(stack, kids[i])
			}
		}
	}
	return out
}

func TestExportWritesStylesheetTextsSentOnce(t *testing.T) {
	onBackends(t, func(t *testing.T, st store.Store, _ *Player) {
		putSession(t, st, sheetID, sheetSession("https://shop.example"), nil)
		for _, tc := range []struct {
			name string
			opts ExportOptions
			want int // events
		}{
			{"whole", ExportOptions{}, 10},
			// The second view alone: its texts are in a segment the
			// export does not include.
			{"from the second view", ExportOptions{From: t0 + 2100}, 5},
		} {
			t.Run(tc.name, func(t *testing.T) {
				events := exportEvents(t, st, sheetID, tc.opts)
				if len(events) != tc.want {
					t.Fatalf("%d events, want %d", len(events), tc.want)
				}
				var snaps []map[string]any
				var attrMuts []map[string]any
				for _, e := range events {
					switch e["type"].(float64) {
					case 2:
						snaps = append(snaps, e)
					case 3:
						d := e["data"].(map[string]any)
						if d["source"].(float64) == 0 {
							for _, a := range d["attributes"].([]any) {
								attrMuts = append(attrMuts, a.(map[string]any)["attributes"].(map[string]any))
							}
						}
					}
				}
				last := linksOf(snaps[len(snaps)-1])
				// The named text is written as the first occurrence was.
				if len(last) != 3 || last[0]["_cssText"] != sheetCSS || last[0]["media"] != "all" || len(last[0]) != 2 {
					t.Errorf("second view's first link: %v, want _cssText and media only", last[0])
				}
				// A text no segment holds: the link stays, and loads its href.
				if l := last[1]; l["href"] != "https://shop.example/live.css?lost" || l["rel"] != "stylesheet" || l["rr_css"] != "lost.1" || l["_cssText"] != nil {
					t.Errorf("link with an unknown text: %v, want it unchanged", l)
				}
				// A late link naming a text: as a late link with the text.
				lm := attrMuts[len(attrMuts)-1]
				if lm["_cssText"] != lateCSS || len(lm) != 3 || lm["href"] != nil || lm["rel"] != nil {
					t.Errorf("late link mutation: %v, want _cssText with href and rel removed", lm)
				}
				if _, ok := lm["href"]; !ok {
					t.Errorf("late link mutation %v does not remove href", lm)
				}
				if tc.opts.From == 0 {
					first := linksOf(snaps[0])
					if first[0]["_cssText"] != sheetCSS || len(first[0]) != 2 {
						t.Errorf("first view's link changed: %v", first[0])
					}
				}
			})
		}
	})
}

func TestExportPassesOtherEventsThrough(t *testing.T) {
	_, st := newPlayer(t)
	views, _, _ := shopSession()
	putSession(t, st, shopID, views, nil)
	exp, err := OpenExport(context.Background(), st, shopID, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	exp.WriteTo(&buf)
	exp.Close()
	// Byte for byte what the segments hold, in timestamp order.
	var want []string
	for _, v := range views {
		for _, seg := range v.segments {
			for _, e := range seg {
				b, _ := json.Marshal(e)
				want = append(want, string(b))
			}
		}
	}
	got := buf.String()
	if got != "["+strings.Join(want, ",")+"]\n" {
		t.Errorf("export differs from the stored events:\n%s", got)
	}
}

func TestOpenExportErrors(t *testing.T) {
	_, st := newPlayer(t)
	views, _, _ := shopSession()
	putSession(t, st, shopID, views, nil)
	ctx := context.Background()
	if _, err := OpenExport(ctx, st, "sess-missing-000000001", ExportOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing session: %v, want ErrNotFound", err)
	}
	if _, err := OpenExport(ctx, st, shopID, ExportOptions{Tab: "tab-nope-0000000001"}); !errors.Is(err, ErrNoSuchTab) {
		t.Errorf("unknown tab: %v, want ErrNoSuchTab", err)
	}
}
