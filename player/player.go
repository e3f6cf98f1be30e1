// Package player serves Caddy Replay's player: a web UI that lists recorded
// sessions and replays them in a sandboxed iframe, and the JSON API behind
// it.
//
// The handler is plain net/http. It may be mounted at a site root or under a
// stripped prefix (Caddy's `handle_path /replay/*`): every URL it emits is
// relative, so the same handler works at any depth. Authentication is not
// its job (the replay_player Caddy module refuses unauthenticated requests
// before they get here); CSRF protection of destructive requests, the
// player page's Content-Security-Policy and the other safety headers are.
//
// Recorded content is hostile: anyone can post a segment. The UI rebuilds it
// inside an iframe sandboxed with allow-same-origin only (no scripts, no
// forms, no navigation of the player), under a policy that lets recorded
// styles, images and fonts load but no script run.
package player

import (
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/store"
)

// Config configures a Player.
type Config struct {
	// Store is where sessions and segments are read from and deleted.
	Store store.Store
	// Logger receives errors the client cannot act on (store failures).
	// Nil means no logging.
	Logger *zap.Logger
	// Title names this player in the page title and header, e.g. the
	// site's name. Empty means "Caddy Replay".
	Title string
	// PageSize is the number of sessions per page of the session list
	// (1 to 500). Zero means 50.
	PageSize int
	// CSRFKey signs the anti-CSRF tokens that deletes must carry. Nodes
	// that serve the same player behind one load balancer need the same
	// key; nil means a random key drawn once per process and shared by
	// the Players of every config reload, so tokens are valid until the
	// process restarts (the UI then asks the user to reload).
	CSRFKey []byte
}

// Player is the player's http.Handler. It is safe for concurrent use.
type Player struct {
	store    store.Store
	log      *zap.Logger
	title    string
	pageSize int
	csrf     csrf
	ui       *ui
}

// processCSRFKey is the key of Players configured without one: drawn once
// per process, not per Player, because Caddy builds a new Player at every
// config reload and a player page opened before a reload (of any site)
// must still be able to delete after it.
var processCSRFKey = sync.OnceValues(func() ([]byte, error) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	return key, err
})

// maxPageSize is the largest page of sessions the API returns; backends cap
// at the same value.
const maxPageSize = 500

// New checks cfg and builds the UI bundle.
func New(cfg Config) (*Player, error) {
	if cfg.Store == nil {
		return nil, errors.New("player: Config.Store is required")
	}
	if cfg.PageSize < 0 || cfg.PageSize > maxPageSize {
		return nil, errors.New("player: Config.PageSize must be between 1 and 500 (0 means 50)")
	}
	p := &Player{
		store:    cfg.Store,
		log:      cfg.Logger,
		title:    strings.TrimSpace(cfg.Title),
		pageSize: cfg.PageSize,
	}
	if p.log == nil {
		p.log = zap.NewNop()
	}
	if p.title == "" {
		p.title = "Caddy Replay"
	}
	if p.pageSize == 0 {
		p.pageSize = 50
	}
	key := cfg.CSRFKey
	if len(key) == 0 {
		var err error
		if key, err = processCSRFKey(); err != nil {
			return nil, err
		}
	}
	p.csrf = csrf{key: append([]byte(nil), key...)}
	u, err := loadUI()
	if err != nil {
		return nil, err
	}
	p.ui = u
	return p, nil
}

// ServeHTTP routes a request to the UI page, a UI asset or the API.
func (p *Player) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSafetyHeaders(w.Header())
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	switch {
	case path == "/" || path == "/index.html":
		p.serveIndex(w, r)
	case strings.HasPrefix(path, "/assets/"):
		p.ui.serveAsset(w, r, strings.TrimPrefix(path, "/assets/"))
	case path == "/api" || strings.HasPrefix(path, "/api/"):
		p.serveAPI(w, r, strings.TrimPrefix(path, "/api"))
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("Not found. The player lives at this handler's root (./).\n"))
	}
}
