package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
)

// storedBody reads a stored segment, decompressed.
func storedBody(t *testing.T, h *harness, sid, vid string, seq int) []byte {
	t.Helper()
	rc, err := h.store.OpenSegment(context.Background(), store.SegmentKey{Session: sid, View: vid, Seq: seq})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// storedTimes reads a stored segment's event timestamps.
func storedTimes(t *testing.T, h *harness, sid, vid string, seq int) []int64 {
	t.Helper()
	raw := storedBody(t, h, sid, vid, seq)
	var evs []struct {
		Timestamp int64 `json:"timestamp"`
	}
	if err := json.Unmarshal(raw, &evs); err != nil {
		t.Fatalf("stored segment: %v\n%s", err, raw)
	}
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Timestamp
	}
	return out
}

// TestClockFarOff: a visitor whose clock is hours off (either way) is
// recorded, not refused: with the clock reading it sends (t) its segments
// are moved to the server's clock, every segment of the session by the
// same amount, so the index lists the session at the real time and its
// events stay in order; a retry is a duplicate, not a conflict; reindex
// rebuilds the same session.
func TestClockFarOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  int64 // how far the visitor's clock is ahead (ms)
	}{
		{"two hours fast", 2 * 3_600_000},
		{"three days slow", -3 * 86_400_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			now := h.clock.Now().UnixMilli()
			local := now - 20_000 + tc.off // the visitor's clock when the visit started
			sid, vid := id("skewed"+strings.ReplaceAll(tc.name, " ", "")), id("view")
			first := uploadOf(firstSeg(sid, vid, local, clickEv(local+1000, 10, 10), clickEv(local+1200, 12, 10), clickEv(local+1400, 11, 12)))
			if r := h.do(first); r.status != 400 {
				t.Fatalf("without t: %d %s, want 400 (the server's clock alone)", r.status, r.raw)
			}
			// 40 ms of transit, then 75 ms for the next upload: the
			// correction must not follow the jitter.
			h.mustAccept(first.set("t", itoa(int(local+20_000+40))))
			second := uploadOf(handSegment(sid, vid, 1, mutationEv(local+6000), clickEv(local+6500, 300, 300)))
			h.mustAccept(second.set("t", itoa(int(local+20_000+75))))
			r := h.do(second.set("t", itoa(int(local+20_000+90))))
			if r.status != 200 || r.body["duplicate"] != true {
				t.Errorf("retry of a corrected segment: %d %s, want a duplicate", r.status, r.raw)
			}

			shift := tc.off + 40
			s := h.session(sid)
			if want := local - shift; s.Start != want || s.End != local+6500-shift {
				t.Errorf("session %d..%d, want %d..%d (server time)", s.Start, s.End, want, local+6500-shift)
			}
			if s.Start > now || s.Start < now-60_000 {
				t.Errorf("session start %d is not within the minute before the server's now %d", s.Start, now)
			}
			if s.RageClicks != 1 || s.Clicks != 4 {
				t.Errorf("clicks %d, rage clicks %d after the move, want 4 and 1", s.Clicks, s.RageClicks)
			}
			if got, want := storedTimes(t, h, sid, vid, 0), []int64{local - shift, local - shift, local - shift, local + 1000 - shift, local + 1200 - shift, local + 1400 - shift}; !slices.Equal(got, want) {
				t.Errorf("stored timestamps %v, want %v", got, want)
			}
			if got := storedTimes(t, h, sid, vid, 1); !slices.Equal(got, []int64{local + 6000 - shift, local + 6500 - shift}) {
				t.Errorf("second segment's stored timestamps %v: not moved by the session's correction %d", got, shift)
			}
			segs, _ := h.store.SegmentList(context.Background(), sid)
			if len(segs) != 2 || segs[1].Start != local+6000-shift {
				t.Errorf("segment list %+v", segs)
			}
			if n := metricValue(h.c.metrics.clockCorrected); n != 2 {
				t.Errorf("clock-corrected metric %v, want 2", n)
			}

			before := h.session(sid)
			if _, err := h.store.Reindex(context.Background(), h.c.Summarizer()); err != nil {
				t.Fatal(err)
			}
			after := h.session(sid)
			if after.Start != before.Start || after.End != before.End || after.RageClicks != before.RageClicks || !bytes.Equal(after.Carry, before.Carry) {
				t.Errorf("after reindex %+v\nwas %+v", after, before)
			}
			// The correction survives reindex: a later upload keeps it.
			third := uploadOf(handSegment(sid, vid, 2, mutationEv(local+11_000)))
			h.mustAccept(third.set("t", itoa(int(local+20_000+60))))
			if got := storedTimes(t, h, sid, vid, 2); got[0] != local+11_000-shift {
				t.Errorf("after reindex a segment was moved to %d, want %d", got[0], local+11_000-shift)
			}
		})
	}
}

