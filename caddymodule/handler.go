package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/collector"
	"github.com/caddy-replay/caddy-replay/inject"
	"github.com/caddy-replay/caddy-replay/recorder"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the `replay` HTTP handler: put it in front of a site's
// reverse_proxy (or any handler that produces HTML) and every HTML
// document gets the recorder. It also serves the recorder's files and the
// ingest endpoint under BasePath, adds CORS headers to CSS, font and image
// responses for the configured origins, and marks stylesheet links
// crossorigin where that makes their rules readable.
//
// Injection skips what is not a document: non-HTML, HEAD, 204/206/304,
// upgrades, fragment requests (htmx, Turbo frames, XHR, fetch), responses
// marked `Cache-Control: no-transform`, and visitors whose session cookie
// says they were not sampled.
type Handler struct {
	// BasePath is the path prefix of the recorder's files and of the ingest
	// endpoint on this site. It must not collide with the application's
	// own paths. Default: "/__replay/". Inside handle_path /shop/*, the
	// page's tag names /shop/__replay/ (the prefix the browser needs,
	// which handle_path strips again).
	BasePath string `json:"base_path,omitempty"`

	// ApplicationID, ClientToken, Service, Env and Version are passed to
	// the recorder with the spec's option names (applicationId,
	// clientToken, service, env, version) and stored with each session.
	// When ClientToken is set, the ingest endpoint only accepts uploads
	// that carry it (like Datadog's client token, it is public and only
	// keeps casual noise out).
	ApplicationID string `json:"application_id,omitempty"`
	ClientToken   string `json:"client_token,omitempty"`
	Service       string `json:"service,omitempty"`
	Env           string `json:"env,omitempty"`
	Version       string `json:"version,omitempty"`

	// SampleRate is the percentage of sessions tracked (0–100) and
	// ReplaySampleRate the percentage of tracked sessions recorded
	// (0–100): a session is recorded with probability SampleRate ×
	// ReplaySampleRate / 10000, decided once per session from its id.
	// Both default to 100. With either at 0 nothing is recorded, and
	// visitors whose cookie says "not sampled" get no script at all.
	SampleRate       *float64 `json:"sample_rate,omitempty"`
	ReplaySampleRate *float64 `json:"replay_sample_rate,omitempty"`

	// TrackInteractions adds an automatic replay/action event for each
	// click, naming what was clicked (default true), as Datadog's
	// trackUserInteractions does. Clicks, input and scrolling themselves
	// are recorded either way: the replay needs them.
	TrackInteractions *bool `json:"track_interactions,omitempty"`

	// Start is "auto" (default: recording starts when the page loads) or
	// "manual" (only after the page calls
	// SessionReplay.startSessionReplayRecording()).
	Start string `json:"start,omitempty"`

	// Privacy is the default privacy level: "allow" (record text and
	// input values), "mask-user-input" (default: record text, mask what
	// visitors type), "mask" (mask all text and values, empty images and
	// links) or "hidden" (keep only the layout). Elements override it with data-replay-privacy;
	// passwords, emails, phone numbers, payment-card and hidden fields are
	// always masked.
	Privacy string `json:"privacy,omitempty"`

	// CORSOrigins are origins (scheme://host[:port]) that get
	// Access-Control-Allow-Origin on this site's CSS, font and image
	// responses: the player's origin, so replays can load them, and the
	// origins of other sites whose pages use these assets.
	CORSOrigins []string `json:"cors_origins,omitempty"`

	// CrossOriginOrigins are other origins whose stylesheets and fonts
	// answer with CORS headers: links to them get crossorigin="anonymous"
	// so the recorder can read their rules. Links to the page's own origin
	// always do.
	CrossOriginOrigins []string `json:"crossorigin_origins,omitempty"`

	// InjectErrorPages also records 4xx and 5xx HTML pages.
	InjectErrorPages bool `json:"inject_error_pages,omitempty"`

	// DisableInjection turns the recorder injection off for this site
	// while keeping CORS headers and the ingest endpoint (for asset-only
	// sites, or pages that include the recorder by hand).
	DisableInjection bool `json:"disable_injection,omitempty"`

	// Ingest configures the endpoint that receives recordings.
	Ingest *Ingest `json:"ingest,omitempty"`

	bundle    *recorder.Bundle
	injector  *inject.Injector
	collector *collector.Collector
	app       *App
	logger    *zap.Logger
	metrics   *handlerMetrics
	sampling  float64

	prefixed *prefixInjectors
}

