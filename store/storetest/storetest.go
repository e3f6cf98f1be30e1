// Package storetest is the conformance suite every store backend must pass:
// the embedded backend runs it today, the S3 + PostgreSQL backend will run
// it too. Call Run from a backend's tests with a function that opens a
// fresh, empty store.
package storetest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/store"
)

// Factory opens a new, empty store for one test. The suite closes it.
type Factory func(t testing.TB) store.Store

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, open Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"PutAndRead", testPutAndRead},
		{"Bookkeeping", testBookkeeping},
		{"DuplicateAndConflict", testDuplicateAndConflict},
		{"UpdateAndCarry", testUpdateAndCarry},
		{"UpdatePanic", testUpdatePanic},
		{"InvalidKeys", testInvalidKeys},
		{"NotFound", testNotFound},
		{"DeleteSession", testDeleteSession},
		{"DeleteUser", testDeleteUser},
		{"Expire", testExpire},
		{"ListFilters", testListFilters},
		{"ListSortAndPages", testListSortAndPages},
		{"ListCursorErrors", testListCursorErrors},
		{"Assets", testAssets},
		{"AssetExpiry", testAssetExpiry},
		{"Reindex", testReindex},
		{"Concurrent", testConcurrent},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// ID returns a valid session or view id built from a short name.
