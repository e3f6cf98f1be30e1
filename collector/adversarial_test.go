package collector

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// TestDuplicateKeysRefused: an event that gives a key the validator reads
// twice is refused. Browsers and encoding/json keep the last value, so a
// body like {"timestamp":1780000000000,"timestamp":"x"} would pass a
// validator that looked at one of them and then break the player or the
// rrweb export, which read the other.
func TestDuplicateKeysRefused(t *testing.T) {
	h := newHarness(t, Config{})
	vid := id("view")
	n := 0
	// tampered is a valid first segment whose bytes are edited by replace.
	tampered := func(old, repl string) *upload {
		n++
		seg := firstSeg(id("dupkey"+itoa(n)), vid, visitStart, clickEv(visitStart+10, 5, 5), viewEv(visitStart+20, "https://shop.example/b", "tab-1"))
		raw := seg.Body()
		if !bytes.Contains(raw, []byte(old)) {
			t.Fatalf("the segment has no %s", old)
		}
		raw = bytes.Replace(raw, []byte(old), []byte(repl), 1)
		u := uploadOf(seg)
		u.body = gz(raw)
		return u.set("raw", itoa(len(raw)))
	}
	cases := []struct{ name, old, repl, key string }{
		{"event timestamp, later not a number", `"timestamp":1780000000000}`, `"timestamp":1780000000000,"timestamp":"x"}`, "timestamp"},
		{"event type, later a string", `{"type":4,`, `{"type":4,"type":"4",`, "type"},
		{"event type, escaped twin", `{"type":4,`, `{"type":4,"t\u0079pe":3,`, "type"},
		{"event data, later not an object", `"height":700}`, `"height":700},"data":1`, "data"},
		{"data href, later a number", `"data":{"href":"https://shop.example/"`, `"data":{"href":"https://shop.example/","href":7`, "href"},
		{"click source", `"source":2,"type":2`, `"source":2,"source":"2","type":2`, "source"},
		{"click target id", `"id":5,`, `"id":5,"id":null,`, "id"},
		{"full snapshot node", `"initialOffset":{"top":0,"left":0}`, `"initialOffset":{"top":0,"left":0},"node":null`, "node"},
		{"custom tag", `"tag":"replay/view"`, `"tag":"replay/view","tag":"replay/error"`, "tag"},
		{"payload url", `"payload":{"url":"https://shop.example/b"`, `"payload":{"url":"https://shop.example/b","url":"https://evil.example/"`, "url"},
	}
	for _, tc := range cases {
		r := h.do(tampered(tc.old, tc.repl))
		msg, _ := r.body["message"].(string)
		if r.status != 400 || r.reason() != "invalid_event" || !strings.Contains(msg, `"`+tc.key+`"`) || !strings.Contains(msg, "twice") {
			t.Errorf("%s: got %d %s, want 400 invalid_event naming %q twice", tc.name, r.status, r.raw, tc.key)
		}
	}
	if total := h.total(); total != 0 {
		t.Fatalf("%d sessions stored from refused uploads", total)
	}
	// Keys the validator does not read may repeat: rrweb's own node and
	// attribute objects are not ours to police, and a repeat there
	// changes nothing the collector decided.
	h.mustAccept(tampered(`"initialOffset":{"top":0,"left":0}`, `"initialOffset":{"top":0,"top":0,"left":0},"extra":1,"extra":2`))
}

// TestZlibTrailingBytesRefused: like gzip, a deflate (zlib) body must be
// exactly one stream; bytes after it would be stored nowhere and are
// refused rather than dropped without a word.
func TestZlibTrailingBytesRefused(t *testing.T) {
	h := newHarness(t, Config{})
	zl := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	for i, tail := range [][]byte{[]byte("GARBAGE"), zl([]byte("[]")), {0}} {
		seg := firstSeg(id("zlibtail"+itoa(i)), id("view"), visitStart)
		u := uploadOf(seg)
		u.body = append(zl(seg.Body()), tail...)
		u.header.Set("Content-Encoding", "deflate")
		r := h.do(u)
		if r.status != 400 || r.reason() != "bad_encoding" || !strings.Contains(r.raw, "follow") {
			t.Errorf("tail %q: got %d %s, want 400 bad_encoding", tail, r.status, r.raw)
		}
	}
	if total := h.total(); total != 0 {
		t.Fatalf("%d sessions stored from refused uploads", total)
	}
	seg := firstSeg(id("zlibclean"), id("view"), visitStart)
	u := uploadOf(seg)
	u.body = zl(seg.Body())
	u.header.Set("Content-Encoding", "deflate")
	h.mustAccept(u)
}

