package collector

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
)

// post uploads hand-written segments of one session in order.
func (h *harness) post(segs ...*segmentSpec) {
	h.t.Helper()
	for _, s := range segs {
		h.mustAccept(uploadOf(handSegment(s.sid, s.vid, s.seq, s.events...)))
	}
}

type segmentSpec struct {
	sid, vid string
	seq      int
	events   []string
}

func spec(sid, vid string, seq int, events ...string) *segmentSpec {
	return &segmentSpec{sid, vid, seq, events}
}

// first is a view's first segment at t0, with more events after.
func first(sid, vid, tab string, t0 int64, more ...string) *segmentSpec {
	evs := append([]string{metaEv(t0, "https://shop.example/"+vid[:4]), viewEv(t0, "https://shop.example/"+vid[:4], tab), fullEv(t0)}, more...)
	return spec(sid, vid, 0, evs...)
}

const T = visitStart

func TestRageClicks(t *testing.T) {
	cases := []struct {
		name string
		segs func(sid, vid string) []*segmentSpec
		want int
	}{
		{"three fast clicks in one place", func(sid, vid string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T, clickEv(T+100, 10, 10), clickEv(T+300, 15, 12), clickEv(T+500, 12, 30))}
		}, 1},
		{"two clicks are not rage", func(sid, vid string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T, clickEv(T+100, 10, 10), clickEv(T+300, 10, 10))}
		}, 0},
		{"three clicks too slow", func(sid, vid string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T, clickEv(T+100, 10, 10), clickEv(T+800, 10, 10), clickEv(T+1600, 10, 10))}
		}, 0},
		{"three clicks too far apart", func(sid, vid string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T, clickEv(T+100, 10, 10), clickEv(T+200, 100, 10), clickEv(T+300, 200, 10))}
		}, 0},
		{"a long burst counts once", func(sid, vid string) []*segmentSpec {
			var evs []string
			for i := range 10 {
				evs = append(evs, clickEv(T+100+int64(i)*150, 50, 50))
			}
			return []*segmentSpec{first(sid, vid, "t", T, evs...)}
		}, 1},
		{"two bursts in two places", func(sid, vid string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T,
				clickEv(T+100, 10, 10), clickEv(T+200, 10, 10), clickEv(T+300, 10, 10),
				clickEv(T+400, 500, 500), clickEv(T+500, 500, 500), clickEv(T+600, 500, 500))}
		}, 2},
		{"a burst across two segments", func(sid, vid string) []*segmentSpec {
			return []*segmentSpec{
				first(sid, vid, "t", T, clickEv(T+4700, 10, 10), clickEv(T+4900, 12, 10)),
				spec(sid, vid, 1, clickEv(T+5100, 11, 11), clickEv(T+5300, 11, 11)),
			}
		}, 1},
	}
	for i, tc := range cases {
		h := newHarness(t, Config{})
		sid, vid := id("rage"+itoa(i)), id("view")
		h.post(tc.segs(sid, vid)...)
		if got := h.session(sid).RageClicks; got != tc.want {
			t.Errorf("%s: %d rage clicks, want %d", tc.name, got, tc.want)
		}
	}
}

