package inject

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Config configures an Injector.
type Config struct {
	// Tag renders the element to inject into a page (usually with
	// ScriptTag), given what the page's CSP requires of it. It is called
	// once per injected response. Nil disables injection: the Injector then
	// only adds CORS headers and crossorigin attributes.
	Tag func(TagContext) []byte
	// ScriptIntegrity is the recorder script's SRI value
	// ("sha384-<base64>"). It is used only for pages whose CSP is a
	// hash-based 'strict-dynamic' policy: their script-src gets this hash
	// and the tag an integrity attribute. Empty: such pages are not
	// injected.
	ScriptIntegrity string
	// BasePath is where the recorder's files and ingest endpoint live on
	// the site; CSP amendments allow exactly this path. Default
	// "/__replay/". It must start and end with '/'.
	BasePath string
	// CORSOrigins get Access-Control-Allow-Origin on stylesheet, font and
	// image responses ("https://player.example.com"). "*" answers every
	// origin with "*" (never when the upstream allows credentials).
	CORSOrigins []string
	// CrossOriginOrigins lists origins, besides the page's own, whose
	// stylesheets and fonts get crossorigin="anonymous" in pages, so that
	// the recorder can read their rules. List only origins that answer
	// with Access-Control-Allow-Origin: without it the browser refuses
	// the stylesheet.
	CrossOriginOrigins []string
	// InjectErrorPages also injects into 4xx and 5xx HTML pages.
	InjectErrorPages bool
	// Tap, if set, observes the body of stylesheet, font and image
	// responses (status 200) as it passes, for the asset archive. It is
	// called once per such response with the request and the final
	// response headers (the body is as the upstream sent it: see
	// Content-Encoding). Returning nil skips the response. A Tap write
	// error stops the tap without affecting the response; Close is always
	// called, at the end of the response.
	Tap func(r *http.Request, h http.Header) io.WriteCloser
	// Scheme, if set, tells the scheme ("http" or "https") by which the
	// browser requested r; when it returns "", or when it is nil, the
	// scheme is https when r came over TLS. Behind a proxy that
	// terminates TLS, the page is https while r is not: the CSP and
	// crossorigin rules resolve the page's URLs with this scheme.
	Scheme func(r *http.Request) string
	// Unrecorded, if set, is called at WriteHeader time for a page that
	// would have carried the tag but for Wrap's inject=false, with the
	// request and the response headers, which it may still edit. No
	// recorder runs in such a page: the caller can do there what the
	// recorder would have done (the replay handler extends the visitor's
	// session).
	Unrecorded func(r *http.Request, h http.Header)
}

// Injector applies the injection rules to responses. It is safe for
// concurrent use.
type Injector struct {
	cfg    Config
	cors   *corsPolicy
	listed []origin // Config.CrossOriginOrigins, parsed
}

var sriPattern = regexp.MustCompile(`^sha(256|384|512)-[A-Za-z0-9+/]+={0,2}$`)

// New checks the configuration and returns an Injector.
func New(cfg Config) (*Injector, error) {
	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	if !strings.HasPrefix(cfg.BasePath, "/") || !strings.HasSuffix(cfg.BasePath, "/") || strings.ContainsAny(cfg.BasePath, " \t\r\n;,'\"") {
		return nil, fmt.Errorf("inject: base path %q must start and end with '/' and contain no spaces, quotes, ';' or ','", cfg.BasePath)
	}
	if cfg.ScriptIntegrity != "" && !sriPattern.MatchString(cfg.ScriptIntegrity) {
		return nil, fmt.Errorf("inject: script integrity %q is not an SRI value like sha384-<base64>", cfg.ScriptIntegrity)
	}
	var listed []origin
	for _, s := range cfg.CrossOriginOrigins {
		o, err := parseOrigin(s)
		if err != nil {
			return nil, fmt.Errorf("inject: crossorigin origins: %w", err)
		}
		listed = append(listed, o)
	}
	cors, err := newCORSPolicy(cfg.CORSOrigins)
	if err != nil {
		return nil, fmt.Errorf("inject: CORS origins: %w", err)
	}
	return &Injector{cfg: cfg, cors: cors, listed: listed}, nil
}

