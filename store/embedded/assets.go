package embedded

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/caddy-replay/caddy-replay/store"
)

// assetSighting is the last (sha, seen) recorded in the index for a URL.
type assetSighting struct {
	sha  string
	seen int64
}

// sightingRefresh is how stale an index sighting may get before a repeat
// of the same (url, body) is written again: an asset served a thousand
// times a minute costs one index write a minute, not a thousand.
const sightingRefresh = 60_000 // ms

// maxAssetURL bounds an asset URL.
const maxAssetURL = 8192

// assetLogEntry is the file that records, for Reindex, that a URL started
// serving a body.
type assetLogEntry struct {
	URL         string `json:"url"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	Seen        int64  `json:"seen"`
}

func (s *Store) assetPath(sha string) string {
	return filepath.Join(s.dir, "assets", sha[:2], sha)
}

func (s *Store) assetLogPath(url, sha string, seen int64) string {
	uh := sha256.Sum256([]byte(url))
	u := hex.EncodeToString(uh[:])
	return filepath.Join(s.dir, "assetlog", u[:2], u[:32]+"-"+strconv.FormatInt(seen, 10)+"-"+sha[:16]+".json")
}

func validSHA(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	for i := 0; i < len(sha); i++ {
		c := sha[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// PutAsset implements store.Assets. The body is hashed as it is copied to
// a temporary file; a body already archived costs no fsync, and a URL that
// keeps serving the same body costs at most one index write a minute.
func (s *Store) PutAsset(ctx context.Context, a store.Asset, body io.Reader) (string, error) {
	if s.isClosed() {
		return "", store.ErrClosed
	}
	if a.URL == "" || len(a.URL) > maxAssetURL {
		return "", fmt.Errorf("%w: asset URL empty or longer than %d bytes", store.ErrInvalid, maxAssetURL)
	}
	if a.Seen == 0 {
		a.Seen = s.now().UnixMilli()
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(s.tmpDir, "asset-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(body, s.opts.MaxAssetBytes+1))
	if err == nil && n > s.opts.MaxAssetBytes {
		err = fmt.Errorf("%w: asset larger than %d bytes", store.ErrInvalid, s.opts.MaxAssetBytes)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return "", err
	}
	sha := hex.EncodeToString(h.Sum(nil))
	a.SHA256, a.Size = sha, n
	final := s.assetPath(sha)
	if _, err := os.Stat(final); err == nil {
		f.Close()
		os.Remove(tmp)
	} else {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.MkdirAll(filepath.Dir(final), 0o700)
		}
		if err == nil {
			err = os.Rename(tmp, final)
		}
		if err == nil {
			err = syncDir(filepath.Dir(final))
		}
		if err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("store: writing asset: %w", err)
		}
	}

	s.assetSeenMu.Lock()
	last, ok := s.assetSeen[a.URL]
	s.assetSeenMu.Unlock()
	if ok && last.sha == sha && a.Seen >= last.seen && a.Seen-last.seen < sightingRefresh {
		return sha, nil
	}
	err = s.exec(ctx, func(ctx context.Context, tx querier) error {
		return s.recordSighting(ctx, tx, a)
	})
	if err != nil {
		return "", err
	}
	s.assetSeenMu.Lock()
	if len(s.assetSeen) > 10000 {
		clear(s.assetSeen)
	}
	s.assetSeen[a.URL] = assetSighting{sha: sha, seen: a.Seen}
	s.assetSeenMu.Unlock()
	return sha, nil
}

func (s *Store) recordSighting(ctx context.Context, tx querier, a store.Asset) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO assets (sha, content_type, size, first_seen, last_seen) VALUES (?,?,?,?,?)
		ON CONFLICT(sha) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`,
		a.SHA256, a.ContentType, a.Size, a.Seen, a.Seen); err != nil {
		return err
	}
	var seen int64
	var sha string
	err := tx.QueryRowContext(ctx, `SELECT seen, sha FROM asset_urls WHERE url = ? AND seen <= ? ORDER BY seen DESC LIMIT 1`, a.URL, a.Seen).Scan(&seen, &sha)
	switch {
	case err == nil && sha == a.SHA256:
		_, err = tx.ExecContext(ctx, `UPDATE asset_urls SET last_seen = max(last_seen, ?) WHERE url = ? AND seen = ?`, a.Seen, a.URL, seen)
		return err
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return err
	}
	// The URL serves a new body from a.Seen on: record it durably for
	// Reindex, then in the index.
	entry, _ := json.Marshal(assetLogEntry{URL: a.URL, SHA256: a.SHA256, ContentType: a.ContentType, Size: a.Size, Seen: a.Seen})
	if err := writeFileSync(s.assetLogPath(a.URL, a.SHA256, a.Seen), entry); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO asset_urls (url, seen, sha, last_seen) VALUES (?,?,?,?)
		ON CONFLICT(url, seen) DO UPDATE SET sha = excluded.sha, last_seen = excluded.last_seen`, a.URL, a.Seen, a.SHA256, a.Seen)
	return err
}

// writeFileSync writes a small file atomically and durably.
func writeFileSync(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncDir(dir)
}

// LookupAsset implements store.Assets.
func (s *Store) LookupAsset(ctx context.Context, url string, at int64) (*store.Asset, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	a := store.Asset{URL: url}
	err := s.rdb.QueryRowContext(ctx, `SELECT u.sha, a.content_type, a.size, u.last_seen
		FROM asset_urls u JOIN assets a ON a.sha = u.sha
		WHERE u.url = ? AND u.seen <= ? ORDER BY u.seen DESC LIMIT 1`, url, at).Scan(&a.SHA256, &a.ContentType, &a.Size, &a.Seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// OpenAsset implements store.Assets. The reader is an *os.File, so it can
// be served with http.ServeContent.
func (s *Store) OpenAsset(ctx context.Context, sha string) (io.ReadCloser, *store.Asset, error) {
	if s.isClosed() {
		return nil, nil, store.ErrClosed
	}
	if !validSHA(sha) {
		return nil, nil, store.ErrNotFound
	}
	a := store.Asset{SHA256: sha}
	err := s.rdb.QueryRowContext(ctx, `SELECT a.content_type, a.size, a.last_seen, coalesce(
		(SELECT url FROM asset_urls WHERE sha = a.sha ORDER BY last_seen DESC LIMIT 1), '')
		FROM assets a WHERE a.sha = ?`, sha).Scan(&a.ContentType, &a.Size, &a.Seen, &a.URL)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, store.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(s.assetPath(sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, store.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	return f, &a, nil
}
