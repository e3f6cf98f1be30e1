package embedded

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"

	"github.com/caddy-replay/caddy-replay/store"
)

// sessionColumn is one column of the sessions table: how to read its value
// from a Session and whether two Sessions agree on it. The writer compares
// a session before and after a batch column by column and writes only the
// columns that changed (each sort column has an index to maintain), without
// building the values of the others.
type sessionColumn struct {
	name string
	get  func(*store.Session) any
	same func(a, b *store.Session) bool
}

func intColumn(name string, f func(*store.Session) int64) sessionColumn {
	return sessionColumn{name: name,
		get:  func(s *store.Session) any { return f(s) },
		same: func(a, b *store.Session) bool { return f(a) == f(b) }}
}

func textColumn(name string, f func(*store.Session) string) sessionColumn {
	return sessionColumn{name: name,
		get:  func(s *store.Session) any { return f(s) },
		same: func(a, b *store.Session) bool { return f(a) == f(b) }}
}

// sessionColumns are the columns of sessionCols, in order. The id comes
// first and never changes.
var sessionColumns = []sessionColumn{
	textColumn("id", func(s *store.Session) string { return s.ID }),
	intColumn("start_ms", func(s *store.Session) int64 { return s.Start }),
	intColumn("end_ms", func(s *store.Session) int64 { return s.End }),
	intColumn("duration", func(s *store.Session) int64 { return s.Duration }),
	intColumn("active_ms", func(s *store.Session) int64 { return s.ActiveMs }),
	intColumn("pages", func(s *store.Session) int64 { return int64(len(s.Views)) }),
	textColumn("entry_url", func(s *store.Session) string { return s.EntryURL }),
	intColumn("clicks", func(s *store.Session) int64 { return int64(s.Clicks) }),
	intColumn("rage_clicks", func(s *store.Session) int64 { return int64(s.RageClicks) }),
	intColumn("dead_clicks", func(s *store.Session) int64 { return int64(s.DeadClicks) }),
	intColumn("inputs", func(s *store.Session) int64 { return int64(s.Inputs) }),
	intColumn("errors", func(s *store.Session) int64 { return int64(s.Errors) }),
	intColumn("vw", func(s *store.Session) int64 { return int64(s.ViewportWidth) }),
	intColumn("vh", func(s *store.Session) int64 { return int64(s.ViewportHeight) }),
	textColumn("user_agent", func(s *store.Session) string { return s.UserAgent }),
	textColumn("user_id", func(s *store.Session) string { return s.UserID }),
	textColumn("user_name", func(s *store.Session) string { return s.UserName }),
	textColumn("user_email", func(s *store.Session) string { return s.UserEmail }),
	textColumn("service", func(s *store.Session) string { return s.Service }),
	textColumn("env", func(s *store.Session) string { return s.Env }),
	textColumn("version", func(s *store.Session) string { return s.Version }),
	textColumn("application_id", func(s *store.Session) string { return s.ApplicationID }),
	textColumn("client_ip", func(s *store.Session) string { return s.ClientIP }),
	intColumn("segments", func(s *store.Session) int64 { return int64(s.Segments) }),
	intColumn("bytes", func(s *store.Session) int64 { return s.Bytes }),
	intColumn("raw_bytes", func(s *store.Session) int64 { return s.RawBytes }),
	intColumn("created", func(s *store.Session) int64 { return s.Created }),
	intColumn("updated", func(s *store.Session) int64 { return s.Updated }),
	{name: "urls", get: encodeURLs, same: func(a, b *store.Session) bool { return equalStrings(a.URLs, b.URLs) }},
	{name: "views", get: encodeViews, same: func(a, b *store.Session) bool { return sameViews(a.Views, b.Views) }},
	{name: "carry", get: func(s *store.Session) any { return s.Carry },
		same: func(a, b *store.Session) bool { return bytes.Equal(a.Carry, b.Carry) }},
}

// sessionCols lists the sessions columns in the order scanSession reads and
// sessionArgs writes them.
var sessionCols = columnList(sessionColumns)

// listCols is sessionCols without views and carry, which listings omit.
var listCols = columnList(sessionColumns[:len(sessionColumns)-2])

var insertSession = `INSERT INTO sessions (` + sessionCols + `) VALUES (?` + strings.Repeat(",?", len(sessionColumns)-1) + `)`

func columnList(cols []sessionColumn) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// sessionArgs are the values of every column, for insertSession.
func sessionArgs(s *store.Session) []any {
	vals := make([]any, len(sessionColumns))
	for i, c := range sessionColumns {
		vals[i] = c.get(s)
	}
	return vals
}

