package embedded

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

// TestExpireSparesASessionWrittenMeanwhile: Expire picks the sessions to
// delete outside the writer; a segment that lands before the deletion
// runs moves the session's end past the cut, and the session (with that
// acknowledged segment) stays. Before, it was deleted all the same.
func TestExpireSparesASessionWrittenMeanwhile(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	idle, live := storetest.ID("idle"), storetest.ID("live")
	vid := storetest.ID("view")
	mustPut(t, s, newSeg(idle, vid, 0, 0, 1000))
	mustPut(t, s, newSeg(live, vid, 0, 0, 1000))
	const cut = 5000
	ids, err := s.sessionIDs(ctx, `SELECT id FROM sessions WHERE end_ms < ? ORDER BY end_ms`, cut)
	if err != nil || len(ids) != 2 {
		t.Fatalf("expirable: %v %v", ids, err)
	}
	// The late segment lands between the choice and the deletion.
	mustPut(t, s, newSeg(live, vid, 1, 9000, 10_000))
	var n int
	err = s.exec(ctx, func(ctx context.Context, tx querier) error {
		r, err := expireSessions(ctx, tx, ids, cut, time.Now().Add(time.Hour))
		n = len(r.sessions)
		return err
	})
	if err != nil || n != 1 {
		t.Fatalf("expired %d (%v), want 1", n, err)
	}
	if _, err := s.Session(ctx, idle); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the idle session: %v, want ErrNotFound", err)
	}
	if sess, err := s.Session(ctx, live); err != nil || sess.Segments != 2 {
		t.Fatalf("the session written meanwhile: %+v %v", sess, err)
	}
	if list, err := s.SegmentList(ctx, live); err != nil || len(list) != 2 {
		t.Errorf("its segments: %d (%v), want 2", len(list), err)
	}
}

// TestExpireInSlices: each of Expire's transactions stops once its slice
// of the writer is spent (it deleted 256 sessions at a time, half a second
// over a million sessions, while segment writes waited), yet goes through
// at least one session, and Expire goes on until every expired session is
// gone.
func TestExpireInSlices(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	vid := storetest.ID("view")
	var ids []string
	for i := range 30 {
		id := storetest.ID(fmt.Sprintf("slice%02d", i))
		ids = append(ids, id)
		mustPut(t, s, newSeg(id, vid, 0, int64(i*100), int64(i*100+50)))
	}
	// A deadline already passed: exactly one session per transaction.
	var n, done int
	err := s.exec(ctx, func(ctx context.Context, tx querier) error {
		r, err := expireSessions(ctx, tx, ids[:5], 10_000, time.Now().Add(-time.Second))
		n, done = len(r.sessions), r.done
		return err
	})
	if err != nil || n != 1 || done != 1 {
		t.Fatalf("past its deadline a slice expired %d of %d (%v), want 1 of 1", n, done, err)
	}
	// A far deadline: all of them, a session that is gone counted as gone
	// through.
	err = s.exec(ctx, func(ctx context.Context, tx querier) error {
		r, err := expireSessions(ctx, tx, ids[:5], 10_000, time.Now().Add(time.Hour))
		n, done = len(r.sessions), r.done
		return err
	})
	if err != nil || n != 4 || done != 5 {
		t.Fatalf("a slice with time expired %d of %d (%v), want 4 of 5", n, done, err)
	}
	// Expire with a slice too short for a second session: one per
	// transaction, and still all of those that ended before the cut
	// (20 of them: 5 gone above, 5 ending after it).
	s.tune.expireSlice = time.Nanosecond
	got, err := s.Expire(ctx, time.UnixMilli(2500))
	if err != nil || got != 20 {
		t.Fatalf("Expire: %d (%v), want 20", got, err)
	}
	p, err := s.ListSessions(ctx, store.Query{})
	if err != nil || p.Total != 5 {
		t.Fatalf("left: %d (%v), want 5", p.Total, err)
	}
	for _, x := range p.Sessions {
		if x.End < 2500 {
			t.Errorf("%s ended at %d, before the cut, and is still there", x.ID, x.End)
		}
	}
}

// TestExpireKeepsTheWriterCacheRight: Expire's transactions leave the
// writer's caches in place (dropping them made every segment after a
// slice reload its session) but for what they deleted. A URL that left the
// index with its last session comes back, searchable, with the next
// session that visits it; a segment for an expired session starts it
// afresh; a session that lives on keeps its counts.
func TestExpireKeepsTheWriterCacheRight(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	old, live, late := storetest.ID("old"), storetest.ID("live"), storetest.ID("late")
	vid := storetest.ID("view")
	const gone, kept = "https://shop.example/only-old", "https://shop.example/kept"
	mustPut(t, s, segAt(old, vid, 0, 0, 1000, gone))
	mustPut(t, s, segAt(live, vid, 0, 0, 1000, kept))
	mustPut(t, s, segAt(live, vid, 1, 9000, 10_000, kept))
	// One of Expire's slices, as segments would see the writer between
	// two of them (Expire itself ends with transactions that forget).
	if r, err := s.expireSlice(ctx, []string{old, live}, 5000); err != nil || len(r.sessions) != 1 {
		t.Fatalf("expireSlice: %+v (%v), want 1 session expired", r, err)
	}
	if n := count(t, s.cdb, `SELECT count(*) FROM urls WHERE url = ?`, gone); n != 0 {
		t.Fatalf("the expired session's URL is still in urls")
	}
	mustPut(t, s, segAt(late, vid, 0, 20_000, 21_000, gone))
	mustPut(t, s, segAt(live, vid, 2, 22_000, 23_000, kept))
	// A segment for the expired session starts it afresh.
	mustPut(t, s, newSeg(old, vid, 1, 30_000, 31_000))
	if sess, err := s.Session(ctx, old); err != nil || sess.Segments != 1 {
		t.Errorf("the expired session written again: %+v (%v), want a new session of 1 segment", sess, err)
	}
	if got := findByURL(t, s, "only-old"); !slices.Equal(got, []string{late}) {
		t.Errorf("search for the URL that came back: %v, want [late]", got)
	}
	if got := findByURL(t, s, "kept"); !slices.Equal(got, []string{live}) {
		t.Errorf("search for the kept URL: %v, want [live]", got)
	}
	if sess, err := s.Session(ctx, live); err != nil || sess.Segments != 3 || sess.End != 23_000 {
		t.Errorf("the live session: %+v (%v), want 3 segments ending at 23000", sess, err)
	}
	ftsIntegrity(t, s)
}