func TestDeadClicks(t *testing.T) {
	cases := []struct {
		name string
		segs func(sid, vid, vid2 string) []*segmentSpec
		want int
	}{
		{"the page reacts", func(sid, vid, _ string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T, clickEv(T+100, 1, 1), mutationEv(T+400), moveEv(T+3000))}
		}, 0},
		{"typing after the click is a reaction", func(sid, vid, _ string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T, clickEv(T+100, 1, 1), inputEv(T+900, 7), moveEv(T+3000))}
		}, 0},
		{"nothing happens", func(sid, vid, _ string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T, clickEv(T+100, 1, 1), moveEv(T+600), moveEv(T+2000))}
		}, 1},
		{"a reaction too late", func(sid, vid, _ string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T, clickEv(T+100, 1, 1), mutationEv(T+1500))}
		}, 1},
		{"a change before the click does not count", func(sid, vid, _ string) []*segmentSpec {
			return []*segmentSpec{first(sid, vid, "t", T, mutationEv(T+100), clickEv(T+100, 1, 1), moveEv(T+2000))}
		}, 1},
		{"the reaction is in the next segment", func(sid, vid, _ string) []*segmentSpec {
			return []*segmentSpec{
				first(sid, vid, "t", T, clickEv(T+4800, 1, 1)),
				spec(sid, vid, 1, mutationEv(T+5200), moveEv(T+8000)),
			}
		}, 0},
		{"the next segment shows no reaction", func(sid, vid, _ string) []*segmentSpec {
			return []*segmentSpec{
				first(sid, vid, "t", T, clickEv(T+4800, 1, 1)),
				spec(sid, vid, 1, moveEv(T+5200), moveEv(T+8000)),
			}
		}, 1},
		{"the click navigates (slowly) in the same tab", func(sid, vid, vid2 string) []*segmentSpec {
			return []*segmentSpec{
				first(sid, vid, "tab-a", T, clickEv(T+4800, 1, 1)),
				first(sid, vid2, "tab-a", T+7000, moveEv(T+7100)),
			}
		}, 0},
		{"another tab's page load is no reaction", func(sid, vid, vid2 string) []*segmentSpec {
			return []*segmentSpec{
				first(sid, vid, "tab-a", T, clickEv(T+4800, 1, 1)),
				first(sid, vid2, "tab-b", T+5000),
				spec(sid, vid, 1, moveEv(T+7000)),
			}
		}, 1},
	}
	for i, tc := range cases {
		h := newHarness(t, Config{})
		sid, vid, vid2 := id("dead"+itoa(i)), id("viewa"), id("viewb")
		h.post(tc.segs(sid, vid, vid2)...)
		s := h.session(sid)
		if s.DeadClicks != tc.want {
			t.Errorf("%s: %d dead clicks, want %d", tc.name, s.DeadClicks, tc.want)
		}
		if s.Clicks != 1 {
			t.Errorf("%s: %d clicks, want 1", tc.name, s.Clicks)
		}
	}
}

func TestActiveTimeInputsAndContext(t *testing.T) {
	h := newHarness(t, Config{})
	sid, vid := id("active"), id("view")
	var evs []string
	for i := range 11 { // inputs every second for 10 s: 10 s active
		evs = append(evs, moveEv(T+1000+int64(i)*1000))
	}
	evs = append(evs, moveEv(T+30_000)) // after 19 s of nothing: idle
	h.post(first(sid, vid, "t", T, evs...))
	// Activity continues into the next segment: the gap is bridged.
	h.post(spec(sid, vid, 1, moveEv(T+32_000), moveEv(T+33_000),
		inputEv(T+33_100, 7), inputEv(T+33_200, 7), inputEv(T+33_300, 8), resizeEv(T+33_400, 400, 300),
		errorEv(T+33_500), errorEv(T+33_600), userEv(T+33_700, "user-7")))
	h.post(spec(sid, vid, 2, inputEv(T+34_000, 8), inputEv(T+34_100, 7)))
	s := h.session(sid)
	if want := int64(10_000 + 3_000 + 1_100); s.ActiveMs != want {
		t.Errorf("ActiveMs = %d, want %d", s.ActiveMs, want)
	}
	// 7, 7, 8 | 8, 7: three separate inputs (the 8 continues across the
	// segments).
	if s.Inputs != 3 {
		t.Errorf("Inputs = %d, want 3", s.Inputs)
	}
	if s.Errors != 2 || s.UserID != "user-7" || s.UserEmail != "e@x.example" {
		t.Errorf("errors %d, user %q %q", s.Errors, s.UserID, s.UserEmail)
	}
	if s.ViewportWidth != 400 || s.ViewportHeight != 300 {
		t.Errorf("viewport %dx%d, want the last resize", s.ViewportWidth, s.ViewportHeight)
	}
	if s.UserAgent != "RecBrowser/2" {
		t.Errorf("UserAgent %q, want the recorder's", s.UserAgent)
	}

	// Without a replay/view userAgent, the request header is used.
	sid2 := id("headerua")
	h.post(spec(sid2, vid, 0, metaEv(T, "https://shop.example/x"), fullEv(T)))
	s2 := h.session(sid2)
	if s2.UserAgent != "TestBrowser/1.0" || s2.EntryURL != "https://shop.example/x" || s2.ViewportWidth != 1024 {
		t.Errorf("without replay/view: UA %q, entry %q, viewport %d", s2.UserAgent, s2.EntryURL, s2.ViewportWidth)
	}
}