// PrepareRequest asks the upstream for an uncompressed body when the
// request is probably a page navigation (Sec-Fetch-Dest: document or
// iframe, or an Accept header asking for HTML), so that the page can be
// rewritten without being decompressed; Caddy's encode handler, which runs
// before us, still compresses the response for the client. It sets
// Accept-Encoding: identity in r.Header, in place: call it on the request
// that goes to the upstream. Other requests are not changed.
func (in *Injector) PrepareRequest(r *http.Request) {
	if in.cfg.Tag == nil || !likelyDocumentRequest(r) || noTransform(r.Header) {
		return
	}
	if r.Header.Get("Accept-Encoding") != "" {
		r.Header.Set("Accept-Encoding", "identity")
	}
}

// Wrap returns the writer to hand to the next handler in place of w. The
// caller must call its Close when the next handler returns (also after a
// panic or an error): Close writes what the rewriter held back and ends
// the decoding goroutine of a compressed page. inject=false (a visitor who
// is not recorded) keeps the CORS and crossorigin duties but never
// injects. The writer is not safe for concurrent use, like any
// http.ResponseWriter.
func (in *Injector) Wrap(w http.ResponseWriter, r *http.Request, inject bool) *ResponseWriter {
	return &ResponseWriter{w: w, in: in, req: r, inject: inject && in.cfg.Tag != nil}
}

// ResponseWriter applies the injection rules to one response. It decides
// at WriteHeader time (from the request and the response headers) what to
// do with the body, edits the headers accordingly, and then streams the
// body through the rewriter (decoding it first if needed), a tap, or
// untouched. It passes Flush through (after writing what the rewriter
// held back) and exposes the underlying writer with Unwrap, for
// http.ResponseController.
type ResponseWriter struct {
	w      http.ResponseWriter
	in     *Injector
	req    *http.Request
	inject bool

	excluded    bool
	wroteHeader bool
	closed      bool
	outcome     string
	rw          *Rewriter
	batch       batchWriter
	dec         *decodeWriter
	tap         io.WriteCloser
	err         error
}

// Header returns the response headers (those of the wrapped writer).
func (w *ResponseWriter) Header() http.Header { return w.w.Header() }

// Unwrap returns the wrapped writer (for http.ResponseController).
func (w *ResponseWriter) Unwrap() http.ResponseWriter { return w.w }

// WriteHeader decides how the response is handled and sends the headers.
// Informational responses (1xx but 101) pass through unchanged.
func (w *ResponseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		w.w.WriteHeader(code) // let net/http report the superfluous call
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if code == http.StatusEarlyHints && likelyDocumentRequest(w.req) && !noTransform(w.req.Header) {
			// Early hints preload what the page will link: keep them in
			// step with the crossorigin attributes the page will get.
			u := w.pageURL()
			amendLinkHeaders(w.w.Header(), u, newOriginSet(u, w.in.listed))
		}
		w.w.WriteHeader(code)
		return
	}
	w.wroteHeader = true
	w.setup(code)
	w.w.WriteHeader(code)
}

// Exclude makes the response pass through untouched, headers and body:
// no recorder, no CSP or ETag edit, no CORS header, no tap. A handler
// calls it, before writing, for responses that must never be recorded or
// edited (the replay player when it is mounted on a recorded site). It
// does nothing once the header is written.
func (w *ResponseWriter) Exclude() {
	if !w.wroteHeader {
		w.excluded = true
	}
}

