package collector

import (
	"encoding/binary"
	"io"
	"math/bits"
)

// The skipper validates a JSON value the metadata does not need — most of
// a segment: the serialized DOM of a full snapshot, mutation payloads,
// mouse trails — without recursion and without looking at a byte twice.

// Skipper states.
const (
	skValue      = iota // a value must come
	skValueOrEnd        // after '[': a value or ']'
	skKeyOrEnd          // after '{': a key or '}'
	skKey               // after ',' in an object: a key
	skColon             // after a key: ':'
	skAfter             // after a value: ',' or the container's end
)

// value skips any JSON value, validating it.
//
// Each turn of the loop first runs the fast path over the window: the
// tokens a recorder writes (no whitespace, plain strings, short integers)
// taken with a local index, without a call or a window check per byte.
// Whatever the fast path does not take — whitespace, a token cut by the
// window's end, a literal, an error — goes one step through the general
// state machine below it, which is the reference: the fast path takes a
// token only where the general path would take it the same way.
func (s *scanner) value() error {
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	state := skValue
	for {
		if s.pos >= s.end && !s.fill() {
			return s.failure("unexpected end in a value")
		}
		b, i := s.buf[:s.end], s.pos
	fast:
		for i < len(b) {
			c := b[i]
			switch state {
			case skAfter:
				top := stack[len(stack)-1] // never empty: value returns at the outermost end
				switch {
				case c == ',':
					i++
					state = skValue
					if top == '{' {
						state = skKey
					}
					continue
				case c == '}' && top == '{', c == ']' && top == '[':
					i++
					stack = stack[:len(stack)-1]
					s.depth--
					if len(stack) == 0 {
						s.pos = i
						return nil
					}
					continue
				}
				break fast
			case skColon:
				if c != ':' {
					break fast
				}
				i++
				state = skValue
				continue
			case skKey, skKeyOrEnd:
				switch {
				case c == '"':
					next := skColon
					if j := plainEnd(b, i+1); j < len(b) && b[j] == '"' {
						i, state = j+1, next
						continue
					} else {
						s.pos = j
					}
					if err := s.skipStringRest(); err != nil {
						return err
					}
					state = next
					b, i = s.buf[:s.end], s.pos
					continue
				case c == '}' && state == skKeyOrEnd:
					i++
					stack = stack[:len(stack)-1]
					s.depth--
					state = skAfter
					if len(stack) == 0 {
						s.pos = i
						return nil
					}
					continue
				}
				break fast
			default: // skValue, skValueOrEnd
				switch {
				case c == '"':
					if j := plainEnd(b, i+1); j < len(b) && b[j] == '"' {
						i = j + 1
					} else {
						s.pos = j
						if err := s.skipStringRest(); err != nil {
							return err
						}
						b, i = s.buf[:s.end], s.pos
					}
				case c == '-' || '0' <= c && c <= '9':
					if j := intEnd(b, i); j > 0 {
						i = j
					} else {
						s.pos = i
						if err := s.skipNumber(); err != nil {
							return err
						}
						b, i = s.buf[:s.end], s.pos
					}
				case c == '{' || c == '[':
					if s.depth >= maxDepth {
						break fast // the general path reports it
					}
					s.depth++
					stack = append(stack, c)
					i++
					state = skKeyOrEnd
					if c == '[' {
						state = skValueOrEnd
					}
					continue
				case c == ']' && state == skValueOrEnd:
					i++
					stack = stack[:len(stack)-1]
					s.depth--
				default:
					break fast
				}
				state = skAfter
				if len(stack) == 0 {
					s.pos = i
					return nil
				}
			}
		}
		s.pos = i
		if s.pos >= s.end {
			continue // the window is used up: refill
		}
		c := s.buf[s.pos]
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			s.pos++
			continue
		}
		switch state {
		case skValue, skValueOrEnd:
			switch {
			case c == ']' && state == skValueOrEnd:
				s.pos++
				stack = stack[:len(stack)-1]
				s.depth--
				state = skAfter
			case c == '"':
				if err := s.skipString(); err != nil {
					return err
				}
				state = skAfter
			case c == '{' || c == '[':
				if err := s.push(); err != nil {
					return err
				}
				stack = append(stack, c)
				s.pos++
				state = skKeyOrEnd
				if c == '[' {
					state = skValueOrEnd
				}
			case c == '-' || '0' <= c && c <= '9':
				if err := s.skipNumber(); err != nil {
					return err
				}
				state = skAfter
			case c == 't':
				if err := s.literal("true"); err != nil {
					return err
				}
				state = skAfter
			case c == 'f':
				if err := s.literal("false"); err != nil {
					return err
				}
				state = skAfter
			case c == 'n':
				if err := s.literal("null"); err != nil {
					return err
				}
				state = skAfter
			default:
				return s.failure("expected a value")
			}
		case skKeyOrEnd, skKey:
			switch {
			case c == '}' && state == skKeyOrEnd:
				s.pos++
				stack = stack[:len(stack)-1]
				s.depth--
				state = skAfter
			case c == '"':
				if err := s.skipString(); err != nil {
					return err
				}
				state = skColon
			default:
				return s.failure("expected a key")
			}
		case skColon:
			if c != ':' {
				return s.failure("expected ':'")
			}
			s.pos++
			state = skValue
		case skAfter:
			if len(stack) == 0 {
				return nil
			}
			top := stack[len(stack)-1]
			switch {
			case c == ',':
				s.pos++
				state = skValue
				if top == '{' {
					state = skKey
				}
			case c == '}' && top == '{', c == ']' && top == '[':
				s.pos++
				stack = stack[:len(stack)-1]
				s.depth--
			default:
				return s.failure("expected ',' or the end of the container")
			}
		}
		if state == skAfter && len(stack) == 0 {
			return nil
		}
	}
}

