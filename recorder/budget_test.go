package recorder

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// budget is issue 3's size goal for the recorder and its worker (one
// script), minified and gzip -9: every page pays it once.
const budget = 12000

// TestBundleBudget keeps the bundle within its budget, so that a change
// which outgrows it fails here rather than in the next benchmark run.
func TestBundleBudget(t *testing.T) {
	b, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	// The test hooks are built into the tests' bundle only (timing.js).
	if bytes.Contains(b.Script.Body, []byte("__replayTestHooks")) {
		t.Error("the shipped bundle reads window.__replayTestHooks")
	}
	if tb, err := testBuild(); err != nil || !bytes.Contains(tb.Script.Body, []byte("__replayTestHooks")) {
		t.Errorf("the tests' bundle has no test hooks (err %v)", err)
	}
	if n := gzipSize(b.Script.Body); n > budget {
		t.Errorf("recorder bundle is %d bytes minified + gzip -9, over the %d-byte budget", n, budget)
	} else {
		t.Logf("recorder bundle: %d bytes minified + gzip -9 (budget %d)", n, budget)
	}
}

// gzipSize is the size of b compressed with gzip -9.
func gzipSize(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Len()
}
