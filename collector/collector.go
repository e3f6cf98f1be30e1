// Package collector is the ingest endpoint: it receives the recorder's
// segments (POST /__replay/v1/segments, see docs/FORMAT.md), refuses
// anything malformed or abusive with a JSON error a developer can act on,
// and stores the rest exactly once, with the session metadata the segment
// adds (pages, clicks, rage and dead clicks, errors, active time...).
//
// It is plain net/http: the replay Caddy handler mounts it, and tests and
// benchmarks run it without Caddy.
package collector

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/store"
)

// Defaults of Config's zero values.
const (
	DefaultMaxBodyBytes        = 1 << 20  // 1 MiB, compressed
	DefaultMaxRawBytes         = 16 << 20 // 16 MiB, decompressed
	DefaultMaxRecords          = 100_000
	DefaultMaxClockSkew        = 10 * time.Minute
	DefaultMaxAge              = 24 * time.Hour
	DefaultMaxConcurrentWrites = 128
	DefaultQueueTimeout        = time.Second
)

// Default rates. A recorder uploads about one segment every 5 s per tab,
// with short bursts after being offline; a client address may be a whole
// office behind one NAT.
var (
	DefaultClientRate  = Rate{PerSecond: 50, Burst: 200}
	DefaultSessionRate = Rate{PerSecond: 10, Burst: 60}
	// DefaultClientRawRate is in decompressed bytes. A recorder tab sends
	// a few KB a second; 16 MiB/s is thousands of tabs behind one
	// address, and costs the collector about 4% of a core to inflate and
	// scan.
	DefaultClientRawRate = Rate{PerSecond: 16 << 20, Burst: 64 << 20}
)

// Config configures a Collector. Only Store is required.
type Config struct {
	// Store receives the segments.
	Store store.Store
	// MaxBodyBytes caps the request body as sent (compressed).
	MaxBodyBytes int64
	// MaxRawBytes caps a body once decompressed; decompression stops at
	// the limit, so a zip bomb costs no more than this.
	MaxRawBytes int64
	// MaxRecords caps the events in one segment.
	MaxRecords int
	// MaxClockSkew is how far in the future a segment's end may be (a
	// visitor's clock that runs fast).
	MaxClockSkew time.Duration
	// MaxAge is how far in the past a segment's start may be (a recorder
	// that was offline for a long time).
	MaxAge time.Duration
	// AllowedOrigins are origins ("https://app.example.com", or "*") whose
	// pages may upload besides the request's own origin.
	AllowedOrigins []string
	// ClientToken, when set, must be given as the ct parameter.
	ClientToken string
	// ClientRate limits uploads per client address (per /64 for IPv6);
	// SessionRate per session. Over the limit: 429 with Retry-After.
	ClientRate, SessionRate Rate
	// ClientRawRate limits, per client address, the decompressed bytes
	// uploads announce (the raw parameter, which decompression never
	// goes past): the work a client can ask for, since a body of 16 KB
	// can inflate to 16 MiB. Over the limit: 429 with Retry-After. Zero
	// means DefaultClientRawRate, or no limit when ClientRate is disabled.
	ClientRawRate Rate
	// MaxConcurrentWrites bounds the uploads decoded and stored at once
	// (and so the memory they use). An upload that finds no slot within
	// QueueTimeout gets 503 with Retry-After.
	MaxConcurrentWrites int
	QueueTimeout        time.Duration
	// MaxBufferedBytes bounds the bytes of upload bodies held in memory
	// at once: being received, waiting for a write slot or being decoded.
	// Bodies are read before a slot is taken, so slow senders hold only
	// the bytes they sent; an upload that would go past the bound gets
	// 503 with Retry-After. Default: MaxConcurrentWrites × MaxBodyBytes.
	MaxBufferedBytes int64
	// StoreClientIP stores the client address with the session. Off by
	// default: no IP address is kept unless the operator asks.
	StoreClientIP bool
	// ClientIP returns the client address of a request (Caddy passes its
	// trusted-proxy-aware client_ip); nil means the host of RemoteAddr.
	ClientIP func(*http.Request) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives refusals (debug) and store errors (error).
	Logger *zap.Logger
	// Metrics is the registry for the collector's series (Caddy's);
	// nil registers nothing.
	Metrics prometheus.Registerer
}

