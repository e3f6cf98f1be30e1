package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/collector/synth"
	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// visitStart is when synthesized visits start; the test clock stands a
// minute after.
const visitStart = 1_780_000_000_000

type harness struct {
	t     testing.TB
	c     *Collector
	store *embedded.Store
	clock *testClock
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &testClock{t: time.UnixMilli(visitStart + 3_600_000)}
	cfg.Store = st
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.ClientRate.PerSecond == 0 {
		cfg.ClientRate = Rate{PerSecond: -1}
	}
	if cfg.SessionRate.PerSecond == 0 {
		cfg.SessionRate = Rate{PerSecond: -1}
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, c: c, store: st, clock: clock}
}

// upload is one request, built from a segment and then tampered with.
type upload struct {
	method  string
	query   string
	body    []byte
	header  http.Header
	remote  string
	chunked bool
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// uploadOf is the request the recorder would send for seg.
func uploadOf(seg *synth.Segment) *upload {
	raw := seg.Body()
	return &upload{
		method: "POST",
		query:  seg.Query(len(raw)),
		body:   gz(raw),
		header: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}, "User-Agent": {"TestBrowser/1.0"}},
		remote: "192.0.2.10:5555",
	}
}

// set replaces one query parameter (or removes it when v is "").
func (u *upload) set(name, v string) *upload {
	var out []string
	for _, kv := range strings.Split(u.query, "&") {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	if v != "" {
		out = append(out, name+"="+v)
	}
	u.query = strings.Join(out, "&")
	return u
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r *response) reason() string { s, _ := r.body["error"].(string); return s }

func (h *harness) do(u *upload) *response {
	h.t.Helper()
	req := httptest.NewRequest(u.method, "/__replay/v1/segments?"+u.query, bytes.NewReader(u.body))
	req.Host = "shop.example"
	for k, v := range u.header {
		req.Header[k] = v
	}
	if u.remote != "" {
		req.RemoteAddr = u.remote
	}
	if u.chunked {
		req.ContentLength = -1
	}
	rec := httptest.NewRecorder()
	h.c.ServeHTTP(rec, req)
	res := &response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
			h.t.Fatalf("the answer is not JSON: %q", rec.Body.String())
		}
	}
	return res
}

func (h *harness) mustAccept(u *upload) {
	h.t.Helper()
	if r := h.do(u); r.status != 200 || r.body["ok"] != true || r.body["duplicate"] == true {
		h.t.Fatalf("upload refused: %d %s", r.status, r.raw)
	}
}

func (h *harness) session(id string) *store.Session {
	h.t.Helper()
	s, err := h.store.Session(context.Background(), id)
	if err != nil {
		h.t.Fatalf("session %s: %v", id, err)
	}
	return s
}

func (h *harness) total() int {
	h.t.Helper()
	p, err := h.store.ListSessions(context.Background(), store.Query{})
	if err != nil {
		h.t.Fatal(err)
	}
	return p.Total
}

// events builds a segment from hand-written events: each is JSON with
// "timestamp" set by the caller.
func handSegment(sid, vid string, seq int, events ...string) *synth.Segment {
	s := &synth.Segment{SID: sid, VID: vid, Seq: seq}
	for i, e := range events {
		var x struct {
			Type      int   `json:"type"`
			Timestamp int64 `json:"timestamp"`
		}
		json.Unmarshal([]byte(e), &x)
		if i == 0 || x.Timestamp < s.Start {
			s.Start = x.Timestamp
		}
		if x.Timestamp > s.End {
			s.End = x.Timestamp
		}
		if x.Type == 2 {
			s.Full = true
		}
		s.Events = append(s.Events, json.RawMessage(e))
	}
	return s
}

// Event builders for hand-written segments.
func metaEv(t int64, href string) string {
	return fmt.Sprintf(`{"type":4,"data":{"href":%q,"width":1024,"height":700},"timestamp":%d}`, href, t)
}

func viewEv(t int64, url, tab string) string {
	return fmt.Sprintf(`{"type":5,"data":{"tag":"replay/view","payload":{"url":%q,"title":"T","tab":%q,"userAgent":"RecBrowser/2"}},"timestamp":%d}`, url, tab, t)
}

func fullEv(t int64) string {
	return fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"childNodes":[],"id":1},"initialOffset":{"top":0,"left":0}},"timestamp":%d}`, t)
}

func clickEv(t int64, x, y int) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":2,"type":2,"id":5,"x":%d,"y":%d},"timestamp":%d}`, x, y, t)
}

func moveEv(t int64) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":1,"positions":[{"x":1,"y":2,"id":3,"timeOffset":-10}]},"timestamp":%d}`, t)
}

func mutationEv(t int64) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":0,"texts":[],"attributes":[{"id":4,"attributes":{"class":"open"}}],"removes":[],"adds":[]},"timestamp":%d}`, t)
}

func inputEv(t int64, id int) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":5,"text":"***","isChecked":false,"id":%d},"timestamp":%d}`, id, t)
}

func errorEv(t int64) string {
	return fmt.Sprintf(`{"type":5,"data":{"tag":"replay/error","payload":{"message":"boom","source":"error"}},"timestamp":%d}`, t)
}

func userEv(t int64, id string) string {
	return fmt.Sprintf(`{"type":5,"data":{"tag":"replay/user","payload":{"id":%q,"name":"N","email":"e@x.example"}},"timestamp":%d}`, id, t)
}

func resizeEv(t int64, w, h int) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":4,"width":%d,"height":%d},"timestamp":%d}`, w, h, t)
}

// firstSeg is a valid seq=0 segment starting at t, plus more events.
func firstSeg(sid, vid string, t int64, more ...string) *synth.Segment {
	evs := append([]string{metaEv(t, "https://shop.example/"), viewEv(t, "https://shop.example/", "tab-1"), fullEv(t)}, more...)
	return handSegment(sid, vid, 0, evs...)
}

func id(name string) string { return (name + strings.Repeat("x", 16))[:max(16, len(name))] }

func itoa(n int) string { return strconv.Itoa(n) }
