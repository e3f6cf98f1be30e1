package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/store"
)

// tombstoneKeep is the least time a tombstone is kept, whatever the
// retention: long enough for any recorder still uploading to a deleted
// session (sessions last at most 4 h) to give up.
const tombstoneKeep = 7 * 24 * time.Hour

// DeleteSession implements store.Maintenance. Deleting a session that is
// already deleted succeeds; an unknown id is ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	if !store.ValidID(id) {
		return store.ErrNotFound
	}
	now := s.now().UnixMilli()
	err := s.exec(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sessions WHERE id = ?) + (SELECT count(*) FROM tombstones WHERE session = ?)`, id, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		// The tombstone file first: if we crash after it, Reindex still
		// drops the session, and a retried delete finishes the job.
		if err := writeFileSync(s.tombstonePath(id), []byte(strconv.FormatInt(now, 10))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO tombstones (session, deleted) VALUES (?, ?)`, id, now); err != nil {
			return err
		}
		return deleteSessionRows(ctx, tx, id)
	})
	if err != nil {
		return err
	}
	return s.removeSessionBlobs(id)
}

func (s *Store) tombstonePath(id string) string {
	return filepath.Join(s.dir, "tombstones", fileName(id))
}

func deleteSessionRows(ctx context.Context, tx *sql.Tx, id string) error {
	for _, q := range []string{
		`DELETE FROM segments WHERE session = ?`,
		`DELETE FROM session_urls WHERE session = ?`,
		`DELETE FROM session_users WHERE session = ?`,
		`DELETE FROM sessions WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) removeSessionBlobs(id string) error {
	dir := s.sessionDir(id)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("store: removing %s: %w", dir, err)
	}
	syncDir(filepath.Dir(dir))
	return nil
}

// DeleteUser implements store.Maintenance.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	if userID == "" {
		return 0, fmt.Errorf("%w: empty user id", store.ErrInvalid)
	}
	ids, err := s.sessionIDs(ctx, `SELECT id FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		switch err := s.DeleteSession(ctx, id); {
		case err == nil:
			n++
		case errors.Is(err, store.ErrNotFound):
		default:
			return n, err
		}
	}
	return n, nil
}

