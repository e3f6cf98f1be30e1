package inject

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const page = `<!doctype html><html><head><meta charset="utf-8"><title>t</title><link rel="stylesheet" href="/s.css"></head><body><p>hello</p></body></html>`

// wantPage is page with our tag and the crossorigin attribute.
var wantPage = strings.Replace(strings.Replace(page, `<meta charset="utf-8">`, `<meta charset="utf-8">`+string(testTag(TagContext{})), 1),
	`<link rel=`, `<link crossorigin="anonymous" rel=`, 1)

func newInjector(t testing.TB, mod func(*Config)) *Injector {
	t.Helper()
	// An asset origin is listed, as in the demo: links to the page's own
	// origin get crossorigin too (with none listed they are left alone,
	// see TestNothingListedChangesNoStylesheet).
	cfg := Config{Tag: testTag, CORSOrigins: []string{"https://player.example"}, CrossOriginOrigins: []string{"https://cdn.example.com"}}
	if mod != nil {
		mod(&cfg)
	}
	in, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// serve runs upstream behind the injector (as the Caddy handler will) on
// a loopback test server.
func serve(t testing.TB, in *Injector, sampled bool, upstream http.HandlerFunc) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.PrepareRequest(r)
		rw := in.Wrap(w, r, sampled)
		upstream(rw, r)
		if err := rw.Close(); err != nil {
			mu.Lock()
			w.Header() // keep the server quiet; errors are checked by the tests that expect them
			mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// get sends a request without transparent decompression.
func get(t testing.TB, srv *httptest.Server, method, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	req.Header.Set("Accept-Encoding", "gzip, br, zstd") // so Go's client does not decode for us
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	return resp, string(b)
}

// htmlUpstream answers page with the given headers and status.
func htmlUpstream(status int, hdr map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", "999")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Accept-Ranges", "bytes")
		for k, v := range hdr {
			if v == "" {
				w.Header().Del(k)
			} else {
				w.Header().Set(k, v)
			}
		}
		w.Header().Set("Content-Length", itoa(len(body)))
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func TestWrapInjects(t *testing.T) {
	srv := serve(t, newInjector(t, nil), true, htmlUpstream(200, nil, page))
	resp, body := get(t, srv, "GET", "/", map[string]string{"Sec-Fetch-Dest": "document"})
	if body != wantPage {
		t.Fatalf("\n got: %q\nwant: %q", body, wantPage)
	}
	// net/http computes a Content-Length itself when a handler's whole
	// body fits its buffer: it must then be the rewritten length.
	if resp.ContentLength != -1 && resp.ContentLength != int64(len(wantPage)) {
		t.Errorf("Content-Length %d for a %d-byte body", resp.ContentLength, len(wantPage))
	}
	if resp.Header.Get("ETag") != `W/"v1"` {
		t.Errorf("ETag %q, want weak", resp.Header.Get("ETag"))
	}
	if resp.Header.Get("Accept-Ranges") != "" {
		t.Error("Accept-Ranges kept on a rewritten body")
	}
}

// TestSkipRules covers every rule that leaves a response alone.
func TestSkipRules(t *testing.T) {
	type tc struct {
		name    string
		mod     func(*Config)
		sampled bool
		method  string
		req     map[string]string
		status  int
		resp    map[string]string
		inject  bool
	}
	cases := []tc{
		{name: "a page is injected", inject: true},
		{name: "XHTML is injected", resp: map[string]string{"Content-Type": "application/xhtml+xml"}, inject: true},
		{name: "not HTML: text/plain", resp: map[string]string{"Content-Type": "text/plain"}},
		{name: "not HTML: JSON", resp: map[string]string{"Content-Type": "application/json"}},
		{name: "no Content-Type is not sniffed", resp: map[string]string{"Content-Type": ""}},
		{name: "404 page", status: 404},
		{name: "404 page with InjectErrorPages", status: 404, mod: func(c *Config) { c.InjectErrorPages = true }, inject: true},
		{name: "503 page with InjectErrorPages", status: 503, mod: func(c *Config) { c.InjectErrorPages = true }, inject: true},
		{name: "201 is not a page view", status: 201},
		{name: "204 has no body", status: 204},
		{name: "206 partial content", status: 206, resp: map[string]string{"Content-Range": "bytes 0-10/100"}},
		{name: "HTMX fragment", req: map[string]string{"HX-Request": "true"}},
		{name: "Turbo Frame", req: map[string]string{"Turbo-Frame": "main"}},
		{name: "XMLHttpRequest", req: map[string]string{"X-Requested-With": "XMLHttpRequest"}},
		// Android's WebView sends X-Requested-With with the app's package
		// name on every request, navigations included: visitors in in-app
		// browsers are recorded like everyone else.
		{name: "WebView's X-Requested-With on a navigation", req: map[string]string{"X-Requested-With": "com.example.shop", "Sec-Fetch-Dest": "document"}, inject: true},
		{name: "WebView's X-Requested-With over plain http (no Sec-Fetch-*)", req: map[string]string{"X-Requested-With": "com.facebook.katana"}, inject: true},
		{name: "X-Requested-With on a navigation is not an XHR", req: map[string]string{"X-Requested-With": "XMLHttpRequest", "Sec-Fetch-Dest": "document"}, inject: true},
		{name: "X-Requested-With with fetch()", req: map[string]string{"X-Requested-With": "XMLHttpRequest", "Sec-Fetch-Dest": "empty"}},
		{name: "fetch()", req: map[string]string{"Sec-Fetch-Dest": "empty"}},
		{name: "a script destination", req: map[string]string{"Sec-Fetch-Dest": "script"}},
		{name: "an iframe is a document", req: map[string]string{"Sec-Fetch-Dest": "iframe"}, inject: true},
		{name: "a frame is a document", req: map[string]string{"Sec-Fetch-Dest": "frame"}, inject: true},
		{name: "no-transform in the request", req: map[string]string{"Cache-Control": "max-age=0, no-transform"}},
		{name: "no-transform in the response", resp: map[string]string{"Cache-Control": "public, No-Transform"}},
		{name: "download", resp: map[string]string{"Content-Disposition": `attachment; filename="a.html"`}},
		{name: "inline disposition is a page", resp: map[string]string{"Content-Disposition": "inline"}, inject: true},
		{name: "UTF-16 charset", resp: map[string]string{"Content-Type": "text/html; charset=UTF-16LE"}},
		{name: "unsampled visitor", sampled: false},
		{name: "a CSP that cannot admit us", resp: map[string]string{"Content-Security-Policy": "script-src 'strict-dynamic'"}},
	}
	for i := range cases {
		if cases[i].name != "unsampled visitor" {
			cases[i].sampled = true
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status := c.status
			if status == 0 {
				status = 200
			}
			srv := serve(t, newInjector(t, c.mod), c.sampled, htmlUpstream(status, c.resp, page))
			method := c.method
			if method == "" {
				method = "GET"
			}
			resp, body := get(t, srv, method, "/", c.req)
			if resp.StatusCode != status {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := strings.Contains(body, testScript); got != c.inject {
				t.Fatalf("injected = %v: %q", got, body)
			}
			if status == 204 {
				return // net/http sends no body with a 204
			}
			if !c.inject && body != page && body != strings.Replace(page, `<link rel=`, `<link crossorigin="anonymous" rel=`, 1) {
				t.Fatalf("a skipped page must pass through (crossorigin aside): %q", body)
			}
		})
	}
}

// TestSkipRulesOutcome checks the outcome reported to the caller.
func TestSkipRulesOutcome(t *testing.T) {
	in := newInjector(t, nil)
	check := func(name string, r *http.Request, sampled bool, status int, hdr map[string]string, want string) {
		t.Helper()
		rec := httptest.NewRecorder()
		rw := in.Wrap(rec, r, sampled)
		htmlUpstream(status, hdr, page)(rw, r)
		if err := rw.Close(); err != nil {
			t.Fatal(err)
		}
		if got := rw.Outcome(); got != want {
			t.Errorf("%s: outcome %q, want %q", name, got, want)
		}
	}
	nav := func() *http.Request { return httptest.NewRequest("GET", "/", nil) }
	check("page", nav(), true, 200, nil, OutcomeInjected)
	check("unsampled", nav(), false, 200, nil, SkipUnsampled)
	check("status", nav(), true, 404, nil, SkipStatus)
	check("not html", nav(), true, 200, map[string]string{"Content-Type": "text/plain"}, SkipNotHTML)
	check("encoding", nav(), true, 200, map[string]string{"Content-Encoding": "compress"}, SkipEncoding)
	check("csp", nav(), true, 200, map[string]string{"Content-Security-Policy": "script-src 'strict-dynamic'"}, SkipCSP)
	head := httptest.NewRequest("HEAD", "/", nil)
	check("head", head, true, 200, nil, SkipMethod)
	frag := nav()
	frag.Header.Set("HX-Request", "true")
	check("fragment", frag, true, 200, nil, SkipFragment)
	up := nav()
	up.Header.Set("Connection", "Upgrade")
	up.Header.Set("Upgrade", "websocket")
	check("upgrade", up, true, 200, nil, SkipUpgrade)
	check("a normal page with no extra headers", nav(), true, 200, map[string]string{}, OutcomeInjected)

	// A document that ends inside a comment has no place for the tag.
	rec := httptest.NewRecorder()
	rw := in.Wrap(rec, nav(), true)
	rw.Header().Set("Content-Type", "text/html")
	io.WriteString(rw, "<!-- never closed <head>")
	rw.Close()
	if rw.Outcome() != SkipNoPoint || rec.Body.String() != "<!-- never closed <head>" {
		t.Errorf("unterminated comment: outcome %q, body %q", rw.Outcome(), rec.Body.String())
	}
}

// TestUnsampledKeepsCrossorigin checks that an unrecorded visitor gets the
// same crossorigin attributes (so pages behave the same for everyone) but
// no tag and no CSP change.
func TestUnsampledKeepsCrossorigin(t *testing.T) {
	csp := "default-src 'self'; connect-src 'none'"
	srv := serve(t, newInjector(t, nil), false, htmlUpstream(200, map[string]string{"Content-Security-Policy": csp}, page))
	resp, body := get(t, srv, "GET", "/", nil)
	if want := strings.Replace(page, `<link rel=`, `<link crossorigin="anonymous" rel=`, 1); body != want {
		t.Fatalf("\n got: %q\nwant: %q", body, want)
	}
	if resp.Header.Get("Content-Security-Policy") != csp {
		t.Errorf("CSP changed for an unrecorded visitor: %q", resp.Header.Get("Content-Security-Policy"))
	}
}

// TestHeadMatchesGet checks that HEAD gets the GET's header edits and no
// body work.
func TestHeadMatchesGet(t *testing.T) {
	hdr := map[string]string{"Content-Security-Policy": "default-src 'none'"}
	srv := serve(t, newInjector(t, nil), true, htmlUpstream(200, hdr, page))
	getResp, _ := get(t, srv, "GET", "/", nil)
	headResp, body := get(t, srv, "HEAD", "/", nil)
	if body != "" {
		t.Fatalf("HEAD body %q", body)
	}
	rec := httptest.NewRecorder()
	rw := newInjector(t, nil).Wrap(rec, httptest.NewRequest("HEAD", "/", nil), true)
	rw.Header().Set("Content-Type", "text/html")
	rw.Header().Set("Content-Length", "141")
	rw.WriteHeader(200)
	rw.Close()
	if rec.Header().Get("Content-Length") != "" {
		t.Error("HEAD keeps the upstream's Content-Length, which the GET would not have")
	}
	// (Content-Length is left out: net/http computes one from what a
	// handler writes, and the upstream here writes a body to HEAD.)
	for _, k := range []string{"Content-Security-Policy", "ETag", "Accept-Ranges", "Content-Encoding"} {
		if g, h := getResp.Header.Get(k), headResp.Header.Get(k); g != h {
			t.Errorf("%s: GET %q, HEAD %q", k, g, h)
		}
	}
}

// TestNotModified checks that a 304 for a page carries the headers the
// browser's rewritten copy needs (weak ETag, amended CSP), and no body.
func TestNotModified(t *testing.T) {
	srv := serve(t, newInjector(t, nil), true, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		w.WriteHeader(http.StatusNotModified)
	})
	resp, body := get(t, srv, "GET", "/", map[string]string{"Sec-Fetch-Dest": "document", "If-None-Match": `W/"v1"`})
	if resp.StatusCode != 304 || body != "" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("ETag") != `W/"v1"` {
		t.Errorf("ETag %q", resp.Header.Get("ETag"))
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "/__replay/") {
		t.Errorf("CSP not amended on 304: %q", resp.Header.Get("Content-Security-Policy"))
	}
	// An image's 304 is not a page.
	resp, _ = get(t, srv, "GET", "/x.png", map[string]string{"Sec-Fetch-Dest": "image"})
	if resp.Header.Get("ETag") != `"v1"` {
		t.Errorf("image 304 ETag changed: %q", resp.Header.Get("ETag"))
	}
}

type encoder func(w io.Writer) (io.WriteCloser, func() error)

var encoders = map[string]encoder{
	"gzip": func(w io.Writer) (io.WriteCloser, func() error) { z := gzip.NewWriter(w); return z, z.Flush },
	"br":   func(w io.Writer) (io.WriteCloser, func() error) { z := brotli.NewWriter(w); return z, z.Flush },
	"zstd": func(w io.Writer) (io.WriteCloser, func() error) {
		z, _ := zstd.NewWriter(w)
		return z, z.Flush
	},
	"deflate": func(w io.Writer) (io.WriteCloser, func() error) { z := zlib.NewWriter(w); return z, z.Flush },
}

func compress(t testing.TB, enc string, body string) []byte {
	var b bytes.Buffer
	z, _ := encoders[enc](&b)
	io.WriteString(z, body)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEncodings checks that compressed pages are decoded, injected and
// sent as identity.
func TestEncodings(t *testing.T) {
	rawDeflate := func() []byte {
		var b bytes.Buffer
		z, _ := flate.NewWriter(&b, 5)
		io.WriteString(z, page)
		z.Close()
		return b.Bytes()
	}()
	cases := []struct {
		name, ce string
		body     []byte
	}{
		{"gzip", "gzip", compress(t, "gzip", page)},
		{"x-gzip", "x-gzip", compress(t, "gzip", page)},
		{"br", "br", compress(t, "br", page)},
		{"zstd", "zstd", compress(t, "zstd", page)},
		{"deflate (zlib, as HTTP defines it)", "deflate", compress(t, "deflate", page)},
		{"deflate (raw, as some servers send it)", "deflate", rawDeflate},
		{"identity", "identity", []byte(page)},
		{"upper case", "GZIP", compress(t, "gzip", page)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := serve(t, newInjector(t, nil), true, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Content-Encoding", c.ce)
				w.Header().Set("Content-Length", itoa(len(c.body)))
				// Write in small pieces, as a proxy copying a stream would.
				for i := 0; i < len(c.body); i += 7 {
					w.Write(c.body[i:min(i+7, len(c.body))])
				}
			})
			resp, body := get(t, srv, "GET", "/", nil)
			if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
				t.Errorf("Content-Encoding %q kept", resp.Header.Get("Content-Encoding"))
			}
			if body != wantPage {
				t.Errorf("\n got: %q\nwant: %q", body, wantPage)
			}
		})
	}
}

