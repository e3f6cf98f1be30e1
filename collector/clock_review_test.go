package collector

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// TestClockKeptPastTheLimitIsAccepted: a session that began with its times
// as recorded keeps them up to a minute past MaxClockSkew (docs/FORMAT.md,
// Clocks), so a segment sent then, ending just before it was sent, is
// stored as recorded, not refused as timestamp_in_future: the window
// follows the rule that kept its times.
func TestClockKeptPastTheLimitIsAccepted(t *testing.T) {
	h := newHarness(t, Config{})
	now := h.clock.Now().UnixMilli()
	skew := DefaultMaxClockSkew.Milliseconds()
	sid, vid := id("keptpast"), id("view")
	// 9 min 30 s fast: within the limit, kept as recorded.
	sent := now + skew - 30_000
	h.mustAccept(uploadOf(firstSeg(sid, vid, sent-2000)).set("t", itoa(int(sent))))
	// Ten seconds later the clock reads 10 min 30 s ahead (the upload
	// took a little longer, or the clock drifted): still kept.
	h.clock.Add(10 * time.Second)
	now = h.clock.Now().UnixMilli()
	sent = now + skew + 30_000
	u := uploadOf(handSegment(sid, vid, 1, mutationEv(sent-500))).set("t", itoa(int(sent)))
	if r := h.do(u); r.status != 200 {
		t.Fatalf("a segment of a session kept as recorded, 10 min 30 s ahead: %d %s, want it stored as recorded", r.status, r.raw)
	}
	if got := storedTimes(t, h, sid, vid, 1); got[0] != sent-500 {
		t.Errorf("stored at %d, want %d (as recorded, like the session's first)", got[0], sent-500)
	}
	// Past the minute's grace the window holds: 11 min 30 s ahead of the
	// server, a segment of a session kept as recorded is moved (a new
	// correction), never stored further in the future than that grace.
	sid2 := id("keptpast2")
	h.mustAccept(uploadOf(firstSeg(sid2, vid, now+skew-32_000)).set("t", itoa(int(now+skew-30_000))))
	u = uploadOf(handSegment(sid2, vid, 1, mutationEv(now+skew+60_000+500))).set("t", itoa(int(now+skew+30_000)))
	if r := h.do(u); r.status != 400 || r.reason() != "timestamp_in_future" {
		t.Errorf("a segment 11 min 0.5 s ahead of the server, kept unmoved: %d %s, want timestamp_in_future", r.status, r.raw)
	}
}

// raceStore holds the first two Session reads until both have begun (or a
// second has passed), so that two uploads of one session decide their
// clock correction at the same time, as two tabs' first uploads can.
type raceStore struct {
	store.Store
	mu      sync.Mutex
	arrived int
	both    chan struct{}
}

func (s *raceStore) Session(ctx context.Context, id string) (*store.Session, error) {
	s.mu.Lock()
	s.arrived++
	if s.arrived == 2 {
		close(s.both)
	}
	wait := s.arrived <= 2
	s.mu.Unlock()
	if wait {
		select {
		case <-s.both:
		case <-time.After(time.Second):
		}
	}
	return s.Store.Session(ctx, id)
}

// TestClockConcurrentFirstUploads: two tabs of a session whose clock is
// hours off upload their first segments at once. Each segment's retry
// (its response was lost) must be a duplicate, and the session's segments
// must share one correction. Before, each upload read "no session yet" and
// took its own correction (its own transit time); the carry kept the last,
// so the other tab's retry was moved by another amount and refused as a
// conflict (409), and its later segments were moved by another amount
// than its first.
func TestClockConcurrentFirstUploads(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &testClock{t: time.UnixMilli(visitStart + 3_600_000)}
	rs := &raceStore{Store: st, both: make(chan struct{})}
	c, err := New(Config{Store: rs, Now: clock.Now, ClientRate: Rate{PerSecond: -1}, SessionRate: Rate{PerSecond: -1}})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, c: c, store: st, clock: clock}

	now := clock.Now().UnixMilli()
	const off = 3 * 3_600_000
	sid := id("twotabs")
	views := []string{id("tabone"), id("tabtwo")}
	local := now + off - 5000
	ups := make([]*upload, 2)
	for i, vid := range views {
		// 40 and 75 ms in transit.
		ups[i] = uploadOf(firstSeg(sid, vid, local, clickEv(local+100, 1, 1))).set("t", itoa(int(now+off+40+35*int64(i))))
	}
	var wg sync.WaitGroup
	res := make([]*response, 2)
	for i := range ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = h.do(ups[i])
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r.status != 200 {
			t.Fatalf("tab %d's first upload: %d %s", i, r.status, r.raw)
		}
	}
	for i, vid := range views {
		// The retry, sent 2 s later, 50 ms in transit.
		clock.Add(2 * time.Second)
		retry := uploadOf(firstSeg(sid, vid, local, clickEv(local+100, 1, 1))).set("t", itoa(int(clock.Now().UnixMilli()+off+50)))
		if r := h.do(retry); r.status != 200 || r.body["duplicate"] != true {
			t.Errorf("retry of tab %d's first segment: %d %s, want a duplicate", i, r.status, r.raw)
		}
	}
	a, b := storedTimes(t, h, sid, views[0], 0), storedTimes(t, h, sid, views[1], 0)
	if a[0] != b[0] {
		t.Errorf("the two tabs' first segments were moved by different amounts: %d and %d for the same recorded time", a[0], b[0])
	}
}

