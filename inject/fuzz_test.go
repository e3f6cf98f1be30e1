package inject

import (
	"bytes"
	"math/rand"
	"net/url"
	"testing"
)

// FuzzRewrite checks the rewriter's invariant on any input, written in any
// pieces: the output is the input plus our edits and nothing else (the
// injected tag at most once, crossorigin attributes right after a "<link"
// name, and <meta> CSP values replaced in place), and the way the input is
// split into writes does not change the output.
//
// Seeds: the committed testdata/fuzz/FuzzRewrite files, and slices of
// every page of ../shared/corpus/html (read at test time).
func FuzzRewrite(f *testing.F) {
	for _, name := range sortedNames(corpus(f)) {
		p := corpus(f)[name]
		f.Add(p[:min(len(p), 8<<10)], int64(len(name)))
		if len(p) > 24<<10 {
			mid := len(p) / 2
			f.Add(p[mid:mid+8<<10], int64(mid))
		}
	}
	opts := RewriteOptions{
		Tag:                testTag,
		PageURL:            &urlExample,
		CrossOriginOrigins: []string{"https://cdn.example.com"},
		CSP:                []string{"script-src 'nonce-fz' 'strict-dynamic'; connect-src 'self'"},
		ScriptIntegrity:    integ,
	}
	f.Fuzz(func(t *testing.T, in []byte, seed int64) {
		whole := fuzzOnce(t, in, opts, nil)
		rng := rand.New(rand.NewSource(seed))
		var splits []int
		for at := 0; len(in) > 0; {
			at += 1 + rng.Intn(1+min(len(in), 64))
			if at >= len(in) {
				break
			}
			splits = append(splits, at)
		}
		if split := fuzzOnce(t, in, opts, splits); !bytes.Equal(split, whole) {
			t.Fatalf("splits %v change the output:\n whole: %q\n split: %q", splits, whole, split)
		}
		// One byte per write takes none of the fast paths (every tag
		// spans writes): the resumable states alone must agree with them.
		if len(in) <= 4<<10 {
			ones := make([]int, 0, len(in))
			for at := 1; at < len(in); at++ {
				ones = append(ones, at)
			}
			if slow := fuzzOnce(t, in, opts, ones); !bytes.Equal(slow, whole) {
				t.Fatalf("byte-by-byte writes change the output:\n whole: %q\n bytes: %q", whole, slow)
			}
		}
	})
}

var urlExample = url.URL{Scheme: "https", Host: "example.com", Path: "/dir/page"}

// writeInPieces writes in to rw in pieces cut at splits (ascending
// offsets), then closes rw.
func writeInPieces(t *testing.T, rw *Rewriter, in []byte, splits []int) {
	t.Helper()
	prev := 0
	for _, s := range append(splits, len(in)) {
		if _, err := rw.Write(in[prev:s]); err != nil {
			t.Fatal(err)
		}
		prev = s
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
}

func fuzzOnce(t *testing.T, in []byte, opts RewriteOptions, splits []int) []byte {
	var out bytes.Buffer
	rw := NewRewriter(&out, opts)
	var edits []edit
	rw.onEdit = func(e edit) { edits = append(edits, e) }
	writeInPieces(t, rw, in, splits)
	if err := checkInvariant(in, out.Bytes(), edits); err != nil {
		t.Fatalf("%v\n in: %q\nout: %q", err, in, out.Bytes())
	}
	tags := 0
	for _, e := range edits {
		switch e.kind {
		case "tag":
			tags++
			if !bytes.Equal(e.ins, testTag(TagContext{Nonce: "fz"})) {
				t.Fatalf("unexpected tag %q", e.ins)
			}
		case "crossorigin":
			if !bytes.Equal(e.ins, crossoriginAttr) || e.inOff < 5 || !equalFoldASCII(in[e.inOff-5:e.inOff], "<link") {
				t.Fatalf("crossorigin edit at %d is not after a <link name: %q", e.inOff, in[max(0, e.inOff-5):e.inOff])
			}
		case "csp":
			if e.inOff < 1 || bytes.IndexByte(in[e.inOff:e.inOff+int64(e.del)], '>') >= 0 && in[e.inOff-1] != '"' && in[e.inOff-1] != '\'' {
				t.Fatalf("CSP edit at %d is not an attribute value", e.inOff)
			}
		default:
			t.Fatalf("unknown edit %q", e.kind)
		}
	}
	if tags > 1 || (tags == 1) != rw.Injected() {
		t.Fatalf("%d injections (Injected %v)", tags, rw.Injected())
	}
	return out.Bytes()
}
