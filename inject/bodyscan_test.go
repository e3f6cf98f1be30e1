package inject

import (
	"bytes"
	"io"
	"slices"
	"testing"
)

// refStates is the general scanner's view of a document, byte by byte:
// what bodyScan is checked against.
type refStates struct {
	n     int
	state []uint8 // state[k]: the scanner's state before p[k] (state[n]: at the end)
	tmpl  []int   // template depth before p[k]
	kind  []tagKind
	end   []bool // endTag, as the scanner had it after p[k-1]
}

// newRefStates runs the rewriter's resumable states over p one byte per
// Write (which takes none of the fast paths), as it scans a body after the
// injection when an origin is listed.
func newRefStates(p []byte) *refStates {
	r := NewRewriter(io.Discard, RewriteOptions{PageURL: &urlExample, CrossOriginOrigins: []string{"https://cdn.example.com"}})
	r.noBodyScan = true
	// p is the middle of a document: no text at its start (no JSON
	// sniffing), no byte order mark.
	r.lead, r.inOff = -1, 1
	n := len(p)
	s := &refStates{n: n, state: make([]uint8, n+1), tmpl: make([]int, n+1), kind: make([]tagKind, n+1), end: make([]bool, n+1)}
	for k := 0; k <= n; k++ {
		s.state[k], s.tmpl[k], s.kind[k], s.end[k] = r.state, r.template, r.kind, r.endTag
		if k < n {
			r.Write(p[k : k+1])
		}
	}
	return s
}

func isTagState(st uint8) bool {
	return st == stTagOpen || st == stEndTagOpen || st == stTagName || isAttrState(st)
}

// token describes the token whose '<' is p[t]: where the general states
// leave it, and whether it is an ordinary tag (one the scanner does
// nothing with but find its end).
func (s *refStates) token(t int) (end int, ordinary bool) {
	named := false
	j := t + 1
	for ; j <= s.n && isTagState(s.state[j]); j++ {
		named = named || s.state[j] == stTagName
	}
	if j > s.n {
		return s.n, false // cut short
	}
	return j, named && s.state[j] == stText && s.tmpl[j] == 0 && (s.end[j] || s.kind[j] == tkOther)
}

// checkBodyScan checks bodyScan(p, k0) against the general states, from
// k0 where they are in text outside <template>: every token it skips must
// be an ordinary tag, ended where the states end it, and it must stop at
// the '<' of a token or at the end of p in text. It returns where the
// states go on after the token bodyScan stopped at (-1: nowhere).
func checkBodyScan(t *testing.T, p []byte, s *refStates, k0 int) int {
	t.Helper()
	got := bodyScan(p, k0)
	k := k0
	for {
		lt := bytes.IndexByte(p[k:], '<')
		if lt < 0 {
			if got != len(p) {
				t.Fatalf("from %d: bodyScan stops at %d, in text (%q)", k0, got, near(p, got))
			}
			return -1
		}
		lt += k
		if lt == got {
			end, _ := s.token(lt)
			return end
		}
		if got < lt {
			t.Fatalf("from %d: bodyScan stops at %d (%q), inside the token at %d (%q)", k0, got, near(p, got), k, near(p, k))
		}
		end, ordinary := s.token(lt)
		if !ordinary {
			t.Fatalf("from %d: bodyScan skips the token at %d (%q), which the general states act on or leave unfinished", k0, lt, near(p, lt))
		}
		k = end
	}
}

func near(p []byte, i int) string {
	if i >= len(p) {
		return ""
	}
	return string(p[i:min(len(p), i+40)])
}

// checkAllBodyScans runs checkBodyScan the way the rewriter uses
// bodyScan: from the start, then after each token it stops at, wherever
// the states are back in text outside <template>; and, for short inputs,
// from every such position.
func checkAllBodyScans(t *testing.T, p []byte, every bool) {
	t.Helper()
	s := newRefStates(p)
	textAt := func(k int) bool { return s.state[k] == stText && s.tmpl[k] == 0 }
	if every {
		for k := 0; k < len(p); k++ {
			if textAt(k) {
				checkBodyScan(t, p, s, k)
			}
		}
		return
	}
	for k := 0; k < len(p); {
		if !textAt(k) {
			k++
			continue
		}
		next := checkBodyScan(t, p, s, k)
		if next < 0 {
			return
		}
		k = max(next, k+1)
	}
}

// TestBodyScanAgreesWithStates checks bodyScan against the general states
// over the corpus, and over hand-written cases of what ends a tag and
// what the rewriter acts on.
func TestBodyScanAgreesWithStates(t *testing.T) {
	for _, c := range bodyScanCases {
		t.Run("", func(t *testing.T) { checkAllBodyScans(t, []byte(c), true) })
	}
	for _, name := range sortedNames(corpus(t)) {
		checkAllBodyScans(t, corpus(t)[name], false)
	}
}