// Collector is the ingest http.Handler.
type Collector struct {
	cfg     Config
	store   store.Store
	clients *limiter
	// clientBytes limits the decompressed bytes per client.
	clientBytes *limiter
	sessions    *limiter
	slots       chan struct{}
	anyOrigin   bool
	origins     map[string]bool
	metrics     *metrics
	log         *zap.Logger
	now         func() time.Time
	clientIP    func(*http.Request) string
	maxSkewMs   int64
	maxAgeMs    int64
	tokenBytes  []byte
	// clockLocks serialize, per session, the uploads whose clock
	// correction is read from the session (see clockLock).
	clockLocks [64]sync.Mutex
	// buffered counts the body bytes held by uploads (readBody), at most
	// about maxBuffered.
	buffered    atomic.Int64
	maxBuffered int64
	// lastExtra is the latest extra encoded: a session's uploads (and
	// most sessions of a site) send the same user agent, so most uploads
	// reuse its bytes instead of encoding them again.
	lastExtra atomic.Pointer[encodedExtra]
}

// encodedExtra is an extra and its JSON.
type encodedExtra struct {
	x extra
	b []byte
}

// encodeExtra returns x as JSON. The bytes may be shared with other
// uploads: they are read, never changed (their capacity is their length,
// so an append copies).
func (c *Collector) encodeExtra(x extra) []byte {
	if e := c.lastExtra.Load(); e != nil && e.x == x {
		return e.b
	}
	b, _ := json.Marshal(x) // strings always encode
	b = b[:len(b):len(b)]
	c.lastExtra.Store(&encodedExtra{x, b})
	return b
}

