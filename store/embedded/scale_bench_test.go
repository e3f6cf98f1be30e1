package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

// BenchmarkScale measures the index as an operator of a busy site sees it
// after a month: REPLAY_SCALE_SESSIONS sessions (default 1,000,000, about
// 33,000 a day over 30 days). It reports the median of repeated calls of
// every list query the player makes, one session's metadata, deleting a
// session and a user's sessions, the retention janitor expiring the oldest
// day with the latency of lists and segment writes while it runs, and the
// database size.
//
//	go test ./store/embedded -run '^$' -bench Scale -benchtime 1x -timeout 30m
//
// The index is filled directly in one SQLite transaction (the store's own
// write path takes a segment at a time and would need hours for a
// month): rows shaped like the collector's, from a fixed seed. Pack files
// are not written, so deletions measure the index and not hole punching.
// With REPLAY_SCALE_DIR set, the filled index is kept there and reused by
// later runs (each run works on a copy).
func BenchmarkScale(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("REPLAY_SCALE_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("REPLAY_SCALE_SESSIONS=%q: want a number >= 1000", v)
		}
	}
	ctx := context.Background()
	gen := newScaleGen(n)
	tmpl := os.Getenv("REPLAY_SCALE_DIR")
	if tmpl == "" {
		tmpl = b.TempDir()
	}
	tmpl = filepath.Join(tmpl, fmt.Sprintf("scale-%d-v%d-g%d", n, schemaVersion, scaleGenVersion))
	if _, err := os.Stat(filepath.Join(tmpl, "index.db")); err != nil {
		t0 := time.Now()
		if err := gen.build(tmpl); err != nil {
			os.RemoveAll(tmpl)
			b.Fatal(err)
		}
		fmt.Printf("filled %d sessions in %v\n", n, time.Since(t0).Round(time.Second))
	}
	dir := b.TempDir()
	if err := copyFile(filepath.Join(tmpl, "index.db"), filepath.Join(dir, "index.db")); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "index.db"))
	if err != nil {
		b.Fatal(err)
	}

	t0 := time.Now()
	s, err := Open(dir, Options{Now: func() time.Time { return time.UnixMilli(gen.now) }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	openTime := time.Since(t0)

	report := func(name string, med, worst time.Duration, extra string) {
		b.Run(name, func(b *testing.B) {
			b.ReportMetric(float64(med.Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(worst.Microseconds())/1000, "ms-max")
			b.ReportMetric(0, "ns/op")
			if extra != "" {
				b.Log(extra)
			}
		})
	}
	b.Run("index", func(b *testing.B) {
		b.ReportMetric(float64(st.Size())/1e6*1e6/float64(n), "MB-per-million-sessions")
		b.ReportMetric(float64(openTime.Milliseconds()), "ms-open")
		b.ReportMetric(0, "ns/op")
	})
	list := func(name string, q store.Query) {
		var page *store.SessionPage
		med, worst := timeCalls(func() error {
			var err error
			page, err = s.ListSessions(ctx, q)
			return err
		}, b)
		report("list/"+name, med, worst, fmt.Sprintf("Total=%d, page=%d", page.Total, len(page.Sessions)))
	}

	day := int64(24 * time.Hour / time.Millisecond)
	mid := gen.now - 15*day
	list("default", store.Query{})
	p1, err := s.ListSessions(ctx, store.Query{})
	if err != nil {
		b.Fatal(err)
	}
	list("page2", store.Query{Cursor: p1.Next})
	next := p1.Next
	for range 198 {
		p, err := s.ListSessions(ctx, store.Query{Cursor: next})
		if err != nil {
			b.Fatal(err)
		}
		next = p.Next
	}
	list("page200", store.Query{Cursor: next})
	for _, k := range []store.SortKey{store.SortStart, store.SortEnd, store.SortDuration, store.SortActive,
		store.SortClicks, store.SortErrors, store.SortRageClicks, store.SortDeadClicks, store.SortPages} {
		list("sort-"+string(k)+"-asc", store.Query{Sort: k})
		list("sort-"+string(k)+"-desc", store.Query{Sort: k, Desc: true})
	}
	list("day", store.Query{From: mid, To: mid + day})
	list("url3", store.Query{URL: "car"})
	list("url5", store.Query{URL: "check"})
	list("url20", store.Query{URL: "/products/trail-shoe"})
	list("url-rare", store.Query{URL: scaleRarePath})
	list("url-common", store.Query{URL: "/products"})
	list("url2", store.Query{URL: "/c"})
	list("user-prefix", store.Query{User: "user-12"})
	list("min-duration-10m", store.Query{MinDuration: 600_000})
	list("max-duration-10s", store.Query{MaxDuration: 10_000})
	list("has-errors", store.Query{HasErrors: true})
	list("rage", store.Query{HasRageClicks: true})
	list("dead", store.Query{HasDeadClicks: true})
	list("day+errors", store.Query{From: mid, To: mid + day, HasErrors: true})
	list("day+url-common+duration-desc", store.Query{From: mid, To: mid + day, URL: "/products", Sort: store.SortDuration, Desc: true})
	list("url5+rage", store.Query{URL: "check", HasRageClicks: true})
	list("user+errors", store.Query{User: "user-1", HasErrors: true})
	list("min-duration+dead+clicks-desc", store.Query{MinDuration: 60_000, HasDeadClicks: true, Sort: store.SortClicks, Desc: true})

	// One session's metadata, for sessions spread over the month.
	i := 0
	med, worst := timeCalls(func() error {
		i++
		_, err := s.Session(ctx, gen.sessionID(i*7919%n))
		return err
	}, b)
	report("session", med, worst, "")

	i = 0
	med, worst = timeCalls(func() error {
		i++
		return s.DeleteSession(ctx, gen.sessionID(i*104729%n))
	}, b)
	report("delete-session", med, worst, "")

	users := gen.usersWithSessions(s, 12)
	i = 0
	var deleted []int
	med, worst = timeCalls(func() error {
		u := users[i%len(users)]
		i++
		m, err := s.DeleteUser(ctx, u)
		deleted = append(deleted, m)
		return err
	}, b)
	report("delete-user", med, worst, fmt.Sprintf("sessions per user: %v", deleted))

	// The janitor expires the oldest day while the player lists and the
	// collector writes; the same load for 15 s without the janitor first,
	// for comparison on a shared machine.
	for _, phase := range []string{"no-janitor", "expire-day"} {
		var expired int
		var took time.Duration
		lists, writes := underLoad(b, s, gen, phase, func() error {
			t0 := time.Now()
			var err error
			if phase == "expire-day" {
				expired, err = s.Expire(ctx, time.UnixMilli(gen.start+day))
			} else {
				time.Sleep(15 * time.Second)
			}
			took = time.Since(t0)
			return err
		})
		if phase == "expire-day" {
			report("expire-day", took, took, fmt.Sprintf("expired %d sessions", expired))
		}
		lm, lx := medianMax(lists)
		wm, wx := medianMax(writes)
		report(phase+"/concurrent-list", lm, lx, fmt.Sprintf("%d lists, p95 %v, over 100 ms: %d", len(lists), p95(lists), over(lists, 100*time.Millisecond)))
		report(phase+"/concurrent-write", wm, wx, fmt.Sprintf("%d segment writes, p95 %v, over 100 ms: %d", len(writes), p95(writes), over(writes, 100*time.Millisecond)))
	}
}

// underLoad runs f while one goroutine lists the newest sessions every
// 20 ms and another writes a segment every 10 ms (a session of ten
// segments after another), and returns the latencies of each.
func underLoad(b *testing.B, s *Store, gen *scaleGen, name string, f func() error) (lists, writes []time.Duration) {
	ctx := context.Background()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			t := time.Now()
			if _, err := s.ListSessions(ctx, store.Query{}); err != nil {
				b.Error(err)
				return
			}
			lists = append(lists, time.Since(t))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		body := storetest.Gzip(make([]byte, 4000))
		for k := 0; ; k++ {
			select {
			case <-done:
				return
			default:
			}
			sid := storetest.ID(fmt.Sprintf("%s-live-%d", name, k/10))
			seg := &store.NewSegment{SegmentInfo: store.SegmentInfo{
				SegmentKey: store.SegmentKey{Session: sid, View: storetest.ID("view"), Seq: k % 10},
				Start:      gen.now + int64(k)*1000, End: gen.now + int64(k)*1000 + 900, Records: 20, RawSize: 4000,
				Received: gen.now},
				Body: body, Update: func(s *store.Session) { s.Clicks++ }}
			t := time.Now()
			if _, err := s.PutSegment(ctx, seg); err != nil {
				b.Error(err)
				return
			}
			writes = append(writes, time.Since(t))
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	err := f()
	close(done)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	return lists, writes
}

// timeCalls calls f once to warm the cache, then repeatedly (fewer times
// for a slow call, so the benchmark stays bounded), and returns the median
// and slowest.
func timeCalls(f func() error, b *testing.B) (med, worst time.Duration) {
	t := time.Now()
	if err := f(); err != nil {
		b.Fatal(err)
	}
	reps := 9
	if time.Since(t) > 500*time.Millisecond {
		reps = 3
	}
	var ds []time.Duration
	for range reps {
		t := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t))
	}
	return medianMax(ds)
}

func medianMax(ds []time.Duration) (med, worst time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1]
}

