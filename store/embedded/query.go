package embedded

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/caddy-replay/caddy-replay/store"
)

// Session implements store.Index.
func (s *Store) Session(ctx context.Context, id string) (*store.Session, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	if !store.ValidID(id) {
		return nil, store.ErrNotFound
	}
	// The row and its views' extents from one snapshot of the index.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var rid int64
	sess, _, err := scanSession(tx.QueryRowContext(ctx, `SELECT rid, `+sessionCols+` FROM sessions WHERE id = ?`, id), true, &rid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, viewExtentsQuery, rid)
	if err != nil {
		return nil, err
	}
	if err := setViewExtents(sess, rows); err != nil {
		return nil, err
	}
	return sess, nil
}

// sortColumns maps sort keys to their indexed columns.
var sortColumns = map[store.SortKey]string{
	store.SortStart:      "start_ms",
	store.SortEnd:        "end_ms",
	store.SortDuration:   "duration",
	store.SortActive:     "active_ms",
	store.SortClicks:     "clicks",
	store.SortErrors:     "errors",
	store.SortRageClicks: "rage_clicks",
	store.SortDeadClicks: "dead_clicks",
	store.SortPages:      "pages",
}

// cursor is where a listing stopped: the sort value and id of the last
// session returned, plus the order it was made for.
type cursor struct {
	Sort  store.SortKey `json:"s"`
	Desc  bool          `json:"d"`
	Value int64         `json:"v"`
	ID    string        `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || !store.ValidID(c.ID) {
		return c, fmt.Errorf("%w: malformed cursor", store.ErrInvalid)
	}
	return c, nil
}

// MaxPage is the largest page ListSessions returns.
const MaxPage = 500

// ListSessions implements store.Index. Every filter is answered from an
// index: time and duration ranges and the flags from the sessions table,
// URL substrings from the trigram index (for three characters or more),
// users by prefix from session_users; the sort is a keyset scan over the
// sort key's (value, id) index.
func (s *Store) ListSessions(ctx context.Context, q store.Query) (*store.SessionPage, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	sortKey, desc := q.Sort, q.Desc
	if sortKey == "" {
		sortKey, desc = store.SortStart, true
	}
	col, ok := sortColumns[sortKey]
	if !ok {
		return nil, fmt.Errorf("%w: unknown sort key %q", store.ErrInvalid, q.Sort)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, MaxPage)

	var where []string
	var args []any
	if q.From != 0 {
		where, args = append(where, "start_ms >= ?"), append(args, q.From)
	}
	if q.To != 0 {
		where, args = append(where, "start_ms < ?"), append(args, q.To)
	}
	if q.MinDuration > 0 {
		where, args = append(where, "duration >= ?"), append(args, q.MinDuration)
	}
	if q.MaxDuration > 0 {
		where, args = append(where, "duration <= ?"), append(args, q.MaxDuration)
	}
	if q.HasErrors {
		where = append(where, "errors > 0")
	}
	if q.HasRageClicks {
		where = append(where, "rage_clicks > 0")
	}
	if q.HasDeadClicks {
		where = append(where, "dead_clicks > 0")
	}
	if u := q.URL; u != "" {
		if strings.IndexByte(u, 0) >= 0 {
			// SQLite's FTS5 query parser ends the string at a NUL and
			// fails; no stored URL holds one anyway.
			return nil, fmt.Errorf("%w: a URL filter cannot contain a NUL character", store.ErrInvalid)
		}
		if len([]rune(u)) >= 3 {
			// An FTS5 phrase of a trigram-tokenized column matches any
			// substring, case-insensitively; quotes are doubled inside.
			where = append(where, `rid IN (SELECT sess FROM session_urls WHERE url IN
				(SELECT rowid FROM url_fts WHERE url_fts MATCH ?))`)
			args = append(args, `"`+strings.ReplaceAll(u, `"`, `""`)+`"`)
		} else {
			where = append(where, `rid IN (SELECT sess FROM session_urls WHERE url IN
				(SELECT id FROM urls WHERE instr(lower(url), ?) > 0))`)
			args = append(args, strings.ToLower(u))
		}
	}
	if u := strings.ToLower(q.User); u != "" {
		where = append(where, `id IN (SELECT session FROM session_users WHERE term >= ? AND term < ?)`)
		args = append(args, u, u+"\U0010FFFF")
	}
	filter := ""
	if len(where) > 0 {
		filter = " WHERE " + strings.Join(where, " AND ")
	}

	page := &store.SessionPage{}
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM sessions`+filter, args...).Scan(&page.Total); err != nil {
		return nil, err
	}

	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	pageWhere, pageArgs := where, args
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		if c.Sort != sortKey || c.Desc != desc {
			return nil, fmt.Errorf("%w: the cursor belongs to another sort order", store.ErrInvalid)
		}
		pageWhere = append(append([]string(nil), where...), fmt.Sprintf("(%s, id) %s (?, ?)", col, cmp))
		pageArgs = append(append([]any(nil), args...), c.Value, c.ID)
	}
	query := `SELECT ` + listCols + ` FROM sessions`
	if len(pageWhere) > 0 {
		query += " WHERE " + strings.Join(pageWhere, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY %s %s, id %s LIMIT ?", col, dir, dir)
	rows, err := s.rdb.QueryContext(ctx, query, append(pageArgs, limit+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pages []int64
	for rows.Next() {
		sess, n, err := scanSession(rows, false)
		if err != nil {
			return nil, err
		}
		page.Sessions = append(page.Sessions, *sess)
		pages = append(pages, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(page.Sessions) > limit {
		page.Sessions = page.Sessions[:limit]
		last := page.Sessions[limit-1]
		page.Next = cursor{Sort: sortKey, Desc: desc, Value: sortValue(&last, pages[limit-1], sortKey), ID: last.ID}.encode()
	}
	return page, nil
}

func sortValue(s *store.Session, pages int64, k store.SortKey) int64 {
	switch k {
	case store.SortEnd:
		return s.End
	case store.SortDuration:
		return s.Duration
	case store.SortActive:
		return s.ActiveMs
	case store.SortClicks:
		return int64(s.Clicks)
	case store.SortErrors:
		return int64(s.Errors)
	case store.SortRageClicks:
		return int64(s.RageClicks)
	case store.SortDeadClicks:
		return int64(s.DeadClicks)
	case store.SortPages:
		return pages
	}
	return s.Start
}
