package jsbundle

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

var src = fstest.MapFS{
	"main.js":      {Data: []byte("import { greet } from './lib/greet.js';\nwindow.out = greet(__NAME__);\n")},
	"lib/greet.js": {Data: []byte("export function greet(someName) { return 'hello ' + someName; }\n")},
	"bad.js":       {Data: []byte("import x from 'left-pad';\n")},
	"escape.js":    {Data: []byte("import x from '../../etc/passwd';\n")},
	"usepkg.js":    {Data: []byte("import { twice } from 'core/math.js';\nwindow.out = twice(21);\n")},
}

var core = fstest.MapFS{
	"math.js":      {Data: []byte("import { add } from './inner/add.js';\nexport function twice(v) { return add(v, v); }\n")},
	"inner/add.js": {Data: []byte("export function add(a, b) { return a + b + 1000; }\n")},
}

func TestBuildResolvesPackages(t *testing.T) {
	a, err := Build(Options{FS: src, Entry: "usepkg.js", Name: "p", Packages: map[string]fs.FS{"core": core}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(a.Body), "1e3") && !strings.Contains(string(a.Body), "1000") {
		t.Errorf("package module not bundled: %s", a.Body)
	}
	if _, err := Build(Options{FS: src, Entry: "usepkg.js", Name: "p"}); err == nil {
		t.Errorf("unconfigured package resolved")
	}
}

func TestBuildBundlesAndMinifies(t *testing.T) {
	a, err := Build(Options{FS: src, Entry: "main.js", Name: "demo", Define: map[string]string{"__NAME__": `"world"`}})
	if err != nil {
		t.Fatal(err)
	}
	js := string(a.Body)
	if strings.Contains(js, "import") || strings.Contains(js, "export") {
		t.Errorf("classic bundle still has module syntax: %s", js)
	}
	if strings.Contains(js, "someName") {
		t.Errorf("identifiers not minified: %s", js)
	}
	if !strings.Contains(js, `"hello "`) || !strings.Contains(js, `"world"`) {
		t.Errorf("bundle lost code or define: %s", js)
	}
	if !strings.HasPrefix(a.Name, "demo.") || !strings.HasSuffix(a.Name, ".js") || len(a.Hash) != 16 {
		t.Errorf("bad name %q / hash %q", a.Name, a.Hash)
	}
	b, _ := Build(Options{FS: src, Entry: "main.js", Name: "demo", Define: map[string]string{"__NAME__": `"other"`}})
	if b.Name == a.Name {
		t.Errorf("different content, same name %q", a.Name)
	}
}

func TestBuildRejectsBareAndEscapingImports(t *testing.T) {
	for _, entry := range []string{"bad.js", "escape.js", "missing.js"} {
		if _, err := Build(Options{FS: src, Entry: entry, Name: "x"}); err == nil {
			t.Errorf("%s: built without error", entry)
		}
	}
}

func TestServeNegotiatesEncoding(t *testing.T) {
	body := []byte(strings.Repeat("console.log('precompressed');\n", 50))
	a, err := NewAsset("x", ".js", "text/javascript; charset=utf-8", body)
	if err != nil {
		t.Fatal(err)
	}
	decode := map[string]func([]byte) []byte{
		"": func(b []byte) []byte { return b },
		"gzip": func(b []byte) []byte {
			r, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(r)
			return out
		},
		"br": func(b []byte) []byte { out, _ := io.ReadAll(brotli.NewReader(bytes.NewReader(b))); return out },
	}
	for _, tc := range []struct{ accept, want string }{
		{"", ""}, {"gzip", "gzip"}, {"gzip, deflate, br", "br"}, {"br;q=0, gzip", "gzip"}, {"identity", ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/x", nil)
		req.Header.Set("Accept-Encoding", tc.accept)
		a.ServeHTTP(rec, req)
		if got := rec.Header().Get("Content-Encoding"); got != tc.want {
			t.Errorf("Accept-Encoding %q: got encoding %q, want %q", tc.accept, got, tc.want)
		}
		if !bytes.Equal(decode[tc.want](rec.Body.Bytes()), body) {
			t.Errorf("Accept-Encoding %q: body does not decode to the original", tc.accept)
		}
		if !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("missing immutable caching")
		}
		// A revalidation with the ETag answers 304.
		req2 := httptest.NewRequest("GET", "/x", nil)
		req2.Header.Set("Accept-Encoding", tc.accept)
		req2.Header.Set("If-None-Match", rec.Header().Get("ETag"))
		rec2 := httptest.NewRecorder()
		a.ServeHTTP(rec2, req2)
		if rec2.Code != http.StatusNotModified {
			t.Errorf("If-None-Match: got %d", rec2.Code)
		}
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("POST", "/x", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: got %d", rec.Code)
	}
}

func TestMangleProps(t *testing.T) {
	fsys := fstest.MapFS{"m.js": {Data: []byte("const o = { internalCounter_: 1, keep: 2 }; window.out = o.internalCounter_ + o.keep;\n")}}
	a, err := Build(Options{FS: fsys, Entry: "m.js", Name: "m", MangleProps: "_$"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(a.Body), "internalCounter_") || !strings.Contains(string(a.Body), "keep") {
		t.Errorf("mangling wrong: %s", a.Body)
	}
}

func TestAcceptsEncoding(t *testing.T) {
	for _, c := range []struct {
		header, enc string
		want        bool
	}{
		{"", "gzip", false},
		{"gzip", "gzip", true},
		{"GZIP", "gzip", true},
		{"deflate, gzip;q=0.5", "gzip", true},
		{"gzip;q=0", "gzip", false},
		{"gzip; q=0.0", "gzip", false},
		{"br, deflate", "gzip", false},
		{"*", "gzip", true},
		{"*;q=0", "gzip", false},
		{"*, gzip;q=0", "gzip", false}, // named beats "*", wherever it stands
		{"gzip;q=0, *", "gzip", false},
		{"br;q=0, *", "gzip", true},
		{"gzipx", "gzip", false},
	} {
		if got := AcceptsEncoding(c.header, c.enc); got != c.want {
			t.Errorf("AcceptsEncoding(%q, %q) = %v, want %v", c.header, c.enc, got, c.want)
		}
	}
}
