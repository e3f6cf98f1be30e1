package collector

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// rrweb's event types (EventType).
const (
	evDomContentLoaded = 0
	evLoad             = 1
	evFullSnapshot     = 2
	evIncremental      = 3
	evMeta             = 4
	evCustom           = 5
	evPlugin           = 6
)

// rrweb's incremental sources (IncrementalSource) that metadata reads.
const (
	srcMutation          = 0
	srcMouseMove         = 1
	srcMouseInteraction  = 2
	srcScroll            = 3
	srcViewportResize    = 4
	srcInput             = 5
	srcTouchMove         = 6
	srcMediaInteraction  = 7
	srcStyleSheetRule    = 8
	srcCanvasMutation    = 9
	srcDrag              = 12
	srcStyleDeclaration  = 13
	srcSelection         = 14
	srcAdoptedStyleSheet = 15
	maxSource            = 16 // CustomElement, the last source rrweb defines
)

// rrweb's mouse interaction types that metadata reads (MouseInteractions).
const (
	miClick      = 2
	maxMouseType = 10 // TouchCancel
)

// maxBackstep is how far an event's timestamp may go back from the latest
// one before it. Events are stamped with Date.now() as they are emitted, so
// they only go back when the clock is adjusted.
const maxBackstep = 1000 // ms

// field bits: which fields an event (or its data) carried, with the right
// JSON type.
const (
	fType = 1 << iota
	fTimestamp
	fData
	fSource
	fDataType
	fID
	fX
	fY
	fWidth
	fHeight
	fHref
	fTag
	fPlugin
	fNode
	fOffset
	fPayload
)

// event is what the scanner keeps of one event: a fixed set of scalars and
// a few short strings, reused from one event to the next.
type event struct {
	has      uint32
	typ      int
	ts       int64
	source   int
	dataType int
	id       float64
	x, y     float64
	w, h     float64
	href     []byte
	tag      []byte
	payload  payload
	// seen are the keys read in the event object and in its data.
	seen [2]keySet
}

// payload holds the string fields of a custom event's payload that
// metadata uses.
type payload struct {
	url, referrer, title, tab             []byte
	service, env, version, applicationID  []byte
	userAgent, userID, userName, userMail []byte
	state                                 []byte
	seen                                  keySet // the keys read
}

func (p *payload) reset() {
	*p = payload{
		url: p.url[:0], referrer: p.referrer[:0], title: p.title[:0], tab: p.tab[:0],
		service: p.service[:0], env: p.env[:0], version: p.version[:0], applicationID: p.applicationID[:0],
		userAgent: p.userAgent[:0], userID: p.userID[:0], userName: p.userName[:0], userMail: p.userMail[:0],
		state: p.state[:0],
	}
}

func (e *event) reset() {
	href, tag := e.href[:0], e.tag[:0]
	p := e.payload
	*e = event{href: href, tag: tag, payload: p}
	e.payload.reset()
}

// text turns a captured string into a Go string: valid UTF-8, without
// control characters.
func text(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, s)
	}
	return s
}

// duplicateKey is a key the validator reads given twice in one object.
// JSON parsers disagree on which of the two counts (browsers and
// encoding/json keep the last), so the collector refuses it instead of
// validating one value while the player and the export read the other.
type duplicateKey struct{ key string }

func (d *duplicateKey) Error() string {
	return fmt.Sprintf("key %q is given twice in one object; give each key once", d.key)
}

// keySet remembers which of the keys an object reader looks at were seen.
type keySet uint32

// add marks key (bit) as seen; it fails when it was seen before.
func (k *keySet) add(bit keySet, key []byte) error {
	if *k&bit != 0 {
		return &duplicateKey{string(key)}
	}
	*k |= bit
	return nil
}

