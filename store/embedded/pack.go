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
func (s *Store) activePack(ctx context.Context, tx *sql.Tx) (*pack, error) {
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

// recoverPacks runs at Open: packs left by a Store that is gone (crashed)
// are cut back to their committed length; packs with nothing live, and
// pack files the index never heard of, are deleted. Packs locked by a live
// Store (this process's or another's) are left alone.
func (s *Store) recoverPacks(ctx context.Context) error {
	known := map[string]bool{}
	rows, err := s.wdb.QueryContext(ctx, `SELECT id, name, committed, live FROM packs`)
	if err != nil {
		return err
	}
	type row struct {
		id              int64
		name            string
		committed, live int64
	}
	var packs []row
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
	for _, r := range packs {
		if r.live == 0 {
			if _, err := s.dropPack(ctx, r.id, r.name); err != nil {
				return err
			}
			continue
		}
		if err := s.truncatePack(r.name, r.committed); err != nil {
			return err
		}
	}
	root := filepath.Join(s.dir, "packs")
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pack") {
			return nil
		}
		rel, _ := filepath.Rel(s.dir, path)
		if known[filepath.ToSlash(rel)] {
			return nil
		}
		if info, err := d.Info(); err != nil || time.Since(info.ModTime()) < orphanAge {
			return nil
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil
		}
		defer f.Close()
		if ok, _ := tryLock(f, true); ok {
			s.log.Info("removing a pack file that was never committed", zap.String("path", path))
			os.Remove(path)
		}
		return nil
	})
}

// truncatePack cuts an unlocked pack back to its committed length.
func (s *Store) truncatePack(name string, committed int64) error {
	f, err := os.OpenFile(s.packPath(name), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		s.log.Error("a pack the index refers to is missing (run `caddy replay reindex`)", zap.String("pack", name))
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
	if st.Size() > committed {
		s.log.Info("discarding segments written but never committed before a crash",
			zap.String("pack", name), zap.Int64("bytes", st.Size()-committed))
		if err := f.Truncate(committed); err != nil {
			return err
		}
		return datasync(f)
	}
	return nil
}

// dropPack deletes a pack with no live record, unless a Store is still
// appending to it. It reports whether it did.
func (s *Store) dropPack(ctx context.Context, id int64, name string) (bool, error) {
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
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM packs WHERE id = ? AND live = 0`, id); err != nil {
		return false, err
	}
	os.Remove(path)
	return true, nil
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

// dropEmptyPacks deletes every pack whose records are all deleted and that
// no Store appends to.
func (s *Store) dropEmptyPacks(ctx context.Context) error {
	type row struct {
		id   int64
		name string
	}
	var empty []row
	err := s.exec(ctx, func(ctx context.Context, tx *sql.Tx) error {
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
		return err
	}
	for _, r := range empty {
		if _, err := s.dropPack(ctx, r.id, r.name); err != nil {
			return err
		}
	}
	return nil
}
