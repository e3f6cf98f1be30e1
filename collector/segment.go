package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"

	"github.com/caddy-replay/caddy-replay/store"
)

// params are a segment upload's query parameters (docs/FORMAT.md,
// "Segment upload").
type params struct {
	key        store.SegmentKey
	start, end int64
	full       bool
	records    int
	raw        int64
	enc        string // "" when the parameter is absent
	token      string
	// sent is the sender's clock when it sent the upload (t; 0 when not
	// given), and shift how far that clock is ahead of the server's, as
	// the collector applies it (0: the times are taken as they are).
	sent, shift int64
}

// rejection is a refused upload: an HTTP status, a stable machine-readable
// reason (also the metrics label) and a message that tells the developer
// what to fix.
type rejection struct {
	status     int
	reason     string
	message    string
	retryAfter int // seconds; 0 for none
	// detail is what the log adds to the message for a 5xx: the cause,
	// which the client is not shown.
	detail string
}

func (r *rejection) Error() string { return r.reason + ": " + r.message }

func reject(status int, reason, format string, args ...any) *rejection {
	return &rejection{status: status, reason: reason, message: fmt.Sprintf(format, args...)}
}

// parseParams parses and checks the query string strictly: every parameter
// at most once, in its documented format.
func parseParams(rawQuery string) (*params, *rejection) {
	var q query
	if err := q.parse(rawQuery); err != nil {
		return nil, reject(400, "bad_query", "the query string is malformed: %v", err)
	}
	one := func(name string, required bool) (string, *rejection) {
		v, n := q.get(name)
		switch {
		case n > 1:
			return "", reject(400, "bad_parameter", "parameter %q is given %d times; give it once", name, n)
		case n == 0 && required:
			return "", reject(400, "missing_parameter", "parameter %q is required (see docs/FORMAT.md, Segment upload)", name)
		case n == 0:
			return "", nil
		}
		return v, nil
	}
	integer := func(name string, lo, hi int64) (int64, *rejection) {
		s, rj := one(name, true)
		if rj != nil {
			return 0, rj
		}
		if len(s) == 0 || len(s) > 16 || (len(s) > 1 && s[0] == '0') {
			return 0, reject(400, "bad_parameter", "parameter %q must be a decimal integer, got %.40q", name, s)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < lo || n > hi {
			return 0, reject(400, "bad_parameter", "parameter %q must be an integer from %d to %d, got %.40q", name, lo, hi, s)
		}
		return n, nil
	}
	id := func(name string) (string, *rejection) {
		s, rj := one(name, true)
		if rj != nil {
			return "", rj
		}
		if !store.ValidID(s) {
			return "", reject(400, "bad_id", "parameter %q must be 16 to 64 characters from [A-Za-z0-9_-]", name)
		}
		return s, nil
	}

	v, rj := one("v", true)
	if rj != nil {
		return nil, rj
	}
	if v != "1" {
		return nil, reject(400, "unsupported_version", "format version %.10q is not supported; this collector speaks v=1", v)
	}
	p := &params{}
	if p.key.Session, rj = id("sid"); rj != nil {
		return nil, rj
	}
	if p.key.View, rj = id("vid"); rj != nil {
		return nil, rj
	}
	seq, rj := integer("seq", 0, store.MaxSeq-1)
	if rj != nil {
		return nil, rj
	}
	p.key.Seq = int(seq)
	const maxTS = 1e15 // far beyond any real clock; the skew check narrows it
	if p.start, rj = integer("start", 0, maxTS); rj != nil {
		return nil, rj
	}
	if p.end, rj = integer("end", 0, maxTS); rj != nil {
		return nil, rj
	}
	if p.start > p.end {
		return nil, reject(400, "bad_parameter", "start (%d) is after end (%d)", p.start, p.end)
	}
	full, rj := integer("full", 0, 1)
	if rj != nil {
		return nil, rj
	}
	p.full = full == 1
	n, rj := integer("n", 1, 1<<31)
	if rj != nil {
		return nil, rj
	}
	p.records = int(n)
	if p.raw, rj = integer("raw", 2, 1<<40); rj != nil {
		return nil, rj
	}
	if p.enc, rj = one("enc", false); rj != nil {
		return nil, rj
	}
	if p.token, rj = one("ct", false); rj != nil {
		return nil, rj
	}
	if _, n := q.get("t"); n > 0 {
		if p.sent, rj = integer("t", 1, maxTS); rj != nil {
			return nil, rj
		}
	}
	return p, nil
}

// query is a parsed query string. The recorder's queries have a dozen
// parameters and nothing to unescape, so they are split in place, without
// the map (and its allocations) of url.ParseQuery; any other query is left
// to url.ParseQuery, so both read every query the same way.
type query struct {
	pairs [maxFastPairs][2]string
	n     int
	slow  url.Values // when not nil, the parse
}

const maxFastPairs = 16

func (q *query) parse(raw string) error {
	if strings.ContainsAny(raw, "%+;") || strings.Count(raw, "&") >= maxFastPairs {
		v, err := url.ParseQuery(raw)
		q.slow = v
		return err
	}
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		q.pairs[q.n] = [2]string{k, v}
		q.n++
	}
	return nil
}

