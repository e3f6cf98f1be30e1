//go:build linux

package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-replay/caddy-replay/collector/synth"
	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// diskFullEnv makes the test binary run diskFullChild instead of the
// tests (see TestMain): the file-size limit that stands in for a full disk
// is set in that process only, so it reaches no other test or engineer.
const diskFullEnv = "REPLAY_COLLECTOR_DISKFULL_DIR"

// TestDiskFull runs diskFullChild in a process of its own: a collector
// whose store's files cannot grow (RLIMIT_FSIZE: writes past the limit
// fail with EFBIG, as they would with ENOSPC on a full disk), then can
// again.
func TestDiskFull(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), diskFullEnv+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !bytes.Contains(out, []byte("DISKFULL OK")) {
		t.Fatalf("the disk-full run failed: %v", err)
	}
}

// diskFullChild checks, with the store's files held to a size limit:
// uploads that cannot be written get a 5xx with a JSON reason (never a
// 200), once space returns the same uploads and new ones are stored
// without a restart, and after a reopen every acknowledged segment is
// there and reads back as it was sent.
func diskFullChild(dir string) error {
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit then fails with EFBIG instead of killing us
	st, err := embedded.Open(dir, embedded.Options{Summarizer: Summarize})
	if err != nil {
		return err
	}
	now := func() time.Time { return time.UnixMilli(visitStart + 3_600_000) }
	c, err := New(Config{Store: st, Now: now, ClientRate: Rate{PerSecond: -1}, SessionRate: Rate{PerSecond: -1}})
	if err != nil {
		return err
	}
	post := func(seg *synth.Segment) (int, string) {
		u := uploadOf(seg)
		req := httptest.NewRequest("POST", "/__replay/v1/segments?"+u.query, bytes.NewReader(u.body))
		req.Host = "shop.example"
		req.Header = u.header
		req.RemoteAddr = u.remote
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}

	// Let every file grow by 256 KiB at most.
	var largest int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				largest = max(largest, fi.Size())
			}
		}
		return nil
	})
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		return err
	}
	full := old
	full.Cur = uint64(largest + 256<<10)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		return err
	}

	acked := map[store.SegmentKey][]byte{}
	var refused []*synth.Segment
	seed := uint64(1)
	for len(refused) < 5 && seed < 400 {
		v := synth.NewVisit(synth.Options{Seed: seed, Start: visitStart, Views: 2, Seconds: 15})
		seed++
		for _, seg := range v.Segments {
			status, body := post(seg)
			switch {
			case status == 200 && len(refused) == 0:
				acked[store.SegmentKey{Session: seg.SID, View: seg.VID, Seq: seg.Seq}] = seg.Body()
			case status == 200:
				// A smaller write can fit where a larger one failed:
				// it is stored, as its 200 says.
				acked[store.SegmentKey{Session: seg.SID, View: seg.VID, Seq: seg.Seq}] = seg.Body()
			case status >= 500 && strings.Contains(body, `"error":"`):
				if len(refused) == 0 {
					fmt.Printf("first refusal: %d %s", status, body)
				}
				refused = append(refused, seg)
			default:
				return fmt.Errorf("with the disk full: %d %s, want a 5xx with a reason", status, body)
			}
		}
	}
	if len(refused) == 0 {
		return errors.New("no upload failed: the size limit did not bite")
	}
	fmt.Printf("disk full after %d acknowledged segments; %d refused\n", len(acked), len(refused))

	// Space returns: the refused uploads go through on retry (nothing of
	// them was half-recorded as a claim), and new ones too.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		return err
	}
	v := synth.NewVisit(synth.Options{Seed: 1000, Start: visitStart, Views: 1, Seconds: 10})
	for _, seg := range append(refused, v.Segments...) {
		if status, body := post(seg); status != 200 {
			return fmt.Errorf("after space returned: %d %s", status, body)
		}
		acked[store.SegmentKey{Session: seg.SID, View: seg.VID, Seq: seg.Seq}] = seg.Body()
	}

	if err := st.Close(); err != nil {
		return err
	}
	st, err = embedded.Open(dir, embedded.Options{Summarizer: Summarize})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	for k, want := range acked {
		rc, err := st.OpenSegment(ctx, k)
		if err != nil {
			return fmt.Errorf("acknowledged segment %+v after reopen: %v", k, err)
		}
		zr, err := gzip.NewReader(rc)
		if err != nil {
			rc.Close()
			return fmt.Errorf("segment %+v: %v", k, err)
		}
		got, err := io.ReadAll(zr)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("segment %+v does not read back as sent (%v)", k, err)
		}
	}
	fmt.Printf("%d acknowledged segments read back after reopen\n", len(acked))
	return nil
}