// bodyScanCases are tags that end elsewhere than a naive scan thinks, and
// tags the rewriter acts on, among ordinary ones (padded, since bodyScan
// leaves a tag near the end of a Write to the general scanner).
var bodyScanCases = func() []string {
	cases := []string{
		`<a href="x>y" title='a>b'>t</a>`,
		`<a title=x"y>z">`,                  // a quote inside an unquoted value
		`<a b"c>d">`,                        // and inside a name
		`<a"b>c">`,                          // and inside the tag name
		`<a ="x>y">`,                        // '=' starting a name: the quote is the name's
		`<a b ="x>y" c= "d>e">`,             // white space around '='
		`<a b=c="d>e">`,                     // '=' inside an unquoted value
		`<a b="c"d="e>f">`,                  // a value right after another
		`<a b="c"="d>e">`,                   // '=' right after a value starts a name
		`<a b='c"d'e="f>g">`,                // the other quote inside a value
		`<a/b="c>d">`,                       // '/' before a name
		`<a b=>c">`,                         // an empty unquoted value
		`<a b="c" / >`,                      // self-closing, spaced
		"<a\tb\n=\f\"c>d\"\r>",              // every white space
		`<a b="é>ü" c=ü>`,                   // bytes above 0x7F
		`</a b="c>d">`,                      // end tags have attribute states too
		`</A HREF="x>y">`,                   // any case
		`<link rel=stylesheet href=/a.css>`, // tags the rewriter acts on
		`<LINK REL=stylesheet href=/a.css>`,
		`<LiNk>`, `<meta charset=utf-8>`, `<base href=/x/>`, `<script>a="</b>"</script>`,
		`<style>p{}</style>`, `<title>a<b</title>`, `<textarea><a></textarea>`,
		`<xmp><a></xmp>`, `<iframe><a></iframe>`, `<noembed><a></noembed>`,
		`<noframes><a></noframes>`, `<noscript><a></noscript>`, `<template><link rel=stylesheet href=x></template>`,
		`<plaintext><a>`, `<basefont>`, `<bgsound>`, `<html>`, `<head>`,
		`<linked>`, `<links>`, `<metal>`, `<xmpl>`, `<scripts>`, `<tit>`, `<lin>`, // names that only start like them
		`<!-- <a> -->`, `<!doctype html>`, `<?x>`, `</>`, `< a>`, `<3`, `a < b > c`,
		`<a><b><i><u></u></i></b></a>`, `<p>text<br/>more<hr >`,
	}
	const pad = "          "
	var out []string
	for _, c := range cases {
		out = append(out, c+pad, "<p>"+c+"</p>"+pad, c)
	}
	return out
}()

// knownTagNames are the names kindOf knows (TestMayActCoversKindOf checks
// that none is missing).
var knownTagNames = []string{"html", "head", "meta", "link", "base", "title", "script", "style", "noscript", "template",
	"textarea", "xmp", "iframe", "noembed", "noframes", "plaintext", "basefont", "bgsound"}

// FuzzBodyScan is the differential fuzz test of bodyScan against the
// general states: the same tag ends, and no tag skipped that they act on.
// Seeds: testdata/fuzz/FuzzBodyScan, the cases above, and corpus slices.
func FuzzBodyScan(f *testing.F) {
	for _, c := range bodyScanCases {
		f.Add([]byte(c))
	}
	for _, name := range sortedNames(corpus(f)) {
		p := corpus(f)[name]
		mid := len(p) / 2
		f.Add(p[mid:min(len(p), mid+2<<10)])
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4<<10 {
			in = in[:4<<10]
		}
		checkAllBodyScans(t, in, len(in) <= 512)
	})
}

// TestMayActCoversKindOf checks that bodyScan leaves every tag the
// rewriter acts on to the general scanner, in any case and followed by any
// delimiter: mayAct must say yes to every name kindOf knows.
func TestMayActCoversKindOf(t *testing.T) {
	// The list must name every kind: tkOther is 0 and the kinds follow
	// it in a row, so n distinct kinds from 1 to n cover them all when
	// none exists past n.
	kinds := map[tagKind]bool{}
	for _, name := range knownTagNames {
		k := kindOf([]byte(name))
		if k == tkOther || kinds[k] {
			t.Fatalf("kindOf(%q) = %d: the list is out of date", name, k)
		}
		kinds[k] = true
	}
	for k := tagKind(1); k <= tagKind(len(knownTagNames)); k++ {
		if !kinds[k] {
			t.Fatalf("no name in the list has kind %d", k)
		}
	}
	// Every name of three or four letters kindOf knows is in the list.
	for l := 3; l <= 4; l++ {
		b := make([]byte, l)
		var walk func(i int)
		walk = func(i int) {
			if i == l {
				if k := kindOf(b); k != tkOther && !slices.Contains(knownTagNames, string(b)) {
					t.Fatalf("kindOf(%q) = %d, not in the list", b, k)
				}
				return
			}
			for c := byte('a'); c <= 'z'; c++ {
				b[i] = c
				walk(i + 1)
			}
		}
		walk(0)
	}
	for _, name := range knownTagNames {
		// Every way of writing the name's first four bytes in upper or
		// lower case (the rest does not reach mayAct).
		for m := 0; m < 16; m++ {
			w := []byte(name)
			for i := 0; i < 4 && i < len(w); i++ {
				if m>>i&1 == 1 {
					w[i] = toUpper(w[i])
				}
			}
			for _, delim := range []string{">", " ", "/", "\t", "\n", "\f", "\r"} {
				if b := []byte(string(w) + delim + "   "); !mayAct(b[:4]) {
					t.Errorf("mayAct(%q) = false", b[:4])
				}
			}
		}
	}
	for _, name := range []string{"a>  ", "div ", "span", "li> ", "p>  ", "td> ", "/lin", "/scr", "sect", "img "} {
		if mayAct([]byte(name)) {
			t.Errorf("mayAct(%q) = true", name)
		}
	}
}
