// Package e2e tests the whole stack: Caddy running Caddyfile.example
// in-process (our modules, the demo site, the player), driven by real
// Chromium.
package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-replay/caddy-replay/caddymodule"
	"github.com/caddy-replay/caddy-replay/internal/caddyrun"
	"github.com/caddy-replay/caddy-replay/store"
)

// Stack is Caddyfile.example running on random loopback ports.
type Stack struct {
	// Site is the recorded demo shop ("http://localhost:<port>"), Player
	// the player, Assets the demo's second origin and Upstream the
	// unrecorded demo application.
	Site, Player, Assets, Upstream string
	// DataDir is the replay app's data directory (a temp dir).
	DataDir string

	config []byte // the adapted Caddyfile, for Reload
}

// StackOptions changes the stack a test starts.
type StackOptions struct {
	// Edit rewrites Caddyfile.example before it is adapted (e.g. to put
	// basic_auth in front of the player).
	Edit func(caddyfile string) string
	// DataDir reuses a data directory (e.g. to restart on the same store).
	DataDir string
}

// StartStack runs Caddyfile.example for the test and stops it at the end.
func StartStack(t *testing.T, opts StackOptions) *Stack {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{DataDir: opts.DataDir}
	if s.DataDir == "" {
		s.DataDir = t.TempDir()
	}
	ports := map[string]int{}
	names := []string{"DEMO_PORT", "PLAYER_PORT", "DEMO_UPSTREAM_PORT", "DEMO_ASSETS_PORT"}
	for i, p := range caddyrun.FreePorts(t, len(names)) {
		ports[names[i]] = p
		caddyrun.Setenv(t, names[i], p)
	}
	caddyrun.Setenv(t, "CADDY_ADMIN", "off")
	caddyrun.Setenv(t, "REPLAY_DATA_DIR", s.DataDir)
	caddyrun.Setenv(t, "DEMO_ROOT", filepath.Join(root, "examples", "demo"))
	caddyrun.Setenv(t, "DEMO_ASSETS_ROOT", filepath.Join(root, "examples", "assets"))
	text := string(src)
	if opts.Edit != nil {
		text = opts.Edit(text)
	}
	cfg := caddyrun.Adapt(t, []byte(text))
	var addrs []string
	for _, p := range ports {
		addrs = append(addrs, caddyrun.Addr(p))
	}
	caddyrun.Start(t, cfg, addrs...)
	s.config = cfg
	url := func(name string) string { return "http://localhost:" + itoa(ports[name]) }
	s.Site, s.Player, s.Assets = url("DEMO_PORT"), url("PLAYER_PORT"), url("DEMO_ASSETS_PORT")
	s.Upstream = "http://127.0.0.1:" + itoa(ports["DEMO_UPSTREAM_PORT"])
	return s
}

// Store is the running replay app's store.
func (s *Stack) Store(t *testing.T) store.Store {
	t.Helper()
	ctx := caddy.ActiveContext()
	app, err := ctx.AppIfConfigured("replay")
	if err != nil {
		t.Fatalf("the replay app is not running: %v", err)
	}
	return app.(*caddymodule.App).Store()
}

// Get fetches a URL without following redirects or asking for compression.
func Get(t *testing.T, url string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := caddyrun.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func itoa(i int) string { return strconv.Itoa(i) }

// Reload loads the stack's configuration again, as `caddy reload` does
// (forced: the config is unchanged): Caddy provisions a new instance of
// every module, moves the listeners to it and stops the old one.
func (s *Stack) Reload(t *testing.T) error {
	var cfg map[string]any
	if err := json.Unmarshal(s.config, &cfg); err != nil {
		t.Fatal(err)
	}
	// What caddyrun.Start sets: no admin endpoint, quiet logs, storage in
	// a temp dir.
	cfg["admin"] = map[string]any{"disabled": true, "config": map[string]any{"persist": false}}
	cfg["logging"] = map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}}
	cfg["storage"] = map[string]any{"module": "file_system", "root": t.TempDir()}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return caddy.Load(out, true)
}