// New checks cfg, fills in defaults and returns a Collector.
func New(cfg Config) (*Collector, error) {
	if cfg.Store == nil {
		return nil, errors.New("collector: a store is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxRawBytes <= 0 {
		cfg.MaxRawBytes = DefaultMaxRawBytes
	}
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxConcurrentWrites <= 0 {
		cfg.MaxConcurrentWrites = DefaultMaxConcurrentWrites
	}
	if cfg.QueueTimeout <= 0 {
		cfg.QueueTimeout = DefaultQueueTimeout
	}
	if cfg.MaxBufferedBytes <= 0 {
		cfg.MaxBufferedBytes = int64(cfg.MaxConcurrentWrites) * cfg.MaxBodyBytes
	}
	cfg.ClientRate = cfg.ClientRate.withDefault(DefaultClientRate)
	cfg.SessionRate = cfg.SessionRate.withDefault(DefaultSessionRate)
	if cfg.ClientRawRate.PerSecond == 0 && cfg.ClientRate.PerSecond < 0 {
		// Per-client limits are off (a trusted ingest tier, a benchmark).
		cfg.ClientRawRate.PerSecond = -1
	}
	cfg.ClientRawRate = cfg.ClientRawRate.withDefault(DefaultClientRawRate)
	c := &Collector{
		cfg:         cfg,
		store:       cfg.Store,
		clients:     newLimiter(cfg.ClientRate),
		clientBytes: newLimiter(cfg.ClientRawRate),
		sessions:    newLimiter(cfg.SessionRate),
		slots:       make(chan struct{}, cfg.MaxConcurrentWrites),
		origins:     map[string]bool{},
		metrics:     newMetrics(cfg.Metrics),
		log:         cfg.Logger,
		now:         cfg.Now,
		clientIP:    cfg.ClientIP,
		maxSkewMs:   cfg.MaxClockSkew.Milliseconds(),
		maxAgeMs:    cfg.MaxAge.Milliseconds(),
		tokenBytes:  []byte(cfg.ClientToken),
		maxBuffered: cfg.MaxBufferedBytes,
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.clientIP == nil {
		c.clientIP = remoteHost
	}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			c.anyOrigin = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("collector: allowed origin %q must look like https://host[:port]", o)
		}
		c.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return c, nil
}

// rateKey is the client a rate limit counts an address as: an IPv4
// address alone, but a whole IPv6 /64, which is what one subscriber or
// host is given (and where privacy addresses rotate), so that walking
// through it buys no fresh bursts.
func rateKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a.Is4In6() {
		return a.Unmap().String()
	}
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return ip
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// extra is the request context stored beside a segment (NewSegment.Extra)
// so that Reindex can rebuild the metadata the events alone do not give.
type extra struct {
	UserAgent string `json:"ua,omitempty"`
	ClientIP  string `json:"ip,omitempty"`
	// Shift is how far the sender's clock was ahead of the server's (ms)
	// when the segment's timestamps were moved to the server's clock.
	Shift int64 `json:"shift,omitempty"`
}

// ServeHTTP handles one upload (and CORS preflights for allowed origins).
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c.metrics.inFlight.Inc()
	defer c.metrics.inFlight.Dec()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")

	dup, p, rj := c.handle(w, r)
	var result string // the latency label, when not accepted or duplicate
	switch {
	case rj != nil && rj.status == 0:
		result = rj.reason // answered already (a CORS preflight)
	case rj != nil:
		result = "rejected"
		c.metrics.rejected.WithLabelValues(rj.reason).Inc()
		if rj.retryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(rj.retryAfter))
		}
		if rj.status == http.StatusMethodNotAllowed {
			h.Set("Allow", "POST, OPTIONS")
		}
		if rj.status >= 500 {
			c.log.Error("segment upload failed", zap.String("reason", rj.reason), zap.String("message", rj.message), zap.String("detail", rj.detail))
		} else if ce := c.log.Check(zap.DebugLevel, "segment refused"); ce != nil {
			fields := []zap.Field{zap.Int("status", rj.status), zap.String("reason", rj.reason), zap.String("message", rj.message)}
			if p != nil {
				fields = append(fields, zap.String("session", p.key.Session), zap.String("view", p.key.View), zap.Int("seq", p.key.Seq))
			}
			ce.Write(fields...)
		}
		b, _ := json.Marshal(map[string]string{"error": rj.reason, "message": rj.message})
		writeJSON(w, rj.status, append(b, '\n'))
	case dup:
		c.metrics.duplicate.Inc()
		writeJSON(w, http.StatusOK, dupBody)
		c.metrics.duplicateTime.Observe(time.Since(start).Seconds())
		return
	default:
		writeJSON(w, http.StatusOK, okBody)
		c.metrics.acceptedTime.Observe(time.Since(start).Seconds())
		return
	}
	c.metrics.latency.WithLabelValues(result).Observe(time.Since(start).Seconds())
}

// The answers to a stored upload and to a duplicate, the same bytes every
// time.
var (
	okBody  = []byte(`{"ok":true}` + "\n")
	dupBody = []byte(`{"ok":true,"duplicate":true}` + "\n")
)

