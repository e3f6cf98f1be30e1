package embedded

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/store"
)

// Segments are appended to pack files: packs/<day>/<name>.pack. Each open
// Store appends to a pack of its own (locked, so no other process touches
// it), fsyncs it once per batch and records in the same index transaction
// how far the pack is committed. Anything past that point is a write that
// was never acknowledged; recovery cuts it off.
//
// A pack is sealed when it reaches packBytes or packAge, so that packs
// hold recordings of a bounded period and retention can delete whole
// files. Deleting a session punches its records out of their packs (the
// disk blocks are freed and the bytes read as zeros); a pack with no live
// record left is deleted.
const (
	packBytes = 64 << 20
	packAge   = time.Hour
	// orphanAge: a pack file the index does not know is deleted by
	// recovery only when older than this (its creator may be about to
	// record it).
	orphanAge = time.Minute
)

// pack is the file this Store appends to.
type pack struct {
	id      int64
	name    string // relative to the store directory, with forward slashes
	f       *os.File
	size    int64 // committed length
	created time.Time
}

func (s *Store) packPath(name string) string {
	return filepath.Join(s.dir, filepath.FromSlash(name))
}

// activePack returns the pack to append to, creating it (and its index
// row, in tx) when there is none or the current one is full or old.
func (s *Store) activePack(ctx context.Context, tx querier) (*pack, error) {
	if p := s.active; p != nil {
		if p.size < packBytes && time.Since(p.created) < packAge {
			return p, nil
		}
		s.sealActive()
	}
	now := time.Now()
	var rnd [6]byte
	rand.Read(rnd[:])
	day := now.UTC().Format("2006-01-02")
	name := fmt.Sprintf("packs/%s/%d-%d-%s.pack", day, now.UnixMilli(), os.Getpid(), hex.EncodeToString(rnd[:]))
	path := s.packPath(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if ok, err := tryLock(f, true); !ok || err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("store: locking a new pack: %v", err)
	}
	// The new file's directory entry must be durable before the index
	// refers to it.
	if err := syncDir(filepath.Dir(path)); err == nil {
		err = syncDir(filepath.Dir(filepath.Dir(path)))
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO packs (name, committed, live, created) VALUES (?, 0, 0, ?)`, name, now.UnixMilli())
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	id, _ := res.LastInsertId()
	s.active = &pack{id: id, name: name, f: f, created: now}
	return s.active, nil
}

// sealActive stops appending to the current pack.
func (s *Store) sealActive() {
	if s.active != nil {
		s.active.f.Close() // releases the lock
		s.active = nil
	}
}

// recoverPacks runs at Open. The index is committed without an fsync of
// its own (synchronous=NORMAL): what makes a segment durable is the fsync
// of its pack, which precedes the acknowledgement. So after a power loss
// the index may lack the last batches, while their records are safe in the
// packs. Recovery reads every pack past what the index has committed and
// indexes the complete records it finds (with Options.Summarizer for their
// session metadata), then cuts anything incomplete. Packs locked by a live
// Store are left alone, as are unknown pack files younger than orphanAge
// (a Store may be creating one right now).
func (s *Store) recoverPacks(ctx context.Context) error {
	type row struct {
		id              int64
		name            string
		committed, live int64
	}
	var packs []row
	known := map[string]bool{}
	rows, err := s.wc.QueryContext(ctx, `SELECT id, name, committed, live FROM packs`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.name, &r.committed, &r.live); err != nil {
			rows.Close()
			return err
		}
		packs = append(packs, r)
		known[r.name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	root := filepath.Join(s.dir, "packs")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pack") {
			return nil
		}
		name := packName(s.dir, path)
		if known[name] {
			return nil
		}
		if info, err := d.Info(); err != nil || time.Since(info.ModTime()) < orphanAge {
			return nil
		}
		packs = append(packs, row{id: -1, name: name})
		return nil
	})
	for _, r := range packs {
		if err := s.recoverPack(ctx, r.id, r.name, r.committed); err != nil {
			return fmt.Errorf("recovering %s: %w", r.name, err)
		}
	}
	return s.dropEmptyPacksNow(ctx)
}

// recoverPack indexes the complete records of one pack past committed (id
// -1: a pack the index does not know) and cuts the rest.
func (s *Store) recoverPack(ctx context.Context, id int64, name string, committed int64) error {
	path := s.packPath(name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		if id >= 0 {
			s.log.Error("a pack the index refers to is missing (run `caddy replay reindex`)", zap.String("pack", name))
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if ok, _ := tryLock(f, true); !ok {
		return nil // its writer is alive
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() == committed {
		return nil
	}
	records, end, skipped, err := scanPackFrom(f, path, committed, st.Size())
	if err != nil {
		return err
	}
	if len(records) > 0 {
		if err := s.begin(ctx); err != nil {
			return err
		}
		tx := querier(s.wc)
		done := false
		defer func() {
			if !done {
				s.end(ctx, false)
			}
		}()
		if id < 0 {
			res, err := tx.ExecContext(ctx, `INSERT INTO packs (name, committed, live, created) VALUES (?, 0, 0, ?)`, name, st.ModTime().UnixMilli())
			if err != nil {
				return err
			}
			id, _ = res.LastInsertId()
		}
		for i := range records {
			records[i].pack, records[i].path = id, path
		}
		n, doomed, err := s.indexRecords(ctx, tx, records)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE packs SET committed = ?, live = live + ? WHERE id = ?`, end, n, id); err != nil {
			return err
		}
		done = true
		if err := s.end(ctx, true); err != nil {
			return err
		}
		s.log.Info("indexed segments that were stored but not yet indexed at a crash",
			zap.String("pack", name), zap.Int("segments", n))
		if err := s.punchSpans(ctx, doomed); err != nil {
			return err
		}
	} else if id >= 0 {
		end = committed
	}
	if skipped > 0 || st.Size() > end {
		s.log.Info("discarding an incomplete write from before a crash",
			zap.String("pack", name), zap.Int64("bytes", st.Size()-end))
		if err := f.Truncate(end); err != nil {
			return err
		}
		return datasync(f)
	}
	return nil
}

