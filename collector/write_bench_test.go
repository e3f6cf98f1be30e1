//go:build unix

package collector

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/collector/synth"
	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// BenchmarkWrite measures the store's side of ingest alone: the recorded
// demo visit (testdata/recorder), decoded once, written by 64 concurrent
// sessions with the collector's real session updates, so the writer's cost
// per segment (index rows, session summaries, pack appends, commits) can be
// profiled without HTTP or decompression in the way:
//
//	go test ./collector -run '^$' -bench Write -benchtime 20000x
func BenchmarkWrite(b *testing.B) {
	now := time.Now().UnixMilli()
	templates := capturedTemplates(b, "testdata/recorder", now-3_600_000)
	type prepared struct {
		info   store.SegmentInfo
		body   []byte
		update func(*store.Session)
	}
	var segs []prepared
	for _, t := range templates {
		p, rj := parseParams("sid=" + synth.ID(rand.New(rand.NewPCG(1, 2))) + "&" + t.query)
		if rj != nil {
			b.Fatal(rj)
		}
		d, rj := decode(t.body, "gzip", p, DefaultMaxRawBytes)
		if rj != nil {
			b.Fatal(rj)
		}
		info := store.SegmentInfo{SegmentKey: p.key, Start: p.start, End: p.end, FullSnapshot: p.full,
			Records: p.records, RawSize: p.raw, Size: int64(len(t.body)), Received: now}
		// The update only reads the facts, so one serves every session.
		segs = append(segs, prepared{info: info, body: t.body, update: d.facts.update(info, extra{UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"})})
	}
	st, err := embedded.Open(b.TempDir(), embedded.Options{Summarizer: Summarize})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()

	const writers = 64
	work := make(chan int, b.N)
	for i := range b.N {
		work <- i
	}
	close(work)
	ctx := context.Background()
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			var sid string
			i := 0
			for range work {
				if i%len(segs) == 0 {
					sid = synth.ID(r)
				}
				s := segs[i%len(segs)]
				i++
				info := s.info
				info.Session = sid
				if _, err := st.PutSegment(ctx, &store.NewSegment{SegmentInfo: info, Body: s.body,
					Extra: []byte(`{"ua":"Mozilla/5.0"}`), Update: s.update}); err != nil {
					b.Error(sid, strconv.Itoa(info.Seq), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	stats := st.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "segments/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/segment")
	b.ReportMetric(float64(stats.Segments)/float64(max(1, stats.Batches)), "segments/batch")
	b.ReportMetric(0, "ns/op")
}
