package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/store"
)

// job is one unit of work for the writer goroutine: either a segment whose
// blob waits in the temporary directory, or a function to run in its own
// write transaction.
type job struct {
	seg *store.NewSegment
	tmp string
	fn  func(ctx context.Context, tx *sql.Tx) error

	done chan struct{}
	dup  bool
	err  error
}

// writerStmts are the statements the writer prepares once.
type writerStmts struct {
	tomb, segGet, segPut, sessGet, sessPut, urlPut, userDel, userPut *sql.Stmt
}

func (w *writerStmts) prepare(db *sql.DB) error {
	var err error
	p := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.Prepare(q)
		return st
	}
	w.tomb = p(`SELECT deleted FROM tombstones WHERE session = ?`)
	w.segGet = p(`SELECT start_ms, end_ms, full, records, raw FROM segments WHERE session = ? AND view = ? AND seq = ?`)
	w.segPut = p(`INSERT INTO segments (session, view, seq, start_ms, end_ms, full, records, raw, size, received) VALUES (?,?,?,?,?,?,?,?,?,?)`)
	w.sessGet = p(`SELECT ` + sessionCols + ` FROM sessions WHERE id = ?`)
	w.sessPut = p(upsertSession)
	w.urlPut = p(`INSERT OR IGNORE INTO session_urls (session, url) VALUES (?, ?)`)
	w.userDel = p(`DELETE FROM session_users WHERE session = ?`)
	w.userPut = p(`INSERT OR IGNORE INTO session_users (term, session) VALUES (?, ?)`)
	return err
}

func (w *writerStmts) close() {
	for _, st := range []*sql.Stmt{w.tomb, w.segGet, w.segPut, w.sessGet, w.sessPut, w.urlPut, w.userDel, w.userPut} {
		if st != nil {
			st.Close()
		}
	}
}

// enqueue hands j to the writer and waits until it is done. The wait does
// not end early on ctx: once queued, a write is either committed or
// refused, and the caller must know which.
func (s *Store) enqueue(ctx context.Context, j *job) error {
	j.done = make(chan struct{})
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.submit <- j:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	<-j.done
	return j.err
}

// exec runs fn in a write transaction of its own, on the writer goroutine.
func (s *Store) exec(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.enqueue(ctx, &job{fn: fn})
}

// writer is the single goroutine that writes the index. It batches every
// segment that is waiting into one transaction (group commit).
func (s *Store) writer() {
	defer s.writerWG.Done()
	batch := make([]*job, 0, s.opts.MaxBatch)
	for {
		j, ok := <-s.submit
		if !ok {
			return
		}
		batch = append(batch[:0], j)
	drain:
		for len(batch) < s.opts.MaxBatch {
			select {
			case j, ok := <-s.submit:
				if !ok {
					break drain
				}
				batch = append(batch, j)
			default:
				break drain
			}
		}
		s.runBatch(batch)
	}
}

func (s *Store) runBatch(batch []*job) {
	start := 0
	for i, j := range batch {
		if j.seg != nil {
			continue
		}
		if start < i {
			s.commitSegments(batch[start:i])
		}
		s.runFn(j)
		start = i + 1
	}
	if start < len(batch) {
		s.commitSegments(batch[start:])
	}
}

func (s *Store) runFn(j *job) {
	defer close(j.done)
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		j.err = err
		return
	}
	defer func() {
		if r := recover(); r != nil {
			tx.Rollback()
			j.err = fmt.Errorf("store: write panicked: %v", r)
		}
	}()
	if err := j.fn(ctx, tx); err != nil {
		tx.Rollback()
		j.err = err
		return
	}
	j.err = tx.Commit()
}

// pendingSession is a session loaded (or created) during a batch.
type pendingSession struct {
	s        *store.Session
	dirty    bool
	urls     map[string]bool // URLs already in session_urls
	oldTerms []string
}

