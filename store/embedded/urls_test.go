package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

// segAt is a segment whose update records the view's URL, as the
// collector's does.
func segAt(sid, vid string, seq int, start, end int64, url string) *store.NewSegment {
	n := newSeg(sid, vid, seq, start, end)
	n.Update = func(s *store.Session) {
		for i := range s.Views {
			if s.Views[i].ID == vid {
				s.Views[i].URL = url
			}
		}
		if !slices.Contains(s.URLs, url) {
			s.URLs = append(s.URLs, url)
		}
	}
	return n
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// ftsIntegrity runs FTS5's own check of the trigram index against the
// urls table.
func ftsIntegrity(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.cdb.Exec(`INSERT INTO url_fts (url_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("the URL index disagrees with the urls table: %v", err)
	}
}

func findByURL(t *testing.T, s *Store, sub string) []string {
	t.Helper()
	page, err := s.ListSessions(context.Background(), store.Query{URL: sub, Sort: store.SortStart})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range page.Sessions {
		ids = append(ids, x.ID)
	}
	return ids
}

// Each URL is stored and indexed once however many sessions visit it, and
// leaves the index with the last session that visited it.
func TestURLsStoredOnce(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	a, b, vid := storetest.ID("url-a"), storetest.ID("url-b"), storetest.ID("view")
	const cart, home = "https://shop.example/cart", "https://shop.example/"
	mustPut(t, s, segAt(a, vid, 0, 1000, 2000, cart))
	mustPut(t, s, segAt(b, vid, 0, 1500, 2500, cart))
	mustPut(t, s, segAt(b, storetest.ID("view2"), 0, 3000, 4000, home))
	if n := count(t, s.cdb, `SELECT count(*) FROM urls`); n != 2 {
		t.Errorf("%d rows in urls, want 2 (each URL once)", n)
	}
	if n := count(t, s.cdb, `SELECT count(*) FROM session_urls`); n != 3 {
		t.Errorf("%d rows in session_urls, want 3", n)
	}
	if got := findByURL(t, s, "CART"); !slices.Equal(got, []string{a, b}) {
		t.Errorf("sessions at the cart: %v, want [%s %s]", got, a, b)
	}
	ftsIntegrity(t, s)

	if err := s.DeleteSession(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := findByURL(t, s, "cart"); !slices.Equal(got, []string{b}) {
		t.Errorf("after deleting %s: %v at the cart, want [%s]", a, got, b)
	}
	if err := s.DeleteSession(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s.cdb, `SELECT count(*) FROM urls`); n != 0 {
		t.Errorf("%d URLs left after deleting every session that visited them", n)
	}
	if n := count(t, s.cdb, `SELECT count(*) FROM url_fts WHERE url_fts MATCH '"shop"'`); n != 0 {
		t.Errorf("the trigram index still finds %d deleted URLs", n)
	}
	ftsIntegrity(t, s)

	// The writer must not reuse the id of a URL that was deleted.
	c := storetest.ID("url-c")
	mustPut(t, s, segAt(c, vid, 0, 5000, 6000, cart))
	if got := findByURL(t, s, "cart"); !slices.Equal(got, []string{c}) {
		t.Errorf("a new visit of a deleted URL: %v at the cart, want [%s]", got, c)
	}
	if got := findByURL(t, s, "ca"); !slices.Equal(got, []string{c}) {
		t.Errorf("short substring: %v, want [%s]", got, c)
	}
	ftsIntegrity(t, s)
}

// Many sessions, many new URLs in each batch: the index that the writer
// builds one batch at a time is the one FTS5 would build row by row.
func TestURLIndexUnderLoad(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	done := make(chan error)
	const writers, perWriter = 16, 12
	for w := range writers {
		go func() {
			var err error
			sid := storetest.ID(fmt.Sprintf("load-%d", w))
			for i := range perWriter {
				url := fmt.Sprintf("https://load.example/w%c/p%c", 'a'+w, 'a'+i%5)
				vid := storetest.ID(fmt.Sprintf("view-%d", i))
				if _, err = s.PutSegment(ctx, segAt(sid, vid, 0, int64(1000+i), int64(2000+i), url)); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range writers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, s.cdb, `SELECT count(*) FROM urls`); n != writers*5 {
		t.Errorf("%d URLs, want %d", n, writers*5)
	}
	if got := findByURL(t, s, "/wc/pd"); len(got) != 1 {
		t.Errorf("sessions at /wc/pd: %v, want one", got)
	}
	if got := findByURL(t, s, "load.example"); len(got) != writers {
		t.Errorf("sessions at load.example: %d, want %d", len(got), writers)
	}
	ftsIntegrity(t, s)
}

// schema4URLs is version 4's URL search, to build a store as that version
// left it.
var schema4URLs = []string{
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
}

// A store written by schema version 4 opens with its sessions, their
// views and their URLs searchable.
func TestMigrateFromVersion4(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := storetest.ID("old-a"), storetest.ID("old-b")
	va, vb := storetest.ID("old-va"), storetest.ID("old-vb")
	mustPut(t, s, segAt(a, va, 0, 1000, 2000, "https://old.example/cart"))
	mustPut(t, s, segAt(a, vb, 0, 2500, 3000, "https://old.example/pay"))
	mustPut(t, s, segAt(b, va, 0, 1200, 1800, "https://old.example/cart"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Turn the index back into version 4's: its URL tables, and views
	// that carry their extents.
	stmts := []string{`DROP TABLE url_fts`, `CREATE TABLE v5 AS SELECT s.id AS session, u.url AS url FROM session_urls su JOIN sessions s ON s.rid = su.sess JOIN urls u ON u.id = su.url`,
		`DROP TABLE session_urls`, `DROP TABLE urls`, `DROP TABLE session_user_ids`}
	stmts = append(stmts, schema4URLs...)
	stmts = append(stmts, `INSERT INTO session_urls (session, url) SELECT session, url FROM v5`, `DROP TABLE v5`,
		`UPDATE sessions SET views = '[{"ID":"`+va+`","URL":"https://old.example/cart","Title":"","Tab":"","Start":1000,"End":2000},{"ID":"`+vb+`","URL":"https://old.example/pay","Title":"","Tab":"","Start":2500,"End":3000}]' WHERE id = '`+a+`'`,
		`PRAGMA user_version = 4`)
	s = reopenAfter(t, dir, stmts)
	if got := findByURL(t, s, "cart"); !slices.Equal(got, []string{a, b}) {
		t.Errorf("sessions at the cart: %v, want [%s %s]", got, a, b)
	}
	if got := findByURL(t, s, "pay"); !slices.Equal(got, []string{a}) {
		t.Errorf("sessions at pay: %v, want [%s]", got, a)
	}
	ftsIntegrity(t, s)
	got, err := s.Session(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Views) != 2 || got.Views[0].ID != va || got.Views[0].Start != 1000 || got.Views[1].End != 3000 {
		t.Errorf("views after migration: %+v", got.Views)
	}
	// And the migrated store takes new segments.
	mustPut(t, s, segAt(a, va, 1, 2000, 2400, "https://old.example/cart"))
	mustPut(t, s, segAt(storetest.ID("new"), va, 0, 5000, 6000, "https://old.example/pay"))
	if got := findByURL(t, s, "pay"); len(got) != 2 {
		t.Errorf("sessions at pay after new segments: %v", got)
	}
	if sess, _ := s.Session(context.Background(), a); sess == nil || sess.Views[0].End != 2400 {
		t.Errorf("view extent after a new segment: %+v", sess)
	}
	ftsIntegrity(t, s)
}

// reopenAfter runs stmts on the closed store's index in dir (turning it
// into an older version's), opens the store again, which migrates it,
// and checks that it is at the current version. The store is closed at
// the end of the test.
func reopenAfter(t *testing.T, dir string, stmts []string) *Store {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dir+"/index.db")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if v := count(t, s.cdb, `PRAGMA user_version`); v != schemaVersion {
		t.Errorf("user_version %d after migration, want %d", v, schemaVersion)
	}
	return s
}

// A store written by schema version 5 opens with the user each session
// names in session_user_ids, so DeleteUser finds its sessions.
func TestMigrateFromVersion5(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	vid := storetest.ID("view")
	for i, u := range []string{"carol", "dave", "carol"} {
		n := newSeg(storetest.ID("v5user"+strconv.Itoa(i)), vid, 0, 1000, 2000)
		n.Update = func(s *store.Session) { s.UserID = u }
		mustPut(t, s, n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = reopenAfter(t, dir, []string{`DROP TABLE session_user_ids`, `PRAGMA user_version = 5`})
	if n, err := s.DeleteUser(ctx, "carol"); err != nil || n != 2 {
		t.Errorf("DeleteUser(carol) after migration = %d, %v, want 2", n, err)
	}
}

// Reindex rebuilds every user a session had, not only the last: DeleteUser
// still finds a session another user signed in to afterwards.
func TestReindexKeepsEarlierUsers(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	sid, vid := storetest.ID("switched"), storetest.ID("view")
	for seq, u := range []string{"erin", "frank"} {
		n := newSeg(sid, vid, seq, int64(1000*seq), int64(1000*seq+500))
		n.Extra = []byte(`{"user":"` + u + `"}`)
		up, err := storetest.Summarize(n.SegmentInfo, n.Extra, n.Body)
		if err != nil {
			t.Fatal(err)
		}
		n.Update = up
		mustPut(t, s, n)
	}
	if _, err := s.Reindex(ctx, storetest.Summarize); err != nil {
		t.Fatal(err)
	}
	if sess, err := s.Session(ctx, sid); err != nil || sess.UserID != "frank" {
		t.Fatalf("after reindex: %+v, %v", sess, err)
	}
	if n, err := s.DeleteUser(ctx, "erin"); err != nil || n != 1 {
		t.Errorf("DeleteUser(erin) after reindex = %d, %v, want 1", n, err)
	}
}
