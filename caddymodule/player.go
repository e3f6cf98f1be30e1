package caddymodule

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/player"
)

func init() {
	caddy.RegisterModule(PlayerHandler{})
}

// PlayerHandler is the `replay_player` HTTP handler: the session list, the
// replay view and their API, reading the replay app's store.
//
// Recordings are personal data, so the player refuses to serve (401)
// unless one of these holds:
//
//   - a handler before it authenticated the request: basic_auth (or any
//     authentication provider that sets {http.auth.user.id}), or
//     forward_auth (its auth gateway answered 2xx);
//   - the site's server listens on loopback addresses only (bind
//     127.0.0.1 / ::1 / localhost), the request carries no proxy headers
//     (Forwarded, X-Forwarded-For, X-Real-IP), and require_auth is off;
//   - insecure_no_auth is set (for a network you fully trust).
type PlayerHandler struct {
	// InsecureNoAuth serves the player without authentication even on
	// public listeners. Anyone who can reach it can watch and delete every
	// recording.
	InsecureNoAuth bool `json:"insecure_no_auth,omitempty"`

	// RequireAuth turns off the loopback exception: the player then
	// serves only authenticated requests even on a loopback-only
	// listener. Set it when another proxy on the same machine forwards
	// outside traffic to this listener without adding a Forwarded or
	// X-Forwarded-For header.
	RequireAuth bool `json:"require_auth,omitempty"`

	player   *player.Player
	logger   *zap.Logger
	loopback *sync.Map // *caddyhttp.Server → bool
}

// CaddyModule returns the Caddy module information.
func (PlayerHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.replay_player",
		New: func() caddy.Module { return new(PlayerHandler) },
	}
}

// Provision loads the replay app and builds the player.
func (p *PlayerHandler) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	p.loopback = new(sync.Map)
	if p.InsecureNoAuth && p.RequireAuth {
		return fmt.Errorf("replay_player: require_auth and insecure_no_auth contradict each other: choose one")
	}
	appVal, err := ctx.App("replay")
	if err != nil {
		return fmt.Errorf("replay_player: loading the replay app: %v", err)
	}
	app := appVal.(*App)
	p.player, err = player.New(player.Config{
		Store:  app.Store(),
		Logger: p.logger,
	})
	if err != nil {
		return fmt.Errorf("replay_player: %v", err)
	}
	if p.InsecureNoAuth {
		p.logger.Warn("the player is served without authentication: anyone who can reach it can watch and delete recordings")
	}
	return nil
}

// ServeHTTP serves the player to authorized requests only.
func (p *PlayerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	excludeFromRecording(r)
	if !p.authorized(r) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{
			"error": "authentication_required",
			"message": "The replay player serves only authenticated requests. Put basic_auth or forward_auth " +
				"before replay_player in this site, or bind the site to a loopback address and open it on " +
				"this machine, or (on a trusted network only) set insecure_no_auth.",
		})
		return nil
	}
	p.player.ServeHTTP(w, r)
	return nil
}

func (p *PlayerHandler) authorized(r *http.Request) bool {
	if p.InsecureNoAuth {
		return true
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		if id, _ := repl.GetString("http.auth.user.id"); id != "" {
			return true
		}
		// forward_auth is a reverse_proxy whose 2xx answer lets the
		// request go on (any other answer is sent to the client and ends
		// it), so a 2xx status here means the auth gateway said yes. The
		// placeholder is set by Caddy, never by the client.
		if code, _ := repl.GetString("http.reverse_proxy.status_code"); len(code) == 3 && code[0] == '2' {
			return true
		}
	}
	if p.RequireAuth || forwarded(r) {
		return false
	}
	srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if !ok {
		return false
	}
	if v, ok := p.loopback.Load(srv); ok {
		return v.(bool)
	}
	lo := loopbackOnly(srv.Listen)
	p.loopback.Store(srv, lo)
	return lo
}

// forwarded reports whether a proxy forwarded the request: then it may
// come from anywhere, whatever our listener's address.
func forwarded(r *http.Request) bool {
	h := r.Header
	return h.Get("Forwarded") != "" || h.Get("X-Forwarded-For") != "" || h.Get("X-Real-Ip") != ""
}

// loopbackOnly reports whether every listener address is a loopback
// address (an empty host means every interface: not loopback).
func loopbackOnly(listen []string) bool {
	if len(listen) == 0 {
		return false
	}
	for _, l := range listen {
		na, err := caddy.ParseNetworkAddress(l)
		if err != nil {
			return false
		}
		if na.IsUnixNetwork() {
			continue // a Unix socket is as local as it gets
		}
		if na.Host == "localhost" {
			continue
		}
		ip := net.ParseIP(na.Host)
		if ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*PlayerHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*PlayerHandler)(nil)
)