// SWAR constants: a byte pattern in every lane of a 64-bit word.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// stopMask has the high bit set in each lane of w holding a byte that ends
// plain string content: '"', '\\' or a control character.
func stopMask(w uint64) uint64 {
	quote := w ^ (lanes01 * '"')
	slash := w ^ (lanes01 * '\\')
	zeroQ := (quote - lanes01) &^ quote
	zeroS := (slash - lanes01) &^ slash
	ctl := (w - lanes01*0x20) &^ w
	return (zeroQ | zeroS | ctl) & lanes80
}

// skipString skips a string starting at its (peeked) opening quote,
// validating escapes and refusing control characters, eight bytes at a
// time through plain content.
func (s *scanner) skipString() error {
	s.pos++
	return s.skipStringRest()
}

// skipStringRest is skipString past the opening quote (at any point of
// the string's content that is not inside an escape).
func (s *scanner) skipStringRest() error {
	for {
		if s.pos >= s.end && !s.fill() {
			return s.failure("unterminated string")
		}
		b := s.buf[s.pos:s.end]
		i := 0
		for i+8 <= len(b) {
			if m := stopMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(b) && !isStop[b[i]] {
			i++
		}
		s.pos += i
		if i == len(b) {
			continue
		}
		switch b[i] {
		case '"':
			s.pos++
			return nil
		case '\\':
			s.pos++
			if _, err := s.escape(); err != nil {
				return err
			}
		default:
			return s.failure("control character in string")
		}
	}
}

// plainEnd returns the index in b of the first byte at or after i that
// ends plain string content ('"', '\\' or a control character), or
// len(b) if there is none.
func plainEnd(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := stopMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for i < len(b) && !isStop[b[i]] {
		i++
	}
	return i
}

// intEnd returns the end of the integer starting at b[i] when it is a
// complete, valid JSON integer followed, inside b, by ',', ']' or '}';
// else 0, and the caller takes the careful way (skipNumber).
func intEnd(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return 0
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i++
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return 0
	}
	if i < len(b) && (b[i] == ',' || b[i] == ']' || b[i] == '}') {
		return i
	}
	return 0
}

// skipNumber validates a number without converting it. Most numbers in a
// recording are short integers (ids, coordinates, offsets) that end inside
// the window: those take the fast path.
func (s *scanner) skipNumber() error {
	b := s.buf[s.pos:s.end]
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i++
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return s.scanNumber(false)
	}
	// Done if a delimiter follows within the window; anything else (a
	// fraction, an exponent, a digit after a leading zero, the window's
	// end) goes the careful way.
	if i < len(b) {
		switch b[i] {
		case ',', ']', '}', ' ', '\n', '\r', '\t':
			s.pos += i
			return nil
		}
	}
	return s.scanNumber(false)
}

// scanNumber validates a number; with capture set it also copies its
// bytes to s.tmp (up to 64).
func (s *scanner) scanNumber(capture bool) error {
	// Number states: after the sign, after the leading zero, in the
	// integer digits, after '.', in the fraction, after 'e', after the
	// exponent sign, in the exponent.
	const (
		nSign = iota
		nZero
		nInt
		nDot
		nFrac
		nE
		nESign
		nExp
	)
	state := nSign
	if c, ok := s.peek(); ok && c == '-' {
		if capture {
			s.tmp = append(s.tmp, '-')
		}
		s.pos++
	}
	for {
		if s.pos >= s.end && !s.fill() {
			break
		}
		c := s.buf[s.pos]
		digit := '0' <= c && c <= '9'
		next := -1
		switch state {
		case nSign:
			switch {
			case c == '0':
				next = nZero
			case digit:
				next = nInt
			}
		case nZero, nInt:
			switch {
			case digit && state == nInt:
				next = nInt
			case c == '.':
				next = nDot
			case c == 'e' || c == 'E':
				next = nE
			}
		case nDot, nFrac:
			switch {
			case digit:
				next = nFrac
			case state == nFrac && (c == 'e' || c == 'E'):
				next = nE
			}
		case nE:
			switch {
			case c == '+' || c == '-':
				next = nESign
			case digit:
				next = nExp
			}
		case nESign, nExp:
			if digit {
				next = nExp
			}
		}
		if next < 0 {
			break
		}
		state = next
		if capture && len(s.tmp) < 64 {
			s.tmp = append(s.tmp, c)
		}
		s.pos++
	}
	if s.err != nil && s.err != io.EOF {
		return s.err
	}
	switch state {
	case nZero, nInt, nFrac, nExp:
		return nil
	case nSign:
		return s.failure("invalid number")
	}
	return s.failure("invalid number: digits missing")
}
