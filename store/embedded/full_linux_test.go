//go:build linux

package embedded

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

// TestDiskFullAcknowledgesNothing: a pack write that fails for want of
// space (the pack swapped for /dev/full, whose writes fail with ENOSPC)
// is ErrFull to the caller, records nothing, and the store goes on once
// there is room: a retry succeeds and everything acknowledged survives a
// reopen.
func TestDiskFullAcknowledgesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sid, vid := storetest.ID("diskfull"), storetest.ID("view")
	mustPut(t, s, newSeg(sid, vid, 0, 0, 50))
	devFull, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("opening /dev/full: %v", err)
	}
	s.active.f.Close()
	s.active.f = devFull
	_, err = s.PutSegment(ctx, newSeg(sid, vid, 1, 100, 150))
	if !errors.Is(err, store.ErrFull) {
		t.Fatalf("a segment written to a full disk: %v, want ErrFull", err)
	}
	if list, err := s.SegmentList(ctx, sid); err != nil || len(list) != 1 {
		t.Fatalf("after the failed write the index lists %d segments (%v), want 1", len(list), err)
	}
	if sess, err := s.Session(ctx, sid); err != nil || sess.Segments != 1 {
		t.Fatalf("after the failed write the session counts %+v (%v)", sess, err)
	}
	goesOnAfterFailedWrite(t, s, dir, sid, vid)
}