func encodeURLs(s *store.Session) any {
	if len(s.URLs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(s.URLs) // strings always encode
	return string(b)
}

// storedView is what the sessions row keeps of a view: everything but its
// extent, which is the extent of its segments (see viewExtents).
type storedView struct {
	ID    string
	URL   string `json:",omitempty"`
	Title string `json:",omitempty"`
	Tab   string `json:",omitempty"`
}

func encodeViews(s *store.Session) any {
	if len(s.Views) == 0 {
		return "[]"
	}
	vs := make([]storedView, len(s.Views))
	for i, v := range s.Views {
		vs[i] = storedView{ID: v.ID, URL: v.URL, Title: v.Title, Tab: v.Tab}
	}
	b, _ := json.Marshal(vs)
	return string(b)
}

// sameViews reports whether two lists of views store the same: the same
// views, in the same order, with the same URLs, titles and tabs.
func sameViews(a, b []store.View) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.ID != y.ID || x.URL != y.URL || x.Title != y.Title || x.Tab != y.Tab {
			return false
		}
	}
	return true
}

type scanner interface{ Scan(...any) error }

// scanSession reads a row of sessionCols (withViews) or listCols. It also
// returns the pages column, which a listing (without Views) needs for its
// cursor. The Views it returns have no extent yet: see viewExtents.
func scanSession(row scanner, withViews bool, lead ...any) (*store.Session, int64, error) {
	var s store.Session
	var urls, views string
	var pages int64
	dst := append(lead, &s.ID, &s.Start, &s.End, &s.Duration, &s.ActiveMs, &pages, &s.EntryURL,
		&s.Clicks, &s.RageClicks, &s.DeadClicks, &s.Inputs, &s.Errors, &s.ViewportWidth, &s.ViewportHeight,
		&s.UserAgent, &s.UserID, &s.UserName, &s.UserEmail, &s.Service, &s.Env, &s.Version, &s.ApplicationID,
		&s.ClientIP, &s.Segments, &s.Bytes, &s.RawBytes, &s.Created, &s.Updated, &urls)
	if withViews {
		dst = append(dst, &views, &s.Carry)
	}
	if err := row.Scan(dst...); err != nil {
		return nil, 0, err
	}
	if urls != "" && urls != "null" && urls != "[]" {
		if err := json.Unmarshal([]byte(urls), &s.URLs); err != nil {
			return nil, 0, err
		}
	}
	if withViews && views != "" && views != "null" && views != "[]" {
		// Rows written by schema version 4 also hold each view's Start
		// and End; viewExtents overwrites them.
		if err := json.Unmarshal([]byte(views), &s.Views); err != nil {
			return nil, 0, err
		}
	}
	return &s, pages, nil
}

// viewExtentsQuery gives, per view of a session (by rid), the extent of its
// segments: its Start and End.
const viewExtentsQuery = `SELECT view, min(start_ms), max(end_ms) FROM segments WHERE sess = ? GROUP BY view`

// setViewExtents sets each view's Start and End from the extents rows
// (viewExtentsQuery) and sorts the views by Start, keeping the stored
// order among equal starts, as the writer keeps them.
func setViewExtents(s *store.Session, rows *sql.Rows) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		var start, end int64
		if err := rows.Scan(&id, &start, &end); err != nil {
			return err
		}
		for i := range s.Views {
			if v := &s.Views[i]; v.ID == id {
				v.Start, v.End = start, end
				break
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sortViews(s.Views)
	return nil
}

func sortViews(v []store.View) {
	sort.SliceStable(v, func(i, j int) bool { return v[i].Start < v[j].Start })
}

// userTerms are the lower-cased strings a Query.User prefix is matched
// against.
func userTerms(s *store.Session) []string {
	var terms []string
	for _, t := range []string{s.UserID, s.UserName, s.UserEmail} {
		t = strings.ToLower(t)
		if t == "" {
			continue
		}
		dup := false
		for _, u := range terms {
			dup = dup || u == t
		}
		if !dup {
			terms = append(terms, t)
		}
	}
	return terms
}

// cloneSession deep-copies s, so that an Update that fails half-way leaves
// the original untouched.
func cloneSession(s *store.Session) *store.Session {
	c := *s
	c.Views = append([]store.View(nil), s.Views...)
	c.URLs = append([]string(nil), s.URLs...)
	c.Carry = append([]byte(nil), s.Carry...)
	return &c
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
