package embedded

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

// listAll follows the cursors of q to the end and returns the ids in order
// and the first page's Total.
func listAll(t *testing.T, s *Store, q store.Query) ([]string, int) {
	t.Helper()
	var ids []string
	total := -1
	for {
		p, err := s.ListSessions(context.Background(), q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		if total < 0 {
			total = p.Total
		}
		for _, x := range p.Sessions {
			ids = append(ids, x.ID)
		}
		if p.Next == "" {
			return ids, total
		}
		q.Cursor = p.Next
	}
}

// TestBroadURLFilterFindsTheSame: a URL substring many sessions visited is
// checked session by session along the sort order instead of through the
// trigram index (16 s for a common URL over a million sessions before);
// both ways find the same sessions in the same order, with the same Total,
// also for mixed case, non-ASCII text, quotes and one- or two-character
// terms.
func TestBroadURLFilterFindsTheSame(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	paths := []string{"/", "/Cart", "/products/trail-shoe?page=2", "/café/menu", "/CAFÉ/Tür", `/search?q="boots"`, "/products"}
	visited := map[string][]string{}
	var all []string
	for i := range 90 {
		sid := storetest.ID(fmt.Sprintf("broad%03d", i))
		all = append(all, sid)
		for v := range 1 + i%3 {
			u := "https://shop.example" + paths[(i*(v+2))%len(paths)]
			seg := segAt(sid, storetest.ID(fmt.Sprintf("v%03d-%d", i, v)), 0, int64(1000*i+10*v), int64(1000*i+10*v+5), u)
			upd := seg.Update
			clicks := (i * 7) % 5
			seg.Update = func(s *store.Session) { upd(s); s.Clicks = clicks }
			mustPut(t, s, seg)
			if !slices.Contains(visited[sid], u) {
				visited[sid] = append(visited[sid], u)
			}
		}
	}
	for _, term := range []string{"cart", "CART", "/products", "trail-shoe?PAGE", "é", "café", "CAFÉ", "tür", `"boots"`, "/c", "p", "nowhere"} {
		for _, sort := range []struct {
			key  store.SortKey
			desc bool
		}{{store.SortStart, true}, {store.SortClicks, false}, {store.SortDuration, true}} {
			q := store.Query{URL: term, Sort: sort.key, Desc: sort.desc, Limit: 7}
			s.tune = defaultListTuning
			narrow, narrowTotal := listAll(t, s, q)
			s.tune.broadURLs, s.tune.broadURLLinks = 0, 0
			broad, broadTotal := listAll(t, s, q)
			if !slices.Equal(narrow, broad) || narrowTotal != broadTotal {
				t.Errorf("%q by %s: narrow found %d (Total %d), broad %d (Total %d)", term, sort.key, len(narrow), narrowTotal, len(broad), broadTotal)
			}
			if narrowTotal != len(narrow) {
				t.Errorf("%q: Total %d, listed %d", term, narrowTotal, len(narrow))
			}
			if term == "nowhere" || !isASCII(term) {
				continue
			}
			// ASCII terms: exactly the sessions with a URL containing
			// the term, case-insensitively.
			var want []string
			for _, sid := range all {
				if slices.ContainsFunc(visited[sid], func(u string) bool {
					return strings.Contains(strings.ToLower(u), strings.ToLower(term))
				}) {
					want = append(want, sid)
				}
			}
			got := slices.Clone(broad)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%q: found %d sessions, want %d", term, len(got), len(want))
			}
		}
	}
	if ids, _ := listAll(t, s, store.Query{URL: "café"}); len(ids) == 0 {
		t.Error("no session found for a non-ASCII term")
	}
}