// TestClockWindowsFollowT: with t, the windows apply to the sender's own
// clock: a segment that ends well after the time it was sent is refused,
// and so is one that starts long before it.
func TestClockWindowsFollowT(t *testing.T) {
	h := newHarness(t, Config{})
	now := h.clock.Now().UnixMilli()
	sent := now + 5*3_600_000
	u := uploadOf(firstSeg(id("future"), id("view"), sent+20*60_000)).set("t", itoa(int(sent)))
	if r := h.do(u); r.status != 400 || r.reason() != "timestamp_in_future" || !strings.Contains(r.raw, "t=") {
		t.Errorf("a segment 20 min after its own t: %d %s", r.status, r.raw)
	}
	u = uploadOf(firstSeg(id("old"), id("view"), sent-25*3_600_000)).set("t", itoa(int(sent)))
	if r := h.do(u); r.status != 400 || r.reason() != "timestamp_too_old" {
		t.Errorf("a segment 25 h before its own t: %d %s", r.status, r.raw)
	}
	for _, bad := range []string{"0", "-5", "01", "x", "12345678901234567"} {
		u = uploadOf(firstSeg(id("badt"), id("view"), now)).set("t", bad)
		if r := h.do(u); r.status != 400 || r.reason() != "bad_parameter" {
			t.Errorf("t=%s: %d %s", bad, r.status, r.raw)
		}
	}
	if h.total() != 0 {
		t.Errorf("%d sessions stored from refused uploads", h.total())
	}
}

// TestClockNearTheLimit: a clock close to MaxClockSkew does not make the
// session jump by the limit between two segments: one that began with its
// times as recorded keeps them a little past the limit, and within the
// limit nothing is moved.
func TestClockNearTheLimit(t *testing.T) {
	h := newHarness(t, Config{})
	now := h.clock.Now().UnixMilli()
	off := int64(DefaultMaxClockSkew.Milliseconds()) - 50
	local := now - 10_000 + off
	sid, vid := id("edge"), id("view")
	h.mustAccept(uploadOf(firstSeg(sid, vid, local)).set("t", itoa(int(local+10_000))))
	// The next upload arrives 100 ms slower: 10 min 50 ms ahead.
	h.mustAccept(uploadOf(handSegment(sid, vid, 1, mutationEv(local+5000))).set("t", itoa(int(local+10_000+100))))
	if got := storedTimes(t, h, sid, vid, 1); got[0] != local+5000 {
		t.Errorf("second segment moved to %d, want it kept at %d like the first", got[0], local+5000)
	}
	if s := h.session(sid); s.Start != local {
		t.Errorf("session start %d, want %d (times as recorded)", s.Start, local)
	}
	// A fresh session at 10 min 50 ms is moved.
	sid2 := id("edge2")
	h.mustAccept(uploadOf(firstSeg(sid2, vid, local)).set("t", itoa(int(local+10_000+100))))
	if s := h.session(sid2); s.Start != local-off-100 {
		t.Errorf("new session start %d, want %d", s.Start, local-off-100)
	}
}
