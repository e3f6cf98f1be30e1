//go:build unix

package collector

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
// p50 and p99 latency and lost segments (anything but 200). The segments
// are a real recording: the recorder's uploads during a scripted 86-second
// visit of the demo shop (testdata/recorder, captured by e2e's
// TestCaddyCrashSafety with REPLAY_CAPTURE_DIR), replayed under fresh
// session ids, timestamps moved to the last hour. Environment:
//
//	REPLAY_INGEST_URL      load this server instead (a Caddy with the
//	                       replay handler: see testdata/ingest-bench.Caddyfile)
//	REPLAY_INGEST_SEGMENTS another directory of captured segments (NNN.query
//	                       without sid, NNN.body gzip), or "synth" for
//	                       synthesized visits
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
// segments (testdata/recorder by default), or synthesized visits.
func loadTemplates(b *testing.B, start int64) [][]template {
	dir := os.Getenv("REPLAY_INGEST_SEGMENTS")
	if dir == "" {
		dir = filepath.Join("testdata", "recorder")
	}
	if dir != "synth" {
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
// NNN.query (the upload's query string without sid) and NNN.body (the gzip
// body as sent). Timestamps, in the query and in every event, are moved so
// the visit starts at start: the collector refuses segments older than a
// day.
func capturedTemplates(b *testing.B, dir string, start int64) []template {
	queries, _ := filepath.Glob(filepath.Join(dir, "*.query"))
	slices.Sort(queries)
	var out []template
	var shift int64
	for i, qf := range queries {
		q, err := os.ReadFile(qf)
		if err != nil {
			b.Fatal(err)
		}
		body, err := os.ReadFile(strings.TrimSuffix(qf, ".query") + ".body")
		if err != nil {
			b.Fatal(err)
		}
		vals, err := url.ParseQuery(strings.TrimSpace(string(q)))
		if err != nil {
			b.Fatal(err)
		}
		segStart, _ := strconv.ParseInt(vals.Get("start"), 10, 64)
		segEnd, _ := strconv.ParseInt(vals.Get("end"), 10, 64)
		if i == 0 {
			shift = start - segStart
		}
		raw := shiftEvents(b, body, shift)
		vals.Set("start", strconv.FormatInt(segStart+shift, 10))
		vals.Set("end", strconv.FormatInt(segEnd+shift, 10))
		vals.Set("raw", strconv.Itoa(len(raw)))
		vals.Del("sid")
		out = append(out, template{query: vals.Encode(), body: gz(raw), raw: len(raw)})
	}
	if len(out) == 0 {
		b.Fatalf("no captured segments in %s", dir)
	}
	return out
}

// shiftEvents adds shift to the timestamp of every event of a gzip body
// and returns the new JSON array.
func shiftEvents(b *testing.B, body []byte, shift int64) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	var events []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil {
		b.Fatal(err)
	}
	for _, e := range events {
		var ts int64
		json.Unmarshal(e["timestamp"], &ts)
		e["timestamp"] = json.RawMessage(strconv.FormatInt(ts+shift, 10))
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(events); err != nil {
		b.Fatal(err)
	}
	return bytes.TrimSpace(out.Bytes())
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
	// Fresh session ids on every run: a server may outlive one.
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	target := os.Getenv("REPLAY_INGEST_URL")
	var totalBytes int64
	var st *embedded.Store
	if target == "" {
		var err error
		st, err = embedded.Open(b.TempDir(), embedded.Options{})
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
	var failMu sync.Mutex
	failures := map[string]int{}
	failed := func(why string) {
		failMu.Lock()
		failures[why]++
		failMu.Unlock()
	}
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
						failed(err.Error())
						continue
					}
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					latencies[w] = append(latencies[w], time.Since(t0))
					if res.StatusCode != 200 {
						lost[w]++
						failed(fmt.Sprintf("%d %s", res.StatusCode, bytes.TrimSpace(body)))
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
	for why, n := range failures {
		b.Logf("%d× %s", n, why)
	}
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
	if st != nil {
		// Server and clients share this process: CPU per segment of both.
		b.ReportMetric(float64(cpu.Microseconds())/float64(max(1, len(all))), "cpu-µs/segment")
		stats := st.Stats()
		b.ReportMetric(float64(stats.Segments)/float64(max(1, stats.Batches)), "segments/batch")
		b.ReportMetric(float64(stats.BatchTime.Microseconds())/float64(max(1, stats.Batches))/1000, "ms/batch")
	}
	b.ReportMetric(0, "ns/op")
}