// TestUndecodableEncodings checks that encodings we cannot decode pass
// through untouched, headers included.
func TestUndecodableEncodings(t *testing.T) {
	for _, ce := range []string{"compress", "gzip, br", "exi", "dcb"} {
		t.Run(ce, func(t *testing.T) {
			body := "\x1f\x9d\x90opaque-bytes<head>"
			srv := serve(t, newInjector(t, nil), true, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Content-Encoding", ce)
				w.Header().Set("Content-Length", itoa(len(body)))
				w.Header().Set("ETag", `"x"`)
				io.WriteString(w, body)
			})
			resp, got := get(t, srv, "GET", "/", nil)
			if got != body || resp.Header.Get("Content-Encoding") != ce || resp.Header.Get("ETag") != `"x"` || resp.ContentLength != int64(len(body)) {
				t.Errorf("changed: %q %v", got, resp.Header)
			}
		})
	}
}

// TestCorruptBodies checks that a corrupt compressed page never crashes:
// what could be decoded is sent, the response is cut, Close reports it.
func TestCorruptBodies(t *testing.T) {
	gz := compress(t, "gzip", page+strings.Repeat("<p>more</p>", 2000))
	cases := map[string]struct {
		ce   string
		body []byte
	}{
		"truncated gzip":  {"gzip", gz[:len(gz)/2]},
		"garbage gzip":    {"gzip", []byte("this is not gzip at all, not even the header")},
		"flipped gzip":    {"gzip", flip(gz)},
		"truncated br":    {"br", compress(t, "br", page)[:20]},
		"garbage zstd":    {"zstd", []byte("\x28\xb5\x2f\xfd garbage garbage garbage")},
		"garbage deflate": {"deflate", []byte{0xff, 0xff, 0xff, 0xff, 0x00}},
		"empty gzip body": {"gzip", nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rw, _ := encodedPage(t, c.ce)
			var werr error
			for i := 0; i < len(c.body); i += 512 {
				if _, err := rw.Write(c.body[i:min(i+512, len(c.body))]); err != nil {
					werr = err
					break
				}
			}
			cerr := rw.Close()
			if name == "empty gzip body" {
				if werr != nil || cerr != nil {
					t.Fatalf("an empty body is fine: %v %v", werr, cerr)
				}
				return
			}
			if werr == nil && cerr == nil {
				t.Fatal("no error reported for a corrupt body")
			}
			if rw.Outcome() != SkipError && !rw.Injected() {
				t.Errorf("outcome %q", rw.Outcome())
			}
		})
	}
}

