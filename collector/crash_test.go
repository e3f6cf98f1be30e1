package collector

import (
	"bufio"
	"context"
	"fmt"
	"iter"
	"net"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/collector/synth"
	"github.com/caddy-replay/caddy-replay/internal/crashload"
	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// crashDirEnv makes the test binary a collector server instead of running
// tests (see TestMain): TestCrashSafety re-executes itself that way, so
// that it can kill the server with SIGKILL.
const crashDirEnv = "REPLAY_COLLECTOR_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		serveForCrash(dir)
		return
	}
	if dir := os.Getenv(diskFullEnv); dir != "" {
		if err := diskFullChild(dir); err != nil {
			fmt.Println("DISKFULL FAILED:", err)
			os.Exit(1)
		}
		fmt.Println("DISKFULL OK")
		return
	}
	os.Exit(m.Run())
}

// serveForCrash serves the collector on a loopback port until killed.
func serveForCrash(dir string) {
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	c, err := New(Config{Store: st, ClientRate: Rate{PerSecond: -1}, SessionRate: Rate{PerSecond: -1}})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("ADDR", ln.Addr())
	http.Serve(ln, c)
}

// startCrashServer starts the server process on dir and returns its base
// URL.
func startCrashServer(t *testing.T, dir string) (*exec.Cmd, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		cmd.Process.Kill()
		t.Fatalf("server did not start: %q %v", line, err)
	}
	return cmd, "http://" + strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
}

// TestCrashSafety kills the collector with SIGKILL while 32 clients post.
// After reopening, every acknowledged segment is present and readable,
// the index and the blobs agree, and Reindex from the blobs alone rebuilds
// the same index.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	cmd, base := startCrashServer(t, dir)
	defer cmd.Process.Kill()
	results := postUntilKilled(t, base, 32, func() { cmd.Process.Kill(); cmd.Wait() })
	verifyAfterCrash(t, dir, results, Summarize)
}

// postUntilKilled runs clients that post synthesized visits to base until
// the server stops answering; kill is called once enough has been
// acknowledged. It returns the acknowledged segments.
func postUntilKilled(t *testing.T, base string, clients int, kill func()) []crashload.Ack {
	now := time.Now().UnixMilli()
	source := func(c int) iter.Seq[crashload.Segment] {
		return func(yield func(crashload.Segment) bool) {
			for visit := 0; ; visit++ {
				v := synth.NewVisit(synth.Options{Seed: uint64(c*1000 + visit), Start: now - 120_000, Views: 2, Seconds: 10, Nodes: 150, SegmentMs: 2000})
				for _, seg := range v.Segments {
					raw := seg.Body()
					key := store.SegmentKey{Session: seg.SID, View: seg.VID, Seq: seg.Seq}
					if !yield(crashload.Segment{Query: seg.Query(len(raw)), Body: gz(raw), Key: key}) {
						return
					}
				}
			}
		}
	}
	return crashload.UploadUntilKilled(t, base, clients, source, kill)
}

// verifyAfterCrash reopens the store and checks it against the
// acknowledged segments.
func verifyAfterCrash(t *testing.T, dir string, acks []crashload.Ack, summarize store.Summarizer) {
	ctx := context.Background()
	// The Summarizer rebuilds the metadata of segments that were stored
	// but not yet indexed when the process died.
	st, err := embedded.Open(dir, embedded.Options{Summarizer: summarize})
	if err != nil {
		t.Fatalf("reopening after the crash: %v", err)
	}
	defer st.Close()
	crashload.CheckAcked(t, st, acks)
	before := indexSnapshot(t, st)
	// Every indexed segment's blob is readable.
	for _, s := range before {
		for _, in := range s.segments {
			rc, err := st.OpenSegment(ctx, in.SegmentKey)
			if err != nil {
				t.Fatalf("indexed segment %v has no readable blob: %v", in.SegmentKey, err)
			}
			rc.Close()
		}
	}
	stats, err := st.Reindex(ctx, summarize)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Skipped != 0 {
		t.Errorf("reindex skipped %d damaged blobs after a crash", stats.Skipped)
	}
	after := indexSnapshot(t, st)
	if len(before) != len(after) {
		t.Fatalf("%d sessions indexed after the crash, %d rebuilt from the blobs", len(before), len(after))
	}
	for id, b := range before {
		a := after[id]
		if !reflect.DeepEqual(b, a) {
			t.Errorf("session %s: the index after the crash and the one rebuilt from blobs differ:\n%+v\n%+v", id, b, a)
		}
	}
	t.Logf("%d sessions, %d segments agree with their blobs", len(before), stats.Segments)
}

type indexedSession struct {
	session  store.Session
	segments []store.SegmentInfo
}

func indexSnapshot(t *testing.T, st store.Store) map[string]indexedSession {
	ctx := context.Background()
	out := map[string]indexedSession{}
	q := store.Query{Limit: 500, Sort: store.SortStart}
	for {
		p, err := st.ListSessions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Sessions {
			full, err := st.Session(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			segs, err := st.SegmentList(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			sort.Slice(segs, func(i, j int) bool {
				if segs[i].View != segs[j].View {
					return segs[i].View < segs[j].View
				}
				return segs[i].Seq < segs[j].Seq
			})
			out[s.ID] = indexedSession{*full, segs}
		}
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}
