package embedded

import (
	"context"
	"database/sql"
	"fmt"
)

// schemaVersion is stored in PRAGMA user_version. A store written by a newer
// version is refused rather than misread.
const schemaVersion = 4

// schema is the index. Everything in it can be rebuilt from the packs
// (segment records carry their key, info and Extra) and small files
// (tombstones, asset sightings) by Reindex.
//
// Sessions carry one column per filter and sort key. Sort keys have an
// index on (key, id), so keyset pagination is an index range scan, except
// duration and active time: they change with every segment, and their
// indexes doubled the cost of ingest (each is a random B-tree page written
// per segment); sorting by them scans the (time-filtered) sessions.
// URLs are searched by substring through an FTS5 trigram index; users by
// prefix through session_users, one row per lower-cased id, name and email.
var schema = []string{
	// Sessions and segments are keyed by a row number given in creation
	// order (rid), not by the random session id: the sessions receiving
	// segments right now were created recently, so their rows, their
	// segments' key entries and their end_ms entries sit in a few pages at
	// the end of each B-tree, and a batch of segments dirties few pages.
	`CREATE TABLE sessions (
		rid INTEGER PRIMARY KEY,
		id TEXT NOT NULL UNIQUE,
		start_ms INTEGER NOT NULL,
		end_ms INTEGER NOT NULL,
		duration INTEGER NOT NULL,
		active_ms INTEGER NOT NULL,
		pages INTEGER NOT NULL,
		entry_url TEXT NOT NULL,
		clicks INTEGER NOT NULL,
		rage_clicks INTEGER NOT NULL,
		dead_clicks INTEGER NOT NULL,
		inputs INTEGER NOT NULL,
		errors INTEGER NOT NULL,
		vw INTEGER NOT NULL,
		vh INTEGER NOT NULL,
		user_agent TEXT NOT NULL,
		user_id TEXT NOT NULL,
		user_name TEXT NOT NULL,
		user_email TEXT NOT NULL,
		service TEXT NOT NULL,
		env TEXT NOT NULL,
		version TEXT NOT NULL,
		application_id TEXT NOT NULL,
		client_ip TEXT NOT NULL,
		segments INTEGER NOT NULL,
		bytes INTEGER NOT NULL,
		raw_bytes INTEGER NOT NULL,
		created INTEGER NOT NULL,
		updated INTEGER NOT NULL,
		urls TEXT NOT NULL,
		views TEXT NOT NULL,
		carry BLOB
	)`,
	`CREATE INDEX sessions_start ON sessions(start_ms, id)`,
	`CREATE INDEX sessions_end ON sessions(end_ms, id)`,
	`CREATE INDEX sessions_clicks ON sessions(clicks, id)`,
	`CREATE INDEX sessions_errors ON sessions(errors, id)`,
	`CREATE INDEX sessions_rage ON sessions(rage_clicks, id)`,
	`CREATE INDEX sessions_dead ON sessions(dead_clicks, id)`,
	`CREATE INDEX sessions_pages ON sessions(pages, id)`,
	`CREATE INDEX sessions_user ON sessions(user_id)`,
	// Segments are appended in arrival order (rowid), so a batch's rows
	// share pages; the key index is the only random insertion.
	`CREATE TABLE segments (
		id INTEGER PRIMARY KEY,
		sess INTEGER NOT NULL,
		view TEXT NOT NULL,
		seq INTEGER NOT NULL,
		start_ms INTEGER NOT NULL,
		end_ms INTEGER NOT NULL,
		full INTEGER NOT NULL,
		records INTEGER NOT NULL,
		raw INTEGER NOT NULL,
		size INTEGER NOT NULL,
		received INTEGER NOT NULL,
		pack INTEGER NOT NULL,
		off INTEGER NOT NULL,
		len INTEGER NOT NULL
	)`,
	`CREATE UNIQUE INDEX segments_key ON segments(sess, view, seq)`,
	`CREATE TABLE packs (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		committed INTEGER NOT NULL,
		live INTEGER NOT NULL,
		created INTEGER NOT NULL
	)`,
	`CREATE TABLE session_urls (
		id INTEGER PRIMARY KEY,
		session TEXT NOT NULL,
		url TEXT NOT NULL
	)`,
	`CREATE UNIQUE INDEX session_urls_key ON session_urls(session, url)`,
	`CREATE VIRTUAL TABLE url_fts USING fts5(url, content='session_urls', content_rowid='id', tokenize='trigram')`,
	`CREATE TRIGGER session_urls_ai AFTER INSERT ON session_urls BEGIN
		INSERT INTO url_fts(rowid, url) VALUES (new.id, new.url);
	END`,
	`CREATE TRIGGER session_urls_ad AFTER DELETE ON session_urls BEGIN
		INSERT INTO url_fts(url_fts, rowid, url) VALUES ('delete', old.id, old.url);
	END`,
	`CREATE TABLE session_users (
		term TEXT NOT NULL,
		session TEXT NOT NULL,
		PRIMARY KEY (term, session)
	) WITHOUT ROWID`,
	`CREATE INDEX session_users_session ON session_users(session)`,
	`CREATE TABLE tombstones (
		session TEXT PRIMARY KEY,
		deleted INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE TABLE assets (
		sha TEXT PRIMARY KEY,
		content_type TEXT NOT NULL,
		size INTEGER NOT NULL,
		first_seen INTEGER NOT NULL,
		last_seen INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE TABLE asset_urls (
		url TEXT NOT NULL,
		seen INTEGER NOT NULL,
		sha TEXT NOT NULL,
		last_seen INTEGER NOT NULL,
		PRIMARY KEY (url, seen)
	) WITHOUT ROWID`,
	`CREATE INDEX asset_urls_sha ON asset_urls(sha)`,
}

// migrate creates the schema in a new database and refuses one from a
// newer version of Caddy Replay.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("index schema version %d is newer than this Caddy Replay understands (%d): upgrade Caddy", v, schemaVersion)
	case v >= 1 && v <= 3:
		return fmt.Errorf("this store was written by a development build of Caddy Replay; move it away and start afresh")
	case v != 0:
		return fmt.Errorf("index schema version %d is unknown", v)
	}
	for _, q := range schema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating index schema: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}
