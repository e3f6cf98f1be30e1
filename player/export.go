package player

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"

	"github.com/caddy-replay/caddy-replay/store"
)

// ExportStore is what an export reads: a session's views and its segments.
// Every store.Store is one.
type ExportStore interface {
	store.Segments
	Session(ctx context.Context, id string) (*store.Session, error)
}

// ExportOptions narrows an export. The zero value exports everything.
type ExportOptions struct {
	// From (ms since the Unix epoch), when not zero, starts each view at
	// its last full snapshot at or before From, so the recording can be
	// played from there; views that ended before From are left out.
	From int64
	// Tab, when not empty, keeps only the views of one browser tab. Views
	// of different tabs overlap in time and each has its own node ids, so
	// a multi-tab session plays in rrweb's Replayer one tab at a time.
	Tab string
}

// ErrNoSuchTab is returned by OpenExport when ExportOptions.Tab names no
// tab of the session.
var ErrNoSuchTab = errors.New("player: the session has no view in that tab")

// Export is one session's events as an rrweb recording: one JSON array in
// timestamp order (rrweb's Replayer ignores our custom events). Segments
// are decoded one at a time per view and merged by timestamp, so memory
// stays bounded by the number of views, not the session's length, apart
// from the stylesheet texts (see sheetResolver): every link our recorder
// sent as rr_css is written as rrweb writes a link whose text it knows.
//
// The player API's export and `caddy replay export` are both an Export.
type Export struct {
	m      *merger
	sheets *sheetResolver
}

// OpenExport plans the export of session id and reads the first event of
// every view, so that a missing session (store.ErrNotFound), an unknown
// tab (ErrNoSuchTab) or a damaged first segment is an error before
// anything is written. Close it when done.
func OpenExport(ctx context.Context, st ExportStore, id string, opts ExportOptions) (*Export, error) {
	sess, err := st.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	segs, err := st.SegmentList(ctx, id)
	if err != nil {
		return nil, err
	}
	streams := planStreams(sess, segs, opts.From, opts.Tab)
	if opts.Tab != "" && len(streams) == 0 && !hasTab(sess, opts.Tab) {
		return nil, ErrNoSuchTab
	}
	m := &merger{ctx: ctx, st: st}
	for _, s := range streams {
		m.add(s)
	}
	if err := m.start(); err != nil {
		m.close()
		return nil, err
	}
	return &Export{m: m, sheets: newSheetResolver(ctx, st, segs)}, nil
}

// WriteTo writes the recording to w as one JSON array followed by a
// newline. An error after the first byte leaves an incomplete array, so a
// reader never mistakes a cut export for a whole one.
func (e *Export) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	bw.WriteByte('[')
	for n := 0; ; n++ {
		ev, ok, err := e.m.next()
		if err != nil {
			bw.Flush()
			return cw.n, err
		}
		if !ok {
			break
		}
		if ev, err = e.sheets.event(ev); err != nil {
			bw.Flush()
			return cw.n, err
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		if _, err := bw.Write(ev); err != nil {
			return cw.n, err
		}
	}
	bw.WriteString("]\n")
	err := bw.Flush()
	return cw.n, err
}

// Close releases the segments still open.
func (e *Export) Close() error {
	e.m.close()
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
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

// segmentReader reads the events of stored segments one at a time, as raw
// JSON, checking that each segment is a whole JSON array.
type segmentReader struct {
	rc  io.ReadCloser
	zr  *gzip.Reader
	dec *json.Decoder
	key store.SegmentKey
}

// open starts reading the segment k.
func (s *segmentReader) open(ctx context.Context, st store.Segments, k store.SegmentKey) error {
	s.close()
	s.key = k
	rc, err := st.OpenSegment(ctx, k)
	if err != nil {
		return &segmentError{k, false, err}
	}
	s.rc = rc
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return &segmentError{k, true, err}
	}
	s.zr = zr
	s.dec = json.NewDecoder(zr)
	if t, err := s.dec.Token(); err != nil || t != json.Delim('[') {
		return &segmentError{k, true, fmt.Errorf("the segment is not a JSON array")}
	}
	return nil
}

// next returns the segment's next event; ok is false at its end. The
// array must close properly: a truncated blob is damage, not the end.
func (s *segmentReader) next() (raw json.RawMessage, ok bool, err error) {
	if s.dec == nil {
		return nil, false, nil
	}
	if s.dec.More() {
		if err := s.dec.Decode(&raw); err != nil {
			return nil, false, &segmentError{s.key, true, err}
		}
		return raw, true, nil
	}
	if t, err := s.dec.Token(); err != nil || t != json.Delim(']') {
		return nil, false, &segmentError{s.key, true, fmt.Errorf("the event array is not closed")}
	}
	s.close()
	return nil, false, nil
}

func (s *segmentReader) close() {
	if s.zr != nil {
		s.zr.Close()
		s.zr = nil
	}
	if s.rc != nil {
		s.rc.Close()
		s.rc = nil
	}
	s.dec = nil
}

// viewStream reads one view's events, segment after segment.
type viewStream struct {
	order int // position among views, to break timestamp ties stably
	segs  []store.SegmentInfo
	next  int // next segment to open
	r     segmentReader
	ev    json.RawMessage
	ts    int64
}

// advance loads the view's next event into ev/ts; ok is false at its end.
func (v *viewStream) advance(ctx context.Context, st store.Segments) (ok bool, err error) {
	for {
		raw, ok, err := v.r.next()
		if err != nil {
			return false, err
		}
		if ok {
			var head struct {
				Timestamp *float64 `json:"timestamp"`
			}
			if err := json.Unmarshal(raw, &head); err != nil || head.Timestamp == nil {
				return false, &segmentError{v.r.key, true, fmt.Errorf("an event has no numeric timestamp")}
			}
			v.ev, v.ts = raw, int64(*head.Timestamp)
			return true, nil
		}
		if v.next >= len(v.segs) {
			return false, nil
		}
		info := v.segs[v.next]
		v.next++
		if err := v.r.open(ctx, st, info.SegmentKey); err != nil {
			return false, err
		}
	}
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
		v.r.close()
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
