package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	s = reopen(t, s, dir)
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

// packFiles lists the store's pack files.
func packFiles(t *testing.T, s *Store) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.Dir(), "packs", "*", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestRecoveryAfterCrash fakes what a power loss leaves behind — a batch
// fsynced in its pack but missing from the index, half a record, a pack
// the index never recorded — and checks that Open indexes every complete
// record (with the Summarizer's metadata) and cuts the rest.
func TestRecoveryAfterCrash(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	summarize := func(info store.SegmentInfo, extra, body []byte) (func(*store.Session), error) {
		return func(s *store.Session) { s.Clicks++ }, nil
	}
	s, err := Open(dir, Options{Summarizer: summarize})
	if err != nil {
		t.Fatal(err)
	}
	sid, vid := storetest.ID("crash"), storetest.ID("view")
	committed := newSeg(sid, vid, 0, 10, 20)
	mustPut(t, s, committed)
	s.Close()
	packs := packFiles(t, s)
	if len(packs) != 1 {
		t.Fatalf("%d packs", len(packs))
	}
	st, _ := os.Stat(packs[0])
	lost, _ := encodeRecord(newSeg(sid, vid, 1, 20, 30))
	half, _ := encodeRecord(newSeg(sid, vid, 2, 30, 40))
	f, _ := os.OpenFile(packs[0], os.O_WRONLY|os.O_APPEND, 0)
	f.Write(lost)
	f.Write(half[:len(half)/2])
	f.Close()
	want := st.Size() + int64(len(lost))
	// A pack whose index row was lost, from an hour ago.
	orphanRec, _ := encodeRecord(newSeg(sid, vid, 3, 40, 50))
	orphan := filepath.Join(dir, "packs", "2000-01-01", "1-1-aaaa.pack")
	os.MkdirAll(filepath.Dir(orphan), 0o700)
	os.WriteFile(orphan, orphanRec, 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(orphan, old, old)
	// One that a live process may be creating right now is left alone.
	fresh := filepath.Join(dir, "packs", "2000-01-01", "2-2-bbbb.pack")
	freshRec, _ := encodeRecord(newSeg(sid, vid, 4, 50, 60))
	os.WriteFile(fresh, freshRec, 0o600)

	s, err = Open(dir, Options{Summarizer: summarize})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, _ := os.Stat(packs[0]); st.Size() != want {
		t.Errorf("pack is %d bytes after recovery, want %d (the lost batch kept, the half record cut)", st.Size(), want)
	}
	for seq, wantFound := range map[int]bool{0: true, 1: true, 2: false, 3: true, 4: false} {
		rc, err := s.OpenSegment(ctx, store.SegmentKey{Session: sid, View: vid, Seq: seq})
		switch {
		case wantFound && err != nil:
			t.Errorf("segment %d lost: %v", seq, err)
		case !wantFound && !errors.Is(err, store.ErrNotFound):
			t.Errorf("segment %d: %v, want ErrNotFound", seq, err)
		}
		if err == nil {
			rc.Close()
		}
	}
	sess, err := s.Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Segments != 3 || sess.Clicks != 2 || sess.End != 50 {
		t.Errorf("session after recovery: %d segments, %d clicks, end %d; want 3, 2 (from the Summarizer), 50", sess.Segments, sess.Clicks, sess.End)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh pack file was touched: %v", err)
	}
	// The store keeps working; a retry of the recovered segment is a
	// duplicate.
	if dup, err := s.PutSegment(ctx, newSeg(sid, vid, 1, 20, 30)); err != nil || !dup {
		t.Errorf("retry of a recovered segment: dup=%v err=%v", dup, err)
	}
	os.Remove(fresh)
	if stats, err := s.Reindex(ctx, nil); err != nil || stats.Segments != 3 || stats.Skipped != 0 {
		t.Errorf("reindex after recovery: %+v, %v", stats, err)
	}
}

// TestLivePackIsNotRecovered: a Store opened beside a live one does not
// cut the live one's pack, whatever the index says.
func TestLivePackIsNotRecovered(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sid, vid := storetest.ID("live"), storetest.ID("view")
	mustPut(t, a, newSeg(sid, vid, 0, 1, 2))
	packs := packFiles(t, a)
	// Make the index look behind: as if a batch were being written.
	if err := a.exec(context.Background(), func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `UPDATE packs SET committed = 0`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if st, _ := os.Stat(packs[0]); st.Size() == 0 {
		t.Fatal("another Store cut the pack of a live one")
	}
}

func TestReindexSkipsDamagedRecords(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	sid, vid := storetest.ID("damage"), storetest.ID("view")
	for i := range 4 {
		mustPut(t, s, newSeg(sid, vid, i, int64(i), int64(i)))
	}
	list, _ := s.SegmentList(ctx, sid)
	spans := map[int]span{}
	for _, in := range list {
		var sp span
		if err := s.rdb.QueryRow(`SELECT s.off, s.len, p.name FROM segments s JOIN packs p ON p.id = s.pack JOIN sessions x ON x.rid = s.sess WHERE x.id = ? AND s.seq = ?`, sid, in.Seq).Scan(&sp.off, &sp.len, &sp.name); err != nil {
			t.Fatal(err)
		}
		spans[in.Seq] = sp
	}
	path := s.packPath(spans[0].name)
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	f.WriteAt([]byte{0xff}, spans[1].off+spans[1].len-6) // a body byte: the checksum fails
	f.WriteAt([]byte("xx"), spans[2].off)                // the magic
	f.Close()
	os.WriteFile(path+"x", nil, 0o600) // not a pack

	stats, err := s.Reindex(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Segments != 2 || stats.Skipped != 2 {
		t.Errorf("Reindex = %+v, want 2 segments and 2 skipped", stats)
	}
	list, _ = s.SegmentList(ctx, sid)
	if len(list) != 2 || list[0].Seq != 0 || list[1].Seq != 3 {
		t.Errorf("after reindex the index lists %+v", list)
	}
	rc, err := s.OpenSegment(ctx, store.SegmentKey{Session: sid, View: vid, Seq: 3})
	if err != nil {
		t.Fatalf("the record after the damaged ones: %v", err)
	}
	rc.Close()
}

// TestDeleteErasesBytes: a deleted session's bytes are gone from disk, not
// just from the index, and a pack with nothing left is removed.
func TestDeleteErasesBytes(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	secret := []byte("SECRET-CARD-NUMBER-4111")
	seg := func(sid string, seq int) *store.NewSegment {
		n := newSeg(sid, storetest.ID("view"), seq, int64(seq), int64(seq))
		n.Body = append([]byte(nil), secret...)
		n.Extra = []byte(`{"ip":"198.51.100.77"}`)
		return n
	}
	gone, kept := storetest.ID("gone"), storetest.ID("kept")
	for i := range 3 {
		mustPut(t, s, seg(gone, i))
	}
	mustPut(t, s, seg(kept, 0))
	if err := s.DeleteSession(ctx, gone); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		for _, p := range packFiles(t, s) {
			b, _ := os.ReadFile(p)
			n += bytes.Count(b, secret)
			if bytes.Contains(b, []byte(gone)) || bytes.Contains(b, []byte("198.51.100.77")) && n > 1 {
				t.Errorf("the deleted session's id or IP is still in %s", p)
			}
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("%d copies of the body on disk after deleting 3 of 4 segments, want 1", n)
	}
	if _, err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, gone); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reindex brought the deleted session back: %v", err)
	}
	// Expire everything: the pack is sealed (Reindex sealed it) and empty,
	// so its file goes.
	if n, err := s.Expire(ctx, time.UnixMilli(1000)); err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v", n, err)
	}
	if files := packFiles(t, s); len(files) != 0 {
		t.Errorf("empty packs left behind: %v", files)
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

// TestFailedPackWriteAcknowledgesNothing: when the batch's pack write
// fails (here its file is closed underneath the writer), the upload gets an
// error, the index records nothing of it, and the store goes on with a new
// pack: a retry succeeds and everything acknowledged survives a reopen.
func TestFailedPackWriteAcknowledgesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sid, vid := storetest.ID("failwrite"), storetest.ID("view")
	mustPut(t, s, newSeg(sid, vid, 0, 0, 50))
	// The writer is idle between batches: closing the file now is seen by
	// the next batch's write.
	s.active.f.Close()
	if _, err := s.PutSegment(ctx, newSeg(sid, vid, 1, 100, 150)); err == nil {
		t.Fatal("a segment whose pack write failed was acknowledged")
	}
	if list, err := s.SegmentList(ctx, sid); err != nil || len(list) != 1 {
		t.Fatalf("after the failed write the index lists %d segments (%v), want 1", len(list), err)
	}
	goesOnAfterFailedWrite(t, s, dir, sid, vid)
}

// goesOnAfterFailedWrite checks a store whose write of segment 1 of
// sid/vid failed (segment 0 stored): the retry and the next segment are
// stored, and all three survive a reopen, readable. It closes s.
func goesOnAfterFailedWrite(t *testing.T, s *Store, dir, sid, vid string) {
	t.Helper()
	ctx := context.Background()
	mustPut(t, s, newSeg(sid, vid, 1, 100, 150))
	mustPut(t, s, newSeg(sid, vid, 2, 200, 250))
	s = reopen(t, s, dir)
	defer s.Close()
	list, err := s.SegmentList(ctx, sid)
	if err != nil || len(list) != 3 {
		t.Fatalf("after reopen: %d segments (%v), want 3", len(list), err)
	}
	for _, in := range list {
		rc, err := s.OpenSegment(ctx, in.SegmentKey)
		if err != nil {
			t.Fatalf("segment %d: %v", in.Seq, err)
		}
		rc.Close()
	}
}

// reopen closes s and opens its directory again, as a restart would.
func reopen(t *testing.T, s *Store, dir string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFailedEraseCanBeRetried: when the bytes of a deleted session cannot
// be erased from its pack (an I/O error, or the process dies first), the
// deletion must not be half done: the index forgot where the records were,
// so a retried delete "succeeded" and left them on disk for good (until
// the pack expired), though the operator was promised they were gone.
func TestFailedEraseCanBeRetried(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	secret := []byte("SECRET-TO-ERASE-5500")
	gone, kept, vid := storetest.ID("gone"), storetest.ID("kept"), storetest.ID("view")
	for i, sid := range []string{gone, kept} {
		n := newSeg(sid, vid, 0, int64(i), int64(i))
		n.Body = append([]byte(nil), secret...)
		mustPut(t, s, n)
	}
	files := packFiles(t, s)
	if len(files) != 1 {
		t.Fatalf("packs: %v", files)
	}
	pack := files[0]
	// The pack cannot be opened for writing: a directory stands at its
	// path (the store's own handle still reaches the file).
	if err := os.Rename(pack, pack+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(pack, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, gone); err == nil {
		t.Fatal("DeleteSession succeeded though the records could not be erased")
	}
	os.Remove(pack)
	if err := os.Rename(pack+".away", pack); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, gone); err != nil {
		t.Fatalf("retried DeleteSession: %v", err)
	}
	b, err := os.ReadFile(pack)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, secret); n != 1 {
		t.Errorf("%d copies of the segment body on disk after the retried delete, want 1 (the kept session's)", n)
	}
	if _, err := s.Session(ctx, gone); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session after the retried delete: %v", err)
	}
	if _, err := s.PutSegment(ctx, newSeg(gone, vid, 1, 5, 5)); !errors.Is(err, store.ErrSessionDeleted) {
		t.Errorf("a late segment after the retried delete: %v, want ErrSessionDeleted", err)
	}
	if r, err := s.OpenSegment(ctx, store.SegmentKey{Session: kept, View: vid}); err != nil {
		t.Errorf("the kept session: %v", err)
	} else {
		r.Close()
	}
}
