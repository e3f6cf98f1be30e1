package collector

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/caddy-replay/caddy-replay/collector/synth"
	"github.com/caddy-replay/caddy-replay/store"
)

func TestAcceptsAVisit(t *testing.T) {
	h := newHarness(t, Config{})
	v := synth.NewVisit(synth.Options{Seed: 1, Start: visitStart, Views: 3, Seconds: 20, User: "u-42"})
	for _, seg := range v.Segments {
		h.mustAccept(uploadOf(seg))
	}
	s := h.session(v.SID)
	if len(s.Views) != 3 {
		t.Fatalf("%d views, want 3", len(s.Views))
	}
	for i, view := range s.Views {
		if view.URL != v.URLs[i] || view.Title == "" || view.Tab == "" {
			t.Errorf("view %d = %+v, want URL %s with a title and a tab", i, view, v.URLs[i])
		}
	}
	if s.EntryURL != v.URLs[0] || len(s.URLs) != 3 {
		t.Errorf("EntryURL %q, URLs %v", s.EntryURL, s.URLs)
	}
	if s.Clicks != v.Truth.Clicks || s.Inputs != v.Truth.Inputs || s.Errors != v.Truth.Errors {
		t.Errorf("clicks/inputs/errors = %d/%d/%d, want %d/%d/%d", s.Clicks, s.Inputs, s.Errors, v.Truth.Clicks, v.Truth.Inputs, v.Truth.Errors)
	}
	if s.UserID != "u-42" || s.UserEmail != "u-42@example.com" {
		t.Errorf("user %q %q", s.UserID, s.UserEmail)
	}
	if s.UserAgent != "TestBrowser/1.0" {
		t.Errorf("UserAgent %q: the recorder sends none, the request's header is the browser", s.UserAgent)
	}
	if s.Service != "shop" || s.Env != "prod" || s.Version != "1.4.2" || s.ApplicationID != "app-1" {
		t.Errorf("service/env/version/app = %q/%q/%q/%q", s.Service, s.Env, s.Version, s.ApplicationID)
	}
	if s.ViewportWidth != 1280 || s.ViewportHeight != 800 {
		t.Errorf("viewport %dx%d", s.ViewportWidth, s.ViewportHeight)
	}
	if s.Start != visitStart || s.Duration != s.End-s.Start || s.Duration < 60_000 {
		t.Errorf("start %d, duration %d", s.Start, s.Duration)
	}
	if s.ActiveMs <= 0 || s.ActiveMs > s.Duration {
		t.Errorf("ActiveMs %d of %d", s.ActiveMs, s.Duration)
	}
	if s.ClientIP != "" {
		t.Errorf("ClientIP %q stored without StoreClientIP", s.ClientIP)
	}
	if s.Segments != len(v.Segments) {
		t.Errorf("%d segments stored, want %d", s.Segments, len(v.Segments))
	}

	// A retry is acknowledged without a second copy.
	r := h.do(uploadOf(v.Segments[2]))
	if r.status != 200 || r.body["duplicate"] != true {
		t.Fatalf("retry: %d %s", r.status, r.raw)
	}
	if got := h.session(v.SID); got.Segments != s.Segments || got.Clicks != s.Clicks {
		t.Errorf("a retry changed the session: %d segments, %d clicks", got.Segments, got.Clicks)
	}
	// The client's gzip bytes are stored as they came.
	seg := v.Segments[1]
	rc, err := h.store.OpenSegment(context.Background(), store.SegmentKey{Session: seg.SID, View: seg.VID, Seq: seg.Seq})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(stored, uploadOf(seg).body) {
		t.Error("the stored body is not the client's gzip")
	}
}

func TestStoreClientIPWhenConfigured(t *testing.T) {
	h := newHarness(t, Config{StoreClientIP: true, ClientIP: func(r *http.Request) string { return "203.0.113.7" }})
	sid := id("ipsession")
	h.mustAccept(uploadOf(firstSeg(sid, id("view"), visitStart)))
	if ip := h.session(sid).ClientIP; ip != "203.0.113.7" {
		t.Errorf("ClientIP = %q, want the configured ClientIP func's answer", ip)
	}
}