func ID(name string) string {
	id := name + strings.Repeat("0", 16)
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// facts is what the suite's segments tell about their session. It travels
// in NewSegment.Extra so that Summarize can rebuild the same Update from a
// stored segment, as the collector does from the events.
type facts struct {
	URL    string `json:"url,omitempty"`
	User   string `json:"user,omitempty"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Clicks int    `json:"clicks,omitempty"`
	Errors int    `json:"errors,omitempty"`
	Rage   int    `json:"rage,omitempty"`
	Dead   int    `json:"dead,omitempty"`
	Active int64  `json:"active,omitempty"`
}

// Summarize is the suite's store.Summarizer: it rebuilds a segment's
// Update from its Extra.
func Summarize(info store.SegmentInfo, extra, body []byte) (func(*store.Session), error) {
	var f facts
	if len(extra) > 0 {
		if err := json.Unmarshal(extra, &f); err != nil {
			return nil, err
		}
	}
	if _, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
		return nil, fmt.Errorf("body is not gzip: %w", err)
	}
	return update(info, f), nil
}

func update(info store.SegmentInfo, f facts) func(*store.Session) {
	return func(s *store.Session) {
		s.Clicks += f.Clicks
		s.Errors += f.Errors
		s.RageClicks += f.Rage
		s.DeadClicks += f.Dead
		s.ActiveMs += f.Active
		if f.User != "" {
			s.UserID, s.UserName, s.UserEmail = f.User, f.Name, f.Email
		}
		if f.URL != "" {
			for i := range s.Views {
				if s.Views[i].ID == info.View && s.Views[i].URL == "" {
					s.Views[i].URL = f.URL
				}
			}
			if !slices.Contains(s.URLs, f.URL) {
				s.URLs = append(s.URLs, f.URL)
			}
			if s.EntryURL == "" {
				s.EntryURL = f.URL
			}
		}
		// Carry records the order segments were applied in.
		s.Carry = append(s.Carry, byte('0'+info.Seq%10))
	}
}

// seg builds a segment of session sid, view vid, number seq, spanning
// [start, end], with facts f.
func seg(sid, vid string, seq int, start, end int64, f facts) *store.NewSegment {
	extra, _ := json.Marshal(f)
	body := Gzip([]byte(fmt.Sprintf(`[{"type":3,"timestamp":%d,"data":{"source":1}}]`, start)))
	info := store.SegmentInfo{
		SegmentKey: store.SegmentKey{Session: sid, View: vid, Seq: seq},
		Start:      start, End: end,
		FullSnapshot: seq == 0,
		Records:      1,
		RawSize:      int64(40 + seq),
		Received:     end + 50,
	}
	return &store.NewSegment{SegmentInfo: info, Body: body, Extra: extra, Update: update(info, f)}
}

func put(t testing.TB, s store.Store, n *store.NewSegment) {
	t.Helper()
	dup, err := s.PutSegment(context.Background(), n)
	if err != nil {
		t.Fatalf("PutSegment(%v): %v", n.SegmentKey, err)
	}
	if dup {
		t.Fatalf("PutSegment(%v): reported a duplicate of a new segment", n.SegmentKey)
	}
}

func readAll(t testing.TB, s store.Store, k store.SegmentKey) []byte {
	t.Helper()
	rc, err := s.OpenSegment(context.Background(), k)
	if err != nil {
		t.Fatalf("OpenSegment(%v): %v", k, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openStore(t *testing.T, open Factory) store.Store {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	return s
}

var ctx = context.Background()

func testPutAndRead(t *testing.T, open Factory) {
	s := openStore(t, open)
	sid := ID("read")
	a, b := ID("viewa"), ID("viewb")
	segs := []*store.NewSegment{
		seg(sid, a, 0, 1000, 2000, facts{}),
		seg(sid, b, 0, 1500, 1600, facts{}),
		seg(sid, a, 1, 2000, 3000, facts{}),
		seg(sid, a, 2, 3000, 3000, facts{}),
	}
	for _, n := range segs {
		put(t, s, n)
	}
	list, err := s.SegmentList(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range list {
		got = append(got, fmt.Sprintf("%s/%d@%d", in.View[:5], in.Seq, in.Start))
	}
	want := []string{"viewa/0@1000", "viewb/0@1500", "viewa/1@2000", "viewa/2@3000"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SegmentList order = %v, want %v", got, want)
	}
	for _, in := range list {
		var n *store.NewSegment
		for _, c := range segs {
			if c.SegmentKey == in.SegmentKey {
				n = c
			}
		}
		if in.End != n.End || in.FullSnapshot != n.FullSnapshot || in.Records != n.Records ||
			in.RawSize != n.RawSize || in.Size != int64(len(n.Body)) || in.Received != n.Received {
			t.Errorf("SegmentInfo %+v does not match what was put (%+v, body %d bytes)", in, n.SegmentInfo, len(n.Body))
		}
		if body := readAll(t, s, in.SegmentKey); !bytes.Equal(body, n.Body) {
			t.Errorf("OpenSegment(%v) returned %d bytes that differ from the %d put", in.SegmentKey, len(body), len(n.Body))
		}
	}
}

func testBookkeeping(t *testing.T, open Factory) {
	s := openStore(t, open)
	sid := ID("book")
	a, b := ID("viewa"), ID("viewb")
	put(t, s, seg(sid, a, 0, 5000, 6000, facts{URL: "https://a.example/"}))
	put(t, s, seg(sid, b, 0, 9000, 9500, facts{URL: "https://a.example/next"}))
	put(t, s, seg(sid, a, 1, 6000, 7000, facts{}))
	// A late segment that starts earliest moves Start back.
	put(t, s, seg(sid, a, 2, 4000, 4100, facts{}))
	got, err := s.Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if got.Start != 4000 || got.End != 9500 || got.Duration != 5500 {
		t.Errorf("Start/End/Duration = %d/%d/%d, want 4000/9500/5500", got.Start, got.End, got.Duration)
	}
	if got.Segments != 4 {
		t.Errorf("Segments = %d, want 4", got.Segments)
	}
	if got.RawBytes != 40+40+41+42 {
		t.Errorf("RawBytes = %d, want %d", got.RawBytes, 40+40+41+42)
	}
	if got.Bytes <= 0 {
		t.Errorf("Bytes = %d, want the stored size", got.Bytes)
	}
	if got.Created != 4150 || got.Updated != 9550 {
		t.Errorf("Created/Updated = %d/%d, want 4150/9550", got.Created, got.Updated)
	}
	if len(got.Views) != 2 || got.Views[0].ID != a || got.Views[1].ID != b {
		t.Fatalf("Views = %+v, want a then b", got.Views)
	}
	if v := got.Views[0]; v.Start != 4000 || v.End != 7000 || v.URL != "https://a.example/" {
		t.Errorf("view a = %+v, want 4000..7000 at https://a.example/", v)
	}
	if v := got.Views[1]; v.Start != 9000 || v.End != 9500 {
		t.Errorf("view b = %+v, want 9000..9500", v)
	}
	if got.EntryURL != "https://a.example/" || len(got.URLs) != 2 {
		t.Errorf("EntryURL %q, URLs %v", got.EntryURL, got.URLs)
	}
}

func testDuplicateAndConflict(t *testing.T, open Factory) {
	s := openStore(t, open)
	sid, vid := ID("dup"), ID("view")
	first := seg(sid, vid, 0, 1000, 2000, facts{Clicks: 1})
	put(t, s, first)
	again := seg(sid, vid, 0, 1000, 2000, facts{Clicks: 1})
	dup, err := s.PutSegment(ctx, again)
	if err != nil || !dup {
		t.Fatalf("retry of a stored segment: dup=%v err=%v, want dup=true", dup, err)
	}
	other := seg(sid, vid, 0, 1000, 2500, facts{Clicks: 5})
	other.Body = Gzip([]byte(`[{"type":3}]`))
	if _, err := s.PutSegment(ctx, other); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a different segment under a stored key: err=%v, want ErrConflict", err)
	}
	got, err := s.Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if got.Segments != 1 || got.Clicks != 1 {
		t.Errorf("after a duplicate and a conflict: Segments=%d Clicks=%d, want 1 and 1 (nothing applied twice)", got.Segments, got.Clicks)
	}
	if body := readAll(t, s, first.SegmentKey); !bytes.Equal(body, first.Body) {
		t.Error("the conflicting upload replaced the stored body")
	}
}

func testUpdateAndCarry(t *testing.T, open Factory) {
	s := openStore(t, open)
	sid, vid := ID("carry"), ID("view")
	for i := range 5 {
		put(t, s, seg(sid, vid, i, int64(1000*i), int64(1000*i+500), facts{Clicks: 2}))
	}
	got, err := s.Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if got.Clicks != 10 {
		t.Errorf("Clicks = %d, want 10", got.Clicks)
	}
	if string(got.Carry) != "01234" {
		t.Errorf("Carry = %q, want %q (each Update sees the previous one's Carry)", got.Carry, "01234")
	}
}

func testUpdatePanic(t *testing.T, open Factory) {
	s := openStore(t, open)
	sid, vid := ID("panic"), ID("view")
	put(t, s, seg(sid, vid, 0, 1000, 2000, facts{Clicks: 1}))
	bad := seg(sid, vid, 1, 2000, 3000, facts{})
	bad.Update = func(s *store.Session) {
		s.Clicks = 1000
		panic("summarizer bug")
	}
	if _, err := s.PutSegment(ctx, bad); err == nil {
		t.Fatal("a segment whose Update panics was accepted")
	}
	put(t, s, seg(sid, vid, 2, 3000, 4000, facts{Clicks: 1}))
	got, err := s.Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if got.Clicks != 2 || got.Segments != 2 {
		t.Errorf("Clicks=%d Segments=%d, want 2 and 2: the panicking segment must change nothing", got.Clicks, got.Segments)
	}
	if _, err := s.OpenSegment(ctx, bad.SegmentKey); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenSegment of the refused segment: %v, want ErrNotFound", err)
	}
}

// HostileIDs are ids no backend may accept.
var HostileIDs = []string{
	"", "short", "../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "abcdefghijklmnop/..",
	"abcdefghijklmnop\x00", "abcdefghijklmnop q", strings.Repeat("a", 65), strings.Repeat("a", 10240),
	"abcdefghijklmnop.", "ABCDEFGHIJKLMNO\\", "abcdefghijklmnopé",
}

func testInvalidKeys(t *testing.T, open Factory) {
	s := openStore(t, open)
	good := ID("good")
	for _, id := range HostileIDs {
		for _, k := range []store.SegmentKey{{Session: id, View: good}, {Session: good, View: id}} {
			n := seg(k.Session, k.View, 0, 1, 2, facts{})
			if _, err := s.PutSegment(ctx, n); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("PutSegment with key %+q: err=%v, want ErrInvalid", []string{k.Session, k.View}, err)
			}
			if _, err := s.OpenSegment(ctx, k); !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrInvalid) {
				t.Errorf("OpenSegment(%+q): %v, want ErrNotFound", []string{k.Session, k.View}, err)
			}
		}
		if _, err := s.Session(ctx, id); !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Session(%q): %v, want ErrNotFound", id, err)
		}
	}
	for _, seq := range []int{-1, store.MaxSeq} {
		if _, err := s.PutSegment(ctx, seg(good, good, seq, 1, 2, facts{})); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("PutSegment seq %d: err=%v, want ErrInvalid", seq, err)
		}
	}
	backwards := seg(good, good, 0, 5, 2, facts{})
	if _, err := s.PutSegment(ctx, backwards); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PutSegment with Start > End: err=%v, want ErrInvalid", err)
	}
	page, err := s.ListSessions(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 0 {
		t.Errorf("invalid segments created %d sessions", page.Total)
	}
}

func testNotFound(t *testing.T, open Factory) {
	s := openStore(t, open)
	id := ID("missing")
	if _, err := s.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session: %v, want ErrNotFound", err)
	}
	if _, err := s.SegmentList(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SegmentList: %v, want ErrNotFound", err)
	}
	if _, err := s.OpenSegment(ctx, store.SegmentKey{Session: id, View: id}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenSegment: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSession: %v, want ErrNotFound", err)
	}
	if _, err := s.LookupAsset(ctx, "https://x.example/a.css", 1<<50); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LookupAsset: %v, want ErrNotFound", err)
	}
	if _, _, err := s.OpenAsset(ctx, strings.Repeat("ab", 32)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenAsset: %v, want ErrNotFound", err)
	}
	if _, _, err := s.OpenAsset(ctx, "../../index.db"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenAsset(path): %v, want ErrNotFound", err)
	}
}

func testDeleteSession(t *testing.T, open Factory) {
	s := openStore(t, open)
	sid, keep, vid := ID("gone"), ID("kept"), ID("view")
	put(t, s, seg(sid, vid, 0, 1000, 2000, facts{URL: "https://shop.example/cart", User: "u1"}))
	put(t, s, seg(sid, vid, 1, 2000, 3000, facts{}))
	put(t, s, seg(keep, vid, 0, 1000, 2000, facts{URL: "https://shop.example/cart"}))
	if err := s.DeleteSession(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, sid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session after delete: %v, want ErrNotFound", err)
	}
	if _, err := s.SegmentList(ctx, sid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SegmentList after delete: %v, want ErrNotFound", err)
	}
	if _, err := s.OpenSegment(ctx, store.SegmentKey{Session: sid, View: vid}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenSegment after delete: %v, want ErrNotFound", err)
	}
	// A late segment must not bring it back.
	if _, err := s.PutSegment(ctx, seg(sid, vid, 2, 3000, 4000, facts{})); !errors.Is(err, store.ErrSessionDeleted) {
		t.Errorf("late segment of a deleted session: %v, want ErrSessionDeleted", err)
	}
	if _, err := s.Session(ctx, sid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a late segment brought the session back: %v", err)
	}
	if err := s.DeleteSession(ctx, sid); err != nil {
		t.Errorf("deleting a deleted session again: %v, want nil", err)
	}
	page, err := s.ListSessions(ctx, store.Query{URL: "cart"})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || page.Sessions[0].ID != keep {
		t.Errorf("search after delete found %d sessions, want only the kept one", page.Total)
	}
	page, _ = s.ListSessions(ctx, store.Query{User: "u1"})
	if page.Total != 0 {
		t.Errorf("user search still finds the deleted session")
	}
}

func testDeleteUser(t *testing.T, open Factory) {
	s := openStore(t, open)
	vid := ID("view")
	for i, u := range []string{"alice", "bob", "alice", "", "alice2"} {
		put(t, s, seg(ID(fmt.Sprintf("user%d", i)), vid, 0, 1000, 2000, facts{User: u}))
	}
	// Alice signs out and Bob signs in on the same browser: the session
	// now names Bob, but it recorded Alice too.
	switched := ID("switched")
	put(t, s, seg(switched, vid, 0, 1000, 2000, facts{User: "alice"}))
	put(t, s, seg(switched, vid, 1, 2000, 3000, facts{User: "bob"}))
	n, err := s.DeleteUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("DeleteUser(alice) = %d, want 3 (an exact match, not a prefix; a session she was the user of before another)", n)
	}
	if _, err := s.Session(ctx, switched); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the session Alice was recorded in before Bob signed in: %v, want ErrNotFound", err)
	}
	page, _ := s.ListSessions(ctx, store.Query{})
	if page.Total != 3 {
		t.Errorf("%d sessions left, want 3", page.Total)
	}
	if _, err := s.PutSegment(ctx, seg(ID("user0"), vid, 1, 2000, 3000, facts{})); !errors.Is(err, store.ErrSessionDeleted) {
		t.Errorf("late segment of a user-deleted session: %v, want ErrSessionDeleted", err)
	}
	if n, err := s.DeleteUser(ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("DeleteUser(nobody) = %d, %v", n, err)
	}
}

func testExpire(t *testing.T, open Factory) {
	s := openStore(t, open)
	vid := ID("view")
	day := int64(24 * time.Hour / time.Millisecond)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	ends := map[string]int64{ID("old1"): now - 40*day, ID("old2"): now - 31*day, ID("new1"): now - 29*day, ID("new2"): now}
	for id, end := range ends {
		put(t, s, seg(id, vid, 0, end-1000, end, facts{}))
	}
	before := time.UnixMilli(now - 30*day)
	n, err := s.Expire(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Expire deleted %d sessions, want 2", n)
	}
	for id, end := range ends {
		_, err := s.Session(ctx, id)
		if end < before.UnixMilli() && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired session %s still there: %v", id, err)
		}
		if end >= before.UnixMilli() && err != nil {
			t.Errorf("recent session %s gone: %v", id, err)
		}
	}
	if n, err := s.Expire(ctx, before); err != nil || n != 0 {
		t.Errorf("second Expire = %d, %v, want 0", n, err)
	}
}

// listFixture stores sessions with known metadata for the list tests.
func listFixture(t *testing.T, s store.Store) {
	vid := ID("view")
	type fx struct {
		id         string
		start, dur int64
		f          facts
	}
	fixtures := []fx{
		{"s1", 1000, 60_000, facts{URL: "https://shop.example/Checkout/step1", User: "alice", Email: "alice@corp.example", Clicks: 3}},
		{"s2", 2000, 5_000, facts{URL: "https://shop.example/", User: "bob", Name: "Bob Stone", Errors: 2, Clicks: 1}},
		{"s3", 3000, 120_000, facts{URL: "https://blog.example/post", Rage: 1, Clicks: 9}},
		{"s4", 4000, 30_000, facts{URL: "https://shop.example/checkout/done", Dead: 2, Clicks: 3}},
		{"s5", 5000, 1_000, facts{URL: "https://a.example/x", User: "Alicia", Clicks: 0}},
		{"s6", 6000, 60_000, facts{URL: "https://shop.example/", Clicks: 3, Errors: 1, Rage: 2}},
	}
	for _, f := range fixtures {
		put(t, s, seg(ID(f.id), vid, 0, f.start, f.start+f.dur, f.f))
	}
}

func ids(p *store.SessionPage) []string {
	var out []string
	for _, s := range p.Sessions {
		out = append(out, strings.TrimRight(s.ID, "0"))
	}
	return out
}

func testListFilters(t *testing.T, open Factory) {
	s := openStore(t, open)
	listFixture(t, s)
	cases := []struct {
		name string
		q    store.Query
		want []string
	}{
		{"all newest first", store.Query{}, []string{"s6", "s5", "s4", "s3", "s2", "s1"}},
		{"from", store.Query{From: 3000}, []string{"s6", "s5", "s4", "s3"}},
		{"to", store.Query{To: 3000}, []string{"s2", "s1"}},
		{"range", store.Query{From: 2000, To: 5000}, []string{"s4", "s3", "s2"}},
		{"url substring, any case", store.Query{URL: "CHECKOUT"}, []string{"s4", "s1"}},
		{"url with quotes", store.Query{URL: `"x`}, nil},
		{"short url", store.Query{URL: "/x"}, []string{"s5"}},
		{"url host", store.Query{URL: "blog.example"}, []string{"s3"}},
		{"user id prefix, any case", store.Query{User: "ALI"}, []string{"s5", "s1"}},
		{"user email", store.Query{User: "alice@corp"}, []string{"s1"}},
		{"user name", store.Query{User: "bob st"}, []string{"s2"}},
		{"min duration", store.Query{MinDuration: 60_000}, []string{"s6", "s3", "s1"}},
		{"max duration", store.Query{MaxDuration: 5_000}, []string{"s5", "s2"}},
		{"errors", store.Query{HasErrors: true}, []string{"s6", "s2"}},
		{"rage", store.Query{HasRageClicks: true}, []string{"s6", "s3"}},
		{"dead", store.Query{HasDeadClicks: true}, []string{"s4"}},
		{"combined", store.Query{URL: "shop", HasErrors: true, MinDuration: 10_000}, []string{"s6"}},
		{"nothing", store.Query{URL: "nowhere-at-all"}, nil},
		// Hostile filters from the player's search box are text to look
		// for, never query syntax.
		{"url with SQL", store.Query{URL: `' OR 1=1 --`}, nil},
		{"url with FTS syntax", store.Query{URL: `shop OR blog`}, nil},
		{"url with FTS prefix", store.Query{URL: `sho*`}, nil},
		{"url with FTS NEAR", store.Query{URL: `NEAR(shop blog)`}, nil},
		{"url with quote break-out", store.Query{URL: `shop" OR "blog`}, nil},
		{"url with LIKE wildcards", store.Query{URL: `sh%p`}, nil},
		{"short url wildcard", store.Query{URL: `%`}, nil},
		{"url not UTF-8", store.Query{URL: "\xff\xfe\xfd"}, nil},
		{"url 100 KB", store.Query{URL: strings.Repeat("shop", 25_000)}, nil},
		{"user with SQL", store.Query{User: `' OR '1'='1`}, nil},
		{"user with LIKE wildcard", store.Query{User: `%`}, nil},
		{"user with NUL", store.Query{User: "ali\x00"}, nil},
		{"negative durations", store.Query{MinDuration: -5, MaxDuration: -1}, []string{"s6", "s5", "s4", "s3", "s2", "s1"}},
		{"empty range", store.Query{From: 5000, To: 2000}, nil},
	}
	for _, tc := range cases {
		p, err := s.ListSessions(ctx, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := ids(p); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		if p.Total != len(tc.want) {
			t.Errorf("%s: Total = %d, want %d", tc.name, p.Total, len(tc.want))
		}
	}
	// A NUL cannot be searched for (no stored URL holds one, and SQL
	// engines end strings there): the request is refused as invalid, not
	// answered with a store failure.
	for _, u := range []string{"shop\x00", "\x00", "a\x00bc"} {
		if _, err := s.ListSessions(ctx, store.Query{URL: u}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("url filter %q: %v, want ErrInvalid", u, err)
		}
	}
	p, _ := s.ListSessions(ctx, store.Query{URL: "step1"})
	if len(p.Sessions) != 1 || p.Sessions[0].UserEmail != "alice@corp.example" || p.Sessions[0].Clicks != 3 {
		t.Errorf("listed session lacks its metadata: %+v", p.Sessions)
	}
}

func testListSortAndPages(t *testing.T, open Factory) {
	s := openStore(t, open)
	vid := ID("view")
	// 23 sessions with many ties, so the pages must break ties by id.
	for i := range 23 {
		f := facts{Clicks: i % 4, Errors: i % 3, Rage: i % 2, Dead: i % 5, Active: int64(i % 6)}
		start := int64(1000 + 10*(i%7))
		put(t, s, seg(ID(fmt.Sprintf("p%02d", i)), vid, 0, start, start+int64(100*(i%5)), f))
	}
	value := func(x store.Session, k store.SortKey) int64 {
		switch k {
		case store.SortEnd:
			return x.End
		case store.SortDuration:
			return x.Duration
		case store.SortActive:
			return x.ActiveMs
		case store.SortClicks:
			return int64(x.Clicks)
		case store.SortErrors:
			return int64(x.Errors)
		case store.SortRageClicks:
			return int64(x.RageClicks)
		case store.SortDeadClicks:
			return int64(x.DeadClicks)
		case store.SortPages:
			return 1
		}
		return x.Start
	}
	keys := []store.SortKey{store.SortStart, store.SortEnd, store.SortDuration, store.SortActive,
		store.SortClicks, store.SortErrors, store.SortRageClicks, store.SortDeadClicks, store.SortPages}
	for _, k := range keys {
		for _, desc := range []bool{false, true} {
			q := store.Query{Sort: k, Desc: desc, Limit: 4}
			var all []store.Session
			pages := 0
			for {
				p, err := s.ListSessions(ctx, q)
				if err != nil {
					t.Fatalf("%s desc=%v: %v", k, desc, err)
				}
				if p.Total != 23 {
					t.Fatalf("%s: Total = %d, want 23", k, p.Total)
				}
				if len(p.Sessions) > 4 {
					t.Fatalf("%s: page of %d, limit 4", k, len(p.Sessions))
				}
				all = append(all, p.Sessions...)
				pages++
				if p.Next == "" {
					break
				}
				if pages > 10 {
					t.Fatalf("%s: pagination does not end", k)
				}
				q.Cursor = p.Next
			}
			if len(all) != 23 || pages != 6 {
				t.Fatalf("%s desc=%v: %d sessions in %d pages, want 23 in 6", k, desc, len(all), pages)
			}
			seen := map[string]bool{}
			for _, x := range all {
				if seen[x.ID] {
					t.Fatalf("%s desc=%v: %s listed twice", k, desc, x.ID)
				}
				seen[x.ID] = true
			}
			sorted := sort.SliceIsSorted(all, func(i, j int) bool {
				vi, vj := value(all[i], k), value(all[j], k)
				if desc {
					return vi > vj || vi == vj && all[i].ID > all[j].ID
				}
				return vi < vj || vi == vj && all[i].ID < all[j].ID
			})
			if !sorted {
				t.Errorf("%s desc=%v: not sorted by (value, id)", k, desc)
			}
		}
	}
	// The default order is newest first.
	p, _ := s.ListSessions(ctx, store.Query{Limit: 500})
	for i := 1; i < len(p.Sessions); i++ {
		if p.Sessions[i].Start > p.Sessions[i-1].Start {
			t.Fatal("the default order is not newest first")
		}
	}
	if p, _ := s.ListSessions(ctx, store.Query{Limit: 100000}); len(p.Sessions) != 23 {
		t.Errorf("a huge limit returned %d sessions", len(p.Sessions))
	}
	if p, _ := s.ListSessions(ctx, store.Query{}); len(p.Sessions) != 23 {
		t.Errorf("the default limit (50) returned %d sessions", len(p.Sessions))
	}
}

func testListCursorErrors(t *testing.T, open Factory) {
	s := openStore(t, open)
	listFixture(t, s)
	p, err := s.ListSessions(ctx, store.Query{Limit: 2})
	if err != nil || p.Next == "" {
		t.Fatalf("first page: %v, next %q", err, p.Next)
	}
	for _, c := range []string{"garbage", "e30", "%%%", strings.Repeat("A", 5000)} {
		if _, err := s.ListSessions(ctx, store.Query{Limit: 2, Cursor: c}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("cursor %.20q: %v, want ErrInvalid", c, err)
		}
	}
	if _, err := s.ListSessions(ctx, store.Query{Limit: 2, Cursor: p.Next, Sort: store.SortClicks}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a cursor reused with another sort: %v, want ErrInvalid", err)
	}
	if _, err := s.ListSessions(ctx, store.Query{Sort: "id; DROP TABLE sessions"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown sort key: %v, want ErrInvalid", err)
	}
}

func testAssets(t *testing.T, open Factory) {
	s := openStore(t, open)
	u := "https://cdn.example/app.css"
	v1, v2 := []byte("body{color:red}"), []byte("body{color:blue}")
	sha1, err := s.PutAsset(ctx, store.Asset{URL: u, ContentType: "text/css", Seen: 1000}, bytes.NewReader(v1))
	if err != nil {
		t.Fatal(err)
	}
	if len(sha1) != 64 {
		t.Fatalf("digest %q", sha1)
	}
	again, err := s.PutAsset(ctx, store.Asset{URL: u, ContentType: "text/css", Seen: 1500}, bytes.NewReader(v1))
	if err != nil || again != sha1 {
		t.Fatalf("same body again: %q, %v", again, err)
	}
	sha2, err := s.PutAsset(ctx, store.Asset{URL: u, ContentType: "text/css", Seen: 2000}, bytes.NewReader(v2))
	if err != nil || sha2 == sha1 {
		t.Fatalf("new body: %q, %v", sha2, err)
	}
	// The same body under a second URL is stored once.
	if sha, err := s.PutAsset(ctx, store.Asset{URL: "https://cdn.example/old.css", ContentType: "text/css", Seen: 2100}, bytes.NewReader(v1)); err != nil || sha != sha1 {
		t.Fatalf("same body, other URL: %q, %v", sha, err)
	}
	// The URL went back to the first body (a rollback).
	if _, err := s.PutAsset(ctx, store.Asset{URL: u, ContentType: "text/css", Seen: 3000}, bytes.NewReader(v1)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   int64
		want string
	}{{1000, sha1}, {1999, sha1}, {2000, sha2}, {2999, sha2}, {3000, sha1}, {1 << 50, sha1}} {
		a, err := s.LookupAsset(ctx, u, tc.at)
		if err != nil {
			t.Errorf("LookupAsset at %d: %v", tc.at, err)
			continue
		}
		if a.SHA256 != tc.want || a.URL != u || a.ContentType != "text/css" {
			t.Errorf("LookupAsset at %d = %+v, want %s", tc.at, a, tc.want[:8])
		}
	}
	if _, err := s.LookupAsset(ctx, u, 999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LookupAsset before the first sighting: %v, want ErrNotFound", err)
	}
	rc, a, err := s.OpenAsset(ctx, sha2)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(body, v2) || a.Size != int64(len(v2)) || a.ContentType != "text/css" || a.SHA256 != sha2 {
		t.Errorf("OpenAsset = %q, %+v", body, a)
	}
}

func testAssetExpiry(t *testing.T, open Factory) {
	s := openStore(t, open)
	day := int64(24 * time.Hour / time.Millisecond)
	now := int64(100 * day)
	put := func(url, body string, seen int64) string {
		t.Helper()
		sha, err := s.PutAsset(ctx, store.Asset{URL: url, ContentType: "text/css", Seen: seen}, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return sha
	}
	old := put("https://cdn.example/a.css", "old", now-60*day)     // replaced by a newer body
	cur := put("https://cdn.example/a.css", "current", now-50*day) // still the URL's body
	gone := put("https://cdn.example/gone.css", "gone", now-45*day)
	gone2 := put("https://cdn.example/gone.css", "gone2", now-40*day)
	fresh := put("https://cdn.example/b.css", "fresh", now-1*day)
	if _, err := s.Expire(ctx, time.UnixMilli(now-30*day)); err != nil {
		t.Fatal(err)
	}
	exists := func(sha string) bool {
		rc, _, err := s.OpenAsset(ctx, sha)
		if err == nil {
			rc.Close()
			return true
		}
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return false
	}
	if exists(old) || exists(gone) {
		t.Error("an asset no URL serves any more, last seen before the cut, survived Expire")
	}
	if !exists(cur) || !exists(gone2) || !exists(fresh) {
		t.Error("Expire deleted an asset that is still the current body of its URL")
	}
	if a, err := s.LookupAsset(ctx, "https://cdn.example/a.css", now); err != nil || a.SHA256 != cur {
		t.Errorf("lookup after Expire: %+v %v", a, err)
	}
}

func testReindex(t *testing.T, open Factory) {
	s := openStore(t, open)
	listFixture(t, s)
	sid, vid, v2 := ID("multi"), ID("view"), ID("view2")
	put(t, s, seg(sid, vid, 0, 10_000, 11_000, facts{URL: "https://r.example/1", Clicks: 2}))
	// Arrival in (Start, View, Seq) order, the order Reindex replays in, so
	// the rebuilt summaries (Carry included) must be identical.
	put(t, s, seg(sid, vid, 1, 11_000, 12_500, facts{Errors: 1}))
	put(t, s, seg(sid, v2, 0, 12_000, 13_000, facts{URL: "https://r.example/2", User: "zed"}))
	gone := ID("deleted")
	put(t, s, seg(gone, vid, 0, 1000, 2000, facts{}))
	if err := s.DeleteSession(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAsset(ctx, store.Asset{URL: "https://r.example/a.css", ContentType: "text/css", Seen: 5000}, strings.NewReader("a{}")); err != nil {
		t.Fatal(err)
	}
	// Written after the deletion, so that whatever a backend remembers of
	// its index (ids of URLs, say) is still in memory when Reindex empties
	// the index: it must not be trusted then.
	put(t, s, seg(ID("late"), vid, 0, 14_000, 15_000, facts{URL: "https://r.example/late"}))

	snapshot := func() map[string]store.Session {
		out := map[string]store.Session{}
		p, err := s.ListSessions(ctx, store.Query{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range p.Sessions {
			full, err := s.Session(ctx, x.ID)
			if err != nil {
				t.Fatal(err)
			}
			out[x.ID] = *full
		}
		return out
	}
	before := snapshot()
	stats, err := s.Reindex(ctx, Summarize)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sessions != len(before) || stats.Segments != 10 || stats.Assets != 1 || stats.Skipped != 0 {
		t.Errorf("ReindexStats = %+v, want %d sessions, 10 segments, 1 asset, 0 skipped", stats, len(before))
	}
	after := snapshot()
	if !reflect.DeepEqual(before, after) {
		for id := range before {
			if !reflect.DeepEqual(before[id], after[id]) {
				t.Errorf("session %s differs after reindex:\nbefore %+v\nafter  %+v", id, before[id], after[id])
			}
		}
		if len(before) != len(after) {
			t.Errorf("%d sessions before reindex, %d after", len(before), len(after))
		}
	}
	if _, err := s.PutSegment(ctx, seg(gone, vid, 1, 2000, 3000, facts{})); !errors.Is(err, store.ErrSessionDeleted) {
		t.Errorf("reindex forgot a deletion: %v", err)
	}
	if a, err := s.LookupAsset(ctx, "https://r.example/a.css", 6000); err != nil || a.ContentType != "text/css" {
		t.Errorf("asset after reindex: %+v, %v", a, err)
	}
	p, _ := s.ListSessions(ctx, store.Query{URL: "r.example/2", User: "ze"})
	if p.Total != 1 {
		t.Errorf("search indexes not rebuilt: %d results", p.Total)
	}
	for _, u := range []string{"r.example/late", "late"} {
		if p, _ := s.ListSessions(ctx, store.Query{URL: u}); p.Total != 1 {
			t.Errorf("search for %q after reindex: %d results, want the session written last before it", u, p.Total)
		}
	}
}

func testConcurrent(t *testing.T, open Factory) {
	s := openStore(t, open)
	const writers, perWriter = 16, 24
	vid := ID("view")
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter*2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sid := ID(fmt.Sprintf("conc%d", w%4))
			for i := range perWriter {
				seq := w/4*perWriter + i
				n := seg(sid, vid, seq, int64(1000+seq), int64(1000+seq), facts{Clicks: 1})
				if _, err := s.PutSegment(ctx, n); err != nil {
					errs <- err
				}
				// Every third segment is retried, as a recorder would
				// after a lost response.
				if i%3 == 0 {
					if dup, err := s.PutSegment(ctx, seg(sid, vid, seq, int64(1000+seq), int64(1000+seq), facts{Clicks: 1})); err != nil || !dup {
						errs <- fmt.Errorf("retry: dup=%v err=%v", dup, err)
					}
				}
			}
		}()
	}
	// Readers at the same time.
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	for range 4 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.ListSessions(ctx, store.Query{HasErrors: false, Limit: 10}); err != nil {
					errs <- err
					return
				}
				if list, err := s.SegmentList(ctx, ID("conc0")); err == nil && len(list) > 0 {
					if rc, err := s.OpenSegment(ctx, list[len(list)-1].SegmentKey); err != nil {
						errs <- fmt.Errorf("reading a listed segment: %w", err)
						return
					} else {
						rc.Close()
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range 4 {
		got, err := s.Session(ctx, ID(fmt.Sprintf("conc%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want := writers / 4 * perWriter
		if got.Segments != want || got.Clicks != want {
			t.Errorf("session %d: Segments=%d Clicks=%d, want %d each", i, got.Segments, got.Clicks, want)
		}
	}
}

func testClose(t *testing.T, open Factory) {
	s := open(t)
	sid, vid := ID("close"), ID("view")
	put(t, s, seg(sid, vid, 0, 1, 2, facts{}))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.PutSegment(ctx, seg(sid, vid, 1, 2, 3, facts{})); !errors.Is(err, store.ErrClosed) {
		t.Errorf("PutSegment after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Session(ctx, sid); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Session after Close: %v, want ErrClosed", err)
	}
	if _, err := s.ListSessions(ctx, store.Query{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ListSessions after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Expire(ctx, time.Now()); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Expire after Close: %v, want ErrClosed", err)
	}
}
