package caddymodule

import (
	"math"
	"reflect"
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/caddy-replay/caddy-replay/collector"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("replay", parseReplay)
	// After encode, so encode compresses the rewritten page; before every
	// handler that produces a response (reverse_proxy, file_server, ...).
	httpcaddyfile.RegisterDirectiveOrder("replay", httpcaddyfile.After, "encode")
	httpcaddyfile.RegisterHandlerDirective("replay_player", parsePlayer)
	// After basic_auth and forward_auth, so their verdict is known; before
	// encode, because the player serves precompressed files itself.
	httpcaddyfile.RegisterDirectiveOrder("replay_player", httpcaddyfile.Before, "request_header")
}

func parseReplay(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	hd := new(Handler)
	err := hd.UnmarshalCaddyfile(h.Dispenser)
	return hd, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	replay [<matcher>] {
//		base_path           <path>
//		application_id      <id>
//		client_token        <token>
//		service             <name>
//		env                 <name>
//		version             <version>
//		sample_rate         <0-100>
//		replay_sample_rate  <0-100>
//		track_interactions  on|off
//		start               auto|manual
//		privacy             allow|mask|mask-user-input|hidden
//		cors_origins        <origins...>
//		crossorigin         <origins...>
//		inject_error_pages
//		inject              on|off
//		ingest [off] {
//			max_body_size         <size>
//			max_raw_size          <size>
//			max_records           <n>
//			allowed_origins       <origins...>
//			client_rate           <per second> [<burst>]
//			session_rate          <per second> [<burst>]
//			client_raw_rate       <size per second>|-1 [<burst size>]
//			max_concurrent_writes <n>
//			max_buffered_size     <size>
//			store_client_ip
//		}
//	}
//
// `replay` alone is enough: it records every HTML page of the site with
// the defaults.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		opt := d.Val()
		switch opt {
		case "base_path", "application_id", "client_token", "service", "env", "version", "start", "privacy":
			val, err := oneArg(d)
			if err != nil {
				return err
			}
			*map[string]*string{
				"base_path": &h.BasePath, "application_id": &h.ApplicationID, "client_token": &h.ClientToken,
				"service": &h.Service, "env": &h.Env, "version": &h.Version, "start": &h.Start, "privacy": &h.Privacy,
			}[opt] = val
			// Checked here too, not only at provision time, so that the
			// error names the Caddyfile line.
			if err := checkOption(opt, val); err != nil {
				return d.Err(err.Error())
			}
		case "sample_rate", "replay_sample_rate":
			val, err := oneArg(d)
			if err != nil {
				return err
			}
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || !(f >= 0 && f <= 100) { // NaN too: JSON cannot carry it
				return d.Errf("%s must be a percentage between 0 and 100, got %q", opt, val)
			}
			if opt == "sample_rate" {
				h.SampleRate = &f
			} else {
				h.ReplaySampleRate = &f
			}
		case "track_interactions":
			on, err := onOff(d)
			if err != nil {
				return err
			}
			h.TrackInteractions = &on
		case "inject":
			on, err := onOff(d)
			if err != nil {
				return err
			}
			h.DisableInjection = !on
		case "cors_origins", "crossorigin":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, o := range args {
				if err := checkOrigin(o); err != nil {
					return d.Errf("%s: %v", opt, err)
				}
			}
			if opt == "cors_origins" {
				h.CORSOrigins = append(h.CORSOrigins, args...)
			} else {
				h.CrossOriginOrigins = append(h.CrossOriginOrigins, args...)
			}
		case "inject_error_pages":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.InjectErrorPages = true
		case "ingest":
			if err := h.unmarshalIngest(d); err != nil {
				return err
			}
		default:
			return d.Errf("unknown replay option %q", opt)
		}
	}
	return nil
}

