package caddymodule

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-replay/caddy-replay/collector/synth"
	"github.com/caddy-replay/caddy-replay/internal/caddyrun"
)

// postSegment uploads one synthesized segment through Caddy and returns
// the status and body of the answer.
func postSegment(t *testing.T, base string, seg *synth.Segment) (int, string) {
	t.Helper()
	raw := seg.Body()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	req, _ := http.NewRequest("POST", base+"/__replay/v1/segments?"+seg.Query(len(raw)), &gz)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := caddyrun.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSlowUploadsDoNotStarveIngest: through a real Caddy with two write
// slots, eight connections that announce a body and send only its first
// bytes do not keep a whole upload from being stored at once (before, they
// held both slots and it got 503 after waiting a second).
func TestSlowUploadsDoNotStarveIngest(t *testing.T) {
	base := startProxy(t, "ingest {\n\t\t\tmax_concurrent_writes 2\n\t\t\tclient_rate -1\n\t\t}")
	addr := strings.TrimPrefix(base, "http://")
	v := synth.NewVisit(synth.Options{Seed: 7, Start: time.Now().Add(-time.Minute).UnixMilli(), Views: 1, Seconds: 10})
	seg := v.Segments[0]
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 8 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		q := synth.NewVisit(synth.Options{Seed: uint64(100 + i), Start: time.Now().Add(-time.Minute).UnixMilli(), Views: 1, Seconds: 10}).Segments[0]
		fmt.Fprintf(c, "POST /__replay/v1/segments?%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 50000\r\n\r\n\x1f\x8b\x08\x00", q.Query(40000), addr)
	}
	time.Sleep(100 * time.Millisecond) // let Caddy start reading them
	start := time.Now()
	status, body := postSegment(t, base, seg)
	if status != 200 {
		t.Fatalf("a whole upload while eight others stall: %d %s", status, body)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("the whole upload waited %s for a slot", d)
	}
}

// TestIngestRefusesSegmentsOlderThanRetention: with a retention shorter
// than the collector's 24 h window, a segment older than the retention is
// refused (the janitor would expire it at once, after its session, and it
// would come back as a fragment without its beginning); a younger one is
// stored.
func TestIngestRefusesSegmentsOlderThanRetention(t *testing.T) {
	up := upstream(t)
	port := caddyrun.FreePort(t)
	cf := fmt.Sprintf("{\n\tadmin off\n\treplay {\n\t\tdata_dir %s\n\t\tretention 1h\n\t}\n}\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n\treplay\n\treverse_proxy %s\n}\n",
		t.TempDir(), port, strings.TrimPrefix(up.URL, "http://"))
	caddyrun.Start(t, caddyrun.Adapt(t, []byte(cf)), caddyrun.Addr(port))
	base := "http://" + caddyrun.Addr(port)
	for _, c := range []struct {
		age    time.Duration
		status int
		reason string
	}{{2 * time.Hour, 400, "timestamp_too_old"}, {30 * time.Minute, 200, ""}} {
		v := synth.NewVisit(synth.Options{Seed: uint64(c.age), Start: time.Now().Add(-c.age).UnixMilli(), Views: 1, Seconds: 10})
		status, body := postSegment(t, base, v.Segments[0])
		if status != c.status || !strings.Contains(body, c.reason) {
			t.Errorf("a segment %s old, retention 1 h: %d %s, want %d %s", c.age, status, body, c.status, c.reason)
		}
	}
}

// TestAppRefusesNegativeDurations: in JSON configuration (where the
// Caddyfile's own check does not apply) a negative retention or janitor
// interval is an error when the app starts, not a silent default.
func TestAppRefusesNegativeDurations(t *testing.T) {
	for _, field := range []string{"retention", "janitor_interval"} {
		cfg := fmt.Sprintf(`{"admin": {"disabled": true}, "apps": {"replay": {"data_dir": %q, %q: -3600000000000}}}`, t.TempDir(), field)
		var c caddy.Config
		if err := json.Unmarshal([]byte(cfg), &c); err != nil {
			t.Fatal(err)
		}
		if err := caddy.Validate(&c); err == nil || !strings.Contains(err.Error(), field+" must be positive") {
			t.Errorf("%s -1h: %v, want an error saying it must be positive", field, err)
		}
	}
}
