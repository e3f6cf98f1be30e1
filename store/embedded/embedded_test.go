package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store { return openTest(t) })
}

func newSeg(sid, vid string, seq int, start, end int64) *store.NewSegment {
	return &store.NewSegment{
		SegmentInfo: store.SegmentInfo{
			SegmentKey: store.SegmentKey{Session: sid, View: vid, Seq: seq},
			Start:      start, End: end, Records: 1, RawSize: 10, Received: end,
		},
		Body: storetest.Gzip([]byte(`[{"type":4,"timestamp":1,"data":{}}]`)),
	}
}

func mustPut(t *testing.T, s *Store, n *store.NewSegment) {
	t.Helper()
	if _, err := s.PutSegment(context.Background(), n); err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sid, vid := storetest.ID("reopen"), storetest.ID("view")
	for i := range 10 {
		mustPut(t, s, newSeg(sid, vid, i, int64(i*100), int64(i*100+50)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.SegmentList(context.Background(), sid)
	if err != nil || len(list) != 10 {
		t.Fatalf("after reopen: %d segments, %v", len(list), err)
	}
	for _, in := range list {
		rc, err := s.OpenSegment(context.Background(), in.SegmentKey)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 2 {
		t.Errorf("tmp holds %d entries after a clean close and reopen, want this store's dir and lock", len(entries))
	}
}

// TestTwoStoresOneDirectory is Caddy and `caddy replay` at once: both
// write, each sees the other's writes, and Reindex waits for exclusivity.
func TestTwoStoresOneDirectory(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vid := storetest.ID("view")
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 30 {
				mustPut(t, s, newSeg(storetest.ID(fmt.Sprintf("two%d", i)), vid, j, int64(j), int64(j)))
			}
		}()
	}
	wg.Wait()
	for _, s := range []*Store{a, b} {
		p, err := s.ListSessions(ctx, store.Query{})
		if err != nil || p.Total != 2 {
			t.Fatalf("each store sees %d sessions (%v), want 2", p.Total, err)
		}
	}
	if err := b.DeleteSession(ctx, storetest.ID("two0")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutSegment(ctx, newSeg(storetest.ID("two0"), vid, 99, 1, 1)); !errors.Is(err, store.ErrSessionDeleted) {
		t.Errorf("a delete by the other process did not tombstone the session: %v", err)
	}
	if _, err := a.Reindex(ctx, nil); !errors.Is(err, store.ErrBusy) {
		t.Errorf("Reindex while another store is open: %v, want ErrBusy", err)
	}
	// The failed Reindex must leave a fully working store.
	mustPut(t, a, newSeg(storetest.ID("two1"), vid, 100, 1, 1))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	stats, err := a.Reindex(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sessions != 1 || stats.Segments != 31 {
		t.Errorf("Reindex = %+v, want 1 session with 31 segments", stats)
	}
	// A Store opened while another is reindexing waits for it.
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestRecoveryAfterCrash fakes what a crash between an index commit and
// the blob's rename leaves behind, and checks that Open finishes the job.
func TestRecoveryAfterCrash(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sid, vid := storetest.ID("crash"), storetest.ID("view")
	committed := newSeg(sid, vid, 0, 10, 20)
	mustPut(t, s, committed)
	// Move the committed blob back into a dead store's temporary
	// directory, and add a blob that never got committed.
	dead := filepath.Join(dir, "tmp", "1-deadbeef")
	os.Mkdir(dead, 0o700)
	os.WriteFile(dead+".lock", nil, 0o600)
	if err := os.Rename(s.segmentPath(committed.SegmentKey), filepath.Join(dead, tmpSegmentName(committed.SegmentKey))); err != nil {
		t.Fatal(err)
	}
	orphan := newSeg(sid, vid, 1, 20, 30)
	if err := writeBlob(filepath.Join(dead, tmpSegmentName(orphan.SegmentKey)), orphan); err != nil {
		t.Fatal(err)
	}
	// While its owner holds the lock, the directory is left alone.
	owner, err := os.OpenFile(dead+".lock", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := tryLock(owner, true); !ok || err != nil {
		t.Fatal("cannot lock", err)
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if _, err := os.Stat(dead); err != nil {
		t.Fatalf("Open recovered the temporary directory of a live store: %v", err)
	}
	owner.Close()
	s.Close()
	// Without a lock holder, the next Open recovers it.
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rc, err := s.OpenSegment(ctx, committed.SegmentKey)
	if err != nil {
		t.Fatalf("committed segment not recovered: %v", err)
	}
	rc.Close()
	if _, err := os.Stat(s.segmentPath(orphan.SegmentKey)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an uncommitted blob was moved into place: %v", err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead store's temporary directory is still there")
	}
}

func TestReindexSkipsDamagedBlobs(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	sid, vid := storetest.ID("damage"), storetest.ID("view")
	for i := range 3 {
		mustPut(t, s, newSeg(sid, vid, i, int64(i), int64(i)))
	}
	p := s.segmentPath(store.SegmentKey{Session: sid, View: vid, Seq: 1})
	b, _ := os.ReadFile(p)
	b[len(b)-6] ^= 0xff // flip a body byte: the checksum no longer matches
	os.WriteFile(p, b, 0o600)
	truncated := s.segmentPath(store.SegmentKey{Session: sid, View: vid, Seq: 2})
	b, _ = os.ReadFile(truncated)
	os.WriteFile(truncated, b[:len(b)/2], 0o600)
	os.WriteFile(filepath.Join(s.sessionDir(sid), "junk.seg"), []byte("not a blob"), 0o600)

	stats, err := s.Reindex(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Segments != 1 || stats.Skipped != 3 {
		t.Errorf("Reindex = %+v, want 1 segment and 3 skipped", stats)
	}
	list, _ := s.SegmentList(ctx, sid)
	if len(list) != 1 || list[0].Seq != 0 {
		t.Errorf("after reindex the index lists %+v", list)
	}
}

// TestCaseInsensitiveFileNames: ids that differ only in case must not
// share a file on macOS or Windows.
func TestCaseInsensitiveFileNames(t *testing.T) {
	for _, id := range []string{"abcdefghijklmnop", "ABCDEFGHIJKLMNOP", "aBc-_0123456789xyz"} {
		name := fileName(id)
		if strings.ToLower(name) != name {
			t.Errorf("fileName(%q) = %q has upper case", id, name)
		}
		back, ok := idFromFileName(name)
		if !ok || back != id {
			t.Errorf("idFromFileName(%q) = %q, %v; want %q", name, back, ok, id)
		}
	}
	if fileName("abcdefghijklmnop") == fileName("ABCDEFGHIJKLMNOP") {
		t.Error("two ids share a file name")
	}
	for _, bad := range []string{"=", "a=B", "abc", "=aaaaaaaaaaaaaaaaaa=", "../x"} {
		if _, ok := idFromFileName(bad); ok {
			t.Errorf("idFromFileName(%q) accepted", bad)
		}
	}
}