func (h *Handler) unmarshalIngest(d *caddyfile.Dispenser) error {
	if h.Ingest == nil {
		h.Ingest = new(Ingest)
	}
	ing := h.Ingest
	if d.NextArg() {
		if d.Val() != "off" {
			return d.Errf("ingest takes no argument but 'off', got %q", d.Val())
		}
		// Limits from an earlier ingest block would be dropped silently.
		if limits := *ing; !reflect.ValueOf(limits).IsZero() && !limits.Disabled {
			return d.Errf("ingest off: the limits of the ingest block before it would have no effect")
		}
		ing.Disabled = true
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if ing.Disabled {
			return d.Errf("ingest off takes no options: %s would have no effect", opt)
		}
		switch opt {
		case "max_body_size", "max_raw_size", "max_buffered_size":
			val, err := oneArg(d)
			if err != nil {
				return err
			}
			n, err := parseSize(d, opt, val)
			if err != nil {
				return err
			}
			switch opt {
			case "max_body_size":
				ing.MaxBodySize = n
			case "max_raw_size":
				ing.MaxRawSize = n
			default:
				ing.MaxBufferedSize = n
			}
		case "client_raw_rate":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			if args[0] == "-1" {
				if len(args) == 2 {
					return d.Errf("%s -1 (no limit) takes no burst", opt)
				}
				ing.ClientRawRate = collector.Rate{PerSecond: -1}
				continue
			}
			n, err := parseSize(d, opt, args[0])
			if err != nil {
				return err
			}
			r := collector.Rate{PerSecond: float64(n)}
			if len(args) == 2 {
				b, err := parseSize(d, opt, args[1])
				if err != nil {
					return err
				}
				r.Burst = int(b)
			}
			ing.ClientRawRate = r
		case "max_records", "max_concurrent_writes":
			val, err := oneArg(d)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return d.Errf("%s must be a positive integer, got %q", opt, val)
			}
			if opt == "max_records" {
				ing.MaxRecords = n
			} else {
				ing.MaxConcurrentWrites = n
			}
		case "allowed_origins":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, o := range args {
				if o == "*" {
					continue
				}
				if err := checkOrigin(o); err != nil {
					return d.Errf("%s: %v", opt, err)
				}
			}
			ing.AllowedOrigins = append(ing.AllowedOrigins, args...)
		case "client_rate", "session_rate":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			rate, err := strconv.ParseFloat(args[0], 64)
			// NaN and ±Inf are refused like 0: JSON cannot carry them, and
			// adapting would turn the whole handler into null.
			if err != nil || rate == 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
				return d.Errf("%s: uploads per second must be a positive number (or -1 for no limit), got %q", opt, args[0])
			}
			r := collector.Rate{PerSecond: rate}
			if len(args) == 2 {
				r.Burst, err = strconv.Atoi(args[1])
				if err != nil || r.Burst <= 0 {
					return d.Errf("%s: burst must be a positive integer, got %q", opt, args[1])
				}
			}
			if opt == "client_rate" {
				ing.ClientRate = r
			} else {
				ing.SessionRate = r
			}
		case "store_client_ip":
			if d.NextArg() {
				return d.ArgErr()
			}
			ing.StoreClientIP = true
		default:
			return d.Errf("unknown ingest option %q", opt)
		}
	}
	return nil
}

func parsePlayer(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	p := new(PlayerHandler)
	err := p.UnmarshalCaddyfile(h.Dispenser)
	return p, err
}

// UnmarshalCaddyfile sets up the player from Caddyfile tokens. Syntax:
//
//	replay_player [<matcher>] {
//		require_auth
//		insecure_no_auth
//	}
//
// The player refuses to serve unless a handler before it authenticated the
// request (basic_auth, forward_auth), the site listens on loopback
// addresses only (and require_auth is off), or insecure_no_auth is set.
func (p *PlayerHandler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "insecure_no_auth":
			if d.NextArg() {
				return d.ArgErr()
			}
			p.InsecureNoAuth = true
		case "require_auth":
			if d.NextArg() {
				return d.ArgErr()
			}
			p.RequireAuth = true
		default:
			return d.Errf("unknown replay_player option %q", d.Val())
		}
		if p.InsecureNoAuth && p.RequireAuth {
			return d.Errf("require_auth and insecure_no_auth contradict each other: choose one")
		}
	}
	return nil
}

func oneArg(d *caddyfile.Dispenser) (string, error) {
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	return v, nil
}

func onOff(d *caddyfile.Dispenser) (bool, error) {
	v, err := oneArg(d)
	if err != nil {
		return false, err
	}
	switch v {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	}
	return false, d.Errf("expected on or off, got %q", v)
}

// Interface guards.
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
	_ caddyfile.Unmarshaler = (*PlayerHandler)(nil)
)

// parseSize reads a positive size such as 1MiB or 500KB for option opt.
func parseSize(d *caddyfile.Dispenser, opt, val string) (int64, error) {
	n, err := humanize.ParseBytes(val)
	if err != nil || n == 0 || n > 1<<40 {
		return 0, d.Errf("%s: not a size: %q (e.g. 1MiB)", opt, val)
	}
	return int64(n), nil
}