// encodedPage starts an HTML response with Content-Encoding ce to GET /
// through a fresh injector, and returns its writer and what it records.
func encodedPage(t *testing.T, ce string) (*ResponseWriter, *httptest.ResponseRecorder) {
	t.Helper()
	rec := httptest.NewRecorder()
	rw := newInjector(t, nil).Wrap(rec, httptest.NewRequest("GET", "/", nil), true)
	rw.Header().Set("Content-Type", "text/html")
	rw.Header().Set("Content-Encoding", ce)
	rw.WriteHeader(200)
	return rw, rec
}

// TestTrailingBytes checks that bytes after a complete gzip or brotli
// stream are ignored, as browsers ignore them (Chromium's GzipSourceStream
// drops whatever follows the footer, "matching the behavior of other
// browsers", and its BrotliSourceStream whatever follows the stream): a
// page that displays fine without the proxy must not end in an error
// through it. A second gzip member is still decoded (RFC 1952).
func TestTrailingBytes(t *testing.T) {
	with := func(b []byte, tail string) []byte { return append(append([]byte(nil), b...), tail...) }
	gz, br := compress(t, "gzip", page), compress(t, "br", page)
	half := len(page) / 2
	twoMembers := with(compress(t, "gzip", page[:half]), string(compress(t, "gzip", page[half:])))
	cases := []struct {
		name, ce string
		body     []byte
	}{
		{"gzip, text after the footer", "gzip", with(gz, "trailing junk\n")},
		{"gzip, NUL padding after the footer", "gzip", with(gz, string(make([]byte, 300)))},
		{"gzip, one stray byte", "gzip", with(gz, "\x1f")},
		{"gzip, two members", "gzip", twoMembers},
		{"gzip, two members then junk", "gzip", with(twoMembers, "<junk>")},
		{"br, text after the stream", "br", with(br, "trailing junk\n")},
		{"br, NUL padding after the stream", "br", with(br, string(make([]byte, 300)))},
	}
	for _, c := range cases {
		for _, size := range []int{1, 7, len(c.body)} {
			t.Run(fmt.Sprintf("%s/writes of %d", c.name, size), func(t *testing.T) {
				rw, rec := encodedPage(t, c.ce)
				for i := 0; i < len(c.body); i += size {
					if _, err := rw.Write(c.body[i:min(i+size, len(c.body))]); err != nil {
						t.Fatalf("Write: %v", err)
					}
				}
				if err := rw.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if got := rec.Body.String(); got != wantPage {
					t.Errorf("\n got: %q\nwant: %q", got, wantPage)
				}
				if rw.Outcome() != OutcomeInjected {
					t.Errorf("outcome %q", rw.Outcome())
				}
			})
		}
	}
}