// TestRecompresses: bodies sent as identity (sendBeacon) or deflate are
// validated and stored as gzip like the others.
func TestRecompresses(t *testing.T) {
	h := newHarness(t, Config{})
	v := synth.NewVisit(synth.Options{Seed: 2, Start: visitStart, Views: 1, Seconds: 12})
	encodings := []string{"identity-beacon", "deflate", "identity-header"}
	for i, seg := range v.Segments {
		u := uploadOf(seg)
		raw := seg.Body()
		switch encodings[i%len(encodings)] {
		case "identity-beacon":
			u.body = raw
			u.header.Del("Content-Encoding")
			u.header.Set("Content-Type", "text/plain;charset=UTF-8")
			u.set("enc", "identity")
		case "deflate":
			var b bytes.Buffer
			zw := zlib.NewWriter(&b)
			zw.Write(raw)
			zw.Close()
			u.body = b.Bytes()
			u.header.Set("Content-Encoding", "deflate")
		case "identity-header":
			u.body = raw
			u.header.Set("Content-Encoding", "identity")
		}
		h.mustAccept(u)
		rc, err := h.store.OpenSegment(context.Background(), store.SegmentKey{Session: seg.SID, View: seg.VID, Seq: seg.Seq})
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(rc)
		if err != nil {
			t.Fatalf("segment %d stored as something else than gzip: %v", i, err)
		}
		got, _ := io.ReadAll(zr)
		rc.Close()
		if !bytes.Equal(got, raw) {
			t.Errorf("segment %d: the stored gzip does not decompress to the events", i)
		}
	}
}

