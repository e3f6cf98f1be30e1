// Package crashload drives recorder uploads at a collector until the
// process behind it is killed, for the crash-safety tests of the collector
// and of the Caddy binary: both need many acknowledged segments in flight
// at the moment of a SIGKILL, and the list of what was acknowledged.
package crashload

import (
	"bytes"
	"context"
	"io"
	"iter"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/store"
)

// Segment is one upload: the query string after "?" (the session id
// included), the gzip body, and the key it is stored under.
type Segment struct {
	Query string
	Body  []byte
	Key   store.SegmentKey
}

// Ack is a segment the server acknowledged (answered 200).
type Ack struct {
	Key  store.SegmentKey
	Body []byte
}

// MinAcks is how many acknowledgements UploadUntilKilled waits for before
// it kills the server (after at least a second of uploads).
const MinAcks = 300

// UploadUntilKilled has clients post the segments source(client) yields,
// in order, to base's collector until the server stops answering; kill is
// called once MinAcks segments are acknowledged and a second has passed
// (or after 30 s). It returns the acknowledged segments, and fails the
// test if fewer than MinAcks were.
func UploadUntilKilled(t testing.TB, base string, clients int, source func(client int) iter.Seq[Segment], kill func()) []Ack {
	t.Helper()
	var mu sync.Mutex
	var acks []Ack
	var count atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seg := range source(c) {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", base+"/__replay/v1/segments?"+seg.Query, bytes.NewReader(seg.Body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Content-Encoding", "gzip")
				res, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("upload refused before the crash: %d %s", res.StatusCode, body)
					return
				}
				mu.Lock()
				acks = append(acks, Ack{seg.Key, seg.Body})
				mu.Unlock()
				count.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	time.Sleep(time.Second)
	for count.Load() < MinAcks && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	kill()
	close(stop)
	wg.Wait()
	if len(acks) < MinAcks {
		t.Fatalf("only %d segments acknowledged before the kill", len(acks))
	}
	t.Logf("%d segments acknowledged before SIGKILL", len(acks))
	return acks
}

// CheckAcked fails the test unless every acknowledged segment reads back
// from st with the bytes that were sent.
func CheckAcked(t testing.TB, st store.Store, acks []Ack) {
	t.Helper()
	ctx := context.Background()
	for _, a := range acks {
		rc, err := st.OpenSegment(ctx, a.Key)
		if err != nil {
			t.Fatalf("acknowledged segment %v lost: %v", a.Key, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, a.Body) {
			t.Fatalf("acknowledged segment %v reads back different (%d bytes, %v)", a.Key, len(got), err)
		}
	}
}