// safeSummarize calls a Summarizer, turning a panic into an error: a bug in
// it must not keep the store from opening.
func safeSummarize(f store.Summarizer, info store.SegmentInfo, extra, body []byte) (update func(*store.Session), err error) {
	defer func() {
		if r := recover(); r != nil {
			update, err = nil, fmt.Errorf("summarizer panicked: %v", r)
		}
	}()
	return f(info, extra, body)
}

// indexRecords indexes records found in packs, in the order given (the
// order they were written in), as the writer would have: bookkeeping, the
// Summarizer's update, session rows. Records of deleted sessions and keys
// already indexed are returned to be erased. It returns how many it indexed.
func (s *Store) indexRecords(ctx context.Context, tx querier, records []found) (int, []span, error) {
	tomb, segGet, segPut := s.stm.tomb, s.stm.segGet, s.stm.segPut
	sessions := map[string]*pendingSession{}
	var doomed []span
	n := 0
	for _, r := range records {
		info := r.h.info()
		k := info.SegmentKey
		drop := func() {
			doomed = append(doomed, span{pack: r.pack, name: packName(s.dir, r.path), off: r.off, len: r.len})
		}
		var x int64
		if err := tomb.QueryRow(k.Session).Scan(&x); err == nil {
			drop()
			continue
		}
		ps := sessions[k.Session]
		if ps == nil {
			var err error
			if ps, err = s.loadPending(k.Session); err != nil {
				return n, nil, err
			}
			sessions[k.Session] = ps
		}
		if err := s.ensureRow(ctx, tx, ps); err != nil {
			return n, nil, err
		}
		var old store.SegmentInfo
		if err := segGet.QueryRow(ps.base.rid, k.View, k.Seq).Scan(&old.Start, &old.End, &old.FullSnapshot, &old.Records, &old.RawSize); err == nil {
			drop()
			continue
		}
		var update func(*store.Session)
		if s.opts.Summarizer != nil {
			if body, err := readBody(r); err == nil {
				update, err = safeSummarize(s.opts.Summarizer, info, r.h.Extra, body)
				if err != nil {
					update = nil
				}
			}
		}
		next, err := s.applySegment(ps.s, &store.NewSegment{SegmentInfo: info, Update: update})
		if err != nil {
			next, _ = s.applySegment(ps.s, &store.NewSegment{SegmentInfo: info})
		}
		if _, err := segPut.Exec(ps.base.rid, k.View, k.Seq, info.Start, info.End, info.FullSnapshot, info.Records,
			info.RawSize, info.Size, info.Received, r.pack, r.off, r.len); err != nil {
			return n, nil, err
		}
		ps.advance(next)
		n++
	}
	for _, ps := range sessions {
		if ps.dirty {
			if err := s.saveSession(ctx, tx, ps); err != nil {
				return n, nil, err
			}
		}
	}
	return n, doomed, nil
}

