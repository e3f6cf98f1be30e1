package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	err := s.exec(ctx, func(ctx context.Context, tx querier) error {
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
		spans, _, err := deleteSessionRows(ctx, tx, id)
		if err != nil {
			return err
		}
		// The records are erased before the index forgets where they
		// are: if that fails (or the process dies before the commit),
		// the deletion is rolled back and a retry finds them again.
		// Erased after the commit, a failure left them on disk with
		// nothing pointing at them, and a retried delete found nothing
		// to do. (Expire erases after its commit: no one was promised
		// those bytes are gone, and their packs go whole once empty.)
		return s.punchSpans(ctx, spans)
	})
	if err != nil {
		return err
	}
	// Packs left with nothing live go whole (at the latest at the next
	// Open, if this fails).
	_, err = s.dropEmptyPacks(ctx)
	return err
}

// erase punches deleted segments out of their packs and drops the packs
// left empty.
func (s *Store) erase(ctx context.Context, spans []span) error {
	if len(spans) == 0 {
		return nil
	}
	// A pack left with nothing live is deleted whole (retention usually
	// empties old packs entirely); holes are punched only in packs that
	// keep other recordings.
	dropped, err := s.dropEmptyPacks(ctx)
	if err != nil {
		return err
	}
	keep := spans[:0:0]
	for _, sp := range spans {
		if !dropped[sp.name] {
			keep = append(keep, sp)
		}
	}
	return s.punchSpans(ctx, keep)
}

func (s *Store) tombstonePath(id string) string {
	return filepath.Join(s.dir, "tombstones", fileName(id))
}

// expireSlice runs one of Expire's transactions (see expireSessions). The
// writer keeps its caches but for what it deleted: forgetting all of them
// made every segment after a slice reload its session.
func (s *Store) expireSlice(ctx context.Context, ids []string, cut int64) (r expiredSlice, err error) {
	err = s.execKeepingCache(ctx, func(ctx context.Context, tx querier) error {
		var err error
		r, err = expireSessions(ctx, tx, ids, cut, time.Now().Add(s.tune.expireSlice))
		for _, id := range r.sessions {
			delete(s.cache, id)
		}
		for _, u := range r.urls {
			delete(s.urlIDs, u)
		}
		return err
	})
	return r, err
}

// expiredSlice is what one of Expire's transactions did.
type expiredSlice struct {
	spans []span // the deleted segments, to erase after the commit
	done  int    // ids gone through
	// sessions and urls were deleted (for the writer's caches).
	sessions, urls []string
}

// expireSessions deletes the sessions of ids that still ended before cut,
// in order, until the deadline passes (at least one, so the janitor always
// advances). The ids were chosen outside the writer, so a segment may have
// arrived since and moved a session's end past cut: deleting it then would
// take an acknowledged segment with it.
func expireSessions(ctx context.Context, tx querier, ids []string, cut int64, deadline time.Time) (r expiredSlice, err error) {
	for _, id := range ids {
		if r.done > 0 && time.Now().After(deadline) {
			break
		}
		r.done++
		var end int64
		switch err := tx.QueryRowContext(ctx, `SELECT end_ms FROM sessions WHERE id = ?`, id).Scan(&end); {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return r, err
		}
		if end >= cut {
			continue
		}
		sp, urls, err := deleteSessionRows(ctx, tx, id)
		if err != nil {
			return r, err
		}
		r.spans = append(r.spans, sp...)
		r.sessions = append(r.sessions, id)
		r.urls = append(r.urls, urls...)
	}
	return r, nil
}