// get returns the first value of name and how many times it is given.
func (q *query) get(name string) (string, int) {
	if q.slow != nil {
		v := q.slow[name]
		if len(v) == 0 {
			return "", 0
		}
		return v[0], len(v)
	}
	var first string
	n := 0
	for _, kv := range q.pairs[:q.n] {
		if kv[0] == name {
			if n == 0 {
				first = kv[1]
			}
			n++
		}
	}
	return first, n
}

// decoders pool the decompressors, which are costly to allocate.
var (
	gzipReaders sync.Pool
	zlibReaders sync.Pool
	gzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
		return w
	}}
	scanners = sync.Pool{New: func() any { return new(scanner) }}
)

// decoded is a validated segment body.
type decoded struct {
	facts *segFacts
	// gz is the body to store: the client's bytes when they were gzip,
	// else a fresh compression (in a buffer the caller must release).
	gz      []byte
	release func()
}

// decode decompresses body (encoded as enc: gzip, deflate or identity),
// validates it against p in one streaming pass, and gathers its facts.
// Decompression stops at the first byte past the declared raw size (or
// maxRaw): a zip bomb costs at most that much work.
func decode(body []byte, enc string, p *params, maxRaw int64) (*decoded, *rejection) {
	limit := min(p.raw, maxRaw)
	br := bytes.NewReader(body)
	var src io.Reader
	var closeSrc func()
	switch enc {
	case "gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(br)
		} else {
			err = zr.Reset(br)
		}
		if err != nil {
			return nil, reject(400, "bad_encoding", "the body is not gzip: %v", err)
		}
		zr.Multistream(false)
		src, closeSrc = zr, func() { gzipReaders.Put(zr) }
	case "deflate":
		var zr io.ReadCloser
		var err error
		if r, ok := zlibReaders.Get().(io.ReadCloser); ok {
			zr = r
			err = r.(zlib.Resetter).Reset(br, nil)
		} else {
			zr, err = zlib.NewReader(br)
		}
		if err != nil {
			return nil, reject(400, "bad_encoding", "the body is not deflate (zlib, RFC 1950): %v", err)
		}
		src, closeSrc = zr, func() { zlibReaders.Put(zr) }
	case "identity":
		src, closeSrc = br, func() {}
	default:
		return nil, reject(415, "unsupported_encoding", "encoding %.20q is not supported; use gzip, deflate or identity", enc)
	}
	defer closeSrc()

	out := &decoded{gz: body, release: func() {}}
	var tee io.Writer
	var zw *gzip.Writer
	var gzBuf *bytes.Buffer
	if enc != "gzip" {
		gzBuf = getBuffer()
		zw = gzipWriters.Get().(*gzip.Writer)
		zw.Reset(gzBuf)
		tee = zw
	}
	fail := func(rj *rejection) (*decoded, *rejection) {
		if zw != nil {
			gzipWriters.Put(zw)
			putBuffer(gzBuf)
		}
		return nil, rj
	}

	sc := scanners.Get().(*scanner)
	defer func() { sc.src, sc.tee = nil, nil; scanners.Put(sc) }()
	sc.reset(src, tee, limit)
	f := &segFacts{}
	if err := scanBody(sc, p, f); err != nil {
		return fail(bodyRejection(err, p, limit, maxRaw))
	}
	if got := sc.offset(); got != p.raw {
		return fail(reject(400, "raw_size_mismatch", "the body decompresses to %d bytes but raw=%d", got, p.raw))
	}
	if enc == "gzip" && br.Len() > 0 {
		return fail(reject(400, "bad_encoding", "%d bytes follow the gzip stream; send exactly one gzip member", br.Len()))
	}
	if enc == "deflate" && br.Len() > 0 {
		return fail(reject(400, "bad_encoding", "%d bytes follow the zlib stream; send exactly one stream", br.Len()))
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fail(reject(500, "internal", "re-compressing the body: %v", err))
		}
		gzipWriters.Put(zw)
		out.gz = gzBuf.Bytes()
		out.release = func() { putBuffer(gzBuf) }
	}
	out.facts = f
	return out, nil
}