// slowUpload starts an upload whose body arrives as far as sent and then
// stalls until finish is called (which cuts it off); its answer arrives on
// the returned channel.
func (h *harness) slowUpload(u *upload, sent int) (finish func(), answer <-chan *httptest.ResponseRecorder) {
	h.t.Helper()
	pr, pw := io.Pipe()
	req := httptest.NewRequest(u.method, "/__replay/v1/segments?"+u.query, pr)
	req.Host = "shop.example"
	for k, v := range u.header {
		req.Header[k] = v
	}
	req.RemoteAddr = u.remote
	req.ContentLength = int64(len(u.body))
	before := h.c.buffered.Load()
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.c.ServeHTTP(rec, req)
		pr.Close()
		done <- rec
	}()
	// The pipe hands the bytes over only once the collector reads them:
	// when Write returns, the upload is being read.
	if _, err := pw.Write(u.body[:sent]); err != nil {
		h.t.Fatalf("the collector did not read the body: %v", err)
	}
	// The pipe's Write returns as the last bytes are read, a moment
	// before they are counted.
	for deadline := time.Now().Add(5 * time.Second); h.c.buffered.Load() < before+int64(sent); {
		if time.Now().After(deadline) {
			h.t.Fatalf("the collector counts %d body bytes held, want %d", h.c.buffered.Load(), before+int64(sent))
		}
		time.Sleep(time.Millisecond)
	}
	return func() { pw.CloseWithError(io.ErrUnexpectedEOF) }, done
}

// TestSlowSendersHoldNoWriteSlot: uploads whose bodies trickle in (a
// slowloris, or a visitor on a bad link) wait for their bytes without a
// write slot, so they cannot starve the uploads that arrive whole. Before,
// two stalled bodies took both slots and everyone else got 503.
func TestSlowSendersHoldNoWriteSlot(t *testing.T) {
	h := newHarness(t, Config{MaxConcurrentWrites: 2, QueueTimeout: 100 * time.Millisecond})
	var finishes []func()
	var answers []<-chan *httptest.ResponseRecorder
	for i := range 6 {
		u := uploadOf(firstSeg(id("slowloris"+itoa(i)), id("view"), visitStart))
		f, a := h.slowUpload(u, 10)
		finishes, answers = append(finishes, f), append(answers, a)
	}
	for i := range 3 {
		if r := h.do(uploadOf(firstSeg(id("prompt"+itoa(i)), id("view"), visitStart))); r.status != 200 {
			t.Fatalf("a whole upload while six others stall: %d %s", r.status, r.raw)
		}
	}
	for i, f := range finishes {
		f()
		rec := <-answers[i]
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "body_read_failed") {
			t.Errorf("the cut-off upload %d: %d %s", i, rec.Code, rec.Body.String())
		}
	}
	if total := h.total(); total != 3 {
		t.Errorf("%d sessions stored, want the 3 whole uploads", total)
	}
	if n := h.c.buffered.Load(); n != 0 {
		t.Errorf("%d body bytes still counted as held after every upload ended", n)
	}
}