// deleteSessionRows deletes a session from the index and returns where
// its segments lie, to be erased once the transaction commits, and the
// URLs deleted with it.
func deleteSessionRows(ctx context.Context, tx querier, id string) ([]span, []string, error) {
	var rid int64
	switch err := tx.QueryRowContext(ctx, `SELECT rid FROM sessions WHERE id = ?`, id).Scan(&rid); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT s.pack, p.name, s.off, s.len FROM segments s JOIN packs p ON p.id = s.pack WHERE s.sess = ?`, rid)
	if err != nil {
		return nil, nil, err
	}
	var spans []span
	for rows.Next() {
		var sp span
		if err := rows.Scan(&sp.pack, &sp.name, &sp.off, &sp.len); err != nil {
			rows.Close()
			return nil, nil, err
		}
		spans = append(spans, sp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	perPack := map[int64]int{}
	for _, sp := range spans {
		perPack[sp.pack]++
	}
	for pack, n := range perPack {
		if _, err := tx.ExecContext(ctx, `UPDATE packs SET live = max(0, live - ?) WHERE id = ?`, n, pack); err != nil {
			return nil, nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM segments WHERE sess = ?`, rid); err != nil {
		return nil, nil, err
	}
	urls, err := deleteSessionURLs(ctx, tx, rid)
	if err != nil {
		return nil, nil, err
	}
	for _, q := range []string{
		`DELETE FROM session_users WHERE session = ?`,
		`DELETE FROM session_user_ids WHERE session = ?`,
		`DELETE FROM sessions WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return nil, nil, err
		}
	}
	return spans, urls, nil
}

// deleteSessionURLs unlinks a session from its URLs and deletes the URLs
// (and their trigrams) that no other session visited; it returns those.
func deleteSessionURLs(ctx context.Context, tx querier, rid int64) (deleted []string, err error) {
	type url struct {
		id  int64
		url string
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, url FROM urls WHERE id IN (SELECT url FROM session_urls WHERE sess = ?)`, rid)
	if err != nil {
		return nil, err
	}
	var urls []url
	for rows.Next() {
		var u url
		if err := rows.Scan(&u.id, &u.url); err != nil {
			rows.Close()
			return nil, err
		}
		urls = append(urls, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM session_urls WHERE sess = ?`, rid); err != nil {
		return nil, err
	}
	for _, u := range urls {
		var used bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM session_urls WHERE url = ?)`, u.id).Scan(&used); err != nil {
			return nil, err
		}
		if used {
			continue
		}
		// An external-content FTS5 table forgets a row given the
		// content it indexed.
		if _, err := tx.ExecContext(ctx, `INSERT INTO url_fts (url_fts, rowid, url) VALUES ('delete', ?, ?)`, u.id, u.url); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM urls WHERE id = ?`, u.id); err != nil {
			return nil, err
		}
		deleted = append(deleted, u.url)
	}
	return deleted, nil
}

// DeleteUser implements store.Maintenance.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	if userID == "" {
		return 0, fmt.Errorf("%w: empty user id", store.ErrInvalid)
	}
	// Every session the user was recorded in, also those where another
	// user signed in afterwards.
	ids, err := s.sessionIDs(ctx, `SELECT session FROM session_user_ids WHERE user_id = ?`, userID)
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
		// Each transaction stops after expireSlice: the writer, which
		// segments wait for, runs one thing at a time, and deleting a
		// session takes about 2 ms over a million (a batch of 256 held
		// segment writes up for half a second).
		for len(ids) > 0 {
			r, err := s.expireSlice(ctx, ids, cut)
			if err != nil {
				return total, err
			}
			ids = ids[r.done:]
			if err := s.erase(ctx, r.spans); err != nil {
				return total, err
			}
			total += len(r.sessions)
		}
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
		if err := s.exec(ctx, func(ctx context.Context, tx querier) error {
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
	err := s.exec(ctx, func(ctx context.Context, tx querier) error {
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
// Damaged records are left where they are and counted in Skipped; records of
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
	err = s.exec(ctx, func(ctx context.Context, tx querier) error {
		var err error
		stats, err = s.rebuild(ctx, tx, summarize)
		return err
	})
	s.assetSeenMu.Lock()
	clear(s.assetSeen)
	s.assetSeenMu.Unlock()
	return stats, err
}

func (s *Store) rebuild(ctx context.Context, tx querier, summarize store.Summarizer) (store.ReindexStats, error) {
	var stats store.ReindexStats
	for _, t := range []string{"segments", "session_urls", "urls", "session_users", "session_user_ids", "sessions", "tombstones", "asset_urls", "assets", "packs"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
			return stats, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO url_fts (url_fts) VALUES ('delete-all')`); err != nil {
		return stats, err
	}
	// What the writer remembers of the index (sessions, URL ids) names rows
	// that are gone: trusted, a cached URL would never be added again and
	// the rebuilt sessions would point at ids no URL has.
	s.forget()
	s.sealActive() // its row is gone; the next write starts a new pack

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

	// Read every record of every pack.
	bySession := map[string][]found{}
	var doomed []span
	packs, err := filepath.Glob(filepath.Join(s.dir, "packs", "*", "*.pack"))
	if err != nil {
		return stats, err
	}
	sort.Strings(packs)
	for _, path := range packs {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		rel, _ := filepath.Rel(s.dir, path)
		name := filepath.ToSlash(rel)
		res, err := tx.ExecContext(ctx, `INSERT INTO packs (name, committed, live, created) VALUES (?, 0, 0, ?)`, name, s.now().UnixMilli())
		if err != nil {
			return stats, err
		}
		id, _ := res.LastInsertId()
		records, end, skipped, err := scanPack(path)
		if err != nil {
			return stats, err
		}
		stats.Skipped += skipped
		for _, r := range records {
			if tombs[r.h.Session] {
				doomed = append(doomed, span{pack: id, name: name, off: r.off, len: r.len})
				continue
			}
			r.pack = id
			bySession[r.h.Session] = append(bySession[r.h.Session], r)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE packs SET committed = ? WHERE id = ?`, end, id); err != nil {
			return stats, err
		}
		if err := cutTail(path, end); err != nil {
			return stats, err
		}
	}

	ids := make([]string, 0, len(bySession))
	for id := range bySession {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n, err := s.rebuildSession(ctx, tx, id, bySession[id], summarize, &stats, &doomed)
		if err != nil {
			return stats, err
		}
		if n > 0 {
			stats.Sessions++
			stats.Segments += n
		}
	}
	counts := map[int64]int{}
	for _, recs := range bySession {
		for _, r := range recs {
			counts[r.pack]++
		}
	}
	for _, d := range doomed {
		if d.pack != 0 && counts[d.pack] > 0 && d.dup {
			counts[d.pack]--
		}
	}
	if err := setLive(ctx, tx, counts); err != nil {
		return stats, err
	}
	if err := s.punchSpans(ctx, doomed); err != nil {
		return stats, err
	}
	return stats, s.rebuildAssets(ctx, tx, &stats)
}

// setLive sets the live count of the packs Reindex indexed records from.
func setLive(ctx context.Context, tx querier, counts map[int64]int) error {
	for pack, n := range counts {
		if _, err := tx.ExecContext(ctx, `UPDATE packs SET live = ? WHERE id = ?`, n, pack); err != nil {
			return err
		}
	}
	return nil
}

// found is a record Reindex read from a pack.
type found struct {
	h        *recordHeader
	pack     int64
	path     string
	off, len int64
}

// scanPack reads a pack's records in order. Damaged stretches are skipped
// (counted, unless they are zeros: deleted records); end is where the last
// good record ends.
func scanPack(path string) (records []found, end int64, skipped int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	records, end, skipped, err = scanPackFrom(f, path, 0, st.Size())
	return records, end, skipped, err
}

// scanPackFrom reads the records of the pack at path, open as f, from off
// to size.
func scanPackFrom(f io.ReaderAt, path string, off, size int64) (records []found, end int64, skipped int, err error) {
	end = off
	seen := map[store.SegmentKey]bool{}
	for off < size {
		h, _, n, rerr := readRecord(f, off, size)
		if rerr == nil {
			if !seen[h.key()] { // a key twice: keep the first, as the index did
				seen[h.key()] = true
				records = append(records, found{h: h, path: path, off: off, len: n})
			}
			off += n
			end = off
			continue
		}
		// A damaged record's length is not to be trusted, even when it
		// fits the file: a write cut short leaves a header whose length
		// runs over the records written after it. Step over it by its
		// length only when no record starts inside it (a record whose body
		// alone is damaged: bodies are gzip, they hold no magic).
		next := nextMagic(f, off+1, size)
		if n > 0 && (next < 0 || next >= off+n) {
			skipped++ // one damaged record
			off += n
			continue
		}
		if next < 0 {
			next = size
		}
		if !allZero(f, off, next) {
			skipped++
		}
		off = next
	}
	return records, end, skipped, nil
}

// allZero reports whether [from, to) of f is zeros (a deleted record).
func allZero(f io.ReaderAt, from, to int64) bool {
	if from >= to {
		return true
	}
	buf := make([]byte, min(int64(32<<10), to-from))
	for from < to {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), to-from)], from)
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		if err != nil || n == 0 {
			return from+int64(n) >= to
		}
		from += int64(n)
	}
	return true
}

// cutTail removes what follows the last good record of a pack (a batch
// that was never committed).
func cutTail(path string, end int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() <= end {
		return err
	}
	if err := f.Truncate(end); err != nil {
		return err
	}
	return datasync(f)
}

func (s *Store) rebuildSession(ctx context.Context, tx querier, id string, recs []found, summarize store.Summarizer, stats *store.ReindexStats, doomed *[]span) (int, error) {
	sort.Slice(recs, func(i, j int) bool {
		a, b := recs[i].h, recs[j].h
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.View != b.View {
			return a.View < b.View
		}
		return a.Seq < b.Seq
	})
	ps := &pendingSession{s: &store.Session{ID: id}}
	n := 0
	var prev store.SegmentKey
	for i, r := range recs {
		info := r.h.info()
		if i > 0 && info.SegmentKey == prev {
			// The same key in two packs: index one, erase the other so
			// that deleting the session later leaves nothing behind.
			*doomed = append(*doomed, span{pack: r.pack, name: packName(s.dir, r.path), off: r.off, len: r.len, dup: true})
			continue
		}
		prev = info.SegmentKey
		var update func(*store.Session)
		if summarize != nil {
			body, err := readBody(r)
			if err != nil {
				stats.Skipped++
				continue
			}
			update, err = safeSummarize(summarize, info, r.h.Extra, body)
			if err != nil {
				s.log.Warn("reindex: the summarizer refused a segment; indexing it without metadata",
					zap.String("pack", r.path), zap.Int64("offset", r.off), zap.Error(err))
				update = nil
			}
		}
		next, err := s.applySegment(ps.s, &store.NewSegment{SegmentInfo: info, Update: update})
		if err != nil {
			next, _ = s.applySegment(ps.s, &store.NewSegment{SegmentInfo: info})
		}
		if err := s.ensureRow(ctx, tx, ps); err != nil {
			return n, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO segments (sess, view, seq, start_ms, end_ms, full, records, raw, size, received, pack, off, len) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			ps.base.rid, info.View, info.Seq, info.Start, info.End, info.FullSnapshot, info.Records, info.RawSize, info.Size, info.Received, r.pack, r.off, r.len); err != nil {
			return n, err
		}
		ps.advance(next)
		n++
	}
	if n == 0 {
		return 0, nil
	}
	return n, s.saveSession(ctx, tx, ps)
}

func packName(dir, path string) string {
	rel, _ := filepath.Rel(dir, path)
	return filepath.ToSlash(rel)
}

// readBody reads a found record's body.
func readBody(r found) ([]byte, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, body, _, err := readRecord(f, r.off, r.off+r.len)
	return body, err
}

func (s *Store) rebuildAssets(ctx context.Context, tx querier, stats *store.ReindexStats) error {
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
