// Package jsbundle turns embedded ES modules into browser-ready assets: it
// bundles and minifies them with esbuild's Go API, names the result after its
// content hash, and serves it with immutable caching and precompressed
// gzip and brotli variants.
//
// Building happens at run time from an fs.FS (usually an embed.FS), so the
// product needs Go alone: no Node.js, no generated files in the repository.
package jsbundle

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/evanw/esbuild/pkg/api"
	"github.com/klauspost/compress/gzip"
)

// Format is the module format of a built script.
type Format int

const (
	// Classic is an immediately invoked function: a classic <script> or a
	// classic Worker. No top-level import/export remains.
	Classic Format = iota
	// Module is an ES module (<script type=module>, module workers).
	Module
)

// Options describes one bundle.
type Options struct {
	// FS holds the sources. Relative imports are resolved inside it: a
	// bundle can never read the host file system.
	FS fs.FS
	// Packages maps a bare import prefix to another source tree, so that
	// `import {Replayer} from "replaycore/player.js"` in the player's
	// sources resolves inside Packages["replaycore"].
	Packages map[string]fs.FS
	// Entry is the entry module's path inside FS, e.g. "src/main.js".
	Entry string
	// Name is the public file name stem; the built asset is named
	// "<Name>.<hash>.js".
	Name string
	// Format selects a classic script or an ES module.
	Format Format
	// Define replaces global identifiers with constant expressions, e.g.
	// {"__WORKER_URL__": `"/__replay/worker.abc.js"`}.
	Define map[string]string
	// NoMinify keeps the output readable (for debugging).
	NoMinify bool
	// MangleProps renames object properties whose names match this
	// regular expression (e.g. "_$" for internal fields), as esbuild's
	// mangle-props does. Only for properties that never cross the
	// bundle's boundary (no JSON, no DOM, no public API).
	MangleProps string
}

// Build bundles o.Entry and everything it imports into one asset.
func Build(o Options) (*Asset, error) {
	if o.FS == nil || o.Entry == "" || o.Name == "" {
		return nil, fmt.Errorf("jsbundle: FS, Entry and Name are required")
	}
	format := api.FormatIIFE
	if o.Format == Module {
		format = api.FormatESModule
	}
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{o.Entry},
		Bundle:            true,
		Write:             false,
		Format:            format,
		Target:            api.ES2020,
		Platform:          api.PlatformBrowser,
		MinifyWhitespace:  !o.NoMinify,
		MinifyIdentifiers: !o.NoMinify,
		MinifySyntax:      !o.NoMinify,
		LegalComments:     api.LegalCommentsNone,
		Charset:           api.CharsetUTF8,
		Define:            o.Define,
		MangleProps:       o.MangleProps,
		Outfile:           o.Name + ".js",
		LogLevel:          api.LogLevelSilent,
		Plugins:           []api.Plugin{fsPlugin(o.FS, o.Packages)},
	})
	if len(res.Errors) > 0 {
		var b strings.Builder
		for _, m := range res.Errors {
			if m.Location != nil {
				fmt.Fprintf(&b, "%s:%d:%d: ", m.Location.File, m.Location.Line, m.Location.Column)
			}
			b.WriteString(m.Text)
			b.WriteString("; ")
		}
		return nil, fmt.Errorf("jsbundle: building %s: %s", o.Entry, strings.TrimSuffix(b.String(), "; "))
	}
	for _, f := range res.OutputFiles {
		if strings.HasSuffix(f.Path, ".js") {
			return NewAsset(o.Name, ".js", "text/javascript; charset=utf-8", f.Contents)
		}
	}
	return nil, fmt.Errorf("jsbundle: building %s produced no JavaScript", o.Entry)
}

const namespace = "jsbundle-fs"

