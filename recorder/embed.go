// Package recorder builds the browser recorder that the proxy injects into
// every HTML page: a classic script and its compression worker, bundled and
// minified from the embedded ES modules in src/ with esbuild's Go API.
//
// The JavaScript API (window.SessionReplay), the events it records and the
// segment upload are documented in docs/FORMAT.md.
package recorder

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sync"

	"github.com/caddy-replay/caddy-replay/jsbundle"
)

//go:embed src/*.js
var sources embed.FS

// Bundle is the built recorder: the classic page script the proxy injects
// and its compression worker. Both are jsbundle.Assets (content-hashed
// names, precompressed, immutable caching) served at /__replay/<Name>.
type Bundle struct{ Script, Worker *jsbundle.Asset }

var (
	once   sync.Once
	bundle *Bundle
	errB   error
)

// Load builds the bundle once per process (esbuild, from embedded sources)
// and caches it.
func Load() (*Bundle, error) {
	once.Do(func() { bundle, errB = build(false) })
	return bundle, errB
}

// build bundles the worker first, because the script refers to it by its
// content-hashed name: the script finds it as a sibling of its own URL.
func build(debug bool) (*Bundle, error) {
	src, err := fs.Sub(sources, "src")
	if err != nil {
		return nil, err
	}
	worker, err := jsbundle.Build(jsbundle.Options{FS: src, Entry: "worker.js", Name: "recorder-worker", NoMinify: debug})
	if err != nil {
		return nil, fmt.Errorf("recorder: worker: %w", err)
	}
	name, _ := json.Marshal(worker.Name)
	script, err := jsbundle.Build(jsbundle.Options{
		FS: src, Entry: "main.js", Name: "recorder", NoMinify: debug,
		Define: map[string]string{"__WORKER_NAME__": string(name)},
	})
	if err != nil {
		return nil, fmt.Errorf("recorder: script: %w", err)
	}
	return &Bundle{Script: script, Worker: worker}, nil
}
