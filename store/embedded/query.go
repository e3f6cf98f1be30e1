package embedded

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

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
// sort key's (value, id) index. A URL substring that many sessions visited
// is instead checked session by session along the sort order (see
// urlFilter).
//
// Total is exact when the first page holds every match, or when counting
// the matches takes at most Options.CountBudget. Otherwise (broad filters
// over a large index: a common URL or a duration range over a million
// sessions takes seconds to count) it is an estimate (TotalEstimated is
// set), rounded to two
// significant digits, from the share of matches among the newest
// estimateSample sessions of the time range (see countSessions).
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

	where, args := timeRange(q)
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
	// A URL or user filter alone is counted from its own index, without
	// reading a sessions row per match.
	var sole *soleCount
	if u := q.URL; u != "" {
		w, a, matching, arg, err := s.urlFilter(ctx, u)
		if err != nil {
			return nil, err
		}
		where, args = append(where, w), append(args, a...)
		sole = &soleCount{`SELECT count(DISTINCT sess) FROM session_urls WHERE url IN (` + matching + `)`, []any{arg}}
	}
	if u := strings.ToLower(q.User); u != "" {
		where = append(where, `id IN (SELECT session FROM session_users WHERE term >= ? AND term < ?)`)
		args = append(args, u, u+"\U0010FFFF")
		sole = &soleCount{`SELECT count(DISTINCT session) FROM session_users WHERE term >= ? AND term < ?`, []any{u, u + "\U0010FFFF"}}
	}
	if len(where) != 1 {
		sole = nil
	}

	page := &store.SessionPage{}
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
	rows.Close()
	if q.Cursor == "" && page.Next == "" {
		// The first page holds every match.
		page.Total = len(page.Sessions)
		return page, nil
	}
	page.Total, page.TotalEstimated, err = s.countSessions(ctx, q, where, args, sole)
	if err != nil {
		return nil, err
	}
	page.Total = max(page.Total, len(page.Sessions))
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

// listTuning holds the thresholds where ListSessions changes strategy, and
// the janitor's slice of the writer.
// Open sets the defaults; tests lower them to exercise both sides on a
// small index.
type listTuning struct {
	// A URL substring that matches more than broadURLs distinct URLs, or
	// whose URLs more than broadURLLinks sessions visited, is broad (see
	// urlFilter).
	broadURLs, broadURLLinks int
	// estimateSample is how many of the newest sessions an estimated
	// Total is extrapolated from.
	estimateSample int
	// A time range of fewer sessions than exactCountBelow is always
	// counted exactly, whatever it takes (it cannot take long).
	exactCountBelow int
	// expireSlice bounds one of Expire's transactions (see Expire).
	expireSlice time.Duration
}

var defaultListTuning = listTuning{broadURLs: 2000, broadURLLinks: 5000, estimateSample: 5000, exactCountBelow: 20000,
	expireSlice: 20 * time.Millisecond}

// urlFilter returns the WHERE clause (and its arguments) of a URL
// substring filter. A narrow one collects the sessions that visited a
// matching URL (from the trigram index, for three characters or more) and
// looks each up. That costs in proportion to those sessions: over a
// million sessions, "/products" matched 70,000 URLs and 500,000 sessions
// and took 16 s. A broad one instead walks the sort order and checks each
// session's own few URLs, stopping once the page is full: at least one
// session in 50 matches, so a page costs a few thousand lookups. The check
// lower-cases ASCII only, as the trigram index folds ASCII case; a term
// with other characters goes through the trigram index in both cases.
//
// It also returns the query of the matching URLs' ids and its argument.
func (s *Store) urlFilter(ctx context.Context, u string) (clause string, args []any, matching string, arg any, err error) {
	if strings.IndexByte(u, 0) >= 0 {
		// SQLite's FTS5 query parser ends the string at a NUL and
		// fails; no stored URL holds one anyway.
		return "", nil, "", nil, fmt.Errorf("%w: a URL filter cannot contain a NUL character", store.ErrInvalid)
	}
	matching, arg = `SELECT id FROM urls WHERE instr(lower(url), ?) > 0`, any(strings.ToLower(u))
	if len([]rune(u)) >= 3 {
		// An FTS5 phrase of a trigram-tokenized column matches any
		// substring, case-insensitively; quotes are doubled inside.
		matching, arg = `SELECT rowid FROM url_fts WHERE url_fts MATCH ?`, `"`+strings.ReplaceAll(u, `"`, `""`)+`"`
	}
	var urls, links int
	err = s.rdb.QueryRowContext(ctx, fmt.Sprintf(`SELECT
		(SELECT count(*) FROM (%[1]s LIMIT %[2]d)),
		(SELECT count(*) FROM (SELECT 1 FROM session_urls WHERE url IN (%[1]s LIMIT %[2]d) LIMIT %[3]d))`,
		matching, s.tune.broadURLs+1, s.tune.broadURLLinks+1), arg, arg).Scan(&urls, &links)
	if err != nil {
		return "", nil, "", nil, err
	}
	if urls <= s.tune.broadURLs && links <= s.tune.broadURLLinks {
		return `rid IN (SELECT sess FROM session_urls WHERE url IN (` + matching + `))`, []any{arg}, matching, arg, nil
	}
	if isASCII(u) {
		return `EXISTS (SELECT 1 FROM session_urls su JOIN urls u ON u.id = su.url
			WHERE su.sess = sessions.rid AND instr(lower(u.url), ?) > 0)`, []any{strings.ToLower(u)}, matching, arg, nil
	}
	// The unary + keeps SQLite from probing session_urls once per
	// matching URL: it reads the session's own rows by primary key and
	// checks each against the (materialized) list.
	return `EXISTS (SELECT 1 FROM session_urls su WHERE su.sess = sessions.rid AND +su.url IN (` + matching + `))`, []any{arg}, matching, arg, nil
}