// TestRejects sends every kind of bad upload: each gets a clear 4xx with a
// reason, and nothing is stored.
func TestRejects(t *testing.T) {
	h := newHarness(t, Config{AllowedOrigins: []string{"https://admin.example"}, ClientToken: "tok-123"})
	vid := id("view")
	var n int
	// fresh returns a valid upload of a new session (with the token).
	fresh := func(more ...string) *upload {
		n++
		return uploadOf(firstSeg(id("reject"+itoa(n)), vid, visitStart, more...)).set("ct", "tok-123")
	}
	withBody := func(raw string) *upload {
		u := fresh()
		u.body = gz([]byte(raw))
		return u.set("raw", itoa(len(raw)))
	}
	hostile := func(v string) *upload { return fresh().set("sid", v) }

	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	bomb := func(size int) []byte { // zeros compress about a thousand to one
		var b bytes.Buffer
		zw, _ := kgzip.NewWriterLevel(&b, 5)
		zw.Write(make([]byte, size))
		zw.Close()
		return b.Bytes()
	}
	truncated := fresh()
	truncated.body = truncated.body[:len(truncated.body)-9]
	corrupt := fresh()
	corrupt.body[len(corrupt.body)/2] ^= 0x55
	trailing := fresh()
	trailing.body = append(trailing.body, gz([]byte("[]"))...)

	cases := []struct {
		name   string
		u      *upload
		status int
		reason string
	}{
		{"GET", func() *upload { u := fresh(); u.method = "GET"; return u }(), 405, "method_not_allowed"},
		{"PUT", func() *upload { u := fresh(); u.method = "PUT"; return u }(), 405, "method_not_allowed"},
		{"no content type", func() *upload { u := fresh(); u.header.Del("Content-Type"); return u }(), 415, "unsupported_content_type"},
		{"html content type", func() *upload { u := fresh(); u.header.Set("Content-Type", "text/html"); return u }(), 415, "unsupported_content_type"},
		{"form content type", func() *upload {
			u := fresh()
			u.header.Set("Content-Type", "application/x-www-form-urlencoded")
			return u
		}(), 415, "unsupported_content_type"},
		{"brotli", func() *upload { u := fresh(); u.header.Set("Content-Encoding", "br"); return u }(), 415, "unsupported_encoding"},
		{"two encodings", func() *upload { u := fresh(); u.header.Set("Content-Encoding", "gzip, br"); return u }(), 415, "unsupported_encoding"},
		{"enc zstd", func() *upload { u := fresh(); u.header.Del("Content-Encoding"); return u.set("enc", "zstd") }(), 415, "unsupported_encoding"},
		{"encodings disagree", fresh().set("enc", "deflate"), 400, "conflicting_encoding"},
		{"body over the limit", func() *upload {
			u := fresh()
			u.body = append(u.body, make([]byte, DefaultMaxBodyBytes)...)
			return u
		}(), 413, "body_too_large"},
		{"chunked body over the limit", func() *upload {
			u := fresh()
			u.body = append(u.body, make([]byte, DefaultMaxBodyBytes)...)
			u.chunked = true
			return u
		}(), 413, "body_too_large"},
		{"zip bomb, few KB declared small", func() *upload { u := fresh(); u.body = bomb(8 << 20); return u.set("raw", "4000") }(), 413, "raw_too_large"},
		{"raw over the limit", fresh().set("raw", itoa(DefaultMaxRawBytes+1)), 413, "raw_too_large"},
		{"too many records", fresh().set("n", "100001"), 413, "too_many_records"},
		{"empty body", func() *upload { u := fresh(); u.body = nil; return u }(), 400, "empty_body"},
		{"not gzip", func() *upload { u := fresh(); u.body = []byte(`[{"type":4}]`); return u }(), 400, "bad_encoding"},
		{"truncated gzip", truncated, 400, "truncated_body"},
		{"corrupt gzip", corrupt, 400, "bad_encoding"},
		{"two gzip members", trailing, 400, "bad_encoding"},
		{"trailing comma", withBody(`[{"type":4,"data":{"href":"h","width":1,"height":1},"timestamp":1780000000000},]`), 400, "invalid_json"},
		{"unterminated string", withBody(`[{"type":4,"data":{"href":"abc}}]`), 400, "invalid_json"},
		{"control character", withBody("[{\"type\":4,\"data\":{\"href\":\"a\x01\"}}]"), 400, "invalid_json"},
		{"bad escape", withBody(`[{"type":4,"data":{"href":"\q"}}]`), 400, "invalid_json"},
		{"bad number", withBody(`[{"type":04,"data":{},"timestamp":1}]`), 400, "invalid_json"},
		{"data after the array", withBody(`[]{}`), 400, "invalid_json"},
		{"nesting too deep", withBody(`[{"type":3,"data":{"source":0,"x":` + deep + `}}]`), 400, "invalid_json"},
		{"not an array", withBody(`{"type":4}`), 400, "invalid_event"},
		{"event not an object", withBody(`[1]`), 400, "invalid_event"},
		{"unknown event type", fresh(`{"type":9,"data":{},"timestamp":1780000000000}`).set("n", "4"), 400, "invalid_event"},
		{"missing timestamp", fresh(`{"type":3,"data":{"source":1}}`).set("n", "4").set("start", itoa(visitStart)), 400, "invalid_event"},
		{"data not an object", fresh(`{"type":3,"data":[],"timestamp":1780000000000}`).set("n", "4"), 400, "invalid_event"},
		{"incremental source out of range", fresh(`{"type":3,"data":{"source":99},"timestamp":1780000000000}`).set("n", "4"), 400, "invalid_event"},
		{"click without target", fresh(`{"type":3,"data":{"source":2,"type":2,"x":1,"y":2},"timestamp":1780000000000}`).set("n", "4"), 400, "invalid_event"},
		{"custom without tag", fresh(`{"type":5,"data":{"payload":{}},"timestamp":1780000000000}`).set("n", "4"), 400, "invalid_event"},
		{"meta without href", withBody(`[{"type":4,"data":{"width":1,"height":1},"timestamp":1780000000000}]`).set("n", "1"), 400, "invalid_event"},
		{"fewer events than n", fresh().set("n", "4"), 400, "invalid_event"},
		{"more events than n", fresh().set("n", "2"), 400, "invalid_event"},
		{"raw size mismatch", func() *upload {
			u := fresh()
			raw := firstSeg("x", "y", visitStart).Body()
			return u.set("raw", itoa(len(raw)+10))
		}(), 400, "raw_size_mismatch"},
		{"full flag wrong", fresh().set("full", "0"), 400, "invalid_event"},
		{"first segment without snapshot", func() *upload {
			n++
			s := handSegment(id("nosnap"+itoa(n)), vid, 0, metaEv(visitStart, "https://shop.example/"), moveEv(visitStart+5))
			return uploadOf(s).set("ct", "tok-123")
		}(), 400, "invalid_event"},
		{"timestamp before start", fresh(moveEv(visitStart+100)).set("start", itoa(visitStart+1)), 400, "invalid_event"},
		{"timestamp after end", fresh(moveEv(visitStart+100)).set("end", itoa(visitStart+50)), 400, "invalid_event"},
		{"timestamp goes back", fresh(moveEv(visitStart+5000), moveEv(visitStart+2000)), 400, "invalid_event"},
		{"far-future end", fresh(moveEv(visitStart + 48*3_600_000)), 400, "timestamp_in_future"},
		{"ancient start", func() *upload {
			n++
			return uploadOf(firstSeg(id("old"+itoa(n)), vid, visitStart-48*3_600_000)).set("ct", "tok-123")
		}(), 400, "timestamp_too_old"},
		{"sid ../", hostile("../../../../etc/passwd"), 400, "bad_id"},
		{"sid encoded ../", hostile("..%2F..%2F..%2Fetc%2Fpasswdxxxxxx"), 400, "bad_id"},
		{"sid NUL", hostile("abcdefghijklmnop%00"), 400, "bad_id"},
		{"sid 10 KB", hostile(strings.Repeat("a", 10240)), 400, "bad_id"},
		{"sid too short", hostile("abc"), 400, "bad_id"},
		{"vid with slash", fresh().set("vid", "abcdefgh%2Fijklmnop"), 400, "bad_id"},
		{"missing sid", fresh().set("sid", ""), 400, "missing_parameter"},
		{"sid twice", fresh().set("ct", "tok-123&sid="+id("twice")), 400, "bad_parameter"},
		{"seq negative", fresh().set("seq", "-1"), 400, "bad_parameter"},
		{"seq leading zero", fresh().set("seq", "01"), 400, "bad_parameter"},
		{"seq too big", fresh().set("seq", "1000000"), 400, "bad_parameter"},
		{"start after end", fresh().set("start", itoa(visitStart+10)).set("end", itoa(visitStart)), 400, "bad_parameter"},
		{"version 2", fresh().set("v", "2"), 400, "unsupported_version"},
		{"bad query", func() *upload { u := fresh(); u.query += "&%zz"; return u }(), 400, "bad_query"},
		{"wrong client token", fresh().set("ct", "nope"), 403, "bad_client_token"},
		{"no client token", fresh().set("ct", ""), 403, "bad_client_token"},
		{"disallowed origin", func() *upload { u := fresh(); u.header.Set("Origin", "https://evil.example"); return u }(), 403, "origin_not_allowed"},
		{"null origin", func() *upload { u := fresh(); u.header.Set("Origin", "null"); return u }(), 403, "origin_not_allowed"},
	}
	for _, tc := range cases {
		r := h.do(tc.u)
		if r.status != tc.status || r.reason() != tc.reason {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, r.status, r.raw, tc.status, tc.reason)
			continue
		}
		if msg, _ := r.body["message"].(string); len(msg) < 10 {
			t.Errorf("%s: the message %q does not say what to fix", tc.name, msg)
		}
		if r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", tc.name, r.header.Get("Content-Type"))
		}
		if total := h.total(); total != 0 {
			t.Fatalf("%s: %d sessions stored after a refused upload", tc.name, total)
		}
	}
	// The baseline upload is accepted, so every refusal above was for
	// the reason the case names.
	h.mustAccept(fresh())
	if r := h.do(func() *upload { u := fresh(); u.header.Set("Origin", "https://shop.example"); return u }()); r.status != 200 {
		t.Errorf("same-origin upload refused: %s", r.raw)
	}
}

