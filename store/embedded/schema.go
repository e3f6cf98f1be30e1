package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// schemaVersion is stored in PRAGMA user_version. A store written by a newer
// version is refused rather than misread.
const schemaVersion = 6

// schema is the index. Everything in it can be rebuilt from the packs
// (segment records carry their key, info and Extra) and small files
// (tombstones, asset sightings) by Reindex.
//
// Sessions carry one column per filter and sort key. Sort keys have an
// index on (key, id), so keyset pagination is an index range scan, except
// duration and active time: they change with every segment, and their
// indexes doubled the cost of ingest (each is a random B-tree page written
// per segment); sorting by them scans the (time-filtered) sessions.
// URLs are stored once each (urls) and searched by substring through an FTS5
// trigram index over them; session_urls links sessions to them. Users are
// searched by prefix through session_users, one row per lower-cased id, name
// and email.
//
// A view's Start and End are not stored in the sessions row: they are the
// extent of the view's segments, read from the segments table, so a
// segment does not rewrite its session's list of views (only a new view, or
// a new URL or title, does).
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
	// Sites have far fewer distinct URLs than sessions visiting them, so
	// each URL is stored and trigram-indexed once. The writer adds the
	// trigrams of a transaction's new URLs in one statement just before it
	// commits (see Store.end): FTS5 writes its pending terms out as a new
	// index segment at every statement that opens a savepoint, so a
	// per-row trigger wrote (and later merged) one segment per URL.
	`CREATE TABLE urls (
		id INTEGER PRIMARY KEY,
		url TEXT NOT NULL UNIQUE
	)`,
	`CREATE VIRTUAL TABLE url_fts USING fts5(url, content='urls', content_rowid='id', tokenize='trigram')`,
	`CREATE TABLE session_urls (
		sess INTEGER NOT NULL,
		url INTEGER NOT NULL,
		PRIMARY KEY (sess, url)
	) WITHOUT ROWID`,
	`CREATE INDEX session_urls_url ON session_urls(url)`,
	`CREATE TABLE session_users (
		term TEXT NOT NULL,
		session TEXT NOT NULL,
		PRIMARY KEY (term, session)
	) WITHOUT ROWID`,
	`CREATE INDEX session_users_session ON session_users(session)`,
	sessionUserIDsTable,
	sessionUserIDsIndex,
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
	steps := schema
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("index schema version %d is newer than this Caddy Replay understands (%d): upgrade Caddy", v, schemaVersion)
	case v >= 1 && v <= 3:
		return fmt.Errorf("this store was written by a development build of Caddy Replay; move it away and start afresh")
	case v == 4:
		steps = append(append([]string(nil), migrate4to5...), migrate5to6...)
	case v == 5:
		steps = migrate5to6
	case v != 0:
		return fmt.Errorf("index schema version %d is unknown", v)
	}
	for _, q := range steps {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating index schema (from version %d): %w", v, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// migrate4to5 moves the URL search of schema version 4 (one session_urls row
// per session and URL, indexed by a trigger) to version 5's (each URL once
// in urls, linked to sessions by rid). The views column keeps version 4's
// extents, which readers ignore.
var migrate4to5 = []string{
	`DROP TRIGGER session_urls_ai`,
	`DROP TRIGGER session_urls_ad`,
	`DROP TABLE url_fts`,
	`ALTER TABLE session_urls RENAME TO session_urls_v4`,
	schema[urlsTable],
	`INSERT INTO urls (url) SELECT DISTINCT url FROM session_urls_v4 ORDER BY url`,
	schema[urlsTable+1], // url_fts
	schema[urlsTable+2], // session_urls
	schema[urlsTable+3], // its index by URL
	`INSERT OR IGNORE INTO session_urls (sess, url)
		SELECT s.rid, u.id FROM session_urls_v4 o JOIN sessions s ON s.id = o.session JOIN urls u ON u.url = o.url`,
	`DROP TABLE session_urls_v4`,
	`INSERT INTO url_fts (url_fts) VALUES ('rebuild')`,
}

// session_user_ids lists every user id a session has had, the current one
// included: DeleteUser must find a session that recorded a user before
// another signed in on the same browser (the sessions row names only the
// last).
const (
	sessionUserIDsTable = `CREATE TABLE session_user_ids (
		user_id TEXT NOT NULL,
		session TEXT NOT NULL,
		PRIMARY KEY (user_id, session)
	) WITHOUT ROWID`
	sessionUserIDsIndex = `CREATE INDEX session_user_ids_session ON session_user_ids(session)`
)

// migrate5to6 adds session_user_ids, filled with the user each session
// names (earlier users of a session were not kept by version 5).
var migrate5to6 = []string{
	sessionUserIDsTable,
	sessionUserIDsIndex,
	`INSERT OR IGNORE INTO session_user_ids (user_id, session) SELECT user_id, id FROM sessions WHERE user_id != ''`,
}

// urlsTable is the index in schema of the urls table, which the URL search's
// other three statements follow.
var urlsTable = func() int {
	for i, q := range schema {
		if strings.HasPrefix(q, "CREATE TABLE urls ") {
			return i
		}
	}
	panic("no urls table in the schema")
}()
