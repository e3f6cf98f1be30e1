package player

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/klauspost/compress/gzip"
	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/store"
)

// serveEvents answers GET api/sessions/{id}/events and .../export: the
// session's events as one JSON array in timestamp order, which is an rrweb
// recording (rrweb's Replayer ignores our custom events).
//
// Parameters:
//   - from (ms since the Unix epoch): start each view at its last full
//     snapshot at or before from, so the stream can be played from there;
//     views that ended before from are left out.
//   - tab: only the views of one browser tab. Views of different tabs
//     overlap in time and each has its own node ids, so a multi-tab
//     session plays in rrweb's Replayer one tab at a time.
//
// Segments are decoded one at a time per view and merged by timestamp, so
// memory stays bounded by the number of views, not the session's length.
func (p *Player) serveEvents(w http.ResponseWriter, r *http.Request, id string, download bool) {
	q := r.URL.Query()
	var from int64
	if s := q.Get("from"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			apiError(w, http.StatusBadRequest, "bad_query", fmt.Sprintf("from must be a time in ms since the Unix epoch, not %q", s))
			return
		}
		from = n
	}
	tab := q.Get("tab")
	sess, err := p.store.Session(r.Context(), id)
	if err != nil {
		p.storeError(w, r, err, "session")
		return
	}
	segs, err := p.store.SegmentList(r.Context(), id)
	if err != nil {
		p.storeError(w, r, err, "session")
		return
	}
	streams := planStreams(sess, segs, from, tab)
	if tab != "" && len(streams) == 0 && !hasTab(sess, tab) {
		apiError(w, http.StatusNotFound, "tab_not_found", "This session has no view in that tab; the session's views (api/sessions/<id>) list the tabs.")
		return
	}
	m := &merger{ctx: r.Context(), st: p.store}
	for _, s := range streams {
		m.add(s)
	}
	defer m.close()
	// Read the first event of every view before answering, so a missing
	// or damaged first segment is a clean error status, not a cut stream.
	if err := m.start(); err != nil {
		p.streamError(w, r, id, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if download {
		name := "session-" + id
		if tab != "" {
			name += "-tab-" + tab
		}
		h.Set("Content-Disposition", `attachment; filename="`+name+`.rrweb.json"`)
	}
	h.Set("Vary", "Accept-Encoding")
	var out io.Writer = w
	var zw *gzip.Writer
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
		out = zw
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	bw.WriteByte('[')
	n := 0
	for {
		ev, ok, err := m.next()
		if err != nil {
			// Headers are gone: cut the response so the client sees an
			// incomplete array instead of a silently shortened recording.
			p.log.Error("player: event stream failed", zap.String("session", id), zap.Error(err))
			panic(http.ErrAbortHandler)
		}
		if !ok {
			break
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		bw.Write(ev)
		n++
	}
	bw.WriteString("]\n")
	bw.Flush()
	if zw != nil {
		zw.Close()
	}
}

func (p *Player) streamError(w http.ResponseWriter, r *http.Request, id string, err error) {
	if se, ok := err.(*segmentError); ok && se.decode {
		p.corruptSegment(w, r, se.key, se.err)
		return
	}
	p.storeError(w, r, err, "session")
}

func hasTab(s *store.Session, tab string) bool {
	for _, v := range s.Views {
		if v.Tab == tab {
			return true
		}
	}
	return false
}

// planStreams groups segments by view (in seq order) and applies from and
// tab.
func planStreams(sess *store.Session, segs []store.SegmentInfo, from int64, tab string) [][]store.SegmentInfo {
	tabOf := map[string]string{}
	for _, v := range sess.Views {
		tabOf[v.ID] = v.Tab
	}
	var order []string
	byView := map[string][]store.SegmentInfo{}
	for _, s := range segs {
		if tab != "" && tabOf[s.View] != tab {
			continue
		}
		if _, ok := byView[s.View]; !ok {
			order = append(order, s.View)
		}
		byView[s.View] = append(byView[s.View], s)
	}
	var out [][]store.SegmentInfo
	for _, v := range order {
		list := byView[v]
		// SegmentList orders by Start first; within one view that is seq
		// order unless clocks misbehaved, and the stream must follow seq.
		sortBySeq(list)
		if from > 0 {
			if list[len(list)-1].End < from {
				continue
			}
			startAt := 0
			for i, s := range list {
				if s.FullSnapshot && s.Start <= from {
					startAt = i
				}
			}
			list = list[startAt:]
		}
		out = append(out, list)
	}
	return out
}

func sortBySeq(list []store.SegmentInfo) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].Seq < list[j-1].Seq; j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

// segmentError says which segment failed and whether it was its content
// (decode) or the store.
type segmentError struct {
	key    store.SegmentKey
	decode bool
	err    error
}

func (e *segmentError) Error() string {
	return fmt.Sprintf("segment %s/%d of session %s: %v", e.key.View, e.key.Seq, e.key.Session, e.err)
}

func (e *segmentError) Unwrap() error { return e.err }

// viewStream reads one view's events, segment after segment.
type viewStream struct {
	order int // position among views, to break timestamp ties stably
	segs  []store.SegmentInfo
	next  int // next segment to open
	rc    io.ReadCloser
	zr    *gzip.Reader
	dec   *json.Decoder
	key   store.SegmentKey
	ev    json.RawMessage
	ts    int64
}

// advance loads the view's next event into ev/ts; ok is false at its end.
func (v *viewStream) advance(ctx context.Context, st store.Segments) (ok bool, err error) {
	for {
		if v.dec != nil && v.dec.More() {
			var raw json.RawMessage
			if err := v.dec.Decode(&raw); err != nil {
				return false, &segmentError{v.key, true, err}
			}
			var head struct {
				Timestamp *float64 `json:"timestamp"`
			}
			if err := json.Unmarshal(raw, &head); err != nil || head.Timestamp == nil {
				return false, &segmentError{v.key, true, fmt.Errorf("an event has no numeric timestamp")}
			}
			v.ev, v.ts = raw, int64(*head.Timestamp)
			return true, nil
		}
		if v.dec != nil {
			// The array must close properly: a truncated blob is damage,
			// not the end of the view.
			if t, err := v.dec.Token(); err != nil || t != json.Delim(']') {
				return false, &segmentError{v.key, true, fmt.Errorf("the event array is not closed")}
			}
		}
		v.closeSegment()
		if v.next >= len(v.segs) {
			return false, nil
		}
		info := v.segs[v.next]
		v.next++
		v.key = info.SegmentKey
		rc, err := st.OpenSegment(ctx, info.SegmentKey)
		if err != nil {
			return false, &segmentError{v.key, false, err}
		}
		v.rc = rc
		zr, err := gzip.NewReader(rc)
		if err != nil {
			return false, &segmentError{v.key, true, err}
		}
		v.zr = zr
		v.dec = json.NewDecoder(zr)
		if t, err := v.dec.Token(); err != nil || t != json.Delim('[') {
			return false, &segmentError{v.key, true, fmt.Errorf("the segment is not a JSON array")}
		}
	}
}

func (v *viewStream) closeSegment() {
	if v.zr != nil {
		v.zr.Close()
		v.zr = nil
	}
	if v.rc != nil {
		v.rc.Close()
		v.rc = nil
	}
	v.dec = nil
}

// merger merges view streams by timestamp (a min-heap on the head event).
type merger struct {
	ctx     context.Context
	st      store.Segments
	all     []*viewStream
	pending viewHeap
}

func (m *merger) add(segs []store.SegmentInfo) {
	m.all = append(m.all, &viewStream{order: len(m.all), segs: segs})
}

func (m *merger) start() error {
	for _, v := range m.all {
		ok, err := v.advance(m.ctx, m.st)
		if err != nil {
			return err
		}
		if ok {
			m.pending = append(m.pending, v)
		}
	}
	heap.Init(&m.pending)
	return nil
}

// next returns the earliest pending event.
func (m *merger) next() (json.RawMessage, bool, error) {
	if len(m.pending) == 0 {
		return nil, false, nil
	}
	v := m.pending[0]
	ev := v.ev
	ok, err := v.advance(m.ctx, m.st)
	if err != nil {
		return nil, false, err
	}
	if ok {
		heap.Fix(&m.pending, 0)
	} else {
		heap.Pop(&m.pending)
	}
	return ev, true, nil
}

func (m *merger) close() {
	for _, v := range m.all {
		v.closeSegment()
	}
}

type viewHeap []*viewStream

func (h viewHeap) Len() int { return len(h) }
func (h viewHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].order < h[j].order
}
func (h viewHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *viewHeap) Push(x any)   { *h = append(*h, x.(*viewStream)) }
func (h *viewHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}