// soleCount counts the sessions of a query with one filter from that
// filter's own index.
type soleCount struct {
	query string
	args  []any
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// timeRange is the condition on start_ms of q's time range, with its
// arguments: the first conditions of a listing, and the range an
// estimated count extrapolates to.
func timeRange(q store.Query) (where []string, args []any) {
	if q.From != 0 {
		where, args = append(where, "start_ms >= ?"), append(args, q.From)
	}
	if q.To != 0 {
		where, args = append(where, "start_ms < ?"), append(args, q.To)
	}
	return where, args
}

// DefaultCountBudget is Options.CountBudget's default: with the page
// itself, a listing stays within the 100 ms a list page may take.
const DefaultCountBudget = 40 * time.Millisecond

// countSessions counts the sessions matching where, exactly if it can
// within Options.CountBudget. Past it, the count is interrupted and
// estimated instead: the share of matches among the newest
// listTuning.estimateSample sessions of the query's time range, times the sessions in that range,
// rounded to two significant digits; estimated reports which.
func (s *Store) countSessions(ctx context.Context, q store.Query, where []string, args []any, sole *soleCount) (n int, estimated bool, err error) {
	filter := ""
	if len(where) > 0 {
		filter = " WHERE " + strings.Join(where, " AND ")
	}
	countQuery, countArgs := `SELECT count(*) FROM sessions`+filter, args
	if sole != nil {
		countQuery, countArgs = sole.query, sole.args
	}
	// The sessions of the time range: from the table's b-tree pages alone
	// when there is no range.
	rangeWhere, rangeArgs := timeRange(q)
	rangeFilter := ""
	if len(rangeWhere) > 0 {
		rangeFilter = " WHERE " + strings.Join(rangeWhere, " AND ")
	}
	countRange := func() (int, error) {
		var n int
		err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM sessions`+rangeFilter, rangeArgs...).Scan(&n)
		return n, err
	}
	if len(where) == len(rangeWhere) {
		n, err := countRange() // no filter but the range
		return n, false, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CountBudget)
	defer cancel()
	err = s.rdb.QueryRowContext(cctx, countQuery, countArgs...).Scan(&n)
	if err == nil || ctx.Err() != nil || cctx.Err() == nil {
		return n, false, err
	}
	// Counted only now: over the whole table it reads every page of its
	// smallest index, 10 ms over a million sessions.
	inRange, err := countRange()
	if err != nil {
		return 0, false, err
	}
	if inRange < s.tune.exactCountBelow {
		err := s.rdb.QueryRowContext(ctx, countQuery, countArgs...).Scan(&n)
		return n, false, err
	}
	// Out of time: estimate.
	var sampled, matched int
	err = s.rdb.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(`+strings.Join(where, " AND ")+`), 0)
		FROM (SELECT * FROM sessions`+rangeFilter+` ORDER BY start_ms DESC LIMIT ?) AS sessions`,
		append(append(append([]any(nil), args...), rangeArgs...), s.tune.estimateSample)...).Scan(&sampled, &matched)
	if err != nil {
		return 0, false, err
	}
	if sampled < s.tune.estimateSample {
		return matched, false, nil // the sample was the whole range
	}
	estimate := roundSignificant(float64(matched) / float64(sampled) * float64(inRange))
	if matched < estimateMinMatches {
		// Too few matches to extrapolate from (a few in the sample are
		// off by half), and a narrow filter usually counts quickly from
		// its index: a longer try before settling for the estimate.
		cctx, cancel := context.WithTimeout(ctx, 4*s.opts.CountBudget)
		defer cancel()
		err := s.rdb.QueryRowContext(cctx, countQuery, countArgs...).Scan(&n)
		if err == nil || ctx.Err() != nil || cctx.Err() == nil {
			return n, false, err
		}
	}
	return estimate, true, nil
}

// estimateMinMatches: an estimate extrapolated from fewer matches in the
// sample than this gets a second, longer try at the exact count.
const estimateMinMatches = 100

// roundSignificant rounds x to two significant digits, so an estimate
// reads as one (372,415 → 370,000).
func roundSignificant(x float64) int {
	if x < 100 {
		return int(math.Round(x))
	}
	p := math.Pow(10, math.Floor(math.Log10(x))-1)
	return int(math.Round(x/p) * p)
}