// fsPlugin resolves and loads every import from fsys (relative imports) or
// from packages (bare imports), so bundles are built from embedded sources
// only. Paths are "<package>:<path>", with "" for fsys itself.
func fsPlugin(fsys fs.FS, packages map[string]fs.FS) api.Plugin {
	lookup := func(pkg string) fs.FS {
		if pkg == "" {
			return fsys
		}
		return packages[pkg]
	}
	return api.Plugin{
		Name: namespace,
		Setup: func(b api.PluginBuild) {
			b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
				pkg, p := "", a.Path
				switch {
				case a.Kind == api.ResolveEntryPoint:
				case strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../"):
					var importer string
					pkg, importer, _ = strings.Cut(a.Importer, ":")
					p = path.Join(path.Dir(importer), p)
				default:
					name, rest, _ := strings.Cut(p, "/")
					if packages[name] == nil {
						return api.OnResolveResult{}, fmt.Errorf("unknown package %q: only relative imports and configured packages are allowed", p)
					}
					pkg, p = name, rest
				}
				p = path.Clean(strings.TrimPrefix(p, "/"))
				if !fs.ValidPath(p) {
					return api.OnResolveResult{}, fmt.Errorf("import %q leaves its source tree", a.Path)
				}
				if _, err := fs.Stat(lookup(pkg), p); err != nil {
					return api.OnResolveResult{}, fmt.Errorf("cannot find %q", a.Path)
				}
				return api.OnResolveResult{Path: pkg + ":" + p, Namespace: namespace}, nil
			})
			b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: namespace}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
				pkg, p, _ := strings.Cut(a.Path, ":")
				src, err := fs.ReadFile(lookup(pkg), p)
				if err != nil {
					return api.OnLoadResult{}, err
				}
				s := string(src)
				loader := api.LoaderJS
				switch path.Ext(p) {
				case ".css":
					loader = api.LoaderText // imported as a string, e.g. the player's stylesheet
				case ".html", ".txt", ".svg":
					loader = api.LoaderText
				case ".json":
					loader = api.LoaderJSON
				}
				return api.OnLoadResult{Contents: &s, Loader: loader}, nil
			})
		},
	}
}

// Asset is an immutable, precompressed static file with a content-hashed
// name.
type Asset struct {
	// Name is the public file name, "<stem>.<hash><ext>".
	Name string
	// ContentType is the value of the Content-Type header.
	ContentType string
	// Hash is the first 16 hex digits of the SHA-256 of Body.
	Hash string
	// Integrity is the Subresource Integrity value of Body ("sha384-…"),
	// usable in an integrity attribute or a CSP hash source.
	Integrity string
	// Body, Gzip and Brotli are the identity, gzip and brotli encodings.
	Body, Gzip, Brotli []byte
	etag               string
}

// NewAsset hashes and precompresses body. The name is stem + "." + hash + ext.
func NewAsset(stem, ext, contentType string, body []byte) (*Asset, error) {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:8])
	sri := sha512.Sum384(body)
	a := &Asset{
		Name:        stem + "." + hash + ext,
		ContentType: contentType,
		Hash:        hash,
		Integrity:   "sha384-" + base64.StdEncoding.EncodeToString(sri[:]),
		Body:        body,
		etag:        `"` + hash + `"`,
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	a.Gzip = gz.Bytes()
	var br bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	bw.Write(body)
	if err := bw.Close(); err != nil {
		return nil, err
	}
	a.Brotli = br.Bytes()
	return a, nil
}

// ServeHTTP serves the asset with the best encoding the client accepts.
// Because the name carries the content hash, the response is cacheable
// forever.
func (a *Asset) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	body, enc := a.Body, ""
	switch ae := r.Header.Get("Accept-Encoding"); {
	case AcceptsEncoding(ae, "br"):
		body, enc = a.Brotli, "br"
	case AcceptsEncoding(ae, "gzip"):
		body, enc = a.Gzip, "gzip"
	}
	etag := a.etag
	if enc != "" {
		h.Set("Content-Encoding", enc)
		// Each representation needs its own strong validator.
		etag = `"` + a.Hash + "-" + enc + `"`
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == "*" || strings.Contains(inm, etag)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// AcceptsEncoding reports whether an Accept-Encoding header value accepts
// the content coding enc with a non-zero quality: named explicitly, or
// through "*" when it is not named (RFC 9110, section 12.5.3).
func AcceptsEncoding(header, enc string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		explicit := strings.EqualFold(name, enc)
		if !explicit && name != "*" {
			continue
		}
		ok := true
		params = strings.ReplaceAll(params, " ", "")
		if q, found := strings.CutPrefix(params, "q="); found {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				ok = false
			}
		}
		if explicit {
			return ok
		}
		star = ok
	}
	return star
}
