package collector

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// capturedFile is one captured upload in a directory: NNN.query (the
// query string without sid) and NNN.body (the gzip body as sent).
type capturedFile struct {
	name  string // the .query file
	query string
	body  []byte
}

// readCaptured reads the captured uploads in dir, in file name order; it
// fails the test if there are none.
func readCaptured(tb testing.TB, dir string) []capturedFile {
	tb.Helper()
	queries, _ := filepath.Glob(filepath.Join(dir, "*.query"))
	slices.Sort(queries)
	var out []capturedFile
	for _, qf := range queries {
		q, err := os.ReadFile(qf)
		if err != nil {
			tb.Fatal(err)
		}
		body, err := os.ReadFile(strings.TrimSuffix(qf, ".query") + ".body")
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, capturedFile{name: qf, query: strings.TrimSpace(string(q)), body: body})
	}
	if len(out) == 0 {
		tb.Fatalf("no captured segments in %s", dir)
	}
	return out
}

// recordedSegments reads every upload of the recorded demo visit
// (testdata/recorder).
func recordedSegments(tb testing.TB) []recordedSegment {
	tb.Helper()
	var out []recordedSegment
	for _, f := range readCaptured(tb, filepath.Join("testdata", "recorder")) {
		p, rj := parseParams("sid=" + strings.Repeat("s", 22) + "&" + f.query)
		if rj != nil {
			tb.Fatal(rj)
		}
		out = append(out, recordedSegment{name: f.name, p: p, body: f.body, raw: gunzip(tb, f.body)})
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