// writeJSON answers with status and b, a JSON document.
func writeJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// handle runs the checks in order of cost, cheapest first, so that abuse
// is refused before it costs a read, a decompression or a write.
func (c *Collector) handle(w http.ResponseWriter, r *http.Request) (dup bool, p *params, rj *rejection) {
	origin, rj := c.checkOrigin(r)
	if rj != nil {
		return false, nil, rj
	}
	if origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
		// Without it, a recorder on another origin cannot read how long
		// a 429 or 503 asks it to wait, and retries on its own schedule.
		w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
	}
	if r.Method == http.MethodOptions {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Content-Type, Content-Encoding")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return false, nil, &rejection{reason: "preflight"} // status 0: answered
	}
	if r.Method != http.MethodPost {
		return false, nil, reject(405, "method_not_allowed", "segments are uploaded with POST, not %.10s", r.Method)
	}
	now := c.now()
	ip := c.clientIP(r)
	client := rateKey(ip)
	if ok, wait := c.clients.allow(client, now); !ok {
		return false, nil, tooMany("client_rate_limited", "too many uploads from this address", wait)
	}
	p, rj = parseParams(r.URL.RawQuery)
	if rj != nil {
		return false, nil, rj
	}
	if len(c.tokenBytes) > 0 && subtle.ConstantTimeCompare([]byte(p.token), c.tokenBytes) != 1 {
		return false, p, reject(403, "bad_client_token", "the ct parameter does not match the configured client token")
	}
	nowMs := now.UnixMilli()
	slack := int64(0)
	if p.shift, slack, rj = c.clockShift(r.Context(), p, nowMs); rj != nil {
		return false, p, rj
	}
	// The windows are of the sender's clock when it said what it reads.
	if rj = c.checkWindows(p, nowMs, slack); rj != nil {
		return false, p, rj
	}
	if p.records > c.cfg.MaxRecords {
		return false, p, reject(413, "too_many_records", "n=%d is more than the %d events a segment may hold; flush more often", p.records, c.cfg.MaxRecords)
	}
	if p.raw > c.cfg.MaxRawBytes {
		return false, p, reject(413, "raw_too_large", "raw=%d is more than the %d bytes a segment may decompress to", p.raw, c.cfg.MaxRawBytes)
	}
	if ok, wait := c.clientBytes.allowN(client, now, float64(p.raw)); !ok {
		return false, p, tooMany("client_rate_limited", "too many decompressed bytes from this address", wait)
	}
	enc, rj := c.encoding(r, p)
	if rj != nil {
		return false, p, rj
	}
	if r.ContentLength > c.cfg.MaxBodyBytes {
		return false, p, reject(413, "body_too_large", "the body is %d bytes; the limit is %d", r.ContentLength, c.cfg.MaxBodyBytes)
	}
	if ok, wait := c.sessions.allow(p.key.Session, now); !ok {
		return false, p, tooMany("session_rate_limited", "too many uploads for this session", wait)
	}

	// The body is read before a write slot is taken: a slow sender (a bad
	// link, or a slowloris) then holds only the bytes it has sent, counted
	// against MaxBufferedBytes, never a slot that whole uploads need.
	body, releaseBody, rj := c.readBody(r)
	if rj != nil {
		return false, p, rj
	}
	defer releaseBody()
	// Decoding and storing cost memory and the store's time: take a slot,
	// or tell the client to come back.
	release, rj := c.acquire(r.Context())
	if rj != nil {
		return false, p, rj
	}
	defer release()
	if body.Len() == 0 {
		return false, p, reject(400, "empty_body", "the body is empty")
	}
	d, rj := decode(body.Bytes(), enc, p, c.cfg.MaxRawBytes)
	if rj != nil {
		return false, p, rj
	}
	defer d.release()
	if c.clockReadsSession(p, nowMs) {
		// The correction read above may be stale: another upload of this
		// session (another tab) may have stored its own since. Decide
		// again under the session's lock, held until this one is stored.
		mu := c.clockLock(p.key.Session)
		mu.Lock()
		defer mu.Unlock()
		if p.shift, slack, rj = c.clockShift(r.Context(), p, nowMs); rj != nil {
			return false, p, rj
		}
		if rj = c.checkWindows(p, nowMs, slack); rj != nil {
			return false, p, rj
		}
	}
	if p.shift != 0 {
		if d, rj = d.shifted(p, c.cfg.MaxRawBytes); rj != nil {
			return false, p, rj
		}
		defer d.release()
	}

	x := extra{UserAgent: truncate(r.UserAgent(), 512), Shift: p.shift}
	if c.cfg.StoreClientIP {
		x.ClientIP = ip
	}
	xb := c.encodeExtra(x)
	info := store.SegmentInfo{
		SegmentKey: p.key, Start: p.start, End: p.end, FullSnapshot: p.full,
		Records: p.records, RawSize: p.raw, Size: int64(len(d.gz)), Received: nowMs,
	}
	seg := &store.NewSegment{SegmentInfo: info, Body: d.gz, Extra: xb, Update: d.facts.update(info, x)}
	dup, err := c.store.PutSegment(r.Context(), seg)
	if err != nil {
		return false, p, storeRejection(err)
	}
	if !dup {
		c.metrics.accepted.Inc()
		if p.shift != 0 {
			c.metrics.clockCorrected.Inc()
		}
		c.metrics.storedBytes.Add(float64(len(d.gz)))
		c.metrics.rawBytes.Add(float64(p.raw))
	}
	return dup, p, nil
}

