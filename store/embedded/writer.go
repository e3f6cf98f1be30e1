package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/store"
)

// querier is the writer's connection inside a transaction. The writer runs
// its transactions by hand on its own connection (BEGIN IMMEDIATE ...
// COMMIT) rather than with database/sql's Tx, so that the statements it
// prepared once on that connection are used as they are: a Tx would
// prepare each of them again in every transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// begin starts a write transaction on the writer's connection; end commits
// it (ok) or rolls it back.
func (s *Store) begin(ctx context.Context) error {
	s.newURLs = urlRange{}
	_, err := s.wc.ExecContext(ctx, `BEGIN IMMEDIATE`)
	return err
}

func (s *Store) end(ctx context.Context, ok bool) error {
	if ok {
		err := s.indexNewURLs(ctx)
		if err == nil {
			_, err = s.wc.ExecContext(ctx, `COMMIT`)
		}
		if err == nil {
			return nil
		}
		s.wc.ExecContext(ctx, `ROLLBACK`)
		s.forget()
		return err
	}
	_, err := s.wc.ExecContext(ctx, `ROLLBACK`)
	s.forget()
	return err
}

// urlRange is the ids of the URLs added to the urls table in the current
// transaction: new rows get ids above every existing one, so they are
// exactly the ids from lo to hi.
type urlRange struct{ lo, hi int64 }

// indexNewURLs adds the trigrams of the transaction's new URLs to url_fts,
// in one statement (see the schema: FTS5 writes an index segment per
// statement that follows a write to it).
func (s *Store) indexNewURLs(ctx context.Context) error {
	if s.newURLs.hi == 0 {
		return nil
	}
	_, err := s.stm.ftsAdd.ExecContext(ctx, s.newURLs.lo, s.newURLs.hi)
	s.newURLs = urlRange{}
	return err
}

// urlID returns the id of url in the urls table, adding it if new.
func (s *Store) urlID(ctx context.Context, url string) (int64, error) {
	if id, ok := s.urlIDs[url]; ok {
		return id, nil
	}
	var id int64
	switch err := s.stm.urlGet.QueryRowContext(ctx, url).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows):
		res, err := s.stm.urlAdd.ExecContext(ctx, url)
		if err != nil {
			return 0, err
		}
		if id, err = res.LastInsertId(); err != nil {
			return 0, err
		}
		if s.newURLs.hi == 0 {
			s.newURLs.lo = id
		}
		s.newURLs.lo, s.newURLs.hi = min(s.newURLs.lo, id), max(s.newURLs.hi, id)
	case err != nil:
		return 0, err
	}
	if len(s.urlIDs) >= maxCachedURLs {
		clear(s.urlIDs)
	}
	s.urlIDs[url] = id
	return id, nil
}

// maxCachedURLs bounds the writer's cache of URL ids.
const maxCachedURLs = 50000

// forget drops what the writer remembers of the index (sessions, URL ids):
// after a rollback, a deletion or another process's commit it may be
// wrong.
func (s *Store) forget() {
	clear(s.cache)
	clear(s.urlIDs)
}

// job is one unit of work for the writer goroutine: either a segment,
// framed as a pack record, to store in the next batch, or a function to run
// in a write transaction of its own.
type job struct {
	seg    *store.NewSegment
	record []byte // seg framed as a pack record
	fn     func(ctx context.Context, tx querier) error
	// keepCache: fn removes from the writer's caches what it changes
	// itself (see execKeepingCache).
	keepCache bool

	done    chan struct{}
	dup     bool
	err     error
	counted bool // counted in Store.preparing until queued
}

// writerStmts are the statements the writer prepares once.
type writerStmts struct {
	tomb, segGet, segPut, sessGet, viewsGet, sessPut     *sql.Stmt
	urlGet, urlAdd, ftsAdd, sessURLPut, userDel, userPut *sql.Stmt
	packCommit                                           *sql.Stmt
}

