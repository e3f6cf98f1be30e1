//go:build unix

package embedded

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

// BenchmarkPutSegment measures the store alone: 64 writers, each a session
// sending segments in order, as the collector would after validation.
//
//	go test ./store/embedded -run '^$' -bench PutSegment -benchtime 20000x
func BenchmarkPutSegment(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := storetest.Gzip(make([]byte, 8000))
	const writers = 64
	ctx := context.Background()
	var wg sync.WaitGroup
	work := make(chan int, b.N)
	for i := range b.N {
		work <- i
	}
	close(work)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := 0
			sid := storetest.ID(fmt.Sprintf("bench%d", w))
			vid := storetest.ID("view")
			for range work {
				if seq == 12 { // a new session every 12 segments, like a visit
					seq = 0
					sid = storetest.ID(fmt.Sprintf("bench%d-%d", w, time.Now().UnixNano()))
				}
				n := &store.NewSegment{SegmentInfo: store.SegmentInfo{
					SegmentKey: store.SegmentKey{Session: sid, View: vid, Seq: seq},
					Start:      int64(1000 * seq), End: int64(1000*seq + 900), Records: 20, RawSize: 8000, Received: int64(seq)},
					Body: body, Extra: []byte(`{"ua":"Mozilla/5.0"}`),
					Update: func(s *store.Session) { s.Clicks++; s.ActiveMs += 100; s.Carry = []byte(`{"l":123}`) },
				}
				if _, err := s.PutSegment(ctx, n); err != nil {
					b.Error(err)
					return
				}
				seq++
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "segments/s")
	st := s.Stats()
	b.ReportMetric(float64(st.Segments)/float64(max(1, st.Batches)), "segments/batch")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/segment")
	b.ReportMetric(0, "ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