// commitSegments records a batch of segments in one transaction, then moves
// their blobs into place and acknowledges them.
func (s *Store) commitSegments(jobs []*job) {
	accepted := make([]*job, 0, len(jobs))
	fail := func(err error) {
		for _, j := range jobs {
			if j.err == nil && !j.dup {
				j.err = err
			}
		}
		accepted = accepted[:0]
	}
	defer func() {
		for _, j := range jobs {
			if j.err != nil || j.dup {
				os.Remove(j.tmp)
			}
			close(j.done)
		}
	}()

	// The blobs' directory entries must be durable before the index says
	// the segments exist: Open's recovery finds them there after a crash.
	if err := syncDir(s.tmpDir); err != nil {
		fail(fmt.Errorf("store: syncing the temporary directory: %w", err))
		return
	}
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("store: starting the index transaction: %w", err))
		return
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	st := func(stmt *sql.Stmt) *sql.Stmt { return tx.StmtContext(ctx, stmt) }
	tomb, segGet, segPut, sessGet := st(s.stm.tomb), st(s.stm.segGet), st(s.stm.segPut), st(s.stm.sessGet)

	sessions := make(map[string]*pendingSession)
	for _, j := range jobs {
		seg := j.seg
		k := seg.SegmentKey
		var deleted int64
		switch err := tomb.QueryRow(k.Session).Scan(&deleted); {
		case err == nil:
			j.err = store.ErrSessionDeleted
			continue
		case !errors.Is(err, sql.ErrNoRows):
			fail(err)
			return
		}
		var old store.SegmentInfo
		switch err := segGet.QueryRow(k.Session, k.View, k.Seq).Scan(&old.Start, &old.End, &old.FullSnapshot, &old.Records, &old.RawSize); {
		case err == nil:
			if old.Start == seg.Start && old.End == seg.End && old.FullSnapshot == seg.FullSnapshot &&
				old.Records == seg.Records && old.RawSize == seg.RawSize {
				j.dup = true
			} else {
				j.err = store.ErrConflict
			}
			continue
		case !errors.Is(err, sql.ErrNoRows):
			fail(err)
			return
		}

		ps := sessions[k.Session]
		if ps == nil {
			cur, _, err := scanSession(sessGet.QueryRow(k.Session), true)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				cur = &store.Session{ID: k.Session}
			case err != nil:
				fail(err)
				return
			}
			ps = &pendingSession{s: cur, urls: make(map[string]bool, len(cur.URLs)), oldTerms: userTerms(cur)}
			for _, u := range cur.URLs {
				ps.urls[u] = true
			}
			sessions[k.Session] = ps
		}
		next, err := s.applySegment(ps.s, seg)
		if err != nil {
			j.err = err
			continue
		}
		if _, err := segPut.Exec(k.Session, k.View, k.Seq, seg.Start, seg.End, seg.FullSnapshot, seg.Records, seg.RawSize, seg.Size, seg.Received); err != nil {
			fail(err)
			return
		}
		ps.s, ps.dirty = next, true
		accepted = append(accepted, j)
	}

	for _, ps := range sessions {
		if !ps.dirty {
			continue
		}
		if err := s.saveSession(ctx, tx, ps); err != nil {
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("store: committing the index: %w", err))
		return
	}
	committed = true

	for _, j := range accepted {
		final := s.segmentPath(j.seg.SegmentKey)
		err := os.Rename(j.tmp, final)
		if errors.Is(err, os.ErrNotExist) {
			if err = os.MkdirAll(filepath.Dir(final), 0o700); err == nil {
				err = os.Rename(j.tmp, final)
			}
		}
		if err != nil {
			// The segment is committed and its blob is durable in the
			// temporary directory: Close or the next Open moves it.
			s.log.Error("moving a segment blob into place", zap.Error(err), zap.String("path", final))
		}
	}
}

// applySegment returns the session after seg: the backend's own
// bookkeeping, then the caller's Update on a copy, so a failing Update
// changes nothing.
func (s *Store) applySegment(cur *store.Session, seg *store.NewSegment) (next *store.Session, err error) {
	next = cloneSession(cur)
	accountSegment(next, &seg.SegmentInfo)
	if seg.Update != nil {
		defer func() {
			if r := recover(); r != nil {
				next, err = nil, fmt.Errorf("store: session update panicked: %v", r)
			}
		}()
		seg.Update(next)
	}
	next.ID = cur.ID
	if len(next.URLs) > s.opts.MaxURLs {
		next.URLs = next.URLs[:s.opts.MaxURLs]
	}
	return next, nil
}

// accountSegment is the bookkeeping every backend does for a segment
// before the caller's Update: times, sizes and the view's extent.
func accountSegment(sess *store.Session, info *store.SegmentInfo) {
	if sess.Segments == 0 || info.Start < sess.Start {
		sess.Start = info.Start
	}
	if sess.Segments == 0 || info.End > sess.End {
		sess.End = info.End
	}
	sess.Duration = sess.End - sess.Start
	sess.Segments++
	sess.Bytes += info.Size
	sess.RawBytes += info.RawSize
	if sess.Created == 0 || info.Received < sess.Created {
		sess.Created = info.Received
	}
	if info.Received > sess.Updated {
		sess.Updated = info.Received
	}
	for i := range sess.Views {
		v := &sess.Views[i]
		if v.ID == info.View {
			v.Start = min(v.Start, info.Start)
			v.End = max(v.End, info.End)
			sortViews(sess.Views)
			return
		}
	}
	sess.Views = append(sess.Views, store.View{ID: info.View, Start: info.Start, End: info.End})
	sortViews(sess.Views)
}

func sortViews(v []store.View) {
	sort.SliceStable(v, func(i, j int) bool { return v[i].Start < v[j].Start })
}

// saveSession writes a session row and its search rows.
func (s *Store) saveSession(ctx context.Context, tx *sql.Tx, ps *pendingSession) error {
	args, err := sessionArgs(ps.s)
	if err != nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, s.stm.sessPut).Exec(args...); err != nil {
		return err
	}
	urlPut := tx.StmtContext(ctx, s.stm.urlPut)
	for _, u := range ps.s.URLs {
		if !ps.urls[u] {
			if _, err := urlPut.Exec(ps.s.ID, u); err != nil {
				return err
			}
			ps.urls[u] = true
		}
	}
	terms := userTerms(ps.s)
	if !equalStrings(terms, ps.oldTerms) {
		if _, err := tx.StmtContext(ctx, s.stm.userDel).Exec(ps.s.ID); err != nil {
			return err
		}
		userPut := tx.StmtContext(ctx, s.stm.userPut)
		for _, t := range terms {
			if _, err := userPut.Exec(t, ps.s.ID); err != nil {
				return err
			}
		}
		ps.oldTerms = terms
	}
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
