package inject

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// This file is the scan of a document's body when it is scanned at all
// (an asset origin is listed, so that stylesheets in <body> get
// crossorigin too). There, after the injection, almost every tag is one
// the rewriter does nothing with: it only has to find where the tag ends,
// so as not to mistake a '<' inside an attribute value for a tag. bodyScan
// does that for runs of such tags in one loop, without the general
// scanner's state machine, and hands any other token back to it.

// bodyScan skips text and ordinary tags from p[i], where the scanner is in
// text after the injection, with an origin listed (!skipBody) and outside
// <template>. An ordinary tag is an end tag (outside <template> no end tag
// needs an action then) or a start tag whose name is none of the kinds the
// rewriter acts on (kindOf gives tkOther). It returns len(p) if p ends in
// text, or the index of the '<' of the first token it leaves to the
// general scanner: a tag that may not be ordinary, a comment, doctype or
// other markup, or a tag that p cuts short or ends within 10 bytes of. The
// scanner's state is left as it was: it is in text before each token
// bodyScan skips, and such a token changes nothing but where text resumes.
//
// A tag ends at the first '>' after its name that is not in a quoted
// attribute value: in every other attribute state '>' ends it. So a tag
// with no quote before its first '>' ends there, found eight bytes at a
// time; a quote sends the tag through the attribute states (skipAttrs).
func bodyScan(p []byte, i int) int {
	const (
		low7 = 0x7F7F7F7F7F7F7F7F
		high = 0x8080808080808080
	)
	n := len(p)
	t := indexFrom(p, i, '<')
	for t >= 0 {
		if t+10 > n {
			return t // too close to the end of p to look at the tag
		}
		// One bounds check for the ten bytes looked at here.
		h := p[t : t+10 : t+10]
		s := t + 1 + b2i(h[1] == '/') // the name's first byte
		if mayAct(h[1:5]) || !isAlpha(p[s]) {
			// Maybe a tag to act on ('/' folds to no letter: mayAct
			// tells only start tags); or markup, a bogus comment, text.
			return t
		}
		// The eight bytes from t+2 (in the name, or its end: "<a>"):
		// where the first '>' or quote is, and where the '<' are. Most
		// tags end there, and in runs like "</a></li>" the next one
		// starts there too: one load and a few operations, without a
		// branch per byte, find both.
		w := binary.LittleEndian.Uint64(h[2:10])
		y := w & low7
		// A byte of (y^c)+low7 lacks its high bit exactly where the byte
		// of w is c (no carry leaves a byte); w's own high bit rules out
		// the bytes above 0x7F.
		te := ^((y^swarLo*'>'+low7)&(y^swarLo*'"'+low7)&(y^swarLo*'\''+low7) | w) & high
		lt := ^((y ^ swarLo*'<' + low7) | w) & high
		next := t + 10 // where to look for the next '<' if not in w
		var g int
		if te != 0 {
			g = t + 2 + bits.TrailingZeros64(te)>>3
			lt &^= (te&-te)<<1 - 1 // the '<' after the '>' only
		} else {
			if g = indexTagEnd(p, t+10); g < 0 {
				return t
			}
			lt, next = 0, g+1
		}
		if p[g] != '>' {
			// A quote: the tag goes on through its attribute values.
			k, ok := skipValues(p, s, g)
			if !ok {
				return t
			}
			t = indexFrom(p, k, '<')
			continue
		}
		// No quote before the '>': whatever the attribute states were,
		// none was a quoted value, and in all the others '>' ends the
		// tag.
		if lt != 0 {
			t += 2 + bits.TrailingZeros64(lt)>>3
			continue
		}
		t = indexFrom(p, next, '<')
	}
	return n
}

// indexTagEnd returns the index of the first '>', '"' or '\” in p from
// i, or -1: eight bytes at a time, as indexFrom does.
func indexTagEnd(p []byte, i int) int {
	const gt, dq, sq = swarLo * '>', swarLo * '"', swarLo * '\''
	for ; i+8 <= len(p); i += 8 {
		w := binary.LittleEndian.Uint64(p[i:])
		a, b, c := w^gt, w^dq, w^sq
		// Each term's lowest hit is exact and its false hits lie above
		// it, so the lowest bit of the union is the first of the three.
		if z := ((a-swarLo)&^a | (b-swarLo)&^b | (c-swarLo)&^c) & swarHi; z != 0 {
			return i + bits.TrailingZeros64(z)>>3
		}
	}
	for ; i < len(p); i++ {
		if c := p[i]; c == '>' || c == '"' || c == '\'' {
			return i
		}
	}
	return -1
}

