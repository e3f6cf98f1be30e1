//go:build unix

package collector

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
// p50 and p99 latency and lost segments (anything but 200). The clients
// are kept light (loadClient: a raw keep-alive HTTP/1.1 connection, one
// write per request) because they share the cores with the server. The segments
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
//	REPLAY_INGEST_WRK      drive the load with wrk instead of Go clients
//	                       (with REPLAY_INGEST_URL; see ingestWithWrk)

// loadJob is one upload.
type loadJob struct {
	url  string // the request target: path and query
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
	var out []template
	var shift int64
	for i, f := range readCaptured(b, dir) {
		vals, err := url.ParseQuery(f.query)
		if err != nil {
			b.Fatal(err)
		}
		segStart, _ := strconv.ParseInt(vals.Get("start"), 10, 64)
		segEnd, _ := strconv.ParseInt(vals.Get("end"), 10, 64)
		if i == 0 {
			shift = start - segStart
		}
		raw := shiftEvents(b, f.body, shift)
		vals.Set("start", strconv.FormatInt(segStart+shift, 10))
		vals.Set("end", strconv.FormatInt(segEnd+shift, 10))
		vals.Set("raw", strconv.Itoa(len(raw)))
		vals.Del("sid")
		out = append(out, template{query: vals.Encode(), body: gz(raw), raw: len(raw)})
	}
	return out
}

// shiftEvents adds shift to the timestamp of every event of a gzip body
// and returns the new JSON array.
func shiftEvents(b *testing.B, body []byte, shift int64) []byte {
	raw := gunzip(b, body)
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
	target := os.Getenv("REPLAY_INGEST_URL")
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
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		b.Fatalf("REPLAY_INGEST_URL %q: want http://host:port", target)
	}
	if os.Getenv("REPLAY_INGEST_WRK") != "" {
		if st != nil {
			b.Fatal("REPLAY_INGEST_WRK needs REPLAY_INGEST_URL (a server in another process)")
		}
		ingestWithWrk(b, visits, target, concurrency, limit)
		return
	}

	// Each visit is replayed under many session ids; a session's segments
	// go out in order, one client per session, as from a browser.
	// Fresh session ids on every run: a server may outlive one.
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	var totalBytes int64
	// Sessions are streams of jobs; workers take whole sessions.
	var sessions [][]loadJob
	n := 0
	for v := 0; n < b.N; v++ {
		sid := synth.ID(r)
		var js []loadJob
		visit := visits[v%len(visits)]
		for _, t := range visit[:min(len(visit), b.N-n)] {
			js = append(js, loadJob{url: "/__replay/v1/segments?sid=" + sid + "&" + t.query, body: t.body})
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

	latencies := make([][]time.Duration, concurrency)
	for w := range latencies {
		latencies[w] = make([]time.Duration, 0, b.N/concurrency+64)
	}
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
			client := &loadClient{addr: u.Host}
			defer client.close()
			for stream := range work {
				for _, j := range stream {
					t0 := time.Now()
					if t0.After(deadline) {
						lost[w]++
						continue
					}
					status, body, err := client.post(j.url, j.body)
					if err != nil {
						lost[w]++
						failed(err.Error())
						continue
					}
					latencies[w] = append(latencies[w], time.Since(t0))
					if status != 200 {
						lost[w]++
						failed(fmt.Sprintf("%d %s", status, bytes.TrimSpace(body)))
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
	} else {
		// The load generator's own CPU: what it took from the server.
		b.ReportMetric(float64(cpu.Microseconds())/float64(max(1, len(all))), "client-cpu-µs/segment")
	}
	b.ReportMetric(0, "ns/op")
}

// ingestWithWrk drives the load with wrk (Debian's package) instead of Go:
// a C event loop that costs the shared cores less per request than any Go
// client. testdata/ingest-wrk.lua cycles through the same segments, each
// session's in order under a fresh session id, concurrency sessions at a
// time. The segments, with their timestamps moved to the last hour, are
// written to a temporary directory for it.
func ingestWithWrk(b *testing.B, visits [][]template, target string, concurrency int, limit time.Duration) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("REPLAY_INGEST_WRK needs wrk (apt-get install wrk)")
	}
	if len(visits) != 1 {
		b.Fatal("REPLAY_INGEST_WRK replays captured segments, not synthesized visits")
	}
	dir := b.TempDir()
	var totalBytes int64
	for i, t := range visits[0] {
		base := filepath.Join(dir, fmt.Sprintf("%03d", i))
		if err := os.WriteFile(base+".query", []byte(t.query), 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(base+".body", t.body, 0o600); err != nil {
			b.Fatal(err)
		}
		totalBytes += int64(len(t.body))
	}
	// Session ids: a random prefix per run, then a counter.
	prefix := synth.ID(rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3)))[:8]
	script, err := filepath.Abs(filepath.Join("testdata", "ingest-wrk.lua"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(wrk, "-t1", fmt.Sprintf("-c%d", concurrency), fmt.Sprintf("-d%ds", int(limit.Seconds())),
		"--timeout", "10s", "-s", script, target, "--",
		dir, strconv.Itoa(len(visits[0])), strconv.Itoa(b.N), prefix, strconv.Itoa(concurrency))
	// wrk runs for a duration: the script says when the count is reached,
	// and an interrupt ends the run there (wrk then prints its summary).
	var out bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	b.ResetTimer()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pw.Close()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if line == "REPLAY-WRK-DONE" {
			cmd.Process.Signal(os.Interrupt)
		}
		out.WriteString(line + "\n")
	}
	pr.Close()
	err = cmd.Wait()
	b.StopTimer()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out.Bytes())
	}
	var requests, micros, p50, p99, errs, non2xx int64
	found := false
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "REPLAY-WRK ") {
			_, err := fmt.Sscanf(line, "REPLAY-WRK requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d non2xx=%d",
				&requests, &micros, &p50, &p99, &errs, &non2xx)
			found = err == nil
		}
	}
	if !found {
		b.Fatalf("no summary in wrk's output:\n%s", out.Bytes())
	}
	usage := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	wrkCPU := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
	b.ReportMetric(float64(requests)/(float64(micros)/1e6), "segments/s")
	b.ReportMetric(float64(p50)/1000, "p50_ms")
	b.ReportMetric(float64(p99)/1000, "p99_ms")
	// Lost: refused, failed, or never sent before the time limit.
	b.ReportMetric(float64(errs+non2xx+max(0, int64(b.N)-requests)), "lost")
	b.ReportMetric(float64(totalBytes)/float64(len(visits[0])), "bytes/segment")
	b.ReportMetric(float64(wrkCPU.Microseconds())/float64(max(1, requests)), "client-cpu-µs/segment")
	b.ReportMetric(0, "ns/op")
}
