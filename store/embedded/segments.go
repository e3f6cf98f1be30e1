package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/caddy-replay/caddy-replay/store"
)

// PutSegment implements store.Segments.
func (s *Store) PutSegment(ctx context.Context, seg *store.NewSegment) (bool, error) {
	if err := checkSegment(seg); err != nil {
		return false, err
	}
	if s.isClosed() {
		return false, store.ErrClosed
	}
	release, err := s.claim(ctx, seg.SegmentKey)
	if err != nil {
		return false, err
	}
	defer release()
	// Tell the writer a segment is on its way (see gatherWait).
	s.preparing.Add(1)
	counted := true
	defer func() {
		if counted {
			s.preparing.Add(-1)
		}
	}()
	seg.Size = int64(len(seg.Body))
	// The record is copied into the batch's write, so its buffer is free
	// again once the writer has answered.
	rb := recordBufs.Get().(*[]byte)
	defer func() {
		if cap(*rb) <= maxPooledRecord {
			recordBufs.Put(rb)
		}
	}()
	record, err := appendRecord((*rb)[:0], seg)
	if err != nil {
		return false, err
	}
	*rb = record
	for {
		j := &job{seg: seg, record: record, counted: counted}
		counted = false
		err := s.enqueue(ctx, j)
		counted = j.counted
		if errors.Is(err, errRetryInBatch) {
			continue
		}
		return j.dup, asFull(err)
	}
}

// recordBufs pools the buffers PutSegment frames records in; records larger
// than maxPooledRecord are not kept.
var recordBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledRecord = 256 << 10

// claim marks k as being written, waiting while another call writes the
// same key, so that two concurrent retries never race each other.
func (s *Store) claim(ctx context.Context, k store.SegmentKey) (func(), error) {
	for {
		s.inflightMu.Lock()
		ch, busy := s.inflight[k]
		if !busy {
			ch = make(chan struct{})
			s.inflight[k] = ch
			s.inflightMu.Unlock()
			return func() {
				s.inflightMu.Lock()
				delete(s.inflight, k)
				s.inflightMu.Unlock()
				close(ch)
			}, nil
		}
		s.inflightMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func checkSegment(seg *store.NewSegment) error {
	switch {
	case seg == nil:
		return fmt.Errorf("%w: nil segment", store.ErrInvalid)
	case !seg.SegmentKey.Valid():
		return fmt.Errorf("%w: malformed segment key", store.ErrInvalid)
	case seg.Start > seg.End:
		return fmt.Errorf("%w: segment starts after it ends", store.ErrInvalid)
	case seg.Records < 0 || seg.RawSize < 0:
		return fmt.Errorf("%w: negative record count or size", store.ErrInvalid)
	case len(seg.Body) == 0:
		return fmt.Errorf("%w: empty segment body", store.ErrInvalid)
	}
	return nil
}

// SegmentList implements store.Segments.
func (s *Store) SegmentList(ctx context.Context, session string) ([]store.SegmentInfo, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	if !store.ValidID(session) {
		return nil, store.ErrNotFound
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT view, seq, start_ms, end_ms, full, records, raw, size, received
		FROM segments WHERE sess = (SELECT rid FROM sessions WHERE id = ?)`, session)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SegmentInfo
	for rows.Next() {
		in := store.SegmentInfo{SegmentKey: store.SegmentKey{Session: session}}
		if err := rows.Scan(&in.View, &in.Seq, &in.Start, &in.End, &in.FullSnapshot, &in.Records, &in.RawSize, &in.Size, &in.Received); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, store.ErrNotFound
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.View != b.View {
			return a.View < b.View
		}
		return a.Seq < b.Seq
	})
	return out, nil
}

// OpenSegment implements store.Segments. The reader yields exactly the
// stored gzip body.
func (s *Store) OpenSegment(ctx context.Context, k store.SegmentKey) (io.ReadCloser, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	if !k.Valid() {
		return nil, store.ErrNotFound
	}
	var name string
	var off int64
	err := s.rdb.QueryRowContext(ctx, `SELECT p.name, s.off FROM segments s JOIN packs p ON p.id = s.pack
		WHERE s.sess = (SELECT rid FROM sessions WHERE id = ?) AND s.view = ? AND s.seq = ?`, k.Session, k.View, k.Seq).Scan(&name, &off)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.packPath(name))
	if err != nil {
		return nil, fmt.Errorf("store: segment %s/%s/%d: %w", k.Session, k.View, k.Seq, err)
	}
	h, bodyOff, err := readRecordHeader(f, off, -1)
	if err == nil && h.key() != k {
		err = fmt.Errorf("%w: the record holds another key", errDamaged)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: segment %s/%s/%d in %s: %w", k.Session, k.View, k.Seq, name, err)
	}
	return &sectionFile{SectionReader: io.NewSectionReader(f, bodyOff, h.BodyLen), f: f}, nil
}

type sectionFile struct {
	*io.SectionReader
	f *os.File
}

func (s *sectionFile) Close() error { return s.f.Close() }