// bodyRejection maps a scan error to the answer.
func bodyRejection(err error, p *params, limit, maxRaw int64) *rejection {
	var se *syntaxError
	var sch *schemaError
	var re *readError
	var rj *rejection
	switch {
	case errors.Is(err, errInflated):
		if limit == maxRaw && p.raw > maxRaw {
			return reject(413, "raw_too_large", "the body decompresses to more than %d bytes, the collector's limit", maxRaw)
		}
		return reject(413, "raw_too_large", "the body decompresses to more than raw=%d bytes", p.raw)
	case errors.As(err, &rj):
		return rj
	case errors.As(err, &re):
		if errors.Is(re.err, io.ErrUnexpectedEOF) {
			return reject(400, "truncated_body", "the compressed body ends too early (truncated upload?)")
		}
		return reject(400, "bad_encoding", "the body cannot be decompressed: %v", re.err)
	case errors.As(err, &se):
		return reject(400, "invalid_json", "%v", se)
	case errors.As(err, &sch):
		return reject(400, "invalid_event", "%v", sch)
	}
	return reject(400, "invalid_body", "%v", err)
}

// scanBody validates the top-level array and every event in it.
func scanBody(sc *scanner, p *params, f *segFacts) error {
	var e event
	var latest int64
	if c, ok := sc.ws(); !ok || c != '[' {
		if sc.err != nil && sc.err != io.EOF {
			return sc.err
		}
		return &schemaError{event: -1, msg: "the body must be a JSON array of events"}
	}
	err := sc.array(func(i int) error {
		if i >= p.records {
			return &schemaError{event: i, msg: fmt.Sprintf("the body has more events than n=%d", p.records)}
		}
		if c, ok := sc.ws(); !ok || c != '{' {
			if !ok || !startsValue(c) {
				return sc.failure("expected an event")
			}
			return &schemaError{event: i, msg: "an event must be a JSON object"}
		}
		if err := sc.readEvent(&e); err != nil {
			var dk *duplicateKey
			if errors.As(err, &dk) {
				return &schemaError{event: i, msg: dk.Error()}
			}
			return err
		}
		if err := e.check(i); err != nil {
			return err
		}
		if e.ts < p.start || e.ts > p.end {
			return &schemaError{event: i, msg: fmt.Sprintf("timestamp %d is outside the segment's start..end (%d..%d)", e.ts, p.start, p.end)}
		}
		if i > 0 && e.ts < latest-maxBackstep {
			return &schemaError{event: i, msg: fmt.Sprintf("timestamp %d goes back %d ms (more than %d) from an earlier event", e.ts, latest-e.ts, maxBackstep)}
		}
		latest = max(latest, e.ts)
		f.observe(&e)
		return nil
	})
	if err != nil {
		return err
	}
	if err := sc.finish(); err != nil {
		return err
	}
	switch {
	case f.events != p.records:
		return &schemaError{event: f.events, msg: fmt.Sprintf("the body has %d events but n=%d", f.events, p.records)}
	case f.full != p.full:
		return &schemaError{event: -1, msg: fmt.Sprintf("full=%d but the body %s a FullSnapshot (type 2)", boolInt(p.full), map[bool]string{true: "has", false: "has no"}[f.full])}
	case p.key.Seq == 0 && !(f.full && f.meta && f.metaFirst):
		return &schemaError{event: -1, msg: "the first segment of a view (seq=0) must hold a Meta event (type 4) followed by a FullSnapshot (type 2)"}
	}
	return nil
}

// startsValue reports whether c can start a JSON value.
func startsValue(c byte) bool {
	switch c {
	case '"', '{', '[', '-', 't', 'f', 'n':
		return true
	}
	return '0' <= c && c <= '9'
}

// buffers pool re-compression output.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer {
	b := buffers.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 4<<20 {
		buffers.Put(b)
	}
}