// readEvent scans one event object into e.
func (s *scanner) readEvent(e *event) error {
	e.reset()
	seen := &e.seen[0]
	return s.object(func(key []byte) error {
		switch string(key) {
		case "type":
			if err := seen.add(1<<0, key); err != nil {
				return err
			}
			v, ok, err := s.num()
			if err != nil || !ok {
				return err
			}
			if v == math.Trunc(v) {
				e.typ, e.has = int(v), e.has|fType
			}
		case "timestamp":
			if err := seen.add(1<<1, key); err != nil {
				return err
			}
			v, ok, err := s.num()
			if err != nil || !ok {
				return err
			}
			if v >= 0 && v < 1e15 {
				e.ts, e.has = int64(v), e.has|fTimestamp
			}
		case "data":
			if err := seen.add(1<<2, key); err != nil {
				return err
			}
			c, ok := s.ws()
			if !ok {
				return s.failure("expected a value")
			}
			if c != '{' {
				return s.value()
			}
			e.has |= fData
			return s.readData(e)
		default:
			return s.value()
		}
		return nil
	})
}

// num scans a value and returns it if it is a number; ok is false (and the
// value skipped) otherwise.
func (s *scanner) num() (float64, bool, error) {
	c, ok := s.ws()
	if !ok {
		return 0, false, s.failure("expected a value")
	}
	if c == '-' || '0' <= c && c <= '9' {
		v, _, err := s.number(true)
		return v, err == nil, err
	}
	return 0, false, s.value()
}

// capture scans a value into dst if it is a string (cut at max bytes);
// ok is false (and the value skipped) otherwise.
func (s *scanner) capture(dst *[]byte, max int) (bool, error) {
	c, ok := s.ws()
	if !ok {
		return false, s.failure("expected a value")
	}
	if c != '"' {
		return false, s.value()
	}
	*dst = (*dst)[:0]
	return true, s.str(dst, max)
}

// readData scans an event's data object.
func (s *scanner) readData(e *event) error {
	seen := &e.seen[1]
	return s.object(func(key []byte) error {
		bit := dataKey(key)
		if bit == 0 {
			return s.value()
		}
		if err := seen.add(keySet(bit), key); err != nil {
			return err
		}
		var dst *float64
		switch bit {
		case fSource:
			v, ok, err := s.num()
			if ok && v == math.Trunc(v) && v >= 0 && v <= 1<<20 {
				e.source, e.has = int(v), e.has|fSource
			}
			return err
		case fDataType:
			v, ok, err := s.num()
			if ok && v == math.Trunc(v) && v >= 0 && v <= 1<<20 {
				e.dataType, e.has = int(v), e.has|fDataType
			}
			return err
		case fID:
			dst = &e.id
		case fX:
			dst = &e.x
		case fY:
			dst = &e.y
		case fWidth:
			dst = &e.w
		case fHeight:
			dst = &e.h
		case fHref:
			ok, err := s.capture(&e.href, maxURLLen)
			if ok {
				e.has |= fHref
			}
			return err
		case fTag:
			ok, err := s.capture(&e.tag, maxShortLen)
			if ok {
				e.has |= fTag
			}
			return err
		case fPlugin:
			var tmp []byte
			ok, err := s.capture(&tmp, maxShortLen)
			if ok {
				e.has |= fPlugin
			}
			return err
		case fNode:
			if c, ok := s.ws(); ok && c == '{' {
				e.has |= fNode
			}
			return s.value()
		case fOffset:
			if c, ok := s.ws(); ok && c == '{' {
				e.has |= fOffset
			}
			return s.value()
		case fPayload:
			c, ok := s.ws()
			if !ok {
				return s.failure("expected a value")
			}
			e.has |= fPayload
			if c != '{' {
				return s.value()
			}
			return s.readPayload(&e.payload)
		}
		v, ok, err := s.num()
		if ok {
			*dst, e.has = v, e.has|bit
		}
		return err
	})
}

