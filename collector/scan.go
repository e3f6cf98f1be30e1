package collector

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// The scanner validates a segment body — a JSON array of rrweb events — as
// a stream, in one pass, in bounded memory, and pulls out only what session
// metadata needs. It never builds a tree of the events: a full snapshot is
// skipped byte by byte, which is what makes thousands of segments a second
// affordable.

// maxDepth bounds JSON nesting. A serialized DOM nests two levels per
// element, so real pages stay far below it.
const maxDepth = 4096

// Captured strings are cut at these lengths; longer values are truncated,
// not refused (a long URL is still a valid event).
const (
	maxURLLen   = 2048
	maxShortLen = 256
)

// errInflated reports a body that decompresses to more than allowed.
var errInflated = errors.New("decompressed body exceeds the limit")

// syntaxError is invalid JSON at a byte offset.
type syntaxError struct {
	off int64
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

// schemaError is valid JSON that is not a valid event.
type schemaError struct {
	event int
	msg   string
}

func (e *schemaError) Error() string { return fmt.Sprintf("event %d: %s", e.event, e.msg) }

// readError wraps an error from the decompressor (truncated or corrupt
// stream).
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// isStop marks the bytes that end a run of plain string content.
var isStop = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'], t['\\'] = true, true
	return
}()

// scanner is a pull lexer over a reader with a fixed window.
type scanner struct {
	src   io.Reader
	tee   io.Writer // receives every byte read (re-compression), or nil
	buf   []byte
	pos   int
	end   int
	base  int64 // offset of buf[0] in the stream
	limit int64 // bytes allowed from src; one more is errInflated
	err   error // sticky: read error, errInflated or io.EOF
	depth int
	stack []byte   // the skipper's open containers
	key   [32]byte // current object key, when short enough to matter
	tmp   []byte   // number and string capture scratch
	// pend holds the start of a UTF-8 sequence that the last window cut
	// off (npend bytes), to be checked with the next window's bytes.
	pend  [utf8.UTFMax]byte
	npend int
}

func (s *scanner) reset(src io.Reader, tee io.Writer, limit int64) {
	s.src, s.tee, s.limit = src, tee, limit
	s.pos, s.end, s.base, s.err, s.depth, s.npend = 0, 0, 0, nil, 0, 0
	if s.buf == nil {
		s.buf = make([]byte, 32<<10)
	}
}

// offset is the stream position of the next byte.
func (s *scanner) offset() int64 { return s.base + int64(s.pos) }

// fill reads the next window. It reports false at the end of the stream or
// on an error (in s.err).
func (s *scanner) fill() bool {
	if s.err != nil {
		return false
	}
	s.base += int64(s.end)
	s.pos, s.end = 0, 0
	for s.end == 0 {
		room := int64(len(s.buf))
		if left := s.limit + 1 - s.base; left < room {
			room = left
		}
		if room <= 0 {
			s.err = errInflated
			return false
		}
		n, err := s.src.Read(s.buf[:room])
		if n > 0 {
			if s.base+int64(n) > s.limit {
				s.err = errInflated
				return false
			}
			if s.tee != nil {
				if _, werr := s.tee.Write(s.buf[:n]); werr != nil {
					s.err = &readError{werr}
					return false
				}
			}
			s.end = n
			if bad := s.checkUTF8(s.buf[:n]); bad >= 0 {
				s.err = &syntaxError{s.base + int64(bad), "invalid UTF-8 (JSON text is UTF-8)"}
				return false
			}
		}
		if err != nil {
			if err == io.EOF {
				s.err = io.EOF
				if s.npend > 0 {
					s.err = &syntaxError{s.base + int64(s.end), "invalid UTF-8: the data ends inside a character"}
					return false
				}
			} else {
				s.err = &readError{err}
			}
			return n > 0
		}
	}
	return true
}

// checkUTF8 checks that b, the next bytes of the stream, continue valid
// UTF-8, and returns the index in b of the first byte that does not (-1
// if none). A sequence cut off at the end of b is kept in s.pend and
// checked with the next bytes. Browsers and encoding/json would read an
// invalid byte as U+FFFD, stricter readers not at all: RFC 8259 wants
// JSON exchanged as UTF-8, and the collector stores only that.
func (s *scanner) checkUTF8(b []byte) int {
	done := 0 // bytes of b checked (as the end of a pending sequence)
	if s.npend > 0 {
		var tmp [2 * utf8.UTFMax]byte
		n := copy(tmp[:], s.pend[:s.npend])
		m := copy(tmp[n:], b[:min(len(b), utf8.UTFMax)])
		if !utf8.FullRune(tmp[:n+m]) {
			// Still cut off (b is a byte or two): keep waiting.
			s.npend = copy(s.pend[:], tmp[:n+m])
			return -1
		}
		r, size := utf8.DecodeRune(tmp[:n+m])
		if r == utf8.RuneError && size <= 1 {
			return 0
		}
		s.npend = 0
		done = size - n
	}
	rest := b[done:]
	if utf8.Valid(rest) {
		return -1
	}
	// Either an invalid byte, or a sequence the window cut off: find
	// the last sequence start and check what precedes it.
	start := len(rest)
	for i := len(rest) - 1; i >= 0 && i >= len(rest)-utf8.UTFMax; i-- {
		if !utf8.RuneStart(rest[i]) {
			continue
		}
		start = i
		break
	}
	if start < len(rest) && !utf8.FullRune(rest[start:]) && utf8.Valid(rest[:start]) {
		s.npend = copy(s.pend[:], rest[start:])
		return -1
	}
	for i := 0; i < len(rest); {
		r, size := utf8.DecodeRune(rest[i:])
		if r == utf8.RuneError && size <= 1 {
			return done + i
		}
		i += size
	}
	return done + len(rest) // not reached: rest was invalid
}