// TestTotalEstimatedPastTheBudget: a count that does not finish within
// Options.CountBudget gives way to an estimate from the newest sessions,
// rounded to two significant digits; a first page that holds every match
// and a count within the budget stay exact.
func TestTotalEstimatedPastTheBudget(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	// 400 sessions; among the newer 200, every other one visited /a,
	// none of the older: 100 match, and the newest 200 have 100.
	for i := range 400 {
		u := "https://shop.example/b"
		if i >= 200 && i%2 == 0 {
			u = "https://shop.example/a"
		}
		mustPut(t, s, segAt(storetest.ID(fmt.Sprintf("est%03d", i)), storetest.ID("view"), 0, int64(1000*i), int64(1000*i+500), u))
	}
	list := func(q store.Query) *store.SessionPage {
		t.Helper()
		p, err := s.ListSessions(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := list(store.Query{URL: "/a", Limit: 10}); p.Total != 100 || p.TotalEstimated {
		t.Errorf("within the budget: Total %d (estimated %v), want 100 counted", p.Total, p.TotalEstimated)
	}
	s.opts.CountBudget = time.Nanosecond
	s.tune.exactCountBelow, s.tune.estimateSample = 0, 200
	if p := list(store.Query{URL: "/a", Limit: 10}); p.Total != 200 || !p.TotalEstimated {
		t.Errorf("past the budget: Total %d (estimated %v), want the estimate 100/200 × 400 = 200", p.Total, p.TotalEstimated)
	}
	if p := list(store.Query{URL: "/a", Limit: 500}); p.Total != 100 || len(p.Sessions) != 100 || p.TotalEstimated {
		t.Errorf("a first page with every match: Total %d (%d listed), want 100", p.Total, len(p.Sessions))
	}
	// A time range of 300 sessions: the newest 200 have 100 matches.
	if p := list(store.Query{URL: "/a", From: 100_000, Limit: 10}); p.Total != 150 || !p.TotalEstimated {
		t.Errorf("past the budget in a range: Total %d, want 100/200 × 300 = 150", p.Total)
	}
	// A range smaller than the sample is counted from the sample, exactly.
	if p := list(store.Query{URL: "/a", From: 250_000, Limit: 10}); p.Total != 75 || p.TotalEstimated {
		t.Errorf("a range within the sample: Total %d, want 75", p.Total)
	}
	// No filter but the range: counted, never estimated.
	if p := list(store.Query{From: 100_000, To: 350_000, Limit: 10}); p.Total != 250 || p.TotalEstimated {
		t.Errorf("a range alone: Total %d, want 250", p.Total)
	}
	s.tune.exactCountBelow = 1000
	if p := list(store.Query{URL: "/a", Limit: 10}); p.Total != 100 || p.TotalEstimated {
		t.Errorf("a small index past the budget: Total %d, want the exact 100", p.Total)
	}
}

func TestRoundSignificant(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want int
	}{{0, 0}, {7.4, 7}, {99.5, 100}, {123, 120}, {372415, 370000}, {999_999, 1_000_000}, {1049, 1000}} {
		if got := roundSignificant(c.in); got != c.want {
			t.Errorf("roundSignificant(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestUserFilterTotal: a user filter alone is counted from session_users,
// where a session has a row per matching id, name and email; each session
// counts once ("ann1" is the id of sessions 1, 5 and 9 and begins the
// email of 1, 10 and 11).
func TestUserFilterTotal(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	for i := range 12 {
		seg := newSeg(storetest.ID(fmt.Sprintf("user%02d", i)), storetest.ID("view"), 0, int64(1000*i), int64(1000*i+500))
		seg.Update = func(s *store.Session) {
			s.UserID, s.UserName, s.UserEmail = fmt.Sprintf("ann%d", i%4), fmt.Sprintf("Ann %d", i), fmt.Sprintf("ann%d@example.org", i)
		}
		mustPut(t, s, seg)
	}
	for _, c := range []struct {
		prefix string
		want   int
	}{{"ann", 12}, {"ANN1", 5}, {"ann 1", 3}, {"ann3@", 1}, {"bob", 0}} {
		ids, total := listAll(t, s, store.Query{User: c.prefix, Limit: 2})
		if len(ids) != c.want || total != c.want {
			t.Errorf("%q: listed %d, Total %d, want %d", c.prefix, len(ids), total, c.want)
		}
	}
}
