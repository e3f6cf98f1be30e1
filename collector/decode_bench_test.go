//go:build unix

package collector

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// BenchmarkDecode measures the body path alone (decompress, scan,
// validate, gather facts) on the recorded demo visit (testdata/recorder);
// MB/s is of raw JSON.
func BenchmarkDecode(b *testing.B) {
	type item struct {
		p    *params
		body []byte
	}
	var items []item
	var raw int64
	queries, _ := filepath.Glob(filepath.Join("testdata", "recorder", "*.query"))
	for _, qf := range queries {
		q, _ := os.ReadFile(qf)
		body, _ := os.ReadFile(strings.TrimSuffix(qf, ".query") + ".body")
		p, rj := parseParams("sid=" + strings.Repeat("s", 22) + "&" + strings.TrimSpace(string(q)))
		if rj != nil {
			b.Fatal(rj)
		}
		raw += p.raw
		items = append(items, item{p, body})
	}
	if len(items) == 0 {
		b.Fatal("no recorded segments in testdata/recorder")
	}
	b.SetBytes(raw / int64(len(items)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		it := items[i%len(items)]
		d, rj := decode(it.body, "gzip", it.p, DefaultMaxRawBytes)
		if rj != nil {
			b.Fatal(rj)
		}
		d.release()
	}
	b.StopTimer()
	// CPU time per segment: on a shared machine wall time mostly measures
	// the neighbours.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkScan measures the scan alone (validation and facts, no
// decompression) on the recorded demo visit; MB/s is of raw JSON.
func BenchmarkScan(b *testing.B) {
	type item struct {
		p   *params
		raw []byte
	}
	var items []item
	var total int64
	queries, _ := filepath.Glob(filepath.Join("testdata", "recorder", "*.query"))
	for _, qf := range queries {
		q, _ := os.ReadFile(qf)
		body, _ := os.ReadFile(strings.TrimSuffix(qf, ".query") + ".body")
		p, rj := parseParams("sid=" + strings.Repeat("s", 22) + "&" + strings.TrimSpace(string(q)))
		if rj != nil {
			b.Fatal(rj)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			b.Fatal(err)
		}
		total += int64(len(raw))
		items = append(items, item{p, raw})
	}
	if len(items) == 0 {
		b.Fatal("no recorded segments in testdata/recorder")
	}
	b.SetBytes(total / int64(len(items)))
	b.ReportAllocs()
	var sc scanner
	var r bytes.Reader
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		it := items[i%len(items)]
		r.Reset(it.raw)
		sc.reset(&r, nil, it.p.raw)
		if err := scanBody(&sc, it.p, &segFacts{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
