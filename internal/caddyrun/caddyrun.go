// Package caddyrun runs Caddy in-process for tests: it adapts a Caddyfile,
// loads it with the admin endpoint off and stops it when the test ends.
//
// We do not use caddytest: it skips (rather than fails) when its
// prerequisites are missing, and it drives a fixed admin port that
// packages tested in parallel would share.
package caddyrun

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts returns n distinct TCP ports on 127.0.0.1 that were free a
// moment ago. It holds every port until it has all of them: ports taken
// one after the other can come back twice (two sites on one port make
// an ambiguous Caddyfile).
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// Adapt turns a Caddyfile into JSON config (environment placeholders
// {$VAR} are expanded from the process environment).
func Adapt(t testing.TB, src []byte) []byte {
	t.Helper()
	adapter := caddyconfig.GetAdapter("caddyfile")
	// Tests build Caddyfiles from fragments: format them so that the
	// adapter's "not formatted" warning only shows real problems.
	cfg, warnings, err := adapter.Adapt(caddyfile.Format(src), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting the Caddyfile: %v", err)
	}
	for _, w := range warnings {
		t.Logf("Caddyfile warning: %s:%d: %s", w.File, w.Line, w.Message)
	}
	return cfg
}

// Start loads the config (JSON) and waits until every listed address
// accepts connections. Caddy stops when the test ends. Only one
// configuration runs at a time in a process.
func Start(t testing.TB, cfgJSON []byte, waitFor ...string) {
	t.Helper()
	// Never let a test config open the default admin endpoint.
	var cfg map[string]any
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		t.Fatalf("config is not JSON: %v", err)
	}
	cfg["admin"] = map[string]any{"disabled": true, "config": map[string]any{"persist": false}}
	if _, ok := cfg["logging"]; !ok && os.Getenv("CADDY_TEST_LOGS") == "" {
		// Caddy's info logs drown test output; CADDY_TEST_LOGS=1 shows them.
		cfg["logging"] = map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}}
	}
	if _, ok := cfg["storage"]; !ok {
		// Keep certificates, locks and app data of tests out of $HOME.
		cfg["storage"] = map[string]any{"module": "file_system", "root": t.TempDir()}
	}
	cfgJSON, _ = json.Marshal(cfg)
	if err := caddy.Load(cfgJSON, true); err != nil {
		t.Fatalf("loading the Caddy config: %v", err)
	}
	t.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			t.Logf("stopping Caddy: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, addr := range waitFor {
		for {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Caddy is not listening on %s: %v", addr, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Setenv sets an environment variable for the test (for Caddyfile
// {$VAR} placeholders) and returns its value.
func Setenv(t testing.TB, key string, value any) string {
	t.Helper()
	s := fmt.Sprint(value)
	if tt, ok := t.(*testing.T); ok {
		tt.Setenv(key, s)
	} else {
		old, had := os.LookupEnv(key)
		os.Setenv(key, s)
		t.Cleanup(func() {
			if had {
				os.Setenv(key, old)
			} else {
				os.Unsetenv(key)
			}
		})
	}
	return s
}

// Client is an HTTP client that never follows redirects and never asks
// for compression implicitly, so tests see responses as sent.
func Client() *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DisableCompression: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Addr is "127.0.0.1:<port>".
func Addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
