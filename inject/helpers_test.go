package inject

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusDir holds the shared real-world pages (read at test time, never
// copied into the repository).
const corpusDir = "../../shared/corpus/html"

// testScript is the injected element's src in tests.
const testScript = "/__replay/recorder.0123abcd.js"

// testTag renders the tag the way the Caddy handler will.
var testTag = ScriptTagFunc(testScript, []Attr{{"data-service", "shop"}})

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// result is one document through the rewriter.
type result struct {
	out   string
	edits []edit
	rw    *Rewriter
}

// count returns how many edits of that kind were made.
func (r result) count(kind string) int {
	n := 0
	for _, e := range r.edits {
		if e.kind == kind {
			n++
		}
	}
	return n
}

// rewrite runs input through a Rewriter, writing it in pieces that end at
// the given split offsets, and checks the stream invariant.
func rewrite(t testing.TB, input string, opts RewriteOptions, splits ...int) result {
	t.Helper()
	var out bytes.Buffer
	rw := NewRewriter(&out, opts)
	var edits []edit
	rw.onEdit = func(e edit) { edits = append(edits, e) }
	prev := 0
	for _, s := range append(splits, len(input)) {
		if s < prev || s > len(input) {
			continue
		}
		if _, err := rw.Write([]byte(input[prev:s])); err != nil {
			t.Fatalf("Write: %v", err)
		}
		prev = s
	}
	if err := rw.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := checkInvariant([]byte(input), out.Bytes(), edits); err != nil {
		t.Fatalf("invariant: %v\ninput:  %q\noutput: %q", err, clip(input), clip(out.String()))
	}
	return result{out: out.String(), edits: edits, rw: rw}
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:300] + " … " + s[len(s)-300:]
	}
	return s
}

// checkInvariant verifies that the output is the input with exactly the
// logged edits applied: every other byte passes through unchanged and in
// order. Only "csp" edits may replace input bytes (a <meta> policy value);
// the others only insert.
func checkInvariant(in, out []byte, edits []edit) error {
	es := append([]edit(nil), edits...)
	sort.SliceStable(es, func(i, j int) bool { return es[i].inOff < es[j].inOff })
	var ip, op int
	for _, e := range es {
		if e.del > 0 && e.kind != "csp" {
			return fmt.Errorf("edit %q at %d deletes input", e.kind, e.inOff)
		}
		if int(e.inOff) < ip {
			return fmt.Errorf("edits overlap at %d", e.inOff)
		}
		n := int(e.inOff) - ip
		if op+n > len(out) || !bytes.Equal(out[op:op+n], in[ip:int(e.inOff)]) {
			return fmt.Errorf("bytes before edit %q at input %d differ", e.kind, e.inOff)
		}
		op += n
		ip = int(e.inOff)
		if op+len(e.ins) > len(out) || !bytes.Equal(out[op:op+len(e.ins)], e.ins) {
			return fmt.Errorf("edit %q at input %d is not in the output at %d", e.kind, e.inOff, op)
		}
		op += len(e.ins)
		ip += e.del
	}
	if !bytes.Equal(out[op:], in[ip:]) {
		return fmt.Errorf("tail after the last edit differs (output %d bytes from %d, input %d from %d)", len(out)-op, op, len(in)-ip, ip)
	}
	return nil
}

// corpus returns the corpus pages by name.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.html"))
	if err != nil || len(files) == 0 {
		t.Fatalf("the shared corpus is missing at %s (it must be checked out beside the repository): %v", corpusDir, err)
	}
	pages := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages[filepath.Base(f)] = b
	}
	return pages
}

// sortedNames returns the map's keys in order.
func sortedNames(m map[string][]byte) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// tagAt returns the byte offset of the injected tag in out, or -1.
func tagAt(out string) int { return strings.Index(out, `<script async="" src="`+testScript) }