func (s *Store) sessionIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Expire implements store.Maintenance. Expired sessions get no tombstone:
// the collector refuses segments that old anyway. Tombstones themselves go
// once older than both before and a week. An archived asset goes when no
// URL served it since before, unless it is still the current body of a URL
// (a visitor whose browser cached it records pages that need it without the
// proxy seeing it again).
func (s *Store) Expire(ctx context.Context, before time.Time) (int, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	cut := before.UnixMilli()
	total := 0
	for {
		ids, err := s.sessionIDs(ctx, `SELECT id FROM sessions WHERE end_ms < ? ORDER BY end_ms LIMIT 256`, cut)
		if err != nil || len(ids) == 0 {
			if err == nil {
				break
			}
			return total, err
		}
		err = s.exec(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for _, id := range ids {
				if err := deleteSessionRows(ctx, tx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		for _, id := range ids {
			if err := s.removeSessionBlobs(id); err != nil {
				return total, err
			}
		}
		total += len(ids)
	}

	tombCut := min(cut, s.now().Add(-tombstoneKeep).UnixMilli())
	old, err := s.sessionIDs(ctx, `SELECT session FROM tombstones WHERE deleted < ?`, tombCut)
	if err != nil {
		return total, err
	}
	if len(old) > 0 {
		for _, id := range old {
			os.Remove(s.tombstonePath(id))
		}
		if err := s.exec(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM tombstones WHERE deleted < ?`, tombCut)
			return err
		}); err != nil {
			return total, err
		}
	}
	return total, s.expireAssets(ctx, cut)
}

func (s *Store) expireAssets(ctx context.Context, cut int64) error {
	type sighting struct {
		url, sha string
		seen     int64
	}
	var gone []sighting
	var shas []string
	err := s.exec(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT url, sha, seen FROM asset_urls AS u WHERE last_seen < ?
			AND seen < (SELECT max(seen) FROM asset_urls b WHERE b.url = u.url)`, cut)
		if err != nil {
			return err
		}
		for rows.Next() {
			var g sighting
			if err := rows.Scan(&g.url, &g.sha, &g.seen); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, g)
		}
		rows.Close()
		for _, g := range gone {
			if _, err := tx.ExecContext(ctx, `DELETE FROM asset_urls WHERE url = ? AND seen = ?`, g.url, g.seen); err != nil {
				return err
			}
		}
		rows, err = tx.QueryContext(ctx, `SELECT sha FROM assets WHERE last_seen < ? AND NOT EXISTS (SELECT 1 FROM asset_urls WHERE sha = assets.sha)`, cut)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sha string
			if err := rows.Scan(&sha); err != nil {
				rows.Close()
				return err
			}
			shas = append(shas, sha)
		}
		rows.Close()
		for _, sha := range shas {
			if _, err := tx.ExecContext(ctx, `DELETE FROM assets WHERE sha = ?`, sha); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, g := range gone {
		os.Remove(s.assetLogPath(g.url, g.sha, g.seen))
	}
	for _, sha := range shas {
		os.Remove(s.assetPath(sha))
	}
	if len(gone)+len(shas) > 0 {
		s.assetSeenMu.Lock()
		clear(s.assetSeen)
		s.assetSeenMu.Unlock()
	}
	return nil
}

// Reindex implements store.Maintenance. It needs the store to itself: it
// returns ErrBusy while another process (a running Caddy) has it open.
// Damaged blobs are left where they are and counted in Skipped; blobs of
// deleted sessions are removed. A nil summarize rebuilds only what the
// store itself tracks (times, sizes, views).
func (s *Store) Reindex(ctx context.Context, summarize store.Summarizer) (store.ReindexStats, error) {
	var stats store.ReindexStats
	if s.isClosed() {
		return stats, store.ErrClosed
	}
	if err := unlock(s.lock); err != nil {
		return stats, err
	}
	ok, err := tryLock(s.lock, true)
	if err != nil || !ok {
		if lerr := s.waitLock(s.lock, false); lerr != nil {
			return stats, lerr
		}
		if err != nil {
			return stats, err
		}
		return stats, fmt.Errorf("%w: another process has the store open; stop Caddy (and other `caddy replay` commands) and retry", store.ErrBusy)
	}
	defer func() {
		unlock(s.lock)
		if err := s.waitLock(s.lock, false); err != nil {
			s.log.Error("re-taking the shared store lock after reindex", zap.Error(err))
		}
	}()
	if err := s.recoverTmp(ctx, true); err != nil {
		return stats, err
	}
	err = s.exec(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		stats, err = s.rebuild(ctx, tx, summarize)
		return err
	})
	s.assetSeenMu.Lock()
	clear(s.assetSeen)
	s.assetSeenMu.Unlock()
	return stats, err
}

func (s *Store) rebuild(ctx context.Context, tx *sql.Tx, summarize store.Summarizer) (store.ReindexStats, error) {
	var stats store.ReindexStats
	for _, t := range []string{"segments", "session_urls", "session_users", "sessions", "tombstones", "asset_urls", "assets"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
			return stats, err
		}
	}

	tombs := map[string]bool{}
	tdir := filepath.Join(s.dir, "tombstones")
	entries, err := os.ReadDir(tdir)
	if err != nil {
		return stats, err
	}
	for _, e := range entries {
		id, ok := idFromFileName(e.Name())
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(tdir, e.Name()))
		if err != nil {
			return stats, err
		}
		deleted, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		tombs[id] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO tombstones (session, deleted) VALUES (?, ?)`, id, deleted); err != nil {
			return stats, err
		}
	}

	segRoot := filepath.Join(s.dir, "segments")
	buckets, err := os.ReadDir(segRoot)
	if err != nil {
		return stats, err
	}
	for _, b := range buckets {
		if !b.IsDir() {
			continue
		}
		dirs, err := os.ReadDir(filepath.Join(segRoot, b.Name()))
		if err != nil {
			return stats, err
		}
		for _, d := range dirs {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			dir := filepath.Join(segRoot, b.Name(), d.Name())
			id, ok := idFromFileName(d.Name())
			if !ok || !d.IsDir() || !strings.HasPrefix(d.Name(), b.Name()) {
				stats.Skipped++
				continue
			}
			if tombs[id] {
				os.RemoveAll(dir)
				continue
			}
			n, err := s.rebuildSession(ctx, tx, id, dir, summarize, &stats)
			if err != nil {
				return stats, err
			}
			if n > 0 {
				stats.Sessions++
				stats.Segments += n
			}
		}
	}
	return stats, s.rebuildAssets(ctx, tx, &stats)
}

type rebuiltSegment struct {
	info  store.SegmentInfo
	extra []byte
	path  string
}

func (s *Store) rebuildSession(ctx context.Context, tx *sql.Tx, id, dir string, summarize store.Summarizer, stats *store.ReindexStats) (int, error) {
	files, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var segs []rebuiltSegment
	for _, f := range files {
		p := filepath.Join(dir, f.Name())
		h, _, err := readBlob(p)
		if err != nil {
			s.log.Warn("reindex: skipping a damaged segment blob", zap.String("path", p), zap.Error(err))
			stats.Skipped++
			continue
		}
		k := store.SegmentKey{Session: h.Session, View: h.View, Seq: h.Seq}
		if h.Session != id || segmentFileName(k) != f.Name() {
			s.log.Warn("reindex: skipping a segment blob that is not where its key says", zap.String("path", p))
			stats.Skipped++
			continue
		}
		segs = append(segs, rebuiltSegment{info: h.info(), extra: h.Extra, path: p})
	}
	sort.Slice(segs, func(i, j int) bool {
		a, b := segs[i].info, segs[j].info
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.View != b.View {
			return a.View < b.View
		}
		return a.Seq < b.Seq
	})
	ps := &pendingSession{s: &store.Session{ID: id}, urls: map[string]bool{}}
	n := 0
	for _, sg := range segs {
		var update func(*store.Session)
		if summarize != nil {
			_, body, err := readBlob(sg.path)
			if err != nil {
				stats.Skipped++
				continue
			}
			update, err = summarize(sg.info, sg.extra, body)
			if err != nil {
				s.log.Warn("reindex: the summarizer refused a segment; indexing it without metadata",
					zap.String("path", sg.path), zap.Error(err))
				update = nil
			}
		}
		next, err := s.applySegment(ps.s, &store.NewSegment{SegmentInfo: sg.info, Update: update})
		if err != nil {
			next, _ = s.applySegment(ps.s, &store.NewSegment{SegmentInfo: sg.info})
		}
		in := sg.info
		if _, err := tx.ExecContext(ctx, `INSERT INTO segments (session, view, seq, start_ms, end_ms, full, records, raw, size, received) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			in.Session, in.View, in.Seq, in.Start, in.End, in.FullSnapshot, in.Records, in.RawSize, in.Size, in.Received); err != nil {
			return n, err
		}
		ps.s, ps.dirty = next, true
		n++
	}
	if n == 0 {
		return 0, nil
	}
	return n, s.saveSession(ctx, tx, ps)
}