func TestEventOrderInObjectsDoesNotMatter(t *testing.T) {
	h := newHarness(t, Config{})
	sid, vid := id("order"), id("view")
	h.post(spec(sid, vid, 0,
		`{"timestamp":1780000000000,"data":{"width":800,"height":600,"href":"https://shop.example/o"},"type":4}`,
		`{"data":{"initialOffset":{"left":0,"top":0},"node":{"id":1,"type":0,"childNodes":[]}},"timestamp":1780000000000,"type":2}`,
		`{"data":{"y":5,"x":5,"id":3,"type":2,"source":2},"type":3,"timestamp":1780000000100}`,
		`{"data":{"payload":{"email":"o@x.example","id":"ord"},"tag":"replay/user"},"type":5,"timestamp":1780000000200}`,
	))
	s := h.session(sid)
	if s.Clicks != 1 || s.UserID != "ord" || s.ViewportWidth != 800 || s.EntryURL != "https://shop.example/o" {
		t.Errorf("fields in another order were missed: %+v", s)
	}
}

func TestCarryRoundTrip(t *testing.T) {
	c := carry{Runs: []run{{1780000000000, 1780000000123}, {1780000009000, 1780000009000}},
		Recent:  []clickFact{{T: 1, X: 2, Y: 3}, {T: -4, X: 5.25, Y: 6}},
		Pending: []pendingClick{{T: 7, View: "viewviewviewview"}}, InputView: "v2v2v2v2v2v2v2v2", InputID: 42,
		ViewportAt: 1780000000200, UserAt: 1780000000300}
	got := decodeCarry(c.encode())
	if !slices.Equal(got.Runs, c.Runs) || !slices.Equal(got.Recent, c.Recent) || !slices.Equal(got.Pending, c.Pending) ||
		got.InputView != c.InputView || got.InputID != 42 || got.ViewportAt != c.ViewportAt || got.UserAt != c.UserAt {
		t.Errorf("round trip: %+v", got)
	}
	empty := decodeCarry(carry{}.encode())
	if len(empty.Runs) != 0 || len(empty.Recent) != 0 || empty.ViewportAt != 0 {
		t.Errorf("empty round trip: %+v", empty)
	}
	// Damaged or foreign state decodes to nothing rather than to garbage.
	enc := c.encode()
	for _, bad := range [][]byte{nil, {}, []byte(`{"l":1}`), enc[:len(enc)/2], append([]byte{carryVersion}, 0xff, 0xff, 0xff)} {
		if d := decodeCarry(bad); d.Runs != nil || d.Recent != nil || d.Pending != nil {
			t.Errorf("decodeCarry(%q) = %+v, want empty", bad, d)
		}
	}
	// Version 1, stored by earlier releases, is still read: its last input
	// time becomes a run, its burst in progress is among its clicks.
	v1 := []byte{1}
	v1 = binary.AppendVarint(v1, 1780000000123)
	v1 = binary.AppendUvarint(v1, 1)
	v1 = appendClick(v1, clickFact{T: 1780000000100, X: 5, Y: 6})
	v1 = append(v1, 1)
	v1 = appendClick(v1, clickFact{T: 1780000000100, X: 5, Y: 6})
	v1 = binary.AppendUvarint(v1, 1)
	v1 = binary.AppendVarint(v1, 1780000000100)
	v1 = appendString(v1, "viewviewviewview")
	v1 = appendString(v1, "viewviewviewview")
	v1 = binary.LittleEndian.AppendUint64(v1, math.Float64bits(9))
	old := decodeCarry(v1)
	if !slices.Equal(old.Runs, []run{{1780000000123, 1780000000123}}) || len(old.Recent) != 1 || old.Recent[0].X != 5 ||
		len(old.Pending) != 1 || old.InputView != "viewviewviewview" || old.InputID != 9 {
		t.Errorf("version 1: %+v", old)
	}
}

