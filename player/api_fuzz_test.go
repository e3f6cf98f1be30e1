package player

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// queryRecorder is a store that remembers the queries the API passes to
// ListSessions, so the fuzzer can check what reaches the backend.
type queryRecorder struct {
	store.Store
	mu   sync.Mutex
	last []store.Query
}

func (q *queryRecorder) ListSessions(ctx context.Context, query store.Query) (*store.SessionPage, error) {
	q.mu.Lock()
	q.last = append(q.last, query)
	q.mu.Unlock()
	return q.Store.ListSessions(ctx, query)
}

func (q *queryRecorder) take() []store.Query {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.last
	q.last = nil
	return out
}

// FuzzListQuery sends any query string to GET api/sessions on the
// embedded store (SQLite, its URL trigram index): the answer is a page
// (200) or a 400 that says what was wrong, never a panic or a 500, and
// what reaches the store is a query within its bounds (a limit of 1 to
// 500, no negative time or duration, a known sort key).
func FuzzListQuery(f *testing.F) {
	st, err := embedded.Open(f.TempDir(), embedded.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	views, _, _ := shopSession()
	for i := range 3 {
		putSession(f, st, sessionID(i), views, func(s *store.Session) {
			s.UserID, s.Errors, s.RageClicks = "user-"+string(rune('a'+i)), i, i%2
		})
	}
	rec := &queryRecorder{Store: st}
	// The API without the UI: New also builds the UI bundle (a second of
	// esbuild), which the list API never touches. The page size is New's
	// default.
	p := &Player{store: rec, log: zap.NewNop(), pageSize: 50}
	first := httptest.NewRecorder()
	p.ServeHTTP(first, httptest.NewRequest("GET", "/api/sessions?limit=1", nil))
	var page struct{ Next string }
	if err := json.Unmarshal(first.Body.Bytes(), &page); err != nil || page.Next == "" {
		f.Fatalf("first page: %v %s", err, first.Body.Bytes())
	}
	rec.take()
	for _, s := range []string{
		"",
		"limit=1&cursor=" + page.Next,
		"from=2026-01-01T00:00:00Z&to=1780000000000&min_duration=0&max_duration=60000",
		"url=shop&user=user-a&errors=1&rage_clicks=true&dead_clicks=0&sort=duration&order=asc",
		"limit=-1", "limit=0", "limit=501", "limit=99999999999999999999", "limit=1e3",
		"from=-1", "to=0001-01-01T00:00:00Z", "min_duration=-5", "max_duration=9223372036854775808",
		"sort=start%3B+DROP+TABLE+sessions", "order=sideways", "errors=2",
		"url=%00", "url=%22%22%22", "url=*", "url=a%22+OR+b", "url=%FF%FE%FD", "user=%25%27",
		"cursor=%00", "cursor=e30", "sort=clicks&cursor=" + page.Next,
		"limit=5;limit=6", "%zz=1&limit=2", "limit=%201%20", "from=1e3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/api/sessions", nil)
		r.URL.RawQuery = raw
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		for _, q := range rec.take() {
			if q.Limit < 1 || q.Limit > maxPageSize || q.From < 0 || q.To < 0 || q.MinDuration < 0 || q.MaxDuration < 0 {
				t.Fatalf("query %q reached the store as %+v", raw, q)
			}
			if _, ok := sortName(q.Sort); !ok {
				t.Fatalf("query %q reached the store with sort key %q", raw, q.Sort)
			}
		}
		var body struct {
			Sessions []json.RawMessage `json:"sessions"`
			Error    string            `json:"error"`
			Message  string            `json:"message"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("query %q: status %d, body not JSON: %v", raw, w.Code, err)
		}
		switch w.Code {
		case 200:
			if q, err := p.parseQuery(r.URL.Query()); err != nil || len(body.Sessions) > q.Limit {
				t.Fatalf("query %q: 200 with %d sessions, parse %+v %v", raw, len(body.Sessions), q, err)
			}
		case 400:
			if body.Error != "bad_query" || len(body.Message) < 10 {
				t.Fatalf("query %q: 400 without a clear reason: %s", raw, w.Body.Bytes())
			}
		default:
			t.Fatalf("query %q: status %d: %s", raw, w.Code, w.Body.Bytes())
		}
	})
}

// sortName reports whether k is a sort key the API can send ("" is the
// store's default order).
func sortName(k store.SortKey) (string, bool) {
	if k == "" {
		return "", true
	}
	for name, key := range sortKeys {
		if key == k {
			return name, true
		}
	}
	return "", false
}
