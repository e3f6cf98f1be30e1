//go:build unix

package collector

import (
	"syscall"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/collector/synth"
	"github.com/caddy-replay/caddy-replay/store"
)

// BenchmarkDecode measures the body path alone (decompress, scan,
// validate, gather facts) on synthesized segments; MB/s is of raw JSON.
func BenchmarkDecode(b *testing.B) {
	v := synth.NewVisit(synth.Options{Seed: 3, Start: visitStart, Views: 3, Seconds: 20, Nodes: 300})
	type item struct {
		p    *params
		body []byte
	}
	var items []item
	var raw int64
	for _, s := range v.Segments {
		r := s.Body()
		raw += int64(len(r))
		items = append(items, item{&params{key: store.SegmentKey{Session: s.SID, View: s.VID, Seq: s.Seq}, start: s.Start, end: s.End,
			full: s.Full, records: len(s.Events), raw: int64(len(r))}, gz(r)})
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