func (w *writerStmts) prepare(c *sql.Conn) error {
	var err error
	p := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = c.PrepareContext(context.Background(), q)
		return st
	}
	w.tomb = p(`SELECT deleted FROM tombstones WHERE session = ?`)
	w.segGet = p(`SELECT start_ms, end_ms, full, records, raw FROM segments WHERE sess = ? AND view = ? AND seq = ?`)
	// OR IGNORE: a duplicate key inserts nothing, which is how the writer
	// learns that a segment is a retry without a lookup per segment.
	w.segPut = p(`INSERT OR IGNORE INTO segments (sess, view, seq, start_ms, end_ms, full, records, raw, size, received, pack, off, len) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	w.sessGet = p(`SELECT rid, ` + sessionCols + ` FROM sessions WHERE id = ?`)
	w.viewsGet = p(viewExtentsQuery)
	w.sessPut = p(insertSession)
	w.urlGet = p(`SELECT id FROM urls WHERE url = ?`)
	w.urlAdd = p(`INSERT INTO urls (url) VALUES (?)`)
	w.ftsAdd = p(`INSERT INTO url_fts (rowid, url) SELECT id, url FROM urls WHERE id BETWEEN ? AND ?`)
	w.sessURLPut = p(`INSERT OR IGNORE INTO session_urls (sess, url) VALUES (?, ?)`)
	w.userDel = p(`DELETE FROM session_users WHERE session = ?`)
	w.userPut = p(`INSERT OR IGNORE INTO session_users (term, session) VALUES (?, ?)`)
	// Once per batch: prepared, rather than parsed again every batch.
	w.packCommit = p(`UPDATE packs SET committed = ?, live = live + ? WHERE id = ?`)
	return err
}

func (w *writerStmts) close() {
	for _, st := range []*sql.Stmt{w.tomb, w.segGet, w.segPut, w.sessGet, w.viewsGet, w.sessPut,
		w.urlGet, w.urlAdd, w.ftsAdd, w.sessURLPut, w.userDel, w.userPut, w.packCommit} {
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
	if j.seg != nil && j.counted {
		j.counted = false
		s.preparing.Add(-1)
	}
	<-j.done
	return j.err
}

// exec runs fn in a write transaction of its own, on the writer goroutine.
func (s *Store) exec(ctx context.Context, fn func(ctx context.Context, tx querier) error) error {
	return s.enqueue(ctx, &job{fn: fn})
}

// execKeepingCache is exec for an fn that removes from the writer's caches
// (cache, urlIDs) every session and URL it deletes or changes; the rest
// stays, so the segments that follow need not reload their sessions. A
// rollback leaves the caches right: fn only removes entries.
func (s *Store) execKeepingCache(ctx context.Context, fn func(ctx context.Context, tx querier) error) error {
	return s.enqueue(ctx, &job{fn: fn, keepCache: true})
}

// gatherWait is how long the writer waits for a segment that is being
// framed before it commits the batch without it.
const gatherWait = 200 * time.Microsecond

// Under load the writer waits up to lingerWait for a batch to reach
// lingerBelow segments.
const (
	lingerWait  = 2 * time.Millisecond
	lingerBelow = 32
)

// writer is the single goroutine that writes the index. It batches every
// segment that is waiting into one transaction (group commit).
func (s *Store) writer() {
	defer s.writerWG.Done()
	batch := make([]*job, 0, s.opts.MaxBatch)
	var gather *time.Timer
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
				continue
			default:
			}
			// Segments a few microseconds from the queue (being framed)
			// are worth waiting for: one more in this batch costs far
			// less than a batch of its own.
			wait := gatherWait
			if s.preparing.Load() == 0 {
				// Under load (more than one segment was already waiting),
				// linger briefly for a fuller batch: a commit costs about
				// the same for 8 segments as for 32, and the CPU it saves
				// goes to the requests (measured: 8.6 → 31 segments per
				// batch, 3,500 → 4,100+ segments/s, p99 59 → 48 ms). An
				// idle store commits a lone segment at once.
				if len(batch) < 2 || len(batch) >= lingerBelow {
					break
				}
				wait = lingerWait
			}
			if gather == nil {
				gather = time.NewTimer(wait)
			} else {
				gather.Reset(wait)
			}
			select {
			case j, ok := <-s.submit:
				gather.Stop()
				if !ok {
					break drain
				}
				batch = append(batch, j)
			case <-gather.C:
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
	// These commits (deletions, assets, reindex) are made durable at once:
	// unlike segments, nothing else would redo them after a power loss.
	if _, err := s.wc.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		j.err = err
		return
	}
	defer s.wc.ExecContext(ctx, `PRAGMA synchronous = NORMAL`)
	if err := s.begin(ctx); err != nil {
		j.err = err
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.end(ctx, false)
			s.forget()
			j.err = fmt.Errorf("store: write panicked: %v", r)
		}
	}()
	// A job may delete or rebuild sessions: forget what the writer knew.
	if !j.keepCache {
		defer s.forget()
	}
	if err := j.fn(ctx, s.wc); err != nil {
		s.end(ctx, false)
		j.err = err
		return
	}
	j.err = s.end(ctx, true)
}

// pendingSession is a session loaded (or created) during a batch.
type pendingSession struct {
	s     *store.Session // the state after this batch's segments so far
	base  *cachedSession // the row as in the index; nil before ensureRow
	dirty bool
	saved *cachedSession // what the row is once this batch commits
	// users are the user ids the session took in this batch, to add to
	// session_user_ids.
	users []string
}

// advance makes next the session's state after one more segment.
func (ps *pendingSession) advance(next *store.Session) {
	if next.UserID != "" && next.UserID != ps.s.UserID {
		ps.users = append(ps.users, next.UserID)
	}
	ps.s, ps.dirty = next, true
}

// cachedSession is the writer's copy of a committed session row, so that
// the next segment of the session needs neither a read nor a decode, and
// its update writes only the columns that changed (each sort column has an
// index to maintain). s is never modified (applySegment works on a copy).
type cachedSession struct {
	rid   int64
	s     *store.Session
	urls  map[string]bool // in session_urls
	terms []string        // in session_users
}

// maxCachedSessions bounds the writer's session cache.
const maxCachedSessions = 20000

// session returns the committed state of a session for a batch: from the
// cache, else from the index (nil base when there is no row).
func (s *Store) loadPending(id string) (*pendingSession, error) {
	if c := s.cache[id]; c != nil {
		return &pendingSession{s: c.s, base: c}, nil
	}
	var rid int64
	cur, _, err := scanSession(s.stm.sessGet.QueryRow(id), true, &rid)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &pendingSession{s: &store.Session{ID: id}}, nil
	case err != nil:
		return nil, err
	}
	rows, err := s.stm.viewsGet.Query(rid)
	if err != nil {
		return nil, err
	}
	if err := setViewExtents(cur, rows); err != nil {
		return nil, err
	}
	return &pendingSession{s: cur, base: newCached(rid, cur, nil)}, nil
}

// newCached describes a session row as stored; urls, when given, are the
// URLs already in session_urls.
func newCached(rid int64, sess *store.Session, urls map[string]bool) *cachedSession {
	if urls == nil {
		urls = make(map[string]bool, len(sess.URLs))
		for _, u := range sess.URLs {
			urls[u] = true
		}
	}
	return &cachedSession{rid: rid, s: sess, urls: urls, terms: userTerms(sess)}
}

// ensureRow gives a new session its row (empty but for the id), so that
// its segments can refer to its rid; saveSession fills it in.
func (s *Store) ensureRow(ctx context.Context, tx querier, ps *pendingSession) error {
	if ps.base != nil {
		return nil
	}
	empty := &store.Session{ID: ps.s.ID}
	c := newCached(0, empty, map[string]bool{})
	res, err := s.stm.sessPut.ExecContext(ctx, sessionArgs(empty)...)
	if err != nil {
		return err
	}
	if c.rid, err = res.LastInsertId(); err != nil {
		return err
	}
	ps.base = c
	return nil
}

// checkCache empties the session cache when another connection (another
// process) has committed since the last batch.
func (s *Store) checkCache(ctx context.Context, tx querier) error {
	var v int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return err
	}
	if v != s.dataVersion {
		s.forget()
		s.dataVersion = v
	} else if len(s.cache) > maxCachedSessions {
		clear(s.cache)
	}
	return nil
}

// commitSegments records a batch of segments: in one transaction it
// checks them, appends the new ones to the pack, fsyncs the pack once,
// indexes them and updates their sessions; then it acknowledges them all.
func (s *Store) commitSegments(jobs []*job) {
	started := time.Now()
	fail := func(err error) {
		for _, j := range jobs {
			if j.err == nil && !j.dup {
				j.err = err
			}
		}
	}
	defer func() {
		for _, j := range jobs {
			close(j.done)
		}
	}()
	ctx := context.Background()
	if err := s.begin(ctx); err != nil {
		fail(fmt.Errorf("store: starting the index transaction: %w", err))
		return
	}
	tx := querier(s.wc)
	committed := false
	var appended *pack // the pack written to, to cut back on failure
	newPack := false
	// synced receives the result of the batch's pack write and fsync,
	// which run beside the rest of the transaction (see below).
	var synced chan error
	waitSync := func() error {
		if synced == nil {
			return nil
		}
		err := <-synced
		synced = nil
		return err
	}
	defer func() {
		// Nothing touches the pack while its write may be in flight.
		waitSync()
		if committed {
			return
		}
		s.end(ctx, false)
		if appended != nil {
			if newPack {
				// Its index row is rolled back with the rest.
				name := appended.name
				s.sealActive()
				os.Remove(s.packPath(name))
			} else if err := appended.f.Truncate(appended.size); err != nil {
				s.log.Error("cutting back an uncommitted batch", zap.Error(err))
				s.sealActive()
			}
		}
	}()
	if err := s.checkCache(ctx, tx); err != nil {
		fail(err)
		return
	}
	tomb, segGet, segPut := s.stm.tomb, s.stm.segGet, s.stm.segPut

	sessions := make(map[string]*pendingSession)
	accepted := make([]*job, 0, len(jobs))
	batch := make(map[store.SegmentKey]bool, len(jobs))
	var p *pack   // the pack this batch appends to, opened at the first new segment
	var off int64 // where the next accepted record goes in p
	for _, j := range jobs {
		seg := j.seg
		k := seg.SegmentKey
		// A cached session has a row, so it has no tombstone (deletions
		// empty the cache).
		if sessions[k.Session] == nil && s.cache[k.Session] == nil {
			var deleted int64
			switch err := tomb.QueryRow(k.Session).Scan(&deleted); {
			case err == nil:
				j.err = store.ErrSessionDeleted
				continue
			case !errors.Is(err, sql.ErrNoRows):
				fail(err)
				return
			}
		}
		if batch[k] {
			// The same key twice in one batch (a retry that raced its
			// original): PutSegment tries again once this batch is done.
			j.err = errRetryInBatch
			continue
		}
		ps := sessions[k.Session]
		if ps == nil {
			var err error
			if ps, err = s.loadPending(k.Session); err != nil {
				fail(err)
				return
			}
			sessions[k.Session] = ps
		}
		if s.sessionFull(ps.s, k.View) {
			j.err = store.ErrSessionFull
			continue
		}
		next, err := s.applySegment(ps.s, seg)
		if err != nil {
			j.err = err
			continue
		}
		if err := s.ensureRow(ctx, tx, ps); err != nil {
			fail(err)
			return
		}
		if p == nil {
			newPack = s.active == nil || s.active.size >= packBytes || time.Since(s.active.created) >= packAge
			if p, err = s.activePack(ctx, tx); err != nil {
				newPack = false
				fail(fmt.Errorf("store: opening a pack: %w", err))
				return
			}
			off = p.size
			appended = p
		}
		n := int64(len(j.record))
		res, err := segPut.Exec(ps.base.rid, k.View, k.Seq, seg.Start, seg.End, seg.FullSnapshot,
			seg.Records, seg.RawSize, seg.Size, seg.Received, p.id, off, n)
		if err != nil {
			fail(err)
			return
		}
		if added, _ := res.RowsAffected(); added == 0 {
			// Stored before: a retry if it is the same segment.
			var old store.SegmentInfo
			if err := segGet.QueryRow(ps.base.rid, k.View, k.Seq).Scan(&old.Start, &old.End, &old.FullSnapshot, &old.Records, &old.RawSize); err != nil {
				fail(err)
				return
			}
			if sameSegment(&old, &seg.SegmentInfo) {
				j.dup = true
			} else {
				j.err = store.ErrConflict
			}
			continue
		}
		off += n
		ps.advance(next)
		batch[k] = true
		accepted = append(accepted, j)
	}

	if len(accepted) > 0 {
		// One write and one fsync for the whole batch, on another
		// goroutine: the fsync is mostly waiting for the disk, and the
		// session rows are written into the transaction meanwhile. The
		// transaction commits only once the fsync has returned, so the
		// index never refers to bytes a power loss could take, and no
		// segment is acknowledged before both.
		s.batchBuf = s.batchBuf[:0]
		for _, j := range accepted {
			s.batchBuf = append(s.batchBuf, j.record...)
		}
		synced = make(chan error, 1)
		go func(f *os.File, buf []byte, at int64) {
			if _, err := f.WriteAt(buf, at); err != nil {
				synced <- fmt.Errorf("store: writing segments: %w", err)
				return
			}
			if err := datasync(f); err != nil {
				synced <- fmt.Errorf("store: syncing segments: %w", err)
				return
			}
			synced <- nil
		}(p.f, s.batchBuf, p.size)
		if _, err := s.stm.packCommit.Exec(off, len(accepted), p.id); err != nil {
			fail(err)
			return
		}
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
	if err := waitSync(); err != nil {
		fail(err)
		return
	}
	if err := s.end(ctx, true); err != nil {
		committed = true // end rolled back already
		fail(fmt.Errorf("store: committing the index: %w", err))
		if appended != nil {
			if newPack {
				name := appended.name
				s.sealActive()
				os.Remove(s.packPath(name))
			} else {
				appended.f.Truncate(appended.size)
			}
		}
		return
	}
	committed = true
	if len(accepted) > 0 {
		p.size = off
		s.batches.Add(1)
		s.batchedSegments.Add(int64(len(accepted)))
		s.batchNanos.Add(int64(time.Since(started)))
	}
	for id, ps := range sessions {
		if ps.saved != nil {
			s.cache[id] = ps.saved
		}
	}
	if cap(s.batchBuf) > 8<<20 {
		s.batchBuf = nil // do not keep a huge batch's buffer
	}
}

// errRetryInBatch marks the second of two uploads of one key that reached
// the same batch; PutSegment turns it into a duplicate once the first is
// committed.
var errRetryInBatch = errors.New("store: retry in the same batch")

// sameSegment reports whether two uploads under one key are the same
// segment (a retry) rather than a numbering conflict.
func sameSegment(a, b *store.SegmentInfo) bool {
	return a.Start == b.Start && a.End == b.End && a.FullSnapshot == b.FullSnapshot &&
		a.Records == b.Records && a.RawSize == b.RawSize
}

// sessionFull reports whether a new segment of view would take sess past
// MaxViews. Only uploads are held to it: recovery and reindex index what
// was acknowledged, whatever the bound is now.
func (s *Store) sessionFull(sess *store.Session, view string) bool {
	return len(sess.Views) >= s.opts.MaxViews && !slices.ContainsFunc(sess.Views, func(v store.View) bool { return v.ID == view })
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

// saveSession writes a session's row (only the columns that changed since
// ensureRow or the last save) and its search rows. ps.saved is set to the
// row as written.
func (s *Store) saveSession(ctx context.Context, tx querier, ps *pendingSession) error {
	if err := s.ensureRow(ctx, tx, ps); err != nil {
		return err
	}
	b := ps.base
	var mask uint64
	var args []any
	for i := 1; i < len(sessionColumns); i++ {
		if c := &sessionColumns[i]; !c.same(ps.s, b.s) {
			mask |= 1 << i
			args = append(args, c.get(ps.s))
		}
	}
	if mask != 0 {
		st, err := s.updateStmt(ctx, tx, mask)
		if err != nil {
			return err
		}
		if _, err := st.Exec(append(args, b.rid)...); err != nil {
			return err
		}
	}
	saved := &cachedSession{rid: b.rid, s: ps.s, urls: b.urls, terms: b.terms}
	copied := false // b.urls may be cached: copy it before the first change
	for _, u := range ps.s.URLs {
		if saved.urls[u] {
			continue
		}
		id, err := s.urlID(ctx, u)
		if err != nil {
			return err
		}
		if _, err := s.stm.sessURLPut.Exec(b.rid, id); err != nil {
			return err
		}
		if !copied {
			saved.urls = make(map[string]bool, len(ps.s.URLs))
			for v := range b.urls {
				saved.urls[v] = true
			}
			copied = true
		}
		saved.urls[u] = true
	}
	if terms := userTerms(ps.s); !equalStrings(terms, b.terms) {
		if _, err := s.stm.userDel.ExecContext(ctx, ps.s.ID); err != nil {
			return err
		}
		userPut := s.stm.userPut
		for _, t := range terms {
			if _, err := userPut.Exec(t, ps.s.ID); err != nil {
				return err
			}
		}
		saved.terms = terms
	}
	for _, u := range ps.users {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO session_user_ids (user_id, session) VALUES (?, ?)`, u, ps.s.ID); err != nil {
			return err
		}
	}
	ps.users = nil
	ps.saved = saved
	// Later saves in the same batch build on this row.
	ps.base = saved
	return nil
}

// updateStmt returns the UPDATE of the columns in mask, prepared once on
// the writer's connection, for use in tx.
func (s *Store) updateStmt(ctx context.Context, tx querier, mask uint64) (*sql.Stmt, error) {
	st := s.updates[mask]
	if st == nil {
		var set []string
		for i, c := range sessionColumns {
			if mask&(1<<i) != 0 {
				set = append(set, c.name+" = ?")
			}
		}
		var err error
		st, err = s.wc.PrepareContext(ctx, `UPDATE sessions SET `+strings.Join(set, ", ")+` WHERE rid = ?`)
		if err != nil {
			return nil, err
		}
		if len(s.updates) >= 512 { // bounded: column sets are few in practice
			for _, old := range s.updates {
				old.Close()
			}
			clear(s.updates)
		}
		s.updates[mask] = st
	}
	return st, nil
}