// TestGzipMemberReachesClient checks streaming across gzip members: an
// upstream that ends a member at a flush (one member per flush) and waits
// gets what it sent to the client before its next member, not held back
// until the next member starts.
func TestGzipMemberReachesClient(t *testing.T) {
	release := make(chan struct{})
	srv := serve(t, newInjector(t, nil), true, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(compress(t, "gzip", "<!doctype html><html><head><title>t</title></head><body>first"))
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		w.Write(compress(t, "gzip", " second</body></html>"))
	})
	defer close(release)
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 256)
		for !strings.HasSuffix(b.String(), "first") {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got <- b.String()
	}()
	select {
	case s := <-got:
		if !strings.HasSuffix(s, "<body>first") || !strings.Contains(s, testScript) {
			t.Errorf("first member: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first member did not reach the client while the upstream waited")
	}
}

func flip(b []byte) []byte {
	c := append([]byte(nil), b...)
	for i := 20; i < len(c); i += 97 {
		c[i] ^= 0x55
	}
	return c
}

// TestFlushReachesClient checks streaming: an upstream that sends its
// <head>, flushes and waits gets our tag to the client before it
// finishes, plain and gzip-compressed.
func TestFlushReachesClient(t *testing.T) {
	for _, enc := range []string{"", "gzip", "br", "zstd", "deflate"} {
		t.Run("encoding="+enc, func(t *testing.T) {
			release := make(chan struct{})
			finished := make(chan struct{})
			srv := serve(t, newInjector(t, nil), true, func(w http.ResponseWriter, r *http.Request) {
				defer close(finished)
				w.Header().Set("Content-Type", "text/html")
				var out io.Writer = w
				flush := func() error { return nil }
				var zc io.Closer
				if enc != "" {
					w.Header().Set("Content-Encoding", enc)
					z, f := encoders[enc](w)
					out, flush, zc = z, f, z
				}
				io.WriteString(out, "<!doctype html><html><head>")
				flush()
				http.NewResponseController(w).Flush()
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
				io.WriteString(out, "<title>late</title></head><body>done</body></html>")
				if zc != nil {
					zc.Close()
				}
			})
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set("Accept-Encoding", "identity")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			var got bytes.Buffer
			deadline := time.After(5 * time.Second)
			for !strings.Contains(got.String(), "</script>") {
				b := make([]byte, 256)
				done := make(chan int)
				go func() { n, _ := br.Read(b); done <- n }()
				select {
				case n := <-done:
					if n == 0 {
						t.Fatalf("stream ended early: %q", got.String())
					}
					got.Write(b[:n])
				case <-deadline:
					t.Fatalf("the tag did not arrive while the upstream waited; got %q", got.String())
				}
			}
			select {
			case <-finished:
				t.Fatal("the upstream finished before the client read the tag")
			default:
			}
			if want := "<!doctype html><html><head>" + string(testTag(TagContext{})); got.String() != want {
				t.Errorf("early bytes %q, want %q", got.String(), want)
			}
			close(release)
			rest, _ := io.ReadAll(br)
			if all := got.String() + string(rest); !strings.HasSuffix(all, "<title>late</title></head><body>done</body></html>") {
				t.Errorf("end %q", all)
			}
		})
	}
}