func p95(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)*95/100].Round(time.Millisecond / 10)
}

func over(ds []time.Duration, limit time.Duration) int {
	n := 0
	for _, d := range ds {
		if d > limit {
			n++
		}
	}
	return n
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// scaleGenVersion names the shape of the generated rows; a kept index of
// another shape is not reused.
const scaleGenVersion = 1

// scaleRarePath is visited by about one session in 4,000.
const scaleRarePath = "/legal/imprint"

// scaleGen makes a month of sessions of a shop: a few hundred paths, some
// with query strings, some with an order number of their own.
type scaleGen struct {
	n          int
	start, now int64 // the month the sessions start in (ms)
	paths      []string
	weights    []float64 // cumulative popularity of paths
}

func newScaleGen(n int) *scaleGen {
	g := &scaleGen{n: n, now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}
	g.start = g.now - 30*24*int64(time.Hour/time.Millisecond)
	words := []string{"trail", "road", "city", "summit", "river", "alpine", "urban", "coast", "forest", "desert"}
	kinds := []string{"shoe", "jacket", "pack", "tent", "sock", "cap", "glove", "bottle", "lamp", "pole"}
	add := func(p string, w float64) {
		g.paths = append(g.paths, p)
		prev := 0.0
		if len(g.weights) > 0 {
			prev = g.weights[len(g.weights)-1]
		}
		g.weights = append(g.weights, prev+w)
	}
	add("/", 30)
	add("/products", 12)
	add("/cart", 8)
	add("/checkout", 3)
	add("/checkout/payment", 2)
	add("/checkout/done", 1)
	add("/account", 3)
	add("/account/orders", 1)
	add("/search", 6)
	add("/blog", 2)
	add(scaleRarePath, 0.02)
	add("/legal/privacy", 0.1)
	for _, w := range words {
		add("/category/"+w, 2)
		for _, k := range kinds {
			for v := range 2 {
				add(fmt.Sprintf("/products/%s-%s-%d", w, k, v), 0.5)
			}
		}
	}
	for i := range 60 {
		add(fmt.Sprintf("/blog/%d/notes-from-the-%s", 2020+i%6, words[i%len(words)]), 0.2)
	}
	return g
}

func (g *scaleGen) sessionID(i int) string {
	return fmt.Sprintf("s%015d-%08x", i, uint32(i)*2654435761)
}

// url draws a visited URL: a path by popularity, a third of them with a
// query string (search terms, paging, campaign tags), an order page now
// and then.
func (g *scaleGen) url(r *rand.Rand) string {
	const origin = "https://shop.example.com"
	if r.IntN(200) == 0 {
		return fmt.Sprintf("%s/account/orders/%d", origin, 100000+r.IntN(900000))
	}
	x := r.Float64() * g.weights[len(g.weights)-1]
	i, _ := slices.BinarySearch(g.weights, x)
	p := g.paths[min(i, len(g.paths)-1)]
	switch r.IntN(9) {
	case 0:
		p += "?q=" + []string{"boots", "rain+jacket", "tent+2p", "socks", "headlamp", "gift"}[r.IntN(6)] + strconv.Itoa(r.IntN(50))
	case 1:
		p += "?page=" + strconv.Itoa(2+r.IntN(20))
	case 2:
		p += fmt.Sprintf("?utm_source=%s&utm_campaign=spring%d", []string{"newsletter", "google", "facebook", "partner"}[r.IntN(4)], r.IntN(12))
	}
	return origin + p
}

// build creates a store in dir and fills its index.
func (g *scaleGen) build(dir string) error {
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "index.db")+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-1000000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	prep := func(q string) *sql.Stmt {
		st, e := tx.Prepare(q)
		if e != nil && err == nil {
			err = e
		}
		return st
	}
	insSess := prep(`INSERT INTO sessions (rid, ` + sessionCols + `) VALUES (?, ?` + strings.Repeat(",?", len(sessionColumns)-1) + `)`)
	insSeg := prep(`INSERT INTO segments (sess, view, seq, start_ms, end_ms, full, records, raw, size, received, pack, off, len) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	insURL := prep(`INSERT INTO urls (id, url) VALUES (?, ?)`)
	insSU := prep(`INSERT OR IGNORE INTO session_urls (sess, url) VALUES (?, ?)`)
	insUser := prep(`INSERT OR IGNORE INTO session_users (term, session) VALUES (?, ?)`)
	insUID := prep(`INSERT OR IGNORE INTO session_user_ids (user_id, session) VALUES (?, ?)`)
	insPack := prep(`INSERT INTO packs (id, name, committed, live, created) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	urlIDs := map[string]int64{}
	const packSpan = 10 * 60 * 1000 // a pack per 10 minutes of traffic
	packLive := map[int64]int64{}
	packOff := map[int64]int64{}
	span := g.now - g.start
	for i := range g.n {
		id := g.sessionID(i)
		rid := int64(i + 1)
		start := g.start + span*int64(i)/int64(g.n) + r.Int64N(1000)
		// Durations spread log-uniformly from 5 s to an hour.
		dur := int64(5000 * math.Exp(r.Float64()*math.Log(720)))
		views := 1 + min(int(dur/90_000), r.IntN(8))
		sess := &store.Session{ID: id, Start: start, End: start + dur, Duration: dur,
			ActiveMs: dur * int64(30+r.IntN(60)) / 100, Clicks: r.IntN(3 + int(dur/20000)), Inputs: r.IntN(5),
			ViewportWidth: []int{390, 412, 1280, 1440, 1920}[r.IntN(5)], ViewportHeight: 800,
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
			Created:   start, Updated: start + dur}
		if r.IntN(100) < 4 {
			sess.Errors = 1 + r.IntN(5)
		}
		if r.IntN(100) < 3 {
			sess.RageClicks = 1 + r.IntN(3)
		}
		if r.IntN(100) < 5 {
			sess.DeadClicks = 1 + r.IntN(4)
		}
		if r.IntN(10) == 0 {
			u := r.IntN(g.n / 20) // a signed-in user comes back about twice a month
			sess.UserID = fmt.Sprintf("user-%d", u)
			sess.UserName = fmt.Sprintf("Customer %d", u)
			sess.UserEmail = fmt.Sprintf("customer%d@example.org", u)
		}
		pack := (start - g.start) / packSpan
		segs := 0
		for v := range views {
			vid := fmt.Sprintf("v%015d-%d", i, v)
			u := g.url(r)
			if v == 0 {
				sess.EntryURL = u
			}
			if !slices.Contains(sess.URLs, u) {
				sess.URLs = append(sess.URLs, u)
			}
			sess.Views = append(sess.Views, store.View{ID: vid, URL: u, Title: "Shop"})
			vs, ve := start+dur*int64(v)/int64(views), start+dur*int64(v+1)/int64(views)
			// A segment per minute of the view, at least one.
			nseg := 1 + int((ve-vs)/60_000)
			for q := range nseg {
				size := int64(2000 + r.IntN(30000))
				ss, se := vs+(ve-vs)*int64(q)/int64(nseg), vs+(ve-vs)*int64(q+1)/int64(nseg)
				if _, err := insSeg.Exec(rid, vid, q, ss, se, q == 0, 20+r.IntN(200), size*6, size, se+500, pack+1, packOff[pack], size); err != nil {
					return err
				}
				packOff[pack] += size
				packLive[pack]++
				sess.Bytes += size
				sess.RawBytes += size * 6
				segs++
			}
		}
		sess.Segments = segs
		if _, err := insSess.Exec(append([]any{rid}, sessionArgs(sess)...)...); err != nil {
			return err
		}
		for _, u := range sess.URLs {
			uid, ok := urlIDs[u]
			if !ok {
				uid = int64(len(urlIDs) + 1)
				urlIDs[u] = uid
				if _, err := insURL.Exec(uid, u); err != nil {
					return err
				}
			}
			if _, err := insSU.Exec(rid, uid); err != nil {
				return err
			}
		}
		for _, t := range userTerms(sess) {
			if _, err := insUser.Exec(t, id); err != nil {
				return err
			}
		}
		if sess.UserID != "" {
			if _, err := insUID.Exec(sess.UserID, id); err != nil {
				return err
			}
		}
	}
	for p, live := range packLive {
		if _, err := insPack.Exec(p+1, fmt.Sprintf("packs/%d.pack", p+1), packOff[p], live, g.start+p*packSpan); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`INSERT INTO url_fts (url_fts) VALUES ('rebuild')`); err != nil {
		return err
	}
	// No ANALYZE: the store never runs one, so the planner here sees
	// what it sees in production.
	return tx.Commit()
}

// usersWithSessions returns k user ids that have sessions.
func (g *scaleGen) usersWithSessions(s *Store, k int) []string {
	ids, _ := s.sessionIDs(context.Background(), `SELECT DISTINCT user_id FROM session_user_ids ORDER BY user_id LIMIT ?`, k)
	return ids
}
