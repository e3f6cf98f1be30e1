package inject

import (
	"bytes"
	"io"
	"math/rand"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestBodyScanDifferentialCorpus rewrites every corpus page, as it is and
// with every tag name in upper case, with an origin listed, once with
// bodyScan and once with the general states alone (noBodyScan), in the
// same random writes: the outputs must be byte for byte the same, and the
// same as the whole page's. bodyScan only changes where the scanner looks,
// so any difference is a tag end it got wrong (a <link> missed, or
// crossorigin written where it does not belong).
func TestBodyScanDifferentialCorpus(t *testing.T) {
	pages := corpus(t)
	rng := rand.New(rand.NewSource(5))
	mangled := 0
	for _, name := range sortedNames(pages) {
		opts := corpusOptions(t, name)
		orig := pages[name]
		upper := mangleTagNames(t, orig, bytes.ToUpper)
		if !bytes.Equal(upper, orig) {
			mangled++
		}
		for _, v := range []struct {
			label string
			in    []byte
		}{
			{"", orig},
			{" (tag names upper-cased)", upper},
			{" (tag names in mixed case)", mangleTagNames(t, orig, mixedCase)},
		} {
			want := rewriteWith(t, v.in, opts, nil, true)
			if got := rewriteWith(t, v.in, opts, nil, false); !bytes.Equal(got, want) {
				t.Fatalf("%s%s, whole: bodyScan changes the output at %d", name, v.label, firstDiff(got, want))
			}
			// Small writes put tag ends on write boundaries at many
			// offsets; large ones keep most tags whole, where bodyScan
			// runs longest.
			for _, maxLen := range []int{16, 300, 8 << 10} {
				splits := splitsUpTo(rng, len(v.in), maxLen)
				for _, noScan := range []bool{false, true} {
					if got := rewriteWith(t, v.in, opts, splits, noScan); !bytes.Equal(got, want) {
						t.Fatalf("%s%s, writes of up to %d bytes (noBodyScan %v): output differs at %d from the general states' whole",
							name, v.label, maxLen, noScan, firstDiff(got, want))
					}
				}
			}
		}
	}
	if mangled < 20 {
		t.Fatalf("upper-casing tag names changed only %d pages", mangled)
	}
}

// rewriteWith rewrites in, written in pieces cut at splits, with or
// without bodyScan, and returns the output.
func rewriteWith(t *testing.T, in []byte, opts RewriteOptions, splits []int, noBodyScan bool) []byte {
	t.Helper()
	var out bytes.Buffer
	rw := NewRewriter(&out, opts)
	rw.noBodyScan = noBodyScan
	writeInPieces(t, rw, in, splits)
	return out.Bytes()
}

// splitsUpTo returns increasing split offsets over n bytes, each piece 1
// to max bytes long.
func splitsUpTo(rng *rand.Rand, n, max int) []int {
	var s []int
	for at := 0; ; {
		at += 1 + rng.Intn(max)
		if at >= n {
			return s
		}
		s = append(s, at)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// mixedCase upper-cases every other letter of b, from the first.
func mixedCase(b []byte) []byte {
	out := bytes.Clone(b)
	for i := 0; i < len(out); i += 2 {
		out[i] = toUpper(out[i])
	}
	return out
}

func toUpper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// mangleTagNames returns p with the name of every start and end tag, as
// x/net/html's tokenizer finds them, passed through f; every other byte is
// kept. It fails the test if the tokens do not add up to p.
func mangleTagNames(t *testing.T, p []byte, f func([]byte) []byte) []byte {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(p))
	out := make([]byte, 0, len(p))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			break
		}
		raw := z.Raw()
		switch tt {
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			s := 1
			if tt == html.EndTagToken {
				s = 2
			}
			e := s
			for e < len(raw) && !endsName[raw[e]] {
				e++
			}
			out = append(out, raw[:s]...)
			out = append(out, f(raw[s:e])...)
			out = append(out, raw[e:]...)
		default:
			out = append(out, raw...)
		}
	}
	if len(out) != len(p) {
		t.Fatalf("the tokens add up to %d bytes, not %d", len(out), len(p))
	}
	return out
}

// TestBodyScanShortTagsExhaustive writes every tag of up to four bytes
// after its name, over the bytes that move the attribute states (white
// space, '/', '=', both quotes, '>', '<', a byte above 0x7F), after a
// start tag, an end tag and a two-letter name, into a body followed by
// stylesheet links (one also after a stray quote and '>'): bodyScan must
// give the general states' output for each.
func TestBodyScanShortTagsExhaustive(t *testing.T) {
	alphabet := []byte("a /=\"'><\xc3\t")
	opts := RewriteOptions{Tag: testTag, PageURL: &urlExample, CrossOriginOrigins: []string{"https://cdn.example.com"}}
	const (
		pre  = "<html><head></head><body>"
		post = "x<i>y</i><link rel=stylesheet href=https://cdn.example.com/z.css>\"'><link rel=stylesheet href=https://cdn.example.com/y.css>"
	)
	inputs, marked := 0, 0
	for l := 0; l <= 4; l++ {
		idx := make([]int, l)
		for {
			body := make([]byte, l)
			for k, v := range idx {
				body[k] = alphabet[v]
			}
			for _, head := range []string{"<a", "</a", "<ab"} {
				in := []byte(pre + head + string(body) + post)
				want := rewriteWith(t, in, opts, nil, true)
				if got := rewriteWith(t, in, opts, nil, false); !bytes.Equal(got, want) {
					t.Fatalf("%q: bodyScan changes the output at %d:\n got %q\nwant %q", in, firstDiff(got, want), got, want)
				}
				inputs++
				marked += bytes.Count(want, crossoriginAttr)
			}
			k := 0
			for ; k < l; k++ {
				if idx[k]++; idx[k] < len(alphabet) {
					break
				}
				idx[k] = 0
			}
			if k == l {
				break
			}
		}
	}
	// Most of these tags end before the links: they must have been
	// rewritten, or the comparison proved nothing.
	if marked < inputs {
		t.Fatalf("%d crossorigin attributes over %d inputs", marked, inputs)
	}
}

// TestBodyScanLeavesKnownTagsAtWriteEnds writes, into a body, each name
// kindOf knows in lower, upper and mixed case, followed by each byte that
// ends a tag name, among ordinary tags, in two writes cut at every offset:
// bodyScan must leave each to the general states, wherever the cut falls.
func TestBodyScanLeavesKnownTagsAtWriteEnds(t *testing.T) {
	opts := RewriteOptions{Tag: testTag, PageURL: &urlExample, CrossOriginOrigins: []string{"https://cdn.example.com"}}
	for _, name := range knownTagNames {
		for _, written := range []string{name, strings.ToUpper(name), string(mixedCase([]byte(name)))} {
			for _, delim := range []string{"/", "\t", "\n", "\f", "\r", " ", ">"} {
				in := []byte("<html><head></head><body><p>a</p><" + written + delim +
					"rel=stylesheet href=https://cdn.example.com/a.css><i>b</i><link rel=stylesheet href=https://cdn.example.com/z.css>")
				want := rewriteWith(t, in, opts, nil, true)
				for s := 0; s <= len(in); s++ {
					var splits []int
					if s > 0 && s < len(in) {
						splits = []int{s}
					}
					if got := rewriteWith(t, in, opts, splits, false); !bytes.Equal(got, want) {
						t.Fatalf("%q cut at %d: bodyScan changes the output at %d:\n got %q\nwant %q", in, s, firstDiff(got, want), got, want)
					}
				}
			}
		}
	}
}