// dataKey returns the field bit of a key of an event's data that readData
// reads (each its own bit, also for duplicate detection), or 0.
func dataKey(key []byte) uint32 {
	switch string(key) {
	case "source":
		return fSource
	case "type":
		return fDataType
	case "id":
		return fID
	case "x":
		return fX
	case "y":
		return fY
	case "width":
		return fWidth
	case "height":
		return fHeight
	case "href":
		return fHref
	case "tag":
		return fTag
	case "plugin":
		return fPlugin
	case "node":
		return fNode
	case "initialOffset":
		return fOffset
	case "payload":
		return fPayload
	}
	return 0
}

// readPayload scans a custom event's payload, keeping the string fields
// that metadata uses.
func (s *scanner) readPayload(p *payload) error {
	seen := &p.seen
	return s.object(func(key []byte) error {
		var dst *[]byte
		var bit keySet
		max := maxShortLen
		switch string(key) {
		case "url":
			dst, max, bit = &p.url, maxURLLen, 1<<0
		case "referrer":
			dst, max, bit = &p.referrer, maxURLLen, 1<<1
		case "title":
			dst, bit = &p.title, 1<<2
		case "tab":
			dst, bit = &p.tab, 1<<3
		case "service":
			dst, bit = &p.service, 1<<4
		case "env":
			dst, bit = &p.env, 1<<5
		case "version":
			dst, bit = &p.version, 1<<6
		case "applicationId":
			dst, bit = &p.applicationID, 1<<7
		case "userAgent":
			dst, max, bit = &p.userAgent, 512, 1<<8
		case "id":
			dst, bit = &p.userID, 1<<9
		case "name":
			dst, bit = &p.userName, 1<<10
		case "email":
			dst, bit = &p.userMail, 1<<11
		case "state":
			dst, bit = &p.state, 1<<12
		default:
			return s.value()
		}
		if err := seen.add(bit, key); err != nil {
			return err
		}
		_, err := s.capture(dst, max)
		return err
	})
}

// check validates one event's schema: required fields by type.
func (e *event) check(i int) error {
	bad := func(format string, args ...any) error {
		return &schemaError{event: i, msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case e.has&fType == 0:
		return bad(`"type" is missing or not an integer`)
	case e.typ < evDomContentLoaded || e.typ > evPlugin:
		return bad(`type %d is not an rrweb event type (0-6)`, e.typ)
	case e.has&fTimestamp == 0:
		return bad(`"timestamp" is missing or not a number of ms since the epoch`)
	case e.has&fData == 0:
		return bad(`"data" is missing or not an object`)
	}
	switch e.typ {
	case evMeta:
		if e.has&fHref == 0 || e.has&fWidth == 0 || e.has&fHeight == 0 {
			return bad(`a Meta event (type 4) needs data.href, data.width and data.height`)
		}
	case evFullSnapshot:
		if e.has&fNode == 0 || e.has&fOffset == 0 {
			return bad(`a FullSnapshot event (type 2) needs data.node and data.initialOffset objects`)
		}
	case evIncremental:
		if e.has&fSource == 0 || e.source > maxSource {
			return bad(`an IncrementalSnapshot event (type 3) needs data.source between 0 and %d`, maxSource)
		}
		switch e.source {
		case srcMouseInteraction:
			if e.has&fDataType == 0 || e.dataType > maxMouseType {
				return bad(`a MouseInteraction needs data.type between 0 and %d`, maxMouseType)
			}
			if e.has&fID == 0 {
				return bad(`a MouseInteraction needs data.id`)
			}
		case srcViewportResize:
			if e.has&fWidth == 0 || e.has&fHeight == 0 {
				return bad(`a ViewportResize needs data.width and data.height`)
			}
		case srcInput:
			if e.has&fID == 0 {
				return bad(`an Input needs data.id`)
			}
		}
	case evCustom:
		if e.has&fTag == 0 {
			return bad(`a Custom event (type 5) needs a string data.tag`)
		}
		if e.has&fPayload == 0 {
			return bad(`a Custom event (type 5) needs data.payload`)
		}
	case evPlugin:
		if e.has&fPlugin == 0 {
			return bad(`a Plugin event (type 6) needs a string data.plugin`)
		}
	}
	return nil
}