// prefixInjectors holds the injectors for pages under a stripped prefix
// (prefix → *inject.Injector), at most maxPrefixInjectors of them.
type prefixInjectors struct {
	m sync.Map
	n atomic.Int32
}

// Ingest configures the ingest endpoint (BasePath + "v1/segments").
type Ingest struct {
	// Disabled turns the endpoint off here: uploads go on to the handlers
	// after replay, so that a site can send them to a collector elsewhere
	// (e.g. reverse_proxy to a central Caddy that ingests).
	Disabled bool `json:"disabled,omitempty"`
	// MaxBodySize caps a compressed upload in bytes. Default: 1 MiB.
	MaxBodySize int64 `json:"max_body_size,omitempty"`
	// MaxRawSize caps an upload once decompressed, in bytes; a body that
	// inflates past it is cut off at the limit. Default: 16 MiB.
	MaxRawSize int64 `json:"max_raw_size,omitempty"`
	// MaxRecords caps the events in one upload. Default: 100,000.
	MaxRecords int `json:"max_records,omitempty"`
	// AllowedOrigins may upload besides the site's own origin (pages on
	// other origins that include this site's recorder by hand); "*"
	// allows any origin.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// ClientRate limits the uploads of one client (IP address): a token
	// bucket of `burst` uploads refilled at `per_second`. Past it: 429
	// with Retry-After. Default: 50 per second, burst 200. A negative
	// per_second disables the limit.
	ClientRate collector.Rate `json:"client_rate,omitzero"`
	// SessionRate limits the uploads of one recording session (all its
	// tabs). Default: 10 per second, burst 60.
	SessionRate collector.Rate `json:"session_rate,omitzero"`
	// ClientRawRate limits, per client, the decompressed bytes its
	// uploads announce: a small body can inflate a thousandfold, so this
	// bounds the work one client can ask for. per_second and burst are in
	// bytes. Past it: 429 with Retry-After. Default: 16 MiB per second,
	// burst 64 MiB; off when client_rate is disabled, unless set. A
	// negative per_second disables it.
	ClientRawRate collector.Rate `json:"client_raw_rate,omitzero"`
	// MaxConcurrentWrites bounds uploads being decoded and stored at once;
	// an upload that finds no slot within a second gets 503 with
	// Retry-After, so overload never grows memory without bound.
	// Default: 128.
	MaxConcurrentWrites int `json:"max_concurrent_writes,omitempty"`
	// MaxBufferedSize bounds the upload bodies held in memory at once, in
	// bytes (being received, waiting for a write slot or being decoded).
	// Bodies are read before they take a write slot, so a slow sender
	// holds only what it sent; an upload that would go past the bound
	// gets 503 with Retry-After. Default: max_concurrent_writes ×
	// max_body_size (128 MiB).
	MaxBufferedSize int64 `json:"max_buffered_size,omitempty"`
	// StoreClientIP stores the visitor's IP address with the session. Off
	// by default: no IP address is stored.
	StoreClientIP bool `json:"store_client_ip,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.replay",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision builds the recorder bundle, the injector and the collector.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := h.validate(); err != nil {
		return err
	}
	appVal, err := ctx.App("replay")
	if err != nil {
		return fmt.Errorf("replay: loading the replay app: %v", err)
	}
	h.app = appVal.(*App)

	h.metrics, err = newHandlerMetrics(ctx.GetMetricsRegistry())
	if err != nil {
		return fmt.Errorf("replay: metrics: %v", err)
	}
	h.bundle, err = recorder.Load()
	if err != nil {
		return fmt.Errorf("replay: building the recorder: %v", err)
	}
	h.sampling = h.rate(h.SampleRate) * h.rate(h.ReplaySampleRate) / 100

	h.prefixed = new(prefixInjectors)
	h.injector, err = h.newInjector("")
	if err != nil {
		return fmt.Errorf("replay: %v", err)
	}

	ing := h.Ingest
	if ing == nil {
		ing = new(Ingest)
	}
	if ing.Disabled && !h.DisableInjection {
		// Not an error (a central collector may take the uploads), but
		// without one every recorded visit stops at its first upload.
		h.logger.Info("ingest is off: the recorder's uploads go to the handlers after replay; route them to a collector",
			zap.String("path", h.BasePath+segmentsPath))
	}
	if !ing.Disabled {
		h.collector, err = collector.New(collector.Config{
			Store:        h.app.Store(),
			MaxBodyBytes: ing.MaxBodySize,
			MaxRawBytes:  ing.MaxRawSize,
			MaxRecords:   ing.MaxRecords,
			// A segment older than the retention would be expired at the
			// janitor's next pass, and, its session gone already, it
			// would come back as a fragment without its beginning.
			MaxAge:              min(collector.DefaultMaxAge, time.Duration(h.app.Retention)),
			AllowedOrigins:      ing.AllowedOrigins,
			ClientToken:         h.ClientToken,
			ClientRate:          ing.ClientRate,
			SessionRate:         ing.SessionRate,
			ClientRawRate:       ing.ClientRawRate,
			MaxConcurrentWrites: ing.MaxConcurrentWrites,
			MaxBufferedBytes:    ing.MaxBufferedSize,
			StoreClientIP:       ing.StoreClientIP,
			ClientIP:            clientIP,
			Logger:              h.logger.Named("collector"),
			Metrics:             ctx.GetMetricsRegistry(),
		})
		if err != nil {
			return fmt.Errorf("replay: ingest: %v", err)
		}
	}
	return nil
}

// newInjector builds the injector for pages whose public path starts
// with prefix before the path replay sees (see strippedPrefix): the tag,
// its endpoint and the CSP amendment name prefix+BasePath.
func (h *Handler) newInjector(prefix string) (*inject.Injector, error) {
	base := prefix + h.BasePath
	return inject.New(inject.Config{
		Tag:                inject.ScriptTagFunc(base+h.bundle.Script.Name, h.tagAttrs(base)),
		ScriptIntegrity:    h.bundle.Script.Integrity,
		BasePath:           base,
		CORSOrigins:        h.CORSOrigins,
		CrossOriginOrigins: h.CrossOriginOrigins,
		InjectErrorPages:   h.InjectErrorPages,
		Scheme:             forwardedScheme,
		Unrecorded:         extendUnsampled,
	})
}

// maxPrefixInjectors bounds the injectors kept for stripped prefixes: a
// configuration has a few handle_path blocks, but a rewrite that drops
// the front of arbitrary paths would make one per request path.
const maxPrefixInjectors = 16

// injectorFor returns the injector for pages under the stripped prefix.
func (h *Handler) injectorFor(prefix string) *inject.Injector {
	if prefix == "" {
		return h.injector
	}
	if in, ok := h.prefixed.m.Load(prefix); ok {
		return in.(*inject.Injector)
	}
	in, err := h.newInjector(prefix)
	if err != nil {
		// strippedPrefix only returns prefixes that New accepts; should
		// that ever change, record the page as if it were unprefixed.
		h.logger.Debug("no injector for a stripped prefix", zap.String("prefix", prefix), zap.Error(err))
		return h.injector
	}
	if h.prefixed.n.Add(1) <= maxPrefixInjectors {
		actual, _ := h.prefixed.m.LoadOrStore(prefix, in)
		return actual.(*inject.Injector)
	}
	return in
}

// strippedPrefix is the front of the request's path that a handler
// before replay removed (handle_path /shop/* turns /shop/page into
// /page): the browser knows the page as /shop/page, so the recorder's
// URLs must be /shop/__replay/…, which handle_path then strips back to
// BasePath. "" when the path was not shortened at its front, or when the
// prefix holds characters that a CSP source or a URL would need escaped.
func strippedPrefix(r *http.Request) string {
	orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request)
	if !ok || orig.URL == nil {
		return ""
	}
	op, cur := orig.URL.Path, r.URL.Path
	if len(op) <= len(cur) || !strings.HasPrefix(cur, "/") || !strings.HasSuffix(op, cur) {
		return ""
	}
	prefix := op[:len(op)-len(cur)]
	if !strings.HasPrefix(prefix, "/") {
		return ""
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/-._~", c) >= 0) {
			return ""
		}
	}
	return prefix
}

// ownFile finds a request for one of replay's own files that reached
// replay by another path than BasePath itself: the URL of a page's tag
// carries the prefix a handler stripped from the page's path (see
// strippedPrefix), and a rewrite that is no handle_path (rewrite
// /legacy/page /page, try_files) leaves /legacy/__replay/… as it is, or
// rewrites it elsewhere. Only the exact names replay serves are taken
// (the script, a stale build, the ingest endpoint when it is on), so the
// application keeps every other path. It returns the file's name under
// BasePath and the public base to redirect to.
func (h *Handler) ownFile(r *http.Request) (rest, base string, ok bool) {
	paths := []string{r.URL.Path}
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil && orig.URL.Path != r.URL.Path {
		paths = append(paths, orig.URL.Path)
	}
	for _, p := range paths {
		i := strings.LastIndex(p, h.BasePath)
		if i <= 0 {
			continue
		}
		rest := p[i+len(h.BasePath):]
		if rest == h.bundle.Script.Name || rest == segmentsPath && h.collector != nil ||
			isStaleAsset(rest, "recorder-worker.") || isStaleAsset(rest, "recorder.") {
			return rest, p[:i+len(h.BasePath)], true
		}
	}
	return "", "", false
}

// forwardedScheme is the scheme a trusted proxy in front of Caddy (the
// server's trusted_proxies) says the browser used, in X-Forwarded-Proto:
// behind a load balancer that terminates TLS, pages are https while the
// request Caddy sees is not. Otherwise "" (the request's own scheme).
func forwardedScheme(r *http.Request) string {
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); !trusted {
		return ""
	}
	p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.ToLower(strings.TrimSpace(p))
}

func (h *Handler) validate() error {
	if h.BasePath == "" {
		h.BasePath = "/__replay/"
	}
	for _, opt := range [][2]string{{"base_path", h.BasePath}, {"start", h.Start}, {"privacy", h.Privacy}} {
		if err := checkOption(opt[0], opt[1]); err != nil {
			return fmt.Errorf("replay: %v", err)
		}
	}
	for name, r := range map[string]*float64{"sample_rate": h.SampleRate, "replay_sample_rate": h.ReplaySampleRate} {
		if r != nil && (*r < 0 || *r > 100) {
			return fmt.Errorf("replay: %s must be between 0 and 100, got %v", name, *r)
		}
	}
	for name, list := range map[string][]string{"cors_origins": h.CORSOrigins, "crossorigin_origins": h.CrossOriginOrigins} {
		for _, o := range list {
			if err := checkOrigin(o); err != nil {
				return fmt.Errorf("replay: %s: %v", name, err)
			}
		}
	}
	if h.Ingest != nil {
		for _, o := range h.Ingest.AllowedOrigins {
			if o == "*" {
				continue
			}
			if err := checkOrigin(o); err != nil {
				return fmt.Errorf("replay: ingest: allowed_origins: %v", err)
			}
		}
	}
	return nil
}

// checkOption checks the value of a string option that takes one of a
// few forms (the Caddyfile parser calls it too, so that its errors name
// the line). Its errors start with the option's name: callers add where
// it was set (Caddy's Caddyfile errors already say "for 'replay'").
func checkOption(opt, val string) error {
	switch opt {
	case "base_path":
		if !strings.HasPrefix(val, "/") || !strings.HasSuffix(val, "/") {
			return fmt.Errorf("base_path must start and end with '/', got %q", val)
		}
		// Named, since a path that looks fine may hold one unnoticed.
		if i := strings.IndexAny(val, "?#\"'<> "); i >= 0 {
			return fmt.Errorf("base_path may contain no quote, space, '<', '>', '?' or '#', got %q (with %q)", val, val[i:i+1])
		}
	case "start":
		switch val {
		case "", "auto", "manual":
		default:
			return fmt.Errorf("start must be auto or manual, got %q", val)
		}
	case "privacy":
		switch val {
		case "", "allow", "mask", "mask-user-input", "hidden":
		default:
			return fmt.Errorf("privacy must be allow, mask, mask-user-input or hidden, got %q", val)
		}
	}
	return nil
}

// checkOrigin accepts a serialized origin: scheme://host[:port], nothing
// more.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("%q is not an origin (want scheme://host[:port], e.g. https://player.example.com)", o)
	}
	return nil
}

func (h *Handler) rate(r *float64) float64 {
	if r == nil {
		return 100
	}
	return *r
}

// tagAttrs is the recorder's configuration as the injected tag's data-
// attributes (docs/FORMAT.md lists them): no inline script, so no CSP hash
// or 'unsafe-inline' is ever needed.
func (h *Handler) tagAttrs(base string) []inject.Attr {
	var attrs []inject.Attr
	add := func(name, val string) {
		if val != "" {
			attrs = append(attrs, inject.Attr{Name: "data-" + name, Value: val})
		}
	}
	add("endpoint", base+segmentsPath)
	add("application-id", h.ApplicationID)
	add("client-token", h.ClientToken)
	add("service", h.Service)
	add("env", h.Env)
	add("version", h.Version)
	if h.SampleRate != nil {
		add("sample-rate", strconv.FormatFloat(*h.SampleRate, 'f', -1, 64))
	}
	if h.ReplaySampleRate != nil {
		add("replay-sample-rate", strconv.FormatFloat(*h.ReplaySampleRate, 'f', -1, 64))
	}
	if h.TrackInteractions != nil {
		add("track-interactions", strconv.FormatBool(*h.TrackInteractions))
	}
	add("start", h.Start)
	add("privacy", h.Privacy)
	return attrs
}

// segmentsPath is the ingest endpoint, under BasePath.
const segmentsPath = "v1/segments"

// ServeHTTP serves BasePath itself and records everything else.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if rest, ok := strings.CutPrefix(r.URL.Path, h.BasePath); ok {
		if rest == segmentsPath && h.collector == nil {
			// Ingest is off here: the handlers after us take uploads.
			return next.ServeHTTP(w, r)
		}
		base := h.BasePath
		if prefix := strippedPrefix(r); prefix != "" {
			base = prefix + h.BasePath
		}
		h.serveOwn(w, r, rest, base)
		return nil
	}
	if rest, base, ok := h.ownFile(r); ok {
		h.serveOwn(w, r, rest, base)
		return nil
	}
	if r.Context().Value(outerReplayKey{}) != nil {
		// A replay handler before this one (a second directive in the
		// site, a snippet imported twice, a nested route) already wraps
		// the response: a second wrapper would inject a second recorder
		// with another configuration and add CORS headers twice.
		return next.ServeHTTP(w, r)
	}
	state := new(replayRequest)
	r = r.WithContext(context.WithValue(r.Context(), outerReplayKey{}, state))
	record := !h.DisableInjection && h.sampling > 0 && !unsampledVisitor(r, time.Now())
	injector := h.injectorFor(strippedPrefix(r))
	if record {
		injector.PrepareRequest(r)
	}
	rw := injector.Wrap(w, r, record)
	state.rw = rw
	err := next.ServeHTTP(rw, r)
	if cerr := rw.Close(); cerr != nil && err == nil {
		// The response is already on its way; all we can do is say why it
		// may be incomplete.
		h.logger.Debug("finishing a rewritten response", zap.String("uri", r.RequestURI), zap.Error(cerr))
	}
	outcome := rw.Outcome()
	h.metrics.responses.WithLabelValues(outcome).Inc()
	// {http.vars.replay_outcome} lets access logs say what happened.
	caddyhttp.SetVar(r.Context(), "replay_outcome", outcome)
	return err
}

// outerReplayKey marks a request's context once a replay handler wraps its
// response, so that only the first replay handler on a route records it.
// Its value is a *replayRequest.
type outerReplayKey struct{}

// replayRequest is what handlers after replay may need of the wrapper of
// their response: the player excludes its own responses from recording.
type replayRequest struct {
	rw *inject.ResponseWriter
}

// excludeFromRecording makes the response to r pass through a replay
// handler that wraps it untouched (no recorder, no header edits). The
// player calls it: mounted on a recorded site (handle_path /replay/*),
// its own page would be recorded, with the sessions it shows.
func excludeFromRecording(r *http.Request) {
	if st, ok := r.Context().Value(outerReplayKey{}).(*replayRequest); ok && st.rw != nil {
		st.rw.Exclude()
	}
}

// serveOwn serves the recorder's files and the ingest endpoint; base is
// BasePath as the browser knows it (with a stripped prefix in front).
func (h *Handler) serveOwn(w http.ResponseWriter, r *http.Request, rest, base string) {
	switch {
	case rest == segmentsPath:
		h.collector.ServeHTTP(w, r)
	case rest == h.bundle.Script.Name:
		h.bundle.Script.ServeHTTP(w, r)
	case isStaleAsset(rest, "recorder-worker."), isStaleAsset(rest, "recorder."):
		// A page cached before an upgrade asks for a previous build (or,
		// from builds before the script became its own worker, for a
		// separate worker): send it to the current script rather than
		// break recording.
		w.Header().Set("Cache-Control", "no-cache")
		http.Redirect(w, r, base+h.bundle.Script.Name, http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

// isStaleAsset reports whether name looks like a content-hashed build of
// stem ("recorder.<hex>.js").
func isStaleAsset(name, stem string) bool {
	hash, ok := strings.CutPrefix(name, stem)
	if !ok {
		return false
	}
	hash, ok = strings.CutSuffix(hash, ".js")
	if !ok || len(hash) == 0 || len(hash) > 64 {
		return false
	}
	for _, c := range hash {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// unsampledVisitor reports whether the request carries a live session
// cookie that says this session is not recorded: such visitors get no
// script at all. The recorder writes the cookie; recorder.ParseCookie is
// the one reading of it that both sides share.
func unsampledVisitor(r *http.Request, now time.Time) bool {
	c, err := r.Cookie(recorder.CookieName)
	if err != nil {
		return false
	}
	s, ok := recorder.ParseCookie(c.Value)
	return ok && s.SkipRecorder(now)
}

// extendUnsampled extends, on each page it serves, the session of a visitor
// who is not recorded, as the recorder extends a recorded visitor's on
// activity. No recorder runs in their pages (unsampledVisitor), so
// without this their session ended 15 minutes after it began however busy
// the visit, and the next page sampled them again: at a 10 % rate, part
// of a third of hour-long visits was recorded, each from the middle.
//
// A response marked for shared caches (public, s-maxage) is left alone:
// a cache in front of Caddy could hand this visitor's cookie to others.
func extendUnsampled(r *http.Request, h http.Header) {
	c, err := r.Cookie(recorder.CookieName)
	if err != nil {
		return
	}
	s, ok := recorder.ParseCookie(c.Value)
	now := time.Now()
	if !ok || !s.SkipRecorder(now) || sharedCacheable(h) {
		return
	}
	ext := s.ExtendedAt(now)
	if ext.Expires.Sub(s.Expires) < time.Second {
		return // extended a moment ago
	}
	scheme := forwardedScheme(r)
	if scheme == "" && r.TLS != nil {
		scheme = "https"
	}
	h.Add("Set-Cookie", ext.Cookie(now, scheme == "https").String())
}

// sharedCacheable reports whether response headers h allow a shared cache
// to store the response explicitly (Cache-Control public or s-maxage).
func sharedCacheable(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "public" || strings.HasPrefix(d, "s-maxage") {
				return true
			}
		}
	}
	return false
}

// clientIP is the visitor's address as Caddy determined it (honouring
// trusted_proxies).
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
