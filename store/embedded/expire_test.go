package embedded

import (
	"context"
	"errors"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

// TestExpireSparesASessionWrittenMeanwhile: Expire picks the sessions to
// delete outside the writer; a segment that lands before the deletion
// runs moves the session's end past the cut, and the session (with that
// acknowledged segment) stays. Before, it was deleted all the same.
func TestExpireSparesASessionWrittenMeanwhile(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
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
		var err error
		_, n, err = expireSessions(ctx, tx, ids, cut)
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