// TestBufferedBodyBytesBounded: the bytes of bodies being received count
// against MaxBufferedBytes, so many large uploads at once cannot grow
// memory without bound; past it an upload gets 503 with Retry-After, and
// once the bytes are released uploads go through again.
func TestBufferedBodyBytesBounded(t *testing.T) {
	h := newHarness(t, Config{MaxBufferedBytes: 64 << 10})
	big := uploadOf(firstSeg(id("bigslow"), id("view"), visitStart))
	big.body = append(big.body, make([]byte, 70<<10)...) // never valid: it only holds bytes
	finish, answer := h.slowUpload(big, 64<<10-64)
	r := h.do(uploadOf(firstSeg(id("squeezed"), id("view"), visitStart)))
	if r.status != 503 || r.reason() != "overloaded" || r.header.Get("Retry-After") == "" {
		t.Errorf("with the body budget spent: %d %s", r.status, r.raw)
	}
	finish()
	<-answer
	h.mustAccept(uploadOf(firstSeg(id("squeezed"), id("view"), visitStart)))
	if n := h.c.buffered.Load(); n != 0 {
		t.Errorf("%d body bytes still counted as held", n)
	}
}

// snapshot is what the store holds of one session: its summary and every
// segment's stored bytes.
func (h *harness) snapshot(sid string) (string, map[store.SegmentKey][]byte) {
	h.t.Helper()
	ctx := context.Background()
	s := h.session(sid)
	meta, _ := json.Marshal(s)
	list, err := h.store.SegmentList(ctx, sid)
	if err != nil {
		h.t.Fatal(err)
	}
	bodies := map[store.SegmentKey][]byte{}
	for _, in := range list {
		rc, err := h.store.OpenSegment(ctx, in.SegmentKey)
		if err != nil {
			h.t.Fatalf("segment %+v: %v", in.SegmentKey, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			h.t.Fatal(err)
		}
		bodies[in.SegmentKey] = b
	}
	return string(meta), bodies
}

// TestBadUploadsLeaveAStoredSessionAlone aims every kind of bad upload at
// a session that is already stored — its own keys (a retry's, the next
// sequence number) — and checks that its summary and every stored byte
// are unchanged, and that a later good segment still lands.
func TestBadUploadsLeaveAStoredSessionAlone(t *testing.T) {
	h := newHarness(t, Config{})
	sid, vid := id("victim"), id("view")
	first := firstSeg(sid, vid, visitStart, clickEv(visitStart+10, 5, 5))
	second := handSegment(sid, vid, 1, clickEv(visitStart+2000, 50, 50), inputEv(visitStart+2100, 4))
	h.mustAccept(uploadOf(first))
	h.mustAccept(uploadOf(second))
	meta, bodies := h.snapshot(sid)

	next := func(more ...string) *upload {
		evs := append([]string{moveEv(visitStart + 5000)}, more...)
		return uploadOf(handSegment(sid, vid, 2, evs...))
	}
	bomb := next()
	{
		var b bytes.Buffer
		zw, _ := kgzip.NewWriterLevel(&b, 5)
		zw.Write(make([]byte, 32<<20))
		zw.Close()
		bomb.body = b.Bytes()
	}
	truncated := next()
	truncated.body = truncated.body[:len(truncated.body)/2]
	trailing := next()
	trailing.body = append(trailing.body, 'x')
	dupKey := next()
	{
		raw := bytes.Replace(handSegment(sid, vid, 2, moveEv(visitStart+5000)).Body(), []byte(`"source":1`), []byte(`"source":1,"source":0`), 1)
		dupKey.body = gz(raw)
		dupKey.set("raw", itoa(len(raw)))
	}
	conflict := uploadOf(handSegment(sid, vid, 1, clickEv(visitStart+2000, 50, 50)))
	// The same metadata with other content (a click moved by a pixel):
	// taken for a retry, so the bytes first stored stay.
	stale := uploadOf(handSegment(sid, vid, 1, clickEv(visitStart+2000, 51, 50), inputEv(visitStart+2100, 4)))

	bad := map[string]*upload{
		"zip bomb":                       bomb,
		"truncated gzip":                 truncated,
		"bytes after gzip":               trailing,
		"duplicate key":                  dupKey,
		"same key, other segment":        conflict,
		"invalid json":                   func() *upload { u := next(); u.body = gz([]byte(`[{"type":3,`)); return u.set("raw", "11") }(),
		"far future":                     next(moveEv(visitStart + 72*3_600_000)),
		"events outside start..end":      next(moveEv(visitStart+6000)).set("end", itoa(visitStart+5000)),
		"raw size lie":                   next().set("raw", "100"),
		"seq 0 again without a snapshot": uploadOf(handSegment(sid, vid, 0, moveEv(visitStart+5000))),
	}
	for name, u := range bad {
		if r := h.do(u); r.status < 400 || r.status >= 500 {
			t.Errorf("%s: %d %s, want a 4xx", name, r.status, r.raw)
		}
	}
	if r := h.do(stale); r.status != 200 || r.body["duplicate"] != true {
		t.Errorf("a retry of stored metadata: %d %s", r.status, r.raw)
	}
	gotMeta, gotBodies := h.snapshot(sid)
	if gotMeta != meta {
		t.Errorf("the session's summary changed:\n before %s\n after  %s", meta, gotMeta)
	}
	if len(gotBodies) != len(bodies) {
		t.Fatalf("%d segments after the bad uploads, %d before", len(gotBodies), len(bodies))
	}
	for k, b := range bodies {
		if !bytes.Equal(gotBodies[k], b) {
			t.Errorf("segment %+v: stored bytes changed", k)
		}
	}
	h.mustAccept(next())
	if s := h.session(sid); s.Segments != 3 || s.Clicks != 2 {
		t.Errorf("after a good segment: %d segments, %d clicks", s.Segments, s.Clicks)
	}
}

// fullStore is a store whose disk is full until room is made.
type fullStore struct {
	store.Store
	full atomic.Bool
}

func (s *fullStore) PutSegment(ctx context.Context, seg *store.NewSegment) (bool, error) {
	if s.full.Load() {
		return false, fmt.Errorf("%w: store: writing segments: %w", store.ErrFull, syscall.ENOSPC)
	}
	return s.Store.PutSegment(ctx, seg)
}

// TestStorageFullAnswers507: a store out of space is 507 with a
// Retry-After that spaces the recorder's retries out and a reason that
// says so (before, a 500 "disk I/O error"), and the same upload is stored
// once there is room.
func TestStorageFullAnswers507(t *testing.T) {
	h := newHarness(t, Config{})
	full := &fullStore{Store: h.store}
	full.full.Store(true)
	c, err := New(Config{Store: full, Now: h.clock.Now, ClientRate: Rate{PerSecond: -1}, SessionRate: Rate{PerSecond: -1}})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	u := uploadOf(firstSeg(id("nospace"), id("view"), visitStart))
	r := h.do(u)
	if r.status != 507 || r.reason() != "storage_full" || r.header.Get("Retry-After") != "30" {
		t.Errorf("out of space: %d %s (Retry-After %q)", r.status, r.raw, r.header.Get("Retry-After"))
	}
	full.full.Store(false)
	h.mustAccept(u)
}

// failingStore fails every write with err.
type failingStore struct {
	store.Store
	err error
}

func (s *failingStore) PutSegment(context.Context, *store.NewSegment) (bool, error) {
	return false, s.err
}

// TestStoreFailureDetailOnlyInTheLog: a store failure is a 500 whose
// answer does not carry the cause (file paths, SQL messages) to whoever
// posted; the operator's log has it.
func TestStoreFailureDetailOnlyInTheLog(t *testing.T) {
	h := newHarness(t, Config{})
	core, logs := observer.New(zap.ErrorLevel)
	cause := fmt.Errorf("store: writing segments: %w", &fs.PathError{Op: "write", Path: "/var/lib/caddy/replay/packs/secret.pack", Err: syscall.EIO})
	c, err := New(Config{Store: &failingStore{h.store, cause}, Now: h.clock.Now, Logger: zap.New(core),
		ClientRate: Rate{PerSecond: -1}, SessionRate: Rate{PerSecond: -1}})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	r := h.do(uploadOf(firstSeg(id("eio"), id("view"), visitStart)))
	if r.status != 500 || r.reason() != "store_error" || strings.Contains(r.raw, "/var/lib") || strings.Contains(r.raw, "input/output") {
		t.Errorf("store failure: %d %s", r.status, r.raw)
	}
	entries := logs.All()
	if len(entries) != 1 || !strings.Contains(entries[0].ContextMap()["detail"].(string), "/var/lib/caddy/replay/packs/secret.pack") {
		t.Errorf("the log does not carry the cause: %+v", entries)
	}
}

// TestIPv6ClientsLimitedByPrefix: one IPv6 client holds a whole /64 (and
// privacy addresses rotate within it), so the per-client rate limit
// counts a /64 as one client; before, every address of it got a fresh
// burst. IPv4 addresses, and IPv4 written as IPv6, stay one each.
func TestIPv6ClientsLimitedByPrefix(t *testing.T) {
	h := newHarness(t, Config{ClientRate: Rate{PerSecond: 1, Burst: 2}})
	up := fromClients(h, "v6rate")
	for _, addr := range []string{"[2001:db8:1:2::1]:1000", "[2001:db8:1:2:ffff::9]:1000"} {
		if r := up(addr); r.status != 200 {
			t.Fatalf("%s: %d %s", addr, r.status, r.raw)
		}
	}
	if r := up("[2001:db8:1:2:abcd:1234:5678:9abc]:1000"); r.status != 429 || r.reason() != "client_rate_limited" {
		t.Errorf("a third address of the same /64: %d %s, want 429", r.status, r.raw)
	}
	if r := up("[2001:db8:1:3::1]:1000"); r.status != 200 {
		t.Errorf("another /64: %d %s", r.status, r.raw)
	}
	for _, addr := range []string{"192.0.2.1:1", "192.0.2.2:1", "[::ffff:192.0.2.3]:1"} {
		if r := up(addr); r.status != 200 {
			t.Errorf("%s: %d %s", addr, r.status, r.raw)
		}
	}
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"} {
		if got := rateKey(ip); got != "2001:db8:1:2::/64" {
			t.Errorf("rateKey(%s) = %q", ip, got)
		}
	}
	for _, ip := range []string{"192.0.2.1", "not an address", ""} {
		if got := rateKey(ip); got != ip {
			t.Errorf("rateKey(%q) = %q, want it unchanged", ip, got)
		}
	}
	if got := rateKey("::ffff:192.0.2.3"); got != "192.0.2.3" {
		t.Errorf("rateKey(::ffff:192.0.2.3) = %q", got)
	}
}