// setup applies the rules: asset CORS and tap, or document rewriting.
func (w *ResponseWriter) setup(code int) {
	if w.excluded {
		w.outcome = SkipExcluded
		return
	}
	r, h := w.req, w.w.Header()
	ct := h.Get("Content-Type")
	mt := mediaType(ct)
	if !isDocumentType(mt) && assetKind(ct, r.URL.Path) {
		switch code {
		case http.StatusOK, http.StatusPartialContent, http.StatusNotModified:
			w.in.cors.apply(r, h)
		}
		if code == http.StatusOK && r.Method != http.MethodHead && w.in.cfg.Tap != nil {
			w.tap = w.in.cfg.Tap(r, h)
		}
		w.outcome = SkipNotHTML
		return
	}
	if code == http.StatusSwitchingProtocols || upgradeRequest(r) {
		w.outcome = SkipUpgrade
		return
	}
	if code == http.StatusNotModified {
		// The browser will merge these headers into its cached copy of a
		// page we rewrote: they must say what the rewritten 200 said.
		if w.inject && (mt == "" || isDocumentType(mt)) && likelyDocumentRequest(r) && !noTransform(r.Header) && !noTransform(h) {
			weakenETag(h)
			amendCSPHeaders(h, w.needs())
		}
		w.outcome = SkipStatus
		return
	}
	if !isDocumentType(mt) {
		w.outcome = SkipNotHTML
		return
	}
	if code != http.StatusOK && !(code >= 400 && code <= 599 && w.in.cfg.InjectErrorPages) {
		w.outcome = SkipStatus
		return
	}
	switch {
	case fragmentRequest(r):
		w.outcome = SkipFragment
	case noTransform(r.Header) || noTransform(h):
		w.outcome = SkipNoTransform
	case isAttachment(h.Get("Content-Disposition")):
		w.outcome = SkipAttachment
	case !asciiCompatible(ct):
		w.outcome = SkipCharset
	}
	if w.outcome != "" {
		return
	}
	enc, ok := decodable(h.Get("Content-Encoding"))
	if !ok {
		w.outcome = SkipEncoding
		return
	}
	compressed := enc != "" && enc != "identity"
	inject := w.inject
	if !inject {
		w.outcome = SkipUnsampled
		if w.in.cfg.Unrecorded != nil {
			w.in.cfg.Unrecorded(r, h)
		}
		if compressed {
			return // crossorigin alone is not worth decompressing for
		}
	}
	needs := w.needs()
	var policies []*cspPolicy
	var tc TagContext
	if inject {
		var ok bool
		policies, tc, ok = amendCSPHeaders(h, needs)
		if !ok {
			inject = false
			w.outcome = SkipCSP
		}
	}
	bodyChanged(h)
	if compressed {
		h.Del("Content-Encoding")
	}
	pageURL := w.pageURL()
	co := newOriginSet(pageURL, w.in.listed)
	amendLinkHeaders(h, pageURL, co)
	if r.Method == http.MethodHead {
		if w.outcome == "" {
			w.outcome = SkipMethod
		}
		return
	}
	opts := RewriteOptions{
		PageURL:            pageURL,
		BasePath:           w.in.cfg.BasePath,
		ScriptIntegrity:    w.in.cfg.ScriptIntegrity,
		CrossOriginOrigins: w.in.cfg.CrossOriginOrigins,
		XHTML:              mt == "application/xhtml+xml",
	}
	if inject {
		opts.Tag = w.in.cfg.Tag
	}
	w.batch.w = w.w
	w.rw = newRewriter(&w.batch, opts, w.in.listed)
	if inject {
		// The rewriter starts from the header policies (already amended)
		// and the tag context they decided; <meta> policies add to them.
		w.rw.policies, w.rw.tc = policies, tc
	}
	if compressed {
		w.dec = newDecodeWriter(enc, w.rw)
	}
}

// pageURL is the document's URL as the browser sees it.
func (w *ResponseWriter) pageURL() *url.URL {
	scheme := "http"
	if w.req.TLS != nil {
		scheme = "https"
	}
	if f := w.in.cfg.Scheme; f != nil {
		if s := f(w.req); s == "http" || s == "https" {
			scheme = s
		}
	}
	return &url.URL{Scheme: scheme, Host: w.req.Host, Path: w.req.URL.Path, RawQuery: w.req.URL.RawQuery}
}

func (w *ResponseWriter) needs() *cspNeeds {
	u := w.pageURL()
	return newCSPNeeds(u.Scheme, u.Host, w.in.cfg.BasePath, w.in.cfg.ScriptIntegrity)
}