func TestDuplicateAndDeleted(t *testing.T) {
	h := newHarness(t, Config{})
	sid, vid := id("dupsession"), id("view")
	first := firstSeg(sid, vid, visitStart, clickEv(visitStart+10, 5, 5))
	h.mustAccept(uploadOf(first))
	// Same key, other content: a numbering bug, not a retry.
	other := firstSeg(sid, vid, visitStart, clickEv(visitStart+10, 5, 5), clickEv(visitStart+20, 5, 5))
	r := h.do(uploadOf(other))
	if r.status != 409 || r.reason() != "duplicate_sequence" {
		t.Fatalf("conflicting duplicate: %d %s", r.status, r.raw)
	}
	if s := h.session(sid); s.Clicks != 1 || s.Segments != 1 {
		t.Errorf("the conflicting upload changed the session: %d clicks, %d segments", s.Clicks, s.Segments)
	}
	if err := h.store.DeleteSession(context.Background(), sid); err != nil {
		t.Fatal(err)
	}
	next := handSegment(sid, vid, 1, moveEv(visitStart+6000))
	r = h.do(uploadOf(next))
	if r.status != 410 || r.reason() != "session_deleted" {
		t.Fatalf("segment of a deleted session: %d %s", r.status, r.raw)
	}
}

// TestZipBombIsCutOff: a body that inflates to far more than the limit is
// refused after decompressing at most the limit, quickly and without
// holding the output in memory.
func TestZipBombIsCutOff(t *testing.T) {
	h := newHarness(t, Config{})
	// A valid start, then 256 MiB of one letter in about 250 KB: the
	// scanner cannot stop early, so only the decompression cap stops it.
	var b bytes.Buffer
	zw, _ := kgzip.NewWriterLevel(&b, 5)
	zw.Write([]byte(`[{"type":4,"data":{"href":"`))
	letters := bytes.Repeat([]byte{'a'}, 1<<20)
	for range 256 {
		zw.Write(letters)
	}
	zw.Close()
	u := uploadOf(firstSeg(id("bombsession"), id("view"), visitStart))
	u.body = b.Bytes()
	u.set("raw", itoa(DefaultMaxRawBytes))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	r := h.do(u)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if r.status != 413 || r.reason() != "raw_too_large" {
		t.Fatalf("bomb: %d %s", r.status, r.raw)
	}
	if elapsed > 3*time.Second {
		t.Errorf("refusing the bomb took %v", elapsed)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("refusing a %d KB bomb allocated %d MB: the output is being kept", len(u.body)>>10, grew>>20)
	}
	t.Logf("%d KB inflating to 256 MiB: refused in %v, %d KB allocated", len(u.body)>>10, elapsed, (after.TotalAlloc-before.TotalAlloc)>>10)
	if h.total() != 0 {
		t.Error("the bomb was stored")
	}
}