func tooMany(reason, what string, wait time.Duration) *rejection {
	secs := max(1, int((wait+time.Second-1)/time.Second))
	rj := reject(429, reason, "%s; retry after %d s", what, secs)
	rj.retryAfter = secs
	return rj
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// checkOrigin allows requests without an Origin (not from a browser page),
// from the request's own origin, and from configured origins. For an
// allowed cross-origin request it returns the origin to echo in
// Access-Control-Allow-Origin.
func (c *Collector) checkOrigin(r *http.Request) (string, *rejection) {
	o := r.Header.Get("Origin")
	if o == "" {
		return "", nil
	}
	// Same host is same site: the scheme is not compared, because behind a
	// proxy or load balancer that terminates TLS, Caddy sees plain HTTP
	// for pages the browser loaded over HTTPS (and browsers refuse mixed
	// content the other way round).
	u, err := url.Parse(o)
	if err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return "", nil
	}
	if c.anyOrigin || c.origins[strings.ToLower(o)] {
		return o, nil
	}
	return "", reject(403, "origin_not_allowed", "pages from %.100s may not upload here; add the origin to the collector's allowed origins", o)
}

// encoding picks the body's encoding from Content-Encoding, or from the
// enc parameter when no header could be set (sendBeacon).
func (c *Collector) encoding(r *http.Request, p *params) (string, *rejection) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && mt != "text/plain") {
		return "", reject(415, "unsupported_content_type", "Content-Type %.60q is not accepted; send application/json (or text/plain from sendBeacon)", ct)
	}
	ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	enc := p.enc
	switch {
	case ce != "" && enc != "" && ce != enc:
		return "", reject(400, "conflicting_encoding", "Content-Encoding %.20q and enc=%.20q disagree", ce, enc)
	case ce != "":
		enc = ce
	case enc == "":
		enc = "identity"
	}
	switch enc {
	case "gzip", "deflate", "identity":
		return enc, nil
	}
	return "", reject(415, "unsupported_encoding", "encoding %.20q is not supported; use gzip, deflate or identity", enc)
}

