// Package caddymodule is Caddy Replay's Caddy glue: the `replay` app that
// owns the recording store, the `replay` handler that records a site, and
// the `replay_player` handler that serves the player. Everything else lives
// in plain Go packages (inject, recorder, collector, store, player) that
// know nothing about Caddy.
package caddymodule

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/collector"
	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

func init() {
	caddy.RegisterModule(App{})
	httpcaddyfile.RegisterGlobalOption("replay", parseGlobalOption)
}

// DefaultRetention is how long recordings are kept when the operator does
// not say: 30 days, like Datadog's Session Replay.
const DefaultRetention = 30 * 24 * time.Hour

// DefaultDataDir is where the embedded store lives when `data_dir` is not
// set: a "replay" folder in Caddy's data directory.
func DefaultDataDir() string {
	return filepath.Join(caddy.AppDataDir(), "replay")
}

// App is the `replay` app. It owns the recording store that every `replay`
// and `replay_player` handler of the configuration uses, and enforces the
// retention period. It does not need to be configured: handlers load it
// with its defaults.
//
// The store is opened once per data directory and shared across config
// reloads (Caddy provisions the new configuration before it stops the old
// one, and SQLite must not be opened twice by one process).
type App struct {
	// DataDir is the directory of the embedded store: recording segments
	// as files and the session index as a SQLite database. Defaults to
	// "replay" in Caddy's data directory (`caddy environ` shows it). A
	// relative path is relative to Caddy's working directory.
	DataDir string `json:"data_dir,omitempty"`

	// Retention is how long a session is kept after its last activity.
	// The janitor deletes older sessions and the archived assets only they
	// used. Default: 30 days (720h). Accepts Caddy durations, including
	// days: "30d".
	Retention caddy.Duration `json:"retention,omitempty"`

	// JanitorInterval is how often the janitor looks for expired sessions.
	// Default: 1 hour.
	JanitorInterval caddy.Duration `json:"janitor_interval,omitempty"`

	dir     string
	store   store.Store
	logger  *zap.Logger
	janitor *store.Janitor
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "replay",
		New: func() caddy.Module { return new(App) },
	}
}

// stores shares open stores between the old and the new configuration
// during a reload, keyed by absolute data directory.
var stores = caddy.NewUsagePool()

type sharedStore struct{ store.Store }

func (s sharedStore) Destruct() error { return s.Close() }

// Provision opens (or joins) the store.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	if a.Retention == 0 {
		a.Retention = caddy.Duration(DefaultRetention)
	}
	if a.Retention < 0 {
		return fmt.Errorf("replay: retention must be positive, got %s", time.Duration(a.Retention))
	}
	if a.JanitorInterval < 0 {
		return fmt.Errorf("replay: janitor_interval must be positive, got %s", time.Duration(a.JanitorInterval))
	}
	if a.JanitorInterval == 0 {
		a.JanitorInterval = caddy.Duration(time.Hour)
	}
	dir := a.DataDir
	if dir == "" {
		dir = DefaultDataDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("replay: data_dir %q: %v", dir, err)
	}
	a.dir = abs
	val, _, err := stores.LoadOrNew(abs, func() (caddy.Destructor, error) {
		// Summarize rebuilds session metadata for segments that Open
		// recovers from the packs after a crash or power loss.
		st, err := embedded.Open(abs, embedded.Options{Logger: a.logger.Named("store"), Summarizer: collector.Summarize})
		if err != nil {
			return nil, err
		}
		return sharedStore{st}, nil
	})
	if err != nil {
		return fmt.Errorf("replay: opening the store in %s: %w", abs, err)
	}
	a.store = val.(sharedStore).Store
	return nil
}

// Store returns the recording store.
func (a *App) Store() store.Store { return a.store }

// DataDirectory returns the absolute data directory in use.
func (a *App) DataDirectory() string { return a.dir }

// Start starts the retention janitor.
func (a *App) Start() error {
	a.janitor = &store.Janitor{
		Store:     a.store,
		Retention: time.Duration(a.Retention),
		Interval:  time.Duration(a.JanitorInterval),
		Logger:    a.logger.Named("janitor"),
	}
	a.janitor.Start()
	a.logger.Info("recording store ready", zap.String("data_dir", a.dir), zap.Duration("retention", time.Duration(a.Retention)))
	return nil
}

// Stop stops the janitor. The store stays open until no configuration uses
// it (see Cleanup).
func (a *App) Stop() error {
	if a.janitor != nil {
		a.janitor.Stop()
	}
	return nil
}

// Cleanup releases this configuration's use of the store; the last user
// closes it.
func (a *App) Cleanup() error {
	if a.dir == "" || a.store == nil {
		return nil
	}
	_, err := stores.Delete(a.dir)
	return err
}

// parseGlobalOption sets up the replay app from the global options block.
//
//	{
//		replay {
//			data_dir         <path>
//			retention        <duration>
//			janitor_interval <duration>
//		}
//	}
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	app := new(App)
	if existing != nil {
		return nil, d.Err("the replay global option may appear only once")
	}
	d.Next() // option name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "data_dir":
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			app.DataDir = d.Val()
		case "retention", "janitor_interval":
			name := d.Val()
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil {
				return nil, d.Errf("%s: %v", name, err)
			}
			if dur <= 0 {
				return nil, d.Errf("%s must be positive", name)
			}
			if name == "retention" {
				app.Retention = caddy.Duration(dur)
			} else {
				app.JanitorInterval = caddy.Duration(dur)
			}
		default:
			return nil, d.Errf("unknown replay option %q (expected data_dir, retention or janitor_interval)", d.Val())
		}
		if d.NextArg() {
			return nil, d.ArgErr()
		}
	}
	return httpcaddyfile.App{
		Name:  "replay",
		Value: caddyconfig.JSON(app, nil),
	}, nil
}

// Interface guards.
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
