package player

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/caddy-replay/caddy-replay/store"
)

// Our recorder sends a stylesheet's text once per session: the first link
// with that text carries it as rrweb's _cssText (and no href or rel), later
// ones keep their href and rel and carry rr_css, the text's key
// (docs/FORMAT.md, "rr_css"). rrweb's Replayer does not know rr_css and
// would load the live href instead of the recorded CSS, so an export writes
// every rr_css link whose text the session holds exactly as the first
// occurrence was written.

var (
	markText = []byte(`"_cssText"`)
	markRef  = []byte(`"rr_css"`)
)

// sheetResolver rewrites rr_css links into _cssText ones, event by event.
// It learns texts from the events it sees; a key it has not seen yet (the
// export starts after the text was sent, or the text came from another
// tab) makes it read every segment of the session once for their texts.
// It holds the session's stylesheet texts, nothing else.
type sheetResolver struct {
	ctx     context.Context
	st      store.Segments
	segs    []store.SegmentInfo // all of the session's segments
	texts   map[string]string   // key -> text
	scanned bool
}

func newSheetResolver(ctx context.Context, st store.Segments, segs []store.SegmentInfo) *sheetResolver {
	return &sheetResolver{ctx: ctx, st: st, segs: segs, texts: map[string]string{}}
}

// event returns raw, or raw rewritten when it names stylesheet texts the
// session holds. Events that mention neither _cssText nor rr_css (nearly
// all of them) are passed through without being decoded.
func (r *sheetResolver) event(raw json.RawMessage) (json.RawMessage, error) {
	hasText := bytes.Contains(raw, markText)
	hasRef := bytes.Contains(raw, markRef)
	if !hasText && !hasRef {
		return raw, nil
	}
	ev, err := decodeAny(raw)
	if err != nil {
		return raw, nil // the merger already checked it is JSON
	}
	if hasText {
		// Before resolving: a snapshot can send a text and name it again.
		r.collect(ev)
	}
	if !hasRef {
		return raw, nil
	}
	changed, err := r.resolve(ev)
	if err != nil || !changed {
		return raw, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return raw, nil
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// decodeAny decodes JSON keeping numbers as written (ids and timestamps
// survive the round trip unchanged).
func decodeAny(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// collect notes every _cssText of an event (snapshot nodes, added nodes,
// attribute changes) by key.
func (r *sheetResolver) collect(ev any) {
	eachAttrs(ev, func(attrs map[string]any, _, _ bool) {
		if css, ok := attrs["_cssText"].(string); ok && css != "" {
			r.texts[stylesheetKey(css)] = css
		}
	})
}

// resolve rewrites the event's rr_css links whose text is known and
// reports whether it changed anything.
func (r *sheetResolver) resolve(ev any) (changed bool, err error) {
	eachAttrs(ev, func(attrs map[string]any, isNode, isLink bool) {
		key, ok := attrs["rr_css"].(string)
		if !ok || err != nil {
			return
		}
		if _, has := attrs["_cssText"]; has || isNode && !isLink {
			return
		}
		css, ok := r.texts[key]
		if !ok && !r.scanned {
			err = r.scan()
			css, ok = r.texts[key]
		}
		if !ok {
			// The segment with the text was lost: the link loads its href.
			return
		}
		delete(attrs, "rr_css")
		attrs["_cssText"] = css
		if isNode {
			// As the recorder writes a link it sends the text of.
			delete(attrs, "href")
			delete(attrs, "rel")
		} else {
			// As the recorder writes a link whose sheet loaded late.
			attrs["href"] = nil
			attrs["rel"] = nil
		}
		changed = true
	})
	return changed, err
}

// scan reads every segment of the session once for its stylesheet texts.
// A segment that cannot be read is skipped: the links that need its text
// keep their href, as in our player.
func (r *sheetResolver) scan() error {
	r.scanned = true
	var sr segmentReader
	defer sr.close()
	for _, s := range r.segs {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if sr.open(r.ctx, r.st, s.SegmentKey) != nil {
			continue
		}
		for {
			raw, ok, err := sr.next()
			if err != nil || !ok {
				break
			}
			if !bytes.Contains(raw, markText) {
				continue
			}
			if ev, err := decodeAny(raw); err == nil {
				r.collect(ev)
			}
		}
	}
	return nil
}

// eachAttrs calls f with every attributes object of a full snapshot's
// nodes (isNode) and of a mutation's added nodes (isNode) and attribute
// changes (not isNode); isLink says the node is a <link>.
func eachAttrs(ev any, f func(attrs map[string]any, isNode, isLink bool)) {
	e, _ := ev.(map[string]any)
	data, _ := e["data"].(map[string]any)
	if data == nil {
		return
	}
	var stack []any
	switch jsonInt(e["type"]) {
	case 2: // full snapshot
		stack = append(stack, data["node"])
	case 3: // incremental
		if jsonInt(data["source"]) != 0 {
			return
		}
		adds, _ := data["adds"].([]any)
		for _, a := range adds {
			if a, ok := a.(map[string]any); ok {
				stack = append(stack, a["node"])
			}
		}
		changes, _ := data["attributes"].([]any)
		for _, c := range changes {
			c, _ := c.(map[string]any)
			if attrs, ok := c["attributes"].(map[string]any); ok {
				f(attrs, false, false)
			}
		}
	default:
		return
	}
	for len(stack) > 0 {
		n, _ := stack[len(stack)-1].(map[string]any)
		stack = stack[:len(stack)-1]
		if n == nil {
			continue
		}
		if attrs, ok := n["attributes"].(map[string]any); ok {
			tag, _ := n["tagName"].(string)
			f(attrs, true, strings.EqualFold(tag, "link"))
		}
		kids, _ := n["childNodes"].([]any)
		stack = append(stack, kids...)
	}
}

// jsonInt reads a JSON number decoded with UseNumber; -1 when it is not one.
func jsonInt(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return -1
	}
	i, err := n.Int64()
	if err != nil {
		return -1
	}
	return i
}

// stylesheetKey is the key of a stylesheet's text as the recorder computes
// it (docs/FORMAT.md): FNV-1a (32 bit) over the text's UTF-16 code units in
// base 36, ".", the number of code units in base 36.
func stylesheetKey(css string) string {
	h := uint32(0x811c9dc5)
	units := 0
	unit := func(u uint32) {
		h = (h ^ u) * 0x01000193
		units++
	}
	for _, c := range css {
		if c >= 0x10000 {
			c -= 0x10000
			unit(0xd800 + uint32(c>>10))
			unit(0xdc00 + uint32(c&0x3ff))
		} else {
			unit(uint32(c))
		}
	}
	return strconv.FormatUint(uint64(h), 36) + "." + strconv.FormatInt(int64(units), 36)
}