// failure turns the scanner's state into the error to report: the read
// error if there was one, else msg as a syntax error.
func (s *scanner) failure(msg string) error {
	if s.err != nil && s.err != io.EOF {
		return s.err
	}
	if s.err == io.EOF && s.pos >= s.end {
		return &syntaxError{s.offset(), "unexpected end of data (" + msg + ")"}
	}
	return &syntaxError{s.offset(), msg}
}

// peek returns the next byte without consuming it.
func (s *scanner) peek() (byte, bool) {
	if s.pos < s.end || s.fill() {
		return s.buf[s.pos], true
	}
	return 0, false
}

// ws skips whitespace and returns the next byte.
func (s *scanner) ws() (byte, bool) {
	for {
		if s.pos >= s.end && !s.fill() {
			return 0, false
		}
		c := s.buf[s.pos]
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return c, true
		}
		s.pos++
	}
}

func (s *scanner) expect(c byte, what string) error {
	b, ok := s.ws()
	if !ok || b != c {
		return s.failure("expected " + what)
	}
	s.pos++
	return nil
}

func (s *scanner) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		c, ok := s.peek()
		if !ok || c != lit[i] {
			return s.failure("expected " + lit)
		}
		s.pos++
	}
	return nil
}

func (s *scanner) push() error {
	s.depth++
	if s.depth > maxDepth {
		return &syntaxError{s.offset(), fmt.Sprintf("nested deeper than %d levels", maxDepth)}
	}
	return nil
}

// object scans an object, calling member for each key with the scanner
// positioned at the member's value; member must consume the value. The key
// slice is valid only during the call and is empty for keys longer than
// 32 bytes (no key we look for is).
func (s *scanner) object(member func(key []byte) error) error {
	if err := s.expect('{', "'{'"); err != nil {
		return err
	}
	if err := s.push(); err != nil {
		return err
	}
	c, ok := s.ws()
	if !ok {
		return s.failure("expected a key or '}'")
	}
	if c == '}' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		if c, ok = s.ws(); !ok || c != '"' {
			return s.failure("expected a key")
		}
		key, ok := s.plainKey()
		if !ok {
			kb := s.tmp[:0]
			if err := s.str(&kb, len(s.key)+1); err != nil {
				return err
			}
			s.tmp = kb[:0]
			key = nil
			if len(kb) <= len(s.key) {
				key = s.key[:copy(s.key[:], kb)]
			}
			if err := s.expect(':', "':'"); err != nil {
				return err
			}
		}
		if err := member(key); err != nil {
			return err
		}
		c, ok = s.ws()
		if !ok {
			return s.failure("expected ',' or '}'")
		}
		s.pos++
		if c == '}' {
			s.depth--
			return nil
		}
		if c != ',' {
			s.pos--
			return s.failure("expected ',' or '}'")
		}
	}
}

// plainKey takes a member's key and its colon, at s.pos (the key's
// opening quote), when they are plain — no escape, no whitespace before
// the colon — and inside the window, as a recorder writes them; it returns
// the key as object's member receives it. Otherwise it reports false and
// consumes nothing, and object takes the careful way.
func (s *scanner) plainKey() ([]byte, bool) {
	b := s.buf[s.pos+1 : s.end]
	j := plainEnd(b, 0)
	if j+1 >= len(b) || b[j] != '"' || b[j+1] != ':' {
		return nil, false
	}
	s.pos += j + 3
	if j > len(s.key) {
		return nil, true
	}
	return s.key[:copy(s.key[:], b[:j])], true
}

// array scans an array, calling elem for each element (index i) with the
// scanner positioned at it; elem must consume it.
func (s *scanner) array(elem func(i int) error) error {
	if err := s.expect('[', "'['"); err != nil {
		return err
	}
	if err := s.push(); err != nil {
		return err
	}
	c, ok := s.ws()
	if !ok {
		return s.failure("expected a value or ']'")
	}
	if c == ']' {
		s.pos++
		s.depth--
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		c, ok = s.ws()
		if !ok {
			return s.failure("expected ',' or ']'")
		}
		s.pos++
		if c == ']' {
			s.depth--
			return nil
		}
		if c != ',' {
			s.pos--
			return s.failure("expected ',' or ']'")
		}
	}
}

