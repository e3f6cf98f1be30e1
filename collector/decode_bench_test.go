//go:build unix

package collector

import (
	"bytes"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDecode measures the body path alone (decompress, scan,
// validate, gather facts) on the recorded demo visit (testdata/recorder);
// MB/s is of raw JSON.
func BenchmarkDecode(b *testing.B) {
	items := recordedSegments(b)
	var raw int64
	for _, it := range items {
		raw += it.p.raw
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
	items := recordedSegments(b)
	var total int64
	for _, it := range items {
		total += int64(len(it.raw))
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
