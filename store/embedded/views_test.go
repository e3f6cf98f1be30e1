package embedded

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

// TestMaxViews: a segment that would add a view past MaxViews is
// ErrSessionFull and records nothing; the session's own views still take
// segments, other sessions are unaffected, and what was stored is indexed
// again by a reopen and a reindex under a lower bound.
func TestMaxViews(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MaxViews: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sid := storetest.ID("manyviews")
	view := func(i int) string { return storetest.ID(fmt.Sprintf("view%d", i)) }
	for i := range 3 {
		mustPut(t, s, newSeg(sid, view(i), 0, int64(i*100), int64(i*100+50)))
	}
	if _, err := s.PutSegment(ctx, newSeg(sid, view(3), 0, 300, 350)); !errors.Is(err, store.ErrSessionFull) {
		t.Fatalf("a fourth view: %v, want ErrSessionFull", err)
	}
	if sess, err := s.Session(ctx, sid); err != nil || sess.Segments != 3 || len(sess.Views) != 3 {
		t.Fatalf("after the refusal: %+v %v", sess, err)
	}
	mustPut(t, s, newSeg(sid, view(1), 1, 400, 450))
	mustPut(t, s, newSeg(storetest.ID("other"), view(3), 0, 300, 350))

	s = reopen(t, s, dir)
	s.Close()
	s, err = Open(dir, Options{MaxViews: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if sess, err := s.Session(ctx, sid); err != nil || sess.Segments != 4 || len(sess.Views) != 3 {
		t.Fatalf("after a reindex under a lower bound: %+v %v", sess, err)
	}
}