// str scans a string starting at its opening quote. With capture set, it
// appends the decoded value to *capture, up to max bytes (the rest is
// validated and dropped).
func (s *scanner) str(capture *[]byte, max int) error {
	s.pos++          // the opening quote, already peeked
	high := rune(-1) // a \u high surrogate waiting for its low half
	flush := func() {
		if high >= 0 {
			if capture != nil && len(*capture) < max {
				*capture = utf8.AppendRune(*capture, utf8.RuneError)
			}
			high = -1
		}
	}
	for {
		if s.pos >= s.end && !s.fill() {
			return s.failure("unterminated string")
		}
		// The hot loop: plain string content up to a quote, a backslash
		// or a control character.
		b := s.buf[s.pos:s.end]
		i := 0
		for i < len(b) && !isStop[b[i]] {
			i++
		}
		if i > 0 {
			flush()
			if capture != nil && len(*capture) < max {
				*capture = append(*capture, b[:min(i, max-len(*capture))]...)
			}
		}
		s.pos += i
		if i == len(b) {
			continue
		}
		switch c := b[i]; c {
		case '"':
			s.pos++
			flush()
			return nil
		case '\\':
			s.pos++
			r, err := s.escape()
			if err != nil {
				return err
			}
			switch {
			case 0xD800 <= r && r < 0xDC00:
				flush()
				high = r
				continue
			case 0xDC00 <= r && r < 0xE000 && high >= 0:
				r = 0x10000 + (high-0xD800)<<10 + (r - 0xDC00)
				high = -1
			case 0xDC00 <= r && r < 0xE000:
				r = utf8.RuneError
			default:
				flush()
			}
			if capture != nil && len(*capture) < max {
				*capture = utf8.AppendRune(*capture, r)
			}
		default:
			return s.failure("control character in string")
		}
	}
}

// escape decodes the escape after a backslash. Surrogate halves are
// returned as they are; str pairs them.
func (s *scanner) escape() (rune, error) {
	c, ok := s.peek()
	if !ok {
		return 0, s.failure("unterminated escape")
	}
	s.pos++
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		return s.hex4()
	}
	s.pos--
	return 0, s.failure("invalid escape")
}

func (s *scanner) hex4() (rune, error) {
	var r rune
	for range 4 {
		c, ok := s.peek()
		if !ok {
			return 0, s.failure("truncated \\u escape")
		}
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, s.failure("invalid \\u escape")
		}
		s.pos++
	}
	return r, nil
}

// number scans a number. With parse set it returns its value; isInt
// reports an integer literal (no fraction, no exponent).
func (s *scanner) number(parse bool) (v float64, isInt bool, err error) {
	if !parse {
		return 0, false, s.skipNumber()
	}
	// The fast path: an integer of up to 18 digits that ends inside the
	// window (timestamps, ids, coordinates).
	b := s.buf[s.pos:s.end]
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	if i < len(b) && '1' <= b[i] && b[i] <= '9' || i < len(b) && b[i] == '0' && (i+1 >= len(b) || b[i+1] < '0' || b[i+1] > '9') {
		var n int64
		j := i
		for j < len(b) && j-i < 18 && '0' <= b[j] && b[j] <= '9' {
			n = n*10 + int64(b[j]-'0')
			j++
		}
		if j < len(b) {
			switch b[j] {
			case ',', ']', '}', ' ', '\n', '\r', '\t':
				s.pos += j
				if neg {
					n = -n
				}
				return float64(n), true, nil
			}
		}
	}
	start := s.offset()
	s.tmp = s.tmp[:0]
	if err := s.scanNumber(true); err != nil {
		return 0, false, err
	}
	t := s.tmp
	if len(t) >= 64 {
		return 0, false, &syntaxError{start, "number too long"}
	}
	isInt = true
	for _, c := range t {
		if c == '.' || c == 'e' || c == 'E' {
			isInt = false
			break
		}
	}
	if isInt && len(t) <= 18 {
		var n int64
		neg := t[0] == '-'
		for _, d := range t[boolInt(neg):] {
			n = n*10 + int64(d-'0')
		}
		if neg {
			n = -n
		}
		return float64(n), true, nil
	}
	v, perr := strconv.ParseFloat(string(t), 64)
	if perr != nil || math.IsInf(v, 0) {
		return 0, false, &syntaxError{start, "number out of range"}
	}
	return v, isInt, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// end checks that nothing but whitespace follows the top-level value and
// that the stream ended cleanly.
func (s *scanner) finish() error {
	if _, ok := s.ws(); ok {
		return &syntaxError{s.offset(), "data after the top-level array"}
	}
	if s.err != io.EOF {
		return s.err
	}
	return nil
}
