//go:build unix

package collector

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/collector/synth"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// The ingest load generator. It is a benchmark, so `go test ./...` does
// not run it:
//
//	go test ./collector -run '^$' -bench Ingest -benchtime 20000x
//
// posts 20,000 segments with 64 concurrent clients to an in-process
// collector + embedded store over loopback TCP, and reports segments/s,
// p50 and p99 latency and lost segments (anything but 200). Environment:
//
//	REPLAY_INGEST_URL      load this server instead (e.g. a Caddy with the
//	                       replay handler: http://127.0.0.1:8080)
//	REPLAY_INGEST_SEGMENTS a directory of captured recorder segments
//	                       (*.json bodies, *.query queries) to replay instead
//	                       of synthesized ones
//	REPLAY_INGEST_CONCURRENCY  clients (default 64)
//	REPLAY_INGEST_SECONDS  stop after this long whatever b.N (default 60)

// loadJob is one upload.
type loadJob struct {
	url  string
	body []byte
}

// template is one segment to send, with a placeholder session id.
type template struct {
	query string // without sid
	body  []byte // gzip
	raw   int
}

// loadTemplates returns visits as segment templates: captured recorder
// segments when REPLAY_INGEST_SEGMENTS is set, else synthesized visits.
func loadTemplates(b *testing.B, start int64) [][]template {
	if dir := os.Getenv("REPLAY_INGEST_SEGMENTS"); dir != "" {
		return [][]template{capturedTemplates(b, dir, start)}
	}
	var out [][]template
	for seed := range uint64(24) {
		v := synth.NewVisit(synth.Options{Seed: seed, Start: start, Views: 3, Seconds: 20, Nodes: 300})
		var visit []template
		for _, s := range v.Segments {
			raw := s.Body()
			q := s.Query(len(raw))
			q = strings.Replace(q, "sid="+s.SID+"&", "", 1)
			visit = append(visit, template{query: q, body: gz(raw), raw: len(raw)})
		}
		out = append(out, visit)
	}
	return out
}

// capturedTemplates reads segments captured from the recorder: pairs of
// NAME.query (the upload's query string) and NAME.body (the gzip body as
// sent). Timestamps are shifted to start at start so the clock-skew check
// accepts them.
func capturedTemplates(b *testing.B, dir string, start int64) []template {
	queries, _ := filepath.Glob(filepath.Join(dir, "*.query"))
	slices.Sort(queries)
	var out []template
	for _, qf := range queries {
		q, err := os.ReadFile(qf)
		if err != nil {
			b.Fatal(err)
		}
		body, err := os.ReadFile(strings.TrimSuffix(qf, ".query") + ".body")
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, template{query: strings.TrimSpace(string(q)), body: body})
	}
	if len(out) == 0 {
		b.Fatalf("no captured segments in %s", dir)
	}
	return out
}

func BenchmarkIngest(b *testing.B) {
	concurrency := 64
	if v := os.Getenv("REPLAY_INGEST_CONCURRENCY"); v != "" {
		fmt.Sscan(v, &concurrency)
	}
	limit := 60 * time.Second
	if v := os.Getenv("REPLAY_INGEST_SECONDS"); v != "" {
		var s int
		fmt.Sscan(v, &s)
		limit = time.Duration(s) * time.Second
	}
	now := time.Now().UnixMilli()
	visits := loadTemplates(b, now-3_600_000)
	// Each visit is replayed under many session ids; a session's segments
	// go out in order, one client per session, as from a browser.
	r := rand.New(rand.NewPCG(1, 2))
	target := os.Getenv("REPLAY_INGEST_URL")
	var totalBytes int64
	if target == "" {
		st, err := embedded.Open(b.TempDir(), embedded.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		c, err := New(Config{Store: st, ClientRate: Rate{PerSecond: -1}, SessionRate: Rate{PerSecond: -1}})
		if err != nil {
			b.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: c}
		go srv.Serve(ln)
		defer srv.Close()
		target = "http://" + ln.Addr().String()
	}
	// Sessions are streams of jobs; workers take whole sessions.
	var sessions [][]loadJob
	n := 0
	for v := 0; n < b.N; v++ {
		sid := synth.ID(r)
		var js []loadJob
		visit := visits[v%len(visits)]
		for _, t := range visit[:min(len(visit), b.N-n)] {
			js = append(js, loadJob{url: target + "/__replay/v1/segments?sid=" + sid + "&" + t.query, body: t.body})
			totalBytes += int64(len(t.body))
			n++
		}
		sessions = append(sessions, js)
	}
	// A worker takes a whole session and sends its segments in order.
	work := make(chan []loadJob, len(sessions))
	for _, s := range sessions {
		work <- s
	}
	close(work)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency, DisableCompression: true}}
	latencies := make([][]time.Duration, concurrency)
	lost := make([]int, concurrency)
	deadline := time.Now().Add(limit)
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for stream := range work {
				for _, j := range stream {
					if time.Now().After(deadline) {
						lost[w]++
						continue
					}
					t0 := time.Now()
					req, _ := http.NewRequest("POST", j.url, bytes.NewReader(j.body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Content-Encoding", "gzip")
					res, err := client.Do(req)
					if err != nil {
						lost[w]++
						continue
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					latencies[w] = append(latencies[w], time.Since(t0))
					if res.StatusCode != 200 {
						lost[w]++
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	var all []time.Duration
	totalLost := 0
	for w := range concurrency {
		all = append(all, latencies[w]...)
		totalLost += lost[w]
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "segments/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(totalLost), "lost")
	b.ReportMetric(float64(totalBytes)/float64(max(1, n)), "bytes/segment")
	if os.Getenv("REPLAY_INGEST_URL") == "" {
		// Server and clients share this process: CPU per segment of both.
		b.ReportMetric(float64(cpu.Microseconds())/float64(max(1, len(all))), "cpu-µs/segment")
	}
	b.ReportMetric(0, "ns/op")
}
