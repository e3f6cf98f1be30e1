//go:build unix

package collector

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