// TestUpgradePassesThrough checks that a protocol switch is untouched and
// hijacking works through the wrapper (http.ResponseController + Unwrap).
func TestUpgradePassesThrough(t *testing.T) {
	srv := serve(t, newInjector(t, nil), true, func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack through the wrapper: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n<head>")
		brw.Flush()
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(conn)
	if !strings.HasSuffix(string(b), "\r\n\r\n<head>") {
		t.Errorf("%q", b)
	}
}

// TestCORS covers Access-Control-Allow-Origin on asset responses.
func TestCORS(t *testing.T) {
	type tc struct {
		name, ct, path, origin string
		cors                   []string
		upstreamACAO, acac     string
		status                 int
		wantACAO               string
		wantVary               bool
	}
	cases := []tc{
		{name: "CSS for a listed origin", ct: "text/css", origin: "https://player.example", wantACAO: "https://player.example", wantVary: true},
		{name: "font for a listed origin", ct: "font/woff2", origin: "https://player.example", wantACAO: "https://player.example", wantVary: true},
		{name: "legacy font type", ct: "application/font-woff", origin: "https://player.example", wantACAO: "https://player.example", wantVary: true},
		{name: "image", ct: "image/png", origin: "https://player.example", wantACAO: "https://player.example", wantVary: true},
		{name: "no type, by extension", ct: "", path: "/f.woff2", origin: "https://player.example", wantACAO: "https://player.example", wantVary: true},
		{name: "unlisted origin: no ACAO, but Vary", ct: "text/css", origin: "https://evil.example", wantVary: true},
		{name: "no Origin (same-origin or no-cors request): Vary only", ct: "text/css", wantVary: true},
		{name: "listed origin with the default port", ct: "text/css", origin: "https://player.example:443", wantACAO: "https://player.example:443", wantVary: true},
		{name: "upstream ACAO is kept", ct: "text/css", origin: "https://player.example", upstreamACAO: "https://other.example"},
		{name: "'*' configured", ct: "text/css", origin: "https://x.example", cors: []string{"*"}, wantACAO: "*"},
		{name: "'*' never with credentials", ct: "text/css", origin: "https://x.example", cors: []string{"*"}, acac: "true"},
		{name: "not for scripts", ct: "text/javascript", origin: "https://player.example"},
		{name: "not for HTML", ct: "text/html", origin: "https://player.example"},
		{name: "304 of an asset", ct: "text/css", status: 304, origin: "https://player.example", wantACAO: "https://player.example", wantVary: true},
		{name: "not configured", ct: "text/css", cors: []string{}, origin: "https://player.example"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := newInjector(t, func(cfg *Config) {
				if c.cors != nil {
					cfg.CORSOrigins = c.cors
				}
			})
			srv := serve(t, in, true, func(w http.ResponseWriter, r *http.Request) {
				if c.ct != "" {
					w.Header().Set("Content-Type", c.ct)
				}
				if c.upstreamACAO != "" {
					w.Header().Set("Access-Control-Allow-Origin", c.upstreamACAO)
				}
				if c.acac != "" {
					w.Header().Set("Access-Control-Allow-Credentials", c.acac)
				}
				if c.status != 0 {
					w.WriteHeader(c.status)
					return
				}
				io.WriteString(w, "body{}")
			})
			path := c.path
			if path == "" {
				path = "/a"
			}
			resp, _ := get(t, srv, "GET", path, map[string]string{"Origin": c.origin})
			want := c.wantACAO
			if c.upstreamACAO != "" {
				want = c.upstreamACAO
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
				t.Errorf("ACAO %q, want %q", got, want)
			}
			if got := strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin"); got != c.wantVary {
				t.Errorf("Vary: Origin = %v, want %v", got, c.wantVary)
			}
		})
	}
}