// TestFactsDoNotDependOnArrivalOrder: the segments of a session reach the
// collector out of order when they race each other (the beacons sent at
// pagehide, the segments of two tabs), and `caddy replay reindex` replays
// them in (Start, View, Seq) order. Either way the session's facts must be
// those of the recording, not of the order its uploads happened to be
// stored in.
func TestFactsDoNotDependOnArrivalOrder(t *testing.T) {
	cases := []struct {
		name string
		segs func(sid, va, vb string) []*segmentSpec // in recording order
	}{
		{"a rage burst across two segments", func(sid, va, _ string) []*segmentSpec {
			return []*segmentSpec{
				first(sid, va, "t", T, clickEv(T+4700, 10, 10), clickEv(T+4900, 12, 10)),
				spec(sid, va, 1, clickEv(T+5100, 11, 11), clickEv(T+5300, 11, 11)),
			}
		}},
		{"activity across two segments", func(sid, va, _ string) []*segmentSpec {
			return []*segmentSpec{
				first(sid, va, "t", T, moveEv(T+1000), moveEv(T+4000)),
				spec(sid, va, 1, moveEv(T+6000), moveEv(T+9000)),
				spec(sid, va, 2, moveEv(T+12_000), moveEv(T+13_000)),
			}
		}},
		{"two tabs: the last viewport and user in time", func(sid, va, vb string) []*segmentSpec {
			return []*segmentSpec{
				first(sid, va, "tab-a", T, resizeEv(T+200, 1200, 800), userEv(T+300, "first-user"), moveEv(T+4900)),
				first(sid, vb, "tab-b", T+1000, resizeEv(T+1200, 500, 400), userEv(T+1300, "later-user"), moveEv(T+2000)),
			}
		}},
	}
	type facts struct {
		Clicks, RageClicks int
		ActiveMs           int64
		VW, VH             int
		User               string
	}
	factsOf := func(s *store.Session) facts {
		return facts{s.Clicks, s.RageClicks, s.ActiveMs, s.ViewportWidth, s.ViewportHeight, s.UserID}
	}
	for i, tc := range cases {
		h := newHarness(t, Config{})
		va, vb := id("viewa"), id("viewb")
		inOrder, reversed := id("inorder"+itoa(i)), id("reversed"+itoa(i))
		h.post(tc.segs(inOrder, va, vb)...)
		segs := tc.segs(reversed, va, vb)
		slices.Reverse(segs)
		h.post(segs...)
		want := factsOf(h.session(inOrder))
		if got := factsOf(h.session(reversed)); got != want {
			t.Errorf("%s: stored in reverse order: %+v, in recording order: %+v", tc.name, got, want)
		}
		if _, err := h.store.Reindex(context.Background(), h.c.Summarizer()); err != nil {
			t.Fatal(err)
		}
		for _, sid := range []string{inOrder, reversed} {
			if got := factsOf(h.session(sid)); got != want {
				t.Errorf("%s: after reindex: %+v, in recording order: %+v", tc.name, got, want)
			}
		}
	}
}
