package collector

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// recordedSegment is one upload of the recorded demo visit
// (testdata/recorder): its query as the collector parses it, its gzip
// body, and the body inflated.
type recordedSegment struct {
	name string
	p    *params
	body []byte
	raw  []byte
}

// recordedSegments reads every upload of the recorded demo visit; it
// fails the test if there are none.
func recordedSegments(tb testing.TB) []recordedSegment {
	tb.Helper()
	queries, _ := filepath.Glob(filepath.Join("testdata", "recorder", "*.query"))
	var out []recordedSegment
	for _, qf := range queries {
		q, err := os.ReadFile(qf)
		if err != nil {
			tb.Fatal(err)
		}
		body, err := os.ReadFile(strings.TrimSuffix(qf, ".query") + ".body")
		if err != nil {
			tb.Fatal(err)
		}
		p, rj := parseParams("sid=" + strings.Repeat("s", 22) + "&" + strings.TrimSpace(string(q)))
		if rj != nil {
			tb.Fatal(rj)
		}
		out = append(out, recordedSegment{name: qf, p: p, body: body, raw: gunzip(tb, body)})
	}
	if len(out) == 0 {
		tb.Fatal("no recorded segments in testdata/recorder")
	}
	return out
}

// gunzip inflates a gzip body.
func gunzip(tb testing.TB, body []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}