// skipValues finds the end of a tag whose name starts at p[s] and whose
// first '>' or quote after the name's first two bytes is p[g], a quote. It
// returns the index after the '>' that ends the tag, and reports false if
// p ends first. The common shape, name="value" (or 'value'), is followed
// from quote to quote; anything else goes through the attribute states
// (skipAttrs).
func skipValues(p []byte, s, g int) (int, bool) {
	// floor: the name's delimiter, then the closing quote of the last
	// value. Past it, up to g, there is no quote nor '>' (p[g] is the
	// first).
	floor := nameEnd(p, s+1)
	if floor == len(p) {
		return floor, false // the name goes on to the end of p
	}
	for {
		if p[g] == '>' {
			return g + 1, true
		}
		// The quote starts a value if it follows a '=' that follows a
		// byte of an attribute's name: that is, with no other '=' since
		// floor, that could have started an unquoted value (in which the
		// quote would be just a byte). After floor, a name byte is in an
		// attribute's name, whatever came before it (white space, '/',
		// or the quote that closed a value).
		if g-2 <= floor || p[g-1] != '=' || byteClass[p[g-2]] != clOther || bytes.IndexByte(p[floor+1:g-1], '=') >= 0 {
			// From the name's delimiter; or from a closing quote, after
			// which the states take a byte as they do after white space.
			return skipAttrs(p, floor)
		}
		q := indexFrom(p, g+1, p[g])
		if q < 0 {
			return len(p), false
		}
		floor = q
		if g = indexTagEnd(p, q+1); g < 0 {
			return len(p), false
		}
	}
}

// nameEnd returns the index of the delimiter that ends the tag name from
// p[i] on (white space, '/' or '>'), or len(p).
func nameEnd(p []byte, i int) int {
	for i < len(p) && !endsName[p[i]] {
		i++
	}
	return i
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mayAct reports whether a start tag whose name starts with the four
// bytes b may be one that kindOf knows. Every such name has at least four
// letters, but for "xmp", so its first four bytes, folded to lower case,
// are one of a few words; a shorter name has a delimiter among them, which
// no letter folds to. The words sit in a small table at a hash of their
// bytes, so that the answer takes no branch on the name.
func mayAct(b []byte) bool {
	x := binary.LittleEndian.Uint32(b) | 0x20202020
	return b2i(actPrefixes[x*actHashMul>>27] == x)|b2i(x&0xFFFFFF == 'x'|'m'<<8|'p'<<16) != 0
}

// actHashMul gives each of the words of actPrefixes a slot of its own
// (the first odd multiplier from 0x9E3779B1 that does).
const actHashMul = 0x9E377CA7

var actPrefixes = func() (t [32]uint32) {
	for _, w := range []string{"base", "bgso", "html", "head", "ifra", "link", "meta", "nosc", "noem", "nofr", "plai", "scri", "styl", "titl", "temp", "text"} {
		x := binary.LittleEndian.Uint32([]byte(w))
		h := x * actHashMul >> 27
		if t[h] != 0 {
			panic("inject: actHashMul gives two words one slot")
		}
		t[h] = x
	}
	return t
}()

// SWAR constants: a byte's value in every byte of a word, and every
// byte's high bit.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// indexFrom returns the index of the first c in p from i, or -1. Runs
// between tags and attribute values are mostly short (a line break, a
// word, a class name), where the setup of bytes.IndexByte costs more than
// the search: the first 32 bytes are looked at here, eight at a time
// without a branch per byte, and only longer runs go to bytes.IndexByte.
func indexFrom(p []byte, i int, c byte) int {
	m := swarLo * uint64(c)
	for k := 0; k < 4 && i+8 <= len(p); k++ {
		w := binary.LittleEndian.Uint64(p[i:]) ^ m
		// The lowest byte of w that is zero (a c) sets its high bit
		// here; borrows make false hits only above a true one.
		if z := (w - swarLo) &^ w & swarHi; z != 0 {
			return i + bits.TrailingZeros64(z)>>3
		}
		i += 8
	}
	if j := bytes.IndexByte(p[i:], c); j >= 0 {
		return i + j
	}
	return -1
}