// TestSessionFullAnswers410: a session that holds as many views as the
// store allows refuses a segment of one more with 410 session_full (the
// recorder then starts a new session), while its own views go on.
func TestSessionFullAnswers410(t *testing.T) {
	h := newHarness(t, Config{})
	st, err := embedded.Open(t.TempDir(), embedded.Options{MaxViews: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := New(Config{Store: st, Now: h.clock.Now, ClientRate: Rate{PerSecond: -1}, SessionRate: Rate{PerSecond: -1}})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	sid := id("fullofviews")
	h.mustAccept(uploadOf(firstSeg(sid, id("view1"), visitStart)))
	h.mustAccept(uploadOf(firstSeg(sid, id("view2"), visitStart+1000)))
	r := h.do(uploadOf(firstSeg(sid, id("view3"), visitStart+2000)))
	if r.status != 410 || r.reason() != "session_full" {
		t.Errorf("a third view: %d %s, want 410 session_full", r.status, r.raw)
	}
	h.mustAccept(uploadOf(handSegment(sid, id("view2"), 1, moveEv(visitStart+3000))))
}

// TestInvalidUTF8Refused: JSON text is UTF-8 (RFC 8259); a body with a
// byte that is not is refused, saying where, instead of being stored for
// strict readers to choke on (browsers and encoding/json would read
// U+FFFD, Python's json would fail). Escapes of lone surrogates are
// ASCII, valid JSON, and kept.
func TestInvalidUTF8Refused(t *testing.T) {
	h := newHarness(t, Config{})
	n := 0
	withTitle := func(title string) *upload {
		n++
		seg := firstSeg(id("utf8"+itoa(n)), id("view"), visitStart)
		raw := bytes.Replace(seg.Body(), []byte(`"title":"T"`), []byte(`"title":"`+title+`"`), 1)
		u := uploadOf(seg)
		u.body = gz(raw)
		return u.set("raw", itoa(len(raw)))
	}
	for _, bad := range []string{"\xff", "caf\xc3", "\xed\xa0\x80", "\xc0\xaf", "ok \xf0\x9f\x98"} {
		r := h.do(withTitle(bad))
		if r.status != 400 || r.reason() != "invalid_json" || !strings.Contains(r.raw, "UTF-8") {
			t.Errorf("title %q: %d %s, want 400 invalid_json about UTF-8", bad, r.status, r.raw)
		}
	}
	if total := h.total(); total != 0 {
		t.Fatalf("%d sessions stored from refused uploads", total)
	}
	for _, good := range []string{"caf\u00e9 \u65e5\u672c \U0001F600", `\ud800`, `\udc00\ud800`} {
		h.mustAccept(withTitle(good))
	}
}

// TestClientRawBytesLimited: a body of a few KB can inflate to 16 MiB
// (about 35 ms of CPU to inflate and scan), so within the upload rate one
// client could keep the machine busy; the decompressed bytes its uploads
// announce are limited per client too.
func TestClientRawBytesLimited(t *testing.T) {
	h := newHarness(t, Config{ClientRawRate: Rate{PerSecond: 400, Burst: 1000}})
	up := fromClients(h, "rawrate")
	raw := len(firstSeg(id("x"), id("view"), visitStart).Body())
	if raw < 340 || raw > 499 {
		t.Fatalf("the test assumes a segment of 340-499 raw bytes, got %d", raw)
	}
	for range 2 {
		if r := up("192.0.2.50:1"); r.status != 200 {
			t.Fatalf("within the budget: %d %s", r.status, r.raw)
		}
	}
	r := up("192.0.2.50:1")
	if r.status != 429 || r.reason() != "client_rate_limited" || !strings.Contains(r.raw, "decompressed") || r.header.Get("Retry-After") == "" {
		t.Errorf("past the budget: %d %s (Retry-After %q)", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if r := up("192.0.2.51:1"); r.status != 200 {
		t.Errorf("another client: %d %s", r.status, r.raw)
	}
	h.clock.Add(2 * time.Second)
	if r := up("192.0.2.50:1"); r.status != 200 {
		t.Errorf("after the bucket refilled: %d %s", r.status, r.raw)
	}
	// Disabling the per-client rate disables this one too, unless set.
	c, err := New(Config{Store: h.store, ClientRate: Rate{PerSecond: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if c.clientBytes != nil {
		t.Error("client_rate -1 left the byte limit on")
	}
}

// fromClients returns a function that uploads the first segment of a new
// session (ids from prefix) from a client at remote (host:port).
func fromClients(h *harness, prefix string) func(remote string) *response {
	n := 0
	return func(remote string) *response {
		n++
		u := uploadOf(firstSeg(id(prefix+itoa(n)), id("view"), visitStart))
		u.remote = remote
		return h.do(u)
	}
}

// TestBodyHoldingStoreMarkerRefused: a gzip header's extra field can hold
// any bytes, such as the embedded store's record marker (and a record
// framed for another session behind it, which a scan after disk damage
// would index). The upload gets a 400 that names the problem and nothing
// is stored; a well-formed upload of the same session goes through.
func TestBodyHoldingStoreMarkerRefused(t *testing.T) {
	h := newHarness(t, Config{})
	seg := firstSeg(id("marker"), id("view"), visitStart)
	u := uploadOf(seg)
	var b bytes.Buffer
	zw := kgzip.NewWriter(&b)
	zw.Header.Extra = []byte("RPLSEG1\n\x00\x00\x00\x02{}")
	zw.Write(seg.Body())
	zw.Close()
	u.body = b.Bytes()
	if r := h.do(u); r.status != 400 || r.reason() != "invalid_segment" || !strings.Contains(r.raw, "record marker") {
		t.Errorf("a body holding the store's record marker: %d %s, want 400 invalid_segment", r.status, r.raw)
	}
	if total := h.total(); total != 0 {
		t.Fatalf("%d sessions stored from a refused upload", total)
	}
	h.mustAccept(uploadOf(seg))
}
