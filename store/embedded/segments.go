package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

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
	k := seg.SegmentKey
	release, err := s.claim(ctx, k)
	if err != nil {
		return false, err
	}
	defer release()

	seg.Size = int64(len(seg.Body))
	j := &job{seg: seg, tmp: filepath.Join(s.tmpDir, tmpSegmentName(k))}
	if err := writeBlob(j.tmp, seg); err != nil {
		return false, fmt.Errorf("store: writing segment blob: %w", err)
	}
	if err := s.enqueue(ctx, j); err != nil {
		if j.done == nil || !isDone(j.done) {
			// Never queued (closed or cancelled): the blob is ours to drop.
			os.Remove(j.tmp)
		}
		return false, err
	}
	return j.dup, nil
}

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// claim marks k as being written, waiting while another call writes the
// same key, so that two concurrent retries never race on one blob.
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
		FROM segments WHERE session = ? ORDER BY start_ms, view, seq`, session)
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
	path := s.segmentPath(k)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		f, err = s.awaitBlob(ctx, k, path)
	}
	if err != nil {
		return nil, err
	}
	h, _, off, err := readBlobHeader(io.NewSectionReader(f, 0, maxHeader+int64(len(segMagic)+4)))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: segment %s/%s/%d: %w", k.Session, k.View, k.Seq, err)
	}
	if h.Session != k.Session || h.View != k.View || h.Seq != k.Seq {
		f.Close()
		return nil, fmt.Errorf("store: segment blob %s holds another key", path)
	}
	return &sectionFile{SectionReader: io.NewSectionReader(f, off, h.BodyLen), f: f}, nil
}

// awaitBlob covers the moment between a segment's commit and the rename of
// its blob (in this process or another): when the index has the segment,
// the blob appears within milliseconds.
func (s *Store) awaitBlob(ctx context.Context, k store.SegmentKey, path string) (*os.File, error) {
	var one int
	err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM segments WHERE session = ? AND view = ? AND seq = ?`, k.Session, k.View, k.Seq).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	for range 50 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		f, err := os.Open(path)
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("store: segment %s/%s/%d is indexed but its blob is missing (run `caddy replay reindex`)", k.Session, k.View, k.Seq)
}

type sectionFile struct {
	*io.SectionReader
	f *os.File
}

func (s *sectionFile) Close() error { return s.f.Close() }