// acquire takes a write slot, waiting up to QueueTimeout.
func (c *Collector) acquire(ctx context.Context) (func(), *rejection) {
	release := func() { <-c.slots }
	select {
	case c.slots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(c.cfg.QueueTimeout)
	defer t.Stop()
	select {
	case c.slots <- struct{}{}:
		return release, nil
	case <-t.C:
		rj := reject(503, "overloaded", "the collector is busy; retry after 1 s")
		rj.retryAfter = 1
		return nil, rj
	case <-ctx.Done():
		return nil, reject(499, "client_gone", "the client went away while waiting")
	}
}

// readBody reads the whole compressed body, at most MaxBodyBytes. Its
// bytes count against MaxBufferedBytes as they arrive, not as the
// Content-Length announces them (so a sender that announces a large body
// and stalls holds nothing), until release is called.
func (c *Collector) readBody(r *http.Request) (body *bytes.Buffer, release func(), rj *rejection) {
	b := getBuffer()
	br := &budgetReader{src: io.LimitReader(r.Body, c.cfg.MaxBodyBytes+1), c: c}
	release = func() {
		c.buffered.Add(-br.held)
		putBuffer(b)
	}
	n, err := b.ReadFrom(br)
	switch {
	case errors.Is(err, errBufferFull):
		release()
		rj := reject(503, "overloaded", "the collector holds as many upload bytes as it may; retry after 1 s")
		rj.retryAfter = 1
		return nil, nil, rj
	case err != nil:
		release()
		return nil, nil, reject(400, "body_read_failed", "reading the body failed: %v", err)
	case n > c.cfg.MaxBodyBytes:
		release()
		return nil, nil, reject(413, "body_too_large", "the body is more than %d bytes", c.cfg.MaxBodyBytes)
	}
	return b, release, nil
}

// errBufferFull stops a body read that would take the bytes held by
// uploads past MaxBufferedBytes.
var errBufferFull = errors.New("collector: upload buffer budget spent")

// budgetReader counts the bytes read through it against the collector's
// MaxBufferedBytes.
type budgetReader struct {
	src  io.Reader
	c    *Collector
	held int64 // bytes counted so far, returned by readBody's release
}

// maxReadChunk bounds one Read, and so how far past the budget the bytes
// of one read may go before they are counted.
const maxReadChunk = 32 << 10

func (br *budgetReader) Read(p []byte) (int, error) {
	if len(p) > maxReadChunk {
		p = p[:maxReadChunk]
	}
	n, err := br.src.Read(p)
	if n > 0 {
		if br.c.buffered.Add(int64(n)) > br.c.maxBuffered {
			br.c.buffered.Add(-int64(n))
			return 0, errBufferFull
		}
		br.held += int64(n)
	}
	return n, err
}

// storeRejection maps a store error to the answer.
func storeRejection(err error) *rejection {
	switch {
	case errors.Is(err, store.ErrSessionDeleted):
		return reject(410, "session_deleted", "this session was deleted; start a new session")
	case errors.Is(err, store.ErrSessionFull):
		// 410 makes the recorder go on in a new session.
		return reject(410, "session_full", "this session holds as many views as a session may; start a new session")
	case errors.Is(err, store.ErrConflict):
		return reject(409, "duplicate_sequence", "a different segment with this sid, vid and seq is already stored; number segments uniquely")
	case errors.Is(err, store.ErrInvalid):
		return reject(400, "invalid_segment", "%v", err)
	case errors.Is(err, store.ErrFull):
		// The operator has to free space; the recorder keeps the segment
		// and retries, so come back in a while rather than at once.
		rj := reject(507, "storage_full", "the collector's storage is full; the segment was not stored: retry later")
		rj.retryAfter = 30
		return rj
	case errors.Is(err, store.ErrClosed), errors.Is(err, store.ErrBusy):
		rj := reject(503, "unavailable", "the store is not available right now (restarting?); retry")
		rj.retryAfter = 1
		return rj
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return reject(499, "client_gone", "the client went away before the segment was stored")
	}
	// The cause (file paths, SQL errors) is for the operator's log, not
	// for whoever posted the segment.
	rj := reject(500, "store_error", "storing the segment failed; the server's log says why: retry later")
	rj.detail = err.Error()
	return rj
}

// Summarizer returns the function Reindex uses to rebuild session
// metadata from stored segments.
func (c *Collector) Summarizer() store.Summarizer { return Summarize }

// Summarize is a store.Summarizer: it decodes a stored segment (a gzip JSON
// array of events) and returns the same session Update the collector made
// when the segment arrived. Timestamp windows are not applied: the segment
// was accepted when it arrived.
func Summarize(info store.SegmentInfo, x, body []byte) (func(*store.Session), error) {
	var ex extra
	if len(x) > 0 {
		if err := json.Unmarshal(x, &ex); err != nil {
			return nil, fmt.Errorf("segment extra: %w", err)
		}
	}
	p := &params{key: info.SegmentKey, start: info.Start, end: info.End, full: info.FullSnapshot, records: info.Records, raw: info.RawSize}
	d, rj := decode(body, "gzip", p, max(info.RawSize, 2))
	if rj != nil {
		return nil, rj
	}
	d.release()
	return d.facts.update(info, ex), nil
}