func (s *Store) rebuildAssets(ctx context.Context, tx *sql.Tx, stats *store.ReindexStats) error {
	type meta struct {
		ct          string
		size        int64
		first, last int64
	}
	assets := map[string]*meta{}
	aroot := filepath.Join(s.dir, "assets")
	buckets, err := os.ReadDir(aroot)
	if err != nil {
		return err
	}
	for _, b := range buckets {
		files, err := os.ReadDir(filepath.Join(aroot, b.Name()))
		if err != nil {
			continue
		}
		for _, f := range files {
			if !validSHA(f.Name()) || !strings.HasPrefix(f.Name(), b.Name()) {
				stats.Skipped++
				continue
			}
			fi, err := f.Info()
			if err != nil {
				continue
			}
			mt := fi.ModTime().UnixMilli()
			assets[f.Name()] = &meta{ct: "application/octet-stream", size: fi.Size(), first: mt, last: mt}
		}
	}

	lroot := filepath.Join(s.dir, "assetlog")
	buckets, err = os.ReadDir(lroot)
	if err != nil {
		return err
	}
	var sightings []assetLogEntry
	for _, b := range buckets {
		files, err := os.ReadDir(filepath.Join(lroot, b.Name()))
		if err != nil {
			continue
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), ".json") {
				continue
			}
			p := filepath.Join(lroot, b.Name(), f.Name())
			raw, err := os.ReadFile(p)
			var e assetLogEntry
			if err == nil {
				err = json.Unmarshal(raw, &e)
			}
			if err != nil || !validSHA(e.SHA256) || e.URL == "" {
				stats.Skipped++
				continue
			}
			if assets[e.SHA256] == nil {
				os.Remove(p) // its body is gone
				continue
			}
			sightings = append(sightings, e)
		}
	}
	sort.Slice(sightings, func(i, j int) bool { return sightings[i].Seen < sightings[j].Seen })
	seenSHA := map[string]bool{}
	for _, e := range sightings {
		m := assets[e.SHA256]
		if !seenSHA[e.SHA256] {
			m.first, m.last = e.Seen, e.Seen
			seenSHA[e.SHA256] = true
		}
		m.ct = e.ContentType
		m.first, m.last = min(m.first, e.Seen), max(m.last, e.Seen)
		if _, err := tx.ExecContext(ctx, `INSERT INTO asset_urls (url, seen, sha, last_seen) VALUES (?,?,?,?)
			ON CONFLICT(url, seen) DO UPDATE SET sha = excluded.sha, last_seen = excluded.last_seen`, e.URL, e.Seen, e.SHA256, e.Seen); err != nil {
			return err
		}
	}
	for sha, m := range assets {
		if _, err := tx.ExecContext(ctx, `INSERT INTO assets (sha, content_type, size, first_seen, last_seen) VALUES (?,?,?,?,?)`,
			sha, m.ct, m.size, m.first, m.last); err != nil {
			return err
		}
		stats.Assets++
	}
	return nil
}