// TestClockSmallSkewKeepsCorrection: with MaxClockSkew set to a minute, a
// session corrected by 65 s keeps its correction for an upload that
// arrives 40 s slower (t 25 s ahead of the server's clock). Before, such
// an upload took the fast path (within MaxClockSkew/2, no store read)
// and was held to the server's clock unmoved: refused as
// timestamp_in_future, though its times follow the session's.
func TestClockSmallSkewKeepsCorrection(t *testing.T) {
	h := newHarness(t, Config{MaxClockSkew: time.Minute})
	now := h.clock.Now().UnixMilli()
	const off = 65_000
	sid, vid := id("smallskew"), id("view")
	h.mustAccept(uploadOf(firstSeg(sid, vid, now+off-2000)).set("t", itoa(int(now+off))))
	u := uploadOf(handSegment(sid, vid, 1, mutationEv(now+off-500))).set("t", itoa(int(now+25_000)))
	if r := h.do(u); r.status != 200 {
		t.Fatalf("a segment of a session corrected by 65 s, sent 25 s ahead: %d %s", r.status, r.raw)
	}
	if got := storedTimes(t, h, sid, vid, 1); got[0] != now-500 {
		t.Errorf("stored at %d, want %d (moved by the session's correction)", got[0], now-500)
	}
}

// TestClockMoveChangesOnlyTimestamps: a moved segment is stored as it was
// sent but for its events' timestamps (exponents and fractions become the
// moved integer). Before, the events were decoded into maps and encoded
// again: keys that decode alike (two unpaired surrogates, both U+FFFD)
// were merged, one of them lost, and the rest re-spelled.
func TestClockMoveChangesOnlyTimestamps(t *testing.T) {
	h := newHarness(t, Config{})
	now := h.clock.Now().UnixMilli()
	const off = 3 * 3_600_000
	sid, vid := id("onlyts"), id("view")
	l := now + off - 2000
	h.mustAccept(uploadOf(firstSeg(sid, vid, l)).set("t", itoa(int(now+off))))
	const body = `[ {"type":3, "data":{"source":0,"texts":[],"attributes":[],"removes":[],"adds":[]}, "timestamp" : %s, "\ud800":1,"\udbff":2},` +
		`{"\u0074imestamp":%s,"type":3,"data":{"source":0,"texts":[],"attributes":[],"removes":[],"adds":[]}} ]`
	sent := fmt.Sprintf(body, strconv.FormatInt(l+100, 10)[:10]+"."+strconv.FormatInt(l+100, 10)[10:]+"e3", strconv.FormatInt(l+150, 10)+".75")
	want := fmt.Sprintf(body, strconv.FormatInt(l+100-off, 10), strconv.FormatInt(l+150-off, 10))
	u := &upload{
		method: "POST",
		query: fmt.Sprintf("v=1&sid=%s&vid=%s&seq=1&start=%d&end=%d&full=0&n=2&raw=%d&t=%d",
			sid, vid, l+100, l+150, len(sent), now+off),
		body:   gz([]byte(sent)),
		header: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}},
		remote: "192.0.2.10:5555",
	}
	if r := h.do(u); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if got := storedBody(t, h, sid, vid, 1); string(got) != want {
		t.Errorf("stored\n%s\nwant\n%s", got, want)
	}
}