// recordingTap records what it observes.
type recordingTap struct {
	bytes.Buffer
	closed bool
	fail   bool
}

func (r *recordingTap) Write(p []byte) (int, error) {
	if r.fail {
		return 0, errors.New("archive full")
	}
	return r.Buffer.Write(p)
}
func (r *recordingTap) Close() error { r.closed = true; return nil }

// TestTap checks the asset archive hook: it sees CSS, font and image
// bodies as they pass, never pages, and cannot break a response.
func TestTap(t *testing.T) {
	var mu sync.Mutex
	taps := map[string]*recordingTap{}
	in := newInjector(t, func(c *Config) {
		c.Tap = func(r *http.Request, h http.Header) io.WriteCloser {
			mu.Lock()
			defer mu.Unlock()
			tp := &recordingTap{fail: r.URL.Path == "/fail.css"}
			taps[r.URL.Path] = tp
			return tp
		}
	})
	css := strings.Repeat("p{color:red}", 10000)
	srv := serve(t, in, true, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			htmlUpstream(200, nil, page)(w, r)
		default:
			w.Header().Set("Content-Type", "text/css")
			io.WriteString(w, css[:len(css)/2])
			io.WriteString(w, css[len(css)/2:])
		}
	})
	for _, p := range []string{"/a.css", "/fail.css", "/page"} {
		_, body := get(t, srv, "GET", p, nil)
		if p != "/page" && body != css {
			t.Errorf("%s: response changed by the tap", p)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if tp := taps["/a.css"]; tp == nil || tp.String() != css || !tp.closed {
		t.Errorf("tap did not observe the CSS body and get closed")
	}
	if tp := taps["/fail.css"]; tp == nil || !tp.closed {
		t.Errorf("failing tap not closed")
	}
	if taps["/page"] != nil {
		t.Error("pages are not tapped")
	}
}

// TestPrepareRequest checks the Accept-Encoding change for likely pages.
func TestPrepareRequest(t *testing.T) {
	in := newInjector(t, nil)
	cases := []struct {
		name string
		hdr  map[string]string
		want string
	}{
		{"navigation", map[string]string{"Sec-Fetch-Dest": "document"}, "identity"},
		{"iframe", map[string]string{"Sec-Fetch-Dest": "iframe"}, "identity"},
		{"old browser asking for HTML", map[string]string{"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}, "identity"},
		{"fetch", map[string]string{"Sec-Fetch-Dest": "empty", "Accept": "text/html"}, "gzip, br"},
		{"image", map[string]string{"Sec-Fetch-Dest": "image", "Accept": "image/avif,*/*"}, "gzip, br"},
		{"htmx", map[string]string{"Sec-Fetch-Dest": "document", "HX-Request": "true"}, "gzip, br"},
		{"no-transform", map[string]string{"Sec-Fetch-Dest": "document", "Cache-Control": "no-transform"}, "gzip, br"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", "gzip, br")
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		in.PrepareRequest(r)
		if got := r.Header.Get("Accept-Encoding"); got != c.want {
			t.Errorf("%s: Accept-Encoding %q, want %q", c.name, got, c.want)
		}
	}
}

// TestConfigErrors checks that bad configuration is refused with a clear
// error.
func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"base path without slashes": {BasePath: "__replay"},
		"base path with a quote":    {BasePath: "/a'b/"},
		"integrity":                 {ScriptIntegrity: "md5-abc"},
		"CORS origin with a path":   {CORSOrigins: []string{"https://a.example/path"}},
		"CORS origin without host":  {CORSOrigins: []string{"player.example"}},
		"crossorigin origin":        {CrossOriginOrigins: []string{"ftp://a.example"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{CORSOrigins: []string{"https://a.example/", "*"}, CrossOriginOrigins: []string{"http://localhost:8082"}, ScriptIntegrity: integ}); err != nil {
		t.Errorf("good config refused: %v", err)
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct {
	http.ResponseWriter
	n int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("client went away")
	}
	f.n -= len(p)
	return f.ResponseWriter.Write(p)
}

// TestWriteErrors checks that a client write error surfaces, plain and
// while decoding.
func TestWriteErrors(t *testing.T) {
	for _, enc := range []string{"", "gzip"} {
		in := newInjector(t, nil)
		rec := httptest.NewRecorder()
		rw := in.Wrap(&failingWriter{rec, 10}, httptest.NewRequest("GET", "/", nil), true)
		rw.Header().Set("Content-Type", "text/html")
		body := []byte(page + strings.Repeat("<p>x</p>", 10000))
		if enc != "" {
			rw.Header().Set("Content-Encoding", enc)
			body = compress(t, enc, string(body))
		}
		var err error
		for i := 0; i < len(body) && err == nil; i += 1000 {
			_, err = rw.Write(body[i:min(i+1000, len(body))])
		}
		if cerr := rw.Close(); err == nil && cerr == nil {
			t.Errorf("%q: write error not reported", enc)
		}
	}
}

// TestReadFrom checks that untouched responses keep working through
// io.Copy (and the wrapped writer's ReadFrom).
func TestReadFrom(t *testing.T) {
	srv := serve(t, newInjector(t, nil), true, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.URL.Query().Get("ct"))
		io.Copy(w, strings.NewReader(page))
	})
	for ct, want := range map[string]string{"text/plain": page, "text/html": wantPage} {
		if _, body := get(t, srv, "GET", "/?ct="+ct, nil); body != want {
			t.Errorf("%s: %q", ct, body)
		}
	}
}

// TestLinkHeaders checks that Link header preloads keep the CORS mode of
// the elements we mark, in the final response and in early hints.
func TestLinkHeaders(t *testing.T) {
	cases := []struct{ in, want string }{
		{`</s.css>; rel=preload; as=style`, `</s.css>; rel=preload; as=style; crossorigin=anonymous`},
		{`</f.woff2>; rel="preload"; as="font"; type="font/woff2"`, `</f.woff2>; rel="preload"; as="font"; type="font/woff2"; crossorigin=anonymous`},
		{`<https://cdn.example.com/a,b.css>; rel=preload; as=style, </app.js>; rel=preload; as=script`,
			`<https://cdn.example.com/a,b.css>; rel=preload; as=style; crossorigin=anonymous, </app.js>; rel=preload; as=script`},
		{`</s.css>; rel=preload; as=style; crossorigin`, `</s.css>; rel=preload; as=style; crossorigin`},
		{`<https://other.example/s.css>; rel=preload; as=style`, `<https://other.example/s.css>; rel=preload; as=style`},
		{`</>; rel="preconnect"`, `</>; rel="preconnect"`},
		{`</s.css>; title="a;b,c"; rel=preload; as=style`, `</s.css>; title="a;b,c"; rel=preload; as=style; crossorigin=anonymous`},
	}
	in := newInjector(t, func(c *Config) { c.CrossOriginOrigins = []string{"https://cdn.example.com"} })
	for _, c := range cases {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.Header.Set("Sec-Fetch-Dest", "document")
		rw := in.Wrap(rec, r, true)
		rw.Header().Set("Link", c.in)
		rw.WriteHeader(http.StatusEarlyHints)
		if got := rec.Header().Get("Link"); got != c.want {
			t.Errorf("103 Link %q\n got: %q\nwant: %q", c.in, got, c.want)
		}
		rw.Header().Set("Link", c.in)
		rw.Header().Set("Content-Type", "text/html")
		rw.WriteHeader(200)
		io.WriteString(rw, page)
		rw.Close()
		if got := rec.Header().Get("Link"); got != c.want {
			t.Errorf("200 Link %q\n got: %q\nwant: %q", c.in, got, c.want)
		}
	}
	// Not for responses we leave alone.
	rec := httptest.NewRecorder()
	rw := in.Wrap(rec, httptest.NewRequest("GET", "https://example.com/", nil), true)
	rw.Header().Set("Link", cases[0].in)
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(200)
	rw.Close()
	if got := rec.Header().Get("Link"); got != cases[0].in {
		t.Errorf("JSON response Link changed: %q", got)
	}
}

// writeRecorder keeps the size of every write it gets.
type writeRecorder struct {
	*httptest.ResponseRecorder
	sizes []int
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.ResponseRecorder.Write(p)
}

// TestWritesAreBatched: Caddy's encode compresses a response without
// Content-Length only if its first write reaches minimum_length (512
// bytes), so the pieces around our tag must reach it as one write, and a
// small first upstream write must not decide for the whole page.
func TestWritesAreBatched(t *testing.T) {
	in := newInjector(t, nil)
	page := "<!doctype html><html><head><meta charset=utf-8><title>t</title></head><body>" + strings.Repeat("<p>filler text</p>", 200) + "</body></html>"
	rec := &writeRecorder{ResponseRecorder: httptest.NewRecorder()}
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	w := in.Wrap(rec, req, true)
	w.Header().Set("Content-Type", "text/html")
	for _, chunk := range []string{page[:20], page[20:60], page[60:300], page[300:]} {
		w.Write([]byte(chunk))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rec.sizes) == 0 || rec.sizes[0] < firstWriteMin {
		t.Errorf("first write to the next writer is %v bytes, want at least %d", rec.sizes, firstWriteMin)
	}
	if len(rec.sizes) > 3 {
		t.Errorf("%d writes for 4 input writes: the pieces around the tag were not gathered (%v)", len(rec.sizes), rec.sizes)
	}
	if !strings.Contains(rec.Body.String(), "<script") || strings.Count(rec.Body.String(), "filler") != 200 {
		t.Errorf("body damaged")
	}
	// A flush still sends what is there at once, however small.
	rec = &writeRecorder{ResponseRecorder: httptest.NewRecorder()}
	w = in.Wrap(rec, req, true)
	w.Header().Set("Content-Type", "text/html")
	w.Write([]byte("<!doctype html><head>"))
	w.Flush()
	if len(rec.sizes) != 1 || !strings.Contains(rec.Body.String(), "<script") {
		t.Errorf("a flush did not send the head with the tag: writes %v, body %q", rec.sizes, rec.Body.String())
	}
	w.Close()
}

// TestExclude: a response its handler excluded passes through untouched,
// a page as well as an asset, whatever the rules would have done.
func TestExclude(t *testing.T) {
	const csp = "script-src 'nonce-n1'; connect-src 'self'"
	for _, c := range []struct {
		name, path, ctype, body string
		req                     map[string]string
	}{
		{"page", "/", "text/html; charset=utf-8", page, map[string]string{"Sec-Fetch-Dest": "document"}},
		{"stylesheet", "/s.css", "text/css", "p{color:red}", map[string]string{"Origin": "https://player.example"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := newInjector(t, nil)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				in.PrepareRequest(r)
				rw := in.Wrap(w, r, true)
				rw.Exclude()
				rw.Header().Set("Content-Type", c.ctype)
				rw.Header().Set("Content-Security-Policy", csp)
				rw.Header().Set("ETag", `"v1"`)
				io.WriteString(rw, c.body)
				rw.Close()
				if rw.Outcome() != SkipExcluded {
					t.Errorf("outcome %q", rw.Outcome())
				}
			}))
			defer srv.Close()
			resp, body := get(t, srv, "GET", c.path, c.req)
			if body != c.body {
				t.Errorf("body changed: %q", body)
			}
			if resp.Header.Get("Content-Security-Policy") != csp || resp.Header.Get("ETag") != `"v1"` || resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("headers changed: %v", resp.Header)
			}
		})
	}
}