// Write writes body bytes, through the rewriter when the response is a
// document being rewritten.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.closed {
		return 0, errClosed
	}
	if w.tap != nil {
		if _, err := w.tap.Write(p); err != nil {
			_ = w.tap.Close()
			w.tap = nil
		}
	}
	var n int
	var err error
	switch {
	case w.dec != nil:
		// When Write returns, the decoder has consumed p and waits for
		// more: what it produced is in the batch, safe to send from here.
		n, err = w.dec.Write(p)
	case w.rw != nil:
		n, err = w.rw.Write(p)
	default:
		return w.w.Write(p)
	}
	if ferr := w.batch.flush(false); err == nil {
		err = ferr
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// ReadFrom lets an untouched response keep the wrapped writer's fast path
// (sendfile for static files).
func (w *ResponseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if rf, ok := w.w.(io.ReaderFrom); ok && w.dec == nil && w.rw == nil && w.tap == nil && !w.closed {
		return rf.ReadFrom(src)
	}
	return io.Copy(onlyWriter{w}, src)
}

// FlushError writes what the rewriter holds back (a page that flushes
// right after <head> gets our tag with it) and flushes the wrapped writer.
func (w *ResponseWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.rw != nil && !w.closed {
		if err := w.rw.Flush(); err != nil {
			return err
		}
		if err := w.batch.flush(true); err != nil {
			return err
		}
	}
	return http.NewResponseController(w.w).Flush()
}

// Flush is FlushError for http.Flusher.
func (w *ResponseWriter) Flush() { _ = w.FlushError() }

// Close ends the response body: it writes what was held back and stops the
// decoder and the tap. It returns a decoding or writing error, if any
// (the response is then incomplete). It does not send headers when
// nothing was written.
func (w *ResponseWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	var errs []error
	if w.err != nil {
		errs = append(errs, w.err)
	}
	if w.dec != nil {
		if err := w.dec.Close(); err != nil && !errors.Is(err, w.err) {
			errs = append(errs, err)
		}
	}
	if w.rw != nil {
		if err := w.rw.Close(); err != nil && !errors.Is(err, w.err) {
			errs = append(errs, err)
		}
		if err := w.batch.release(); err != nil && !errors.Is(err, w.err) && len(errs) == 0 {
			errs = append(errs, err)
		}
	}
	if w.tap != nil {
		_ = w.tap.Close()
		w.tap = nil
	}
	w.err = errors.Join(errs...)
	return w.err
}

// Injected reports whether the tag was written into this response.
func (w *ResponseWriter) Injected() bool { return w.rw != nil && w.rw.Injected() }

// Outcome says what happened to the response: OutcomeInjected, or one of
// the Skip* reasons. It is final after Close.
func (w *ResponseWriter) Outcome() string {
	switch {
	case w.Injected():
		return OutcomeInjected
	case w.err != nil:
		return SkipError
	case w.outcome != "":
		return w.outcome
	case w.rw != nil && w.rw.Blocked():
		return SkipCSP
	case w.rw != nil && w.rw.notMarkup:
		return SkipNotHTML
	case w.rw != nil:
		return SkipNoPoint
	case !w.wroteHeader:
		return SkipNoPoint
	}
	return SkipNotHTML
}

// amendCSPHeaders amends the Content-Security-Policy and
// Content-Security-Policy-Report-Only headers for the recorder. It returns
// the parsed policies, the tag context they require, and false (leaving
// the headers alone) when an enforced policy cannot admit the recorder.
func amendCSPHeaders(h http.Header, needs *cspNeeds) ([]*cspPolicy, TagContext, bool) {
	type field struct {
		name     string
		policies [][]*cspPolicy // per header value
	}
	fields := []*field{{name: "Content-Security-Policy"}, {name: "Content-Security-Policy-Report-Only"}}
	var all []*cspPolicy
	for i, f := range fields {
		for _, v := range h.Values(f.name) {
			ps := parseCSPList(v, i == 1)
			f.policies = append(f.policies, ps)
			all = append(all, ps...)
		}
	}
	if len(all) == 0 {
		return nil, TagContext{}, true
	}
	tc, ok := decideTag(all, needs, TagContext{})
	if !ok {
		return all, tc, false
	}
	for _, p := range all {
		p.amend(needs, tc)
	}
	for _, f := range fields {
		changed := false
		vals := make([]string, len(f.policies))
		for i, ps := range f.policies {
			parts := make([]string, len(ps))
			for j, p := range ps {
				parts[j] = p.String()
				changed = changed || p.changed
			}
			vals[i] = strings.Join(parts, ",")
		}
		if changed {
			h[http.CanonicalHeaderKey(f.name)] = vals
		}
	}
	return all, tc, true
}
