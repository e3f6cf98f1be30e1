package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-replay/caddy-replay/collector"
)

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }

func TestUnmarshalReplay(t *testing.T) {
	d := caddyfile.NewTestDispenser(`replay {
		base_path /_rec/
		application_id app-1
		client_token pub_123
		service shop
		env prod
		version 2.1.0
		sample_rate 50
		replay_sample_rate 20.5
		track_interactions off
		start manual
		privacy mask
		cors_origins https://player.example.com https://b.example.com
		crossorigin https://cdn.example.com
		inject_error_pages
		inject off
		ingest {
			max_body_size 512KiB
			max_raw_size 8MiB
			max_records 1000
			allowed_origins https://other.example.com
			client_rate 10 40
			session_rate 2
			max_concurrent_writes 64
			store_client_ip
		}
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	want := Handler{
		BasePath: "/_rec/", ApplicationID: "app-1", ClientToken: "pub_123", Service: "shop", Env: "prod", Version: "2.1.0",
		SampleRate: f(50), ReplaySampleRate: f(20.5), TrackInteractions: b(false), Start: "manual", Privacy: "mask",
		CORSOrigins:        []string{"https://player.example.com", "https://b.example.com"},
		CrossOriginOrigins: []string{"https://cdn.example.com"},
		InjectErrorPages:   true, DisableInjection: true,
		Ingest: &Ingest{
			MaxBodySize: 512 << 10, MaxRawSize: 8 << 20, MaxRecords: 1000,
			AllowedOrigins: []string{"https://other.example.com"},
			ClientRate:     collector.Rate{PerSecond: 10, Burst: 40}, SessionRate: collector.Rate{PerSecond: 2},
			MaxConcurrentWrites: 64, StoreClientIP: true,
		},
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got  %+v\nwant %+v", h, want)
	}
}

func TestUnmarshalReplayErrors(t *testing.T) {
	for _, src := range []string{
		"replay extra",
		"replay {\n sample_rate 101\n}",
		"replay {\n sample_rate lots\n}",
		"replay {\n track_interactions maybe\n}",
		"replay {\n service\n}",
		"replay {\n service a b\n}",
		"replay {\n cors_origins\n}",
		"replay {\n unknown_option 1\n}",
		"replay {\n ingest {\n max_body_size huge\n }\n}",
		"replay {\n ingest {\n client_rate 0\n }\n}",
		"replay {\n ingest {\n max_records -1\n }\n}",
		"replay {\n ingest on\n}",
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src)); err == nil {
			t.Errorf("accepted %q", src)
		}
	}
}

func TestValidateRejectsBadValues(t *testing.T) {
	for name, h := range map[string]Handler{
		"base path without slash": {BasePath: "__replay"},
		"base path with quote":    {BasePath: `/a"b/`},
		"start":                   {Start: "later"},
		"privacy":                 {Privacy: "secret"},
		"rate":                    {ReplaySampleRate: f(-1)},
		"cors origin with path":   {CORSOrigins: []string{"https://a.example/x"}},
		"crossorigin not origin":  {CrossOriginOrigins: []string{"cdn.example.com"}},
		"ingest origin":           {Ingest: &Ingest{AllowedOrigins: []string{"ftp://x"}}},
	} {
		if err := h.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := Handler{CORSOrigins: []string{"https://player.example.com", "http://localhost:8090"}}
	if err := ok.validate(); err != nil || ok.BasePath != "/__replay/" {
		t.Errorf("valid handler: %v, base path %q", err, ok.BasePath)
	}
}

func TestUnmarshalGlobalOption(t *testing.T) {
	v, err := parseGlobalOption(caddyfile.NewTestDispenser("replay {\n data_dir /var/lib/replay\n retention 7d\n janitor_interval 10m\n}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	app := v.(httpcaddyfile.App)
	if app.Name != "replay" || string(app.Value) != `{"data_dir":"/var/lib/replay","retention":604800000000000,"janitor_interval":600000000000}` {
		t.Errorf("got %s: %s", app.Name, app.Value)
	}
	for _, bad := range []string{"replay {\n retention forever\n}", "replay {\n retention -1h\n}", "replay {\n data_dir\n}", "replay {\n color blue\n}", "replay arg"} {
		if _, err := parseGlobalOption(caddyfile.NewTestDispenser(bad), nil); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:8090":      true,
		"tcp/127.0.0.1:8090":  true,
		"[::1]:8090":          true,
		"localhost:8090":      true,
		"unix//run/x.sock":    true,
		":8090":               false,
		"0.0.0.0:8090":        false,
		"192.168.1.5:8090":    false,
		"127.0.0.1:1,:2":      false,
		"tcp/[::]:443":        false,
		"example.com:443":     false,
		"127.0.0.1:80 :8443":  false,
		"127.0.0.1:80 ::1:80": false,
	} {
		if got := loopbackOnly(strings.FieldsFunc(listen, func(r rune) bool { return r == ' ' || r == ',' })); got != want {
			t.Errorf("loopbackOnly(%q) = %v, want %v", listen, got, want)
		}
	}
}

// TestPlayerGate: without authentication, a player on a public listener
// answers 401 and never reaches the player; an authenticated user, a
// loopback-only listener or insecure_no_auth pass.
func TestPlayerGate(t *testing.T) {
	reached := false
	p := &PlayerHandler{}
	p.loopback = new(sync.Map)
	pass := func(r *http.Request) int {
		reached = false
		rec := httptest.NewRecorder()
		if p.authorized(r) {
			reached = true
			return http.StatusOK
		}
		p.ServeHTTP(rec, r, nil)
		return rec.Code
	}
	req := func(listen []string, user string, header ...string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		repl := caddy.NewReplacer()
		switch user {
		case "":
		case "forward_auth":
			// What forward_auth leaves when its gateway said yes.
			repl.Set("http.reverse_proxy.status_code", 200)
		default:
			repl.Set("http.auth.user.id", user)
		}
		ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
		ctx = context.WithValue(ctx, caddyhttp.ServerCtxKey, &caddyhttp.Server{Listen: listen})
		return r.WithContext(ctx)
	}
	if code := pass(req([]string{":443"}, "")); code != http.StatusUnauthorized || reached {
		t.Errorf("public listener, no user: %d (reached %v)", code, reached)
	}
	if code := pass(req([]string{":443"}, "ops")); code != http.StatusOK || !reached {
		t.Errorf("public listener, authenticated: %d", code)
	}
	if code := pass(req([]string{"127.0.0.1:8090"}, "")); code != http.StatusOK || !reached {
		t.Errorf("loopback listener: %d", code)
	}
	// A proxy on this machine forwarding outside traffic to the loopback
	// listener: not local.
	if code := pass(req([]string{"127.0.0.1:8090"}, "", "X-Forwarded-For", "203.0.113.9")); code != http.StatusUnauthorized || reached {
		t.Errorf("loopback listener, forwarded request: %d", code)
	}
	p.RequireAuth = true
	if code := pass(req([]string{"127.0.0.1:8090"}, "")); code != http.StatusUnauthorized || reached {
		t.Errorf("loopback listener with require_auth: %d", code)
	}
	if code := pass(req([]string{"127.0.0.1:8090"}, "forward_auth")); code != http.StatusOK || !reached {
		t.Errorf("forward_auth passed, require_auth: %d", code)
	}
	p.RequireAuth = false
	p.InsecureNoAuth = true
	if code := pass(req([]string{":443"}, "")); code != http.StatusOK || !reached {
		t.Errorf("insecure_no_auth: %d", code)
	}
}
