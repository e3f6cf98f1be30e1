// Package recorder builds the browser recorder that the proxy injects into
// every HTML page: a classic script and its compression worker, bundled and
// minified from the embedded ES modules in src/ with esbuild's Go API.
//
// The JavaScript API (window.SessionReplay), the events it records and the
// segment upload are documented in docs/FORMAT.md.
package recorder

import (
	"embed"
	"fmt"
	"io/fs"
	"sync"

	"github.com/caddy-replay/caddy-replay/jsbundle"
)

//go:embed src/*.js
var sources embed.FS

// Bundle is the built recorder: the classic page script the proxy injects,
// a jsbundle.Asset (content-hashed name, precompressed, immutable caching)
// served at /__replay/<Name>. It is its own compression worker, started
// with new Worker(its own URL): the browser has it cached already, so
// recording costs one download.
type Bundle struct{ Script *jsbundle.Asset }

var (
	once   sync.Once
	bundle *Bundle
	errB   error
)

// Load builds the bundle once per process (esbuild, from embedded sources)
// and caches it.
func Load() (*Bundle, error) {
	once.Do(func() { bundle, errB = build(false, false) })
	return bundle, errB
}

// internalProps are the properties of objects that never leave the
// script (sessions, the configuration, segments, compression results,
// which cross only to the worker, the same script), shortened in the
// minified bundle. Event, upload and DOM property names must never match.
const internalProps = `^(created|expires|sampled|meta|manual|parts|chars|enc|upload)$`

// build bundles the script; the same file is the worker (main.js starts
// the compression side when it runs without a document). testHooks builds
// in window.__replayTestHooks (timers, clock, internals; see timing.js),
// which only the recorder's own browser tests use: the bundle Load returns,
// the one every other package and the proxy serve, has none.
func build(debug, testHooks bool) (*Bundle, error) {
	src, err := fs.Sub(sources, "src")
	if err != nil {
		return nil, err
	}
	script, err := jsbundle.Build(jsbundle.Options{FS: src, Entry: "main.js", Name: "recorder", NoMinify: debug, MangleProps: internalProps,
		Define: map[string]string{"TEST_HOOKS": fmt.Sprint(testHooks)}})
	if err != nil {
		return nil, fmt.Errorf("recorder: script: %w", err)
	}
	return &Bundle{Script: script}, nil
}