// dropPack deletes a pack with no live record, unless a Store is still
// appending to it. del removes its index row (through the writer, or
// directly at Open). It reports whether it did.
func (s *Store) dropPack(ctx context.Context, id int64, name string, del func(id int64) error) (bool, error) {
	path := s.packPath(name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		ok, _ := tryLock(f, true)
		if !ok {
			f.Close()
			return false, nil
		}
		defer f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if err := del(id); err != nil {
		return false, err
	}
	os.Remove(path)
	return true, nil
}

// deletePackRow removes an empty pack's row; it runs on the writer's
// connection, so callers go through exec once the writer runs.
func deletePackRow(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, id int64) error {
	_, err := q.ExecContext(ctx, `DELETE FROM packs WHERE id = ? AND live = 0`, id)
	return err
}

// span is where a segment's record lies.
type span struct {
	pack     int64
	name     string
	off, len int64
	dup      bool // a second copy Reindex found
}

// punchSpans deletes records from their packs (after their index rows are
// gone) and drops the packs left empty.
func (s *Store) punchSpans(ctx context.Context, spans []span) error {
	byPack := map[string][]span{}
	for _, sp := range spans {
		byPack[sp.name] = append(byPack[sp.name], sp)
	}
	var errs []error
	for name, list := range byPack {
		f, err := os.OpenFile(s.packPath(name), os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, sp := range list {
			if err := punch(f, sp.off, sp.len); err != nil {
				errs = append(errs, fmt.Errorf("store: erasing a deleted segment from %s: %w", name, err))
			}
		}
		f.Close()
	}
	return errors.Join(errs...)
}

// dropEmptyPacksNow is dropEmptyPacks before the writer runs (Open).
func (s *Store) dropEmptyPacksNow(ctx context.Context) error {
	rows, err := s.wc.QueryContext(ctx, `SELECT id, name FROM packs WHERE live = 0`)
	if err != nil {
		return err
	}
	type row struct {
		id   int64
		name string
	}
	var empty []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.name); err != nil {
			rows.Close()
			return err
		}
		empty = append(empty, r)
	}
	rows.Close()
	direct := func(id int64) error { return deletePackRow(ctx, s.wc, id) }
	for _, r := range empty {
		if _, err := s.dropPack(ctx, r.id, r.name, direct); err != nil {
			return err
		}
	}
	return rows.Err()
}

// dropEmptyPacks deletes every pack whose records are all deleted and that
// no Store appends to, and returns the names of those it deleted.
func (s *Store) dropEmptyPacks(ctx context.Context) (map[string]bool, error) {
	type row struct {
		id   int64
		name string
	}
	var empty []row
	// Packs only: the writer's caches of sessions and URLs stay.
	err := s.execKeepingCache(ctx, func(ctx context.Context, tx querier) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM packs WHERE live = 0`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.name); err != nil {
				return err
			}
			if s.active == nil || s.active.id != r.id {
				empty = append(empty, r)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	viaWriter := func(id int64) error {
		return s.execKeepingCache(ctx, func(ctx context.Context, tx querier) error { return deletePackRow(ctx, tx, id) })
	}
	dropped := map[string]bool{}
	for _, r := range empty {
		ok, err := s.dropPack(ctx, r.id, r.name, viaWriter)
		if err != nil {
			return dropped, err
		}
		if ok {
			dropped[r.name] = true
		}
	}
	return dropped, nil
}