func TestRateLimits(t *testing.T) {
	h := newHarness(t, Config{ClientRate: Rate{PerSecond: 1, Burst: 2}, SessionRate: Rate{PerSecond: -1}})
	vid := id("view")
	up := func(i int, ip string) *response {
		u := uploadOf(firstSeg(id("rate"+itoa(i)), vid, visitStart))
		u.remote = ip + ":1000"
		return h.do(u)
	}
	if r := up(1, "198.51.100.1"); r.status != 200 {
		t.Fatal(r.raw)
	}
	if r := up(2, "198.51.100.1"); r.status != 200 {
		t.Fatal(r.raw)
	}
	r := up(3, "198.51.100.1")
	if r.status != 429 || r.reason() != "client_rate_limited" || r.header.Get("Retry-After") != "1" {
		t.Fatalf("over the client rate: %d %s Retry-After %q", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if r := up(4, "198.51.100.2"); r.status != 200 {
		t.Errorf("another client was limited too: %s", r.raw)
	}
	h.clock.Add(time.Second)
	if r := up(5, "198.51.100.1"); r.status != 200 {
		t.Errorf("a second later the client is still limited: %s", r.raw)
	}

	h2 := newHarness(t, Config{SessionRate: Rate{PerSecond: 0.5, Burst: 1}})
	sid := id("ratesession")
	h2.mustAccept(uploadOf(firstSeg(sid, vid, visitStart)))
	r = h2.do(uploadOf(handSegment(sid, vid, 1, moveEv(visitStart+10))))
	if r.status != 429 || r.reason() != "session_rate_limited" || r.header.Get("Retry-After") != "2" {
		t.Fatalf("over the session rate: %d %s Retry-After %q", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if r := h2.do(uploadOf(firstSeg(id("othersession"), vid, visitStart))); r.status != 200 {
		t.Errorf("another session was limited: %s", r.raw)
	}
	h2.clock.Add(2 * time.Second)
	h2.mustAccept(uploadOf(handSegment(sid, vid, 1, moveEv(visitStart+10))))
	if h2.session(sid).Segments != 2 {
		t.Error("the limited segment was stored anyway, or the retry was not")
	}
}

// slowStore blocks PutSegment until released.
type slowStore struct {
	store.Store
	entered chan struct{}
	release chan struct{}
}

func (s *slowStore) PutSegment(ctx context.Context, seg *store.NewSegment) (bool, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.PutSegment(ctx, seg)
}

func TestOverloadAnswers503(t *testing.T) {
	h := newHarness(t, Config{})
	slow := &slowStore{Store: h.store, entered: make(chan struct{}, 4), release: make(chan struct{})}
	c, err := New(Config{Store: slow, Now: h.clock.Now, MaxConcurrentWrites: 1, QueueTimeout: 50 * time.Millisecond,
		ClientRate: Rate{PerSecond: -1}, SessionRate: Rate{PerSecond: -1}})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	var wg sync.WaitGroup
	wg.Add(1)
	var first *response
	go func() {
		defer wg.Done()
		first = h.do(uploadOf(firstSeg(id("slow1"), id("view"), visitStart)))
	}()
	<-slow.entered
	r := h.do(uploadOf(firstSeg(id("slow2"), id("view"), visitStart)))
	if r.status != 503 || r.reason() != "overloaded" || r.header.Get("Retry-After") == "" {
		t.Errorf("with every write slot taken: %d %s", r.status, r.raw)
	}
	close(slow.release)
	wg.Wait()
	if first.status != 200 {
		t.Errorf("the slow upload: %d %s", first.status, first.raw)
	}
	if r := h.do(uploadOf(firstSeg(id("slow3"), id("view"), visitStart))); r.status != 200 {
		t.Errorf("after the overload: %d %s", r.status, r.raw)
	}
}

func TestOrigins(t *testing.T) {
	h := newHarness(t, Config{AllowedOrigins: []string{"https://admin.example"}})
	n := 0
	up := func(origin string) *response {
		n++
		u := uploadOf(firstSeg(id("origin"+itoa(n)), id("view"), visitStart))
		u.header.Set("Origin", origin)
		return h.do(u)
	}
	if r := up("https://shop.example"); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("same origin: %d, ACAO %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
	if r := up("https://admin.example"); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://admin.example" ||
		r.header.Get("Access-Control-Expose-Headers") != "Retry-After" {
		t.Errorf("allowed origin: %d, ACAO %q, exposed %q (the recorder reads Retry-After)", r.status, r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Expose-Headers"))
	}
	if r := up("https://shop.example.evil.example"); r.status != 403 {
		t.Errorf("look-alike origin: %d", r.status)
	}
	pre := &upload{method: "OPTIONS", header: http.Header{"Origin": {"https://admin.example"}, "Access-Control-Request-Method": {"POST"}}}
	r := h.do(pre)
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://admin.example" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Content-Encoding") {
		t.Errorf("preflight from an allowed origin: %d %v", r.status, r.header)
	}
	pre.header.Set("Origin", "https://evil.example")
	if r := h.do(pre); r.status != 403 {
		t.Errorf("preflight from another origin: %d", r.status)
	}
	if _, err := New(Config{Store: h.store, AllowedOrigins: []string{"admin.example"}}); err == nil {
		t.Error("an origin without a scheme was accepted in the config")
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	h := newHarness(t, Config{Metrics: reg})
	// A second collector on the same registry (a config reload) shares
	// the series instead of failing.
	c2, err := New(Config{Store: h.store, Metrics: reg, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	seg := firstSeg(id("metrics"), id("view"), visitStart)
	h.mustAccept(uploadOf(seg))
	h.do(uploadOf(seg))
	h.c = c2
	h.do(uploadOf(seg).set("v", "3"))
	bad := uploadOf(seg)
	bad.method = "GET"
	h.do(bad)
	if got := metricValue(h.c.metrics.accepted); got != 1 {
		t.Errorf("accepted = %v", got)
	}
	if got := metricValue(h.c.metrics.duplicate); got != 1 {
		t.Errorf("duplicate = %v", got)
	}
	if got := metricValue(h.c.metrics.rejected.WithLabelValues("unsupported_version")); got != 1 {
		t.Errorf("rejected{unsupported_version} = %v", got)
	}
	if got := metricValue(h.c.metrics.rejected.WithLabelValues("method_not_allowed")); got != 1 {
		t.Errorf("rejected{method_not_allowed} = %v", got)
	}
	if got := metricValue(h.c.metrics.bytes.WithLabelValues("raw")); got != float64(len(seg.Body())) {
		t.Errorf("raw bytes = %v, want %d", got, len(seg.Body()))
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, f := range families {
		if f.GetName() == "caddy_replay_collector_request_duration_seconds" {
			series = len(f.GetMetric())
		}
	}
	if series != 3 {
		t.Errorf("latency has %d series, want accepted, duplicate and rejected", series)
	}
}

// TestReindexReproducesMetadata: the collector's Summarize rebuilds from
// stored segments exactly the sessions ingest built.
func TestReindexReproducesMetadata(t *testing.T) {
	h := newHarness(t, Config{})
	for seed := range uint64(4) {
		v := synth.NewVisit(synth.Options{Seed: 10 + seed, Start: visitStart + int64(seed)*1000, Views: 2, Seconds: 15, User: "u" + itoa(int(seed))})
		for _, seg := range v.Segments {
			h.mustAccept(uploadOf(seg))
		}
	}
	ctx := context.Background()
	page, _ := h.store.ListSessions(ctx, store.Query{})
	before := map[string]*store.Session{}
	for _, s := range page.Sessions {
		before[s.ID] = h.session(s.ID)
	}
	stats, err := h.store.Reindex(ctx, h.c.Summarizer())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sessions != 4 || stats.Skipped != 0 {
		t.Errorf("reindex: %+v", stats)
	}
	for id, b := range before {
		a := h.session(id)
		if a.Clicks != b.Clicks || a.RageClicks != b.RageClicks || a.DeadClicks != b.DeadClicks ||
			a.Inputs != b.Inputs || a.Errors != b.Errors || a.ActiveMs != b.ActiveMs || a.UserID != b.UserID ||
			a.EntryURL != b.EntryURL || len(a.Views) != len(b.Views) || a.UserAgent != b.UserAgent || !bytes.Equal(a.Carry, b.Carry) {
			t.Errorf("session %s after reindex:\n%+v\nwas\n%+v", id, a, b)
		}
	}
}

// TestStoreErrors: a store failure is a 5xx the recorder retries, never a
// silent success.
func TestStoreErrors(t *testing.T) {
	h := newHarness(t, Config{})
	h.store.Close()
	r := h.do(uploadOf(firstSeg(id("closed"), id("view"), visitStart)))
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Errorf("closed store: %d %s", r.status, r.raw)
	}
	if rj := storeRejection(errors.New("disk full")); rj.status != 500 {
		t.Errorf("unknown store error: %d", rj.status)
	}
}

func TestRawDeflateIsNotZlib(t *testing.T) {
	// HTTP's "deflate" is zlib (RFC 1950); a raw deflate stream is refused
	// with a message that says so.
	h := newHarness(t, Config{})
	seg := firstSeg(id("rawdeflate"), id("view"), visitStart)
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, 5)
	fw.Write(seg.Body())
	fw.Close()
	u := uploadOf(seg)
	u.body = b.Bytes()
	u.header.Set("Content-Encoding", "deflate")
	r := h.do(u)
	if r.status != 400 || !strings.Contains(r.raw, "zlib") {
		t.Errorf("raw deflate: %d %s", r.status, r.raw)
	}
}

// metricValue reads a counter or gauge.
func metricValue(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestEncodeExtraReuse checks that the reused encoding of an upload's
// extra is always the encoding of that upload's own values, whichever
// extra came before it.
func TestEncodeExtraReuse(t *testing.T) {
	c := &Collector{}
	xs := []extra{{UserAgent: "a"}, {UserAgent: "a"}, {UserAgent: "a", ClientIP: "10.0.0.1"}, {UserAgent: "b"}, {}, {UserAgent: "a"}}
	for i, x := range xs {
		got := c.encodeExtra(x)
		want, _ := json.Marshal(x)
		if string(got) != string(want) {
			t.Fatalf("extra %d: encoded %s, want %s", i, got, want)
		}
		if cap(got) != len(got) {
			t.Fatalf("extra %d: shared bytes with spare capacity (an append would write into them)", i)
		}
	}
	if a, b := c.encodeExtra(xs[5]), c.encodeExtra(xs[5]); &a[0] != &b[0] {
		t.Fatal("the same extra twice was encoded twice")
	}
}
