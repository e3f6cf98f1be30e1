package player

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/evanw/esbuild/pkg/api"
	"github.com/klauspost/compress/gzip"

	"github.com/caddy-replay/caddy-replay/jsbundle"
	"github.com/caddy-replay/caddy-replay/store"
)

// uiFiles holds the UI sources: index.html, the stylesheets under css/
// (concatenated in name order) and the ES modules under js/.
//
//go:embed ui
var uiFiles embed.FS

// ui is the built UI: the page template and its content-hashed assets.
type ui struct {
	page   *template.Template
	js     *jsbundle.Asset
	css    *jsbundle.Asset
	assets map[string]*jsbundle.Asset
}

// loadUI builds the UI once per process: the sources are embedded, so every
// Player (Caddy builds a new one at each config reload) gets the same
// bundle.
var loadUI = sync.OnceValues(func() (*ui, error) {
	src, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		return nil, err
	}
	js, err := jsbundle.Build(jsbundle.Options{
		FS:       src,
		Entry:    "js/main.js",
		Name:     "player",
		Format:   jsbundle.Module,
		Packages: uiPackages(),
	})
	if err != nil {
		return nil, fmt.Errorf("player: building the UI: %w", err)
	}
	css, err := buildCSS(src)
	if err != nil {
		return nil, err
	}
	page, err := template.ParseFS(src, "index.html")
	if err != nil {
		return nil, fmt.Errorf("player: parsing index.html: %w", err)
	}
	return &ui{
		page:   page,
		js:     js,
		css:    css,
		assets: map[string]*jsbundle.Asset{js.Name: js, css.Name: css},
	}, nil
})

// buildCSS concatenates css/*.css in name order and minifies the result.
func buildCSS(src fs.FS) (*jsbundle.Asset, error) {
	names, err := fs.Glob(src, "css/*.css")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var all bytes.Buffer
	for _, n := range names {
		b, err := fs.ReadFile(src, n)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&all, "/* %s */\n", path.Base(n))
		all.Write(b)
		all.WriteByte('\n')
	}
	res := api.Transform(all.String(), api.TransformOptions{
		Loader:            api.LoaderCSS,
		MinifyWhitespace:  true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
		Target:            api.ES2020,
		Engines:           []api.Engine{{Name: api.EngineChrome, Version: "111"}, {Name: api.EngineFirefox, Version: "113"}, {Name: api.EngineSafari, Version: "16.4"}},
		LogLevel:          api.LogLevelSilent,
		MinifyIdentifiers: false,
	})
	if len(res.Errors) > 0 {
		var b strings.Builder
		for _, m := range res.Errors {
			b.WriteString(m.Text)
			b.WriteString("; ")
		}
		return nil, fmt.Errorf("player: building the stylesheet: %s", b.String())
	}
	return jsbundle.NewAsset("player", ".css", "text/css; charset=utf-8", res.Code)
}

// serveAsset serves a content-hashed UI asset.
func (u *ui) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a := u.assets[name]
	if a == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("No such asset: the player was updated; reload the page.\n"))
		return
	}
	a.ServeHTTP(w, r)
}

// pageData is what index.html is executed with.
type pageData struct {
	Title  string
	Script string
	// Nonce allows the page's script under its policy (pagePolicy).
	Nonce    string
	Style    string
	CSRF     string
	PageSize string
	// Boot is the JSON of the session the URL names, with its segment
	// list and usually its first segment's events (firstEvents), so the
	// replay starts without API round trips. It is a
	// data block (<script type="application/json">), not an attribute:
	// an hour's segment list is 150 KB or more, and an attribute's
	// thousands of escaped quotes cost the HTML parser tens of
	// milliseconds before the first frame. json.Marshal escapes <, > and
	// &, so the JSON cannot end the element.
	Boot template.JS
	// Preload is the first segment's URL, fetched while the script
	// loads, when Boot does not carry its events.
	Preload string
}

// serveIndex serves the player page.
func (p *Player) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var boot, preload string
	if id := r.URL.Query().Get("session"); idPattern.MatchString(id) {
		boot, preload = p.bootData(r, id)
	}
	var buf bytes.Buffer
	nonce := newNonce()
	err := p.ui.page.Execute(&buf, pageData{
		Nonce:    nonce,
		Boot:     template.JS(boot),
		Preload:  preload,
		Title:    p.title,
		Script:   "assets/" + p.ui.js.Name,
		Style:    "assets/" + p.ui.css.Name,
		CSRF:     p.csrf.issue(w, r),
		PageSize: strconv.Itoa(p.pageSize),
	})
	if err != nil {
		http.Error(w, "the player page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pagePolicy(nonce))
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page carries a CSRF token bound to this browser's cookie.
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	// A session's page carries its first segment (hundreds of KB of
	// JSON that compress tenfold): compressed here, since the player is
	// often served without `encode` in front of it.
	compress := buf.Len() > minCompressedPage && jsbundle.AcceptsEncoding(r.Header.Get("Accept-Encoding"), "gzip")
	if compress {
		h.Set("Content-Encoding", "gzip")
	} else {
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	out, flush := io.Writer(w), func() {}
	if compress {
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // the level is valid
		defer zw.Close()
		out, flush = zw, func() { zw.Flush() }
	}
	b := buf.Bytes()
	// The head goes out on its own: a browser scans what it has received
	// for the stylesheet and script to fetch before it parses it, and the
	// boot data would otherwise delay those requests until it was all
	// scanned.
	if i := bytes.Index(b, []byte("</head>")); i > 0 && len(b) > 64<<10 {
		out.Write(b[:i])
		flush()
		http.NewResponseController(w).Flush()
		b = b[i:]
	}
	out.Write(b)
}

// minCompressedPage is the size from which the player's page is sent
// compressed: below it, compressing saves less than a packet.
const minCompressedPage = 8 << 10

// bootData returns the session and segment list the replay of id starts
// with, as the API would answer them, and its first segment's URL; empty
// strings when the store cannot answer at once (the UI then asks the API
// itself and shows the error).
func (p *Player) bootData(r *http.Request, id string) (boot, preload string) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	sess, err := p.store.Session(ctx, id)
	if err != nil {
		return "", ""
	}
	segs, err := p.store.SegmentList(ctx, id)
	if err != nil || len(segs) == 0 {
		return "", ""
	}
	list := segmentsJSON(id, segs)
	first := firstEvents(ctx, p.store, segs[0].SegmentKey)
	if first == nil {
		preload = list[0].URL
	}
	// Each URL is api/sessions/{id}/segments/{view}/{seq}: the page
	// rebuilds them (source.js) instead of carrying a third of its bytes.
	for i := range list {
		list[i].URL = ""
	}
	b, err := json.Marshal(struct {
		Session  sessionJSON     `json:"session"`
		Segments []segmentJSON   `json:"segments"`
		First    json.RawMessage `json:"first,omitempty"`
	}{toSessionJSON(sess), list, first})
	if err != nil {
		return "", ""
	}
	return string(b), preload
}

// maxInlineSegment bounds the decompressed size of a first segment carried
// in the page; a bigger one is preloaded instead.
const maxInlineSegment = 4 << 20

// firstEvents returns the events of the session's first segment (its full
// snapshot) as JSON, to carry in the page, or nil when it cannot be read,
// is too big or is not a JSON array. In the page, the first frame is built
// in the same task as the script's first run: fetched, it waited for the
// fetch, for the page's first rendering and for a task of its own (about a
// quarter of the time to first frame of an hour-long session).
// json.Marshal checks the JSON again and escapes <, > and &, so recorded
// text cannot end the data block.
func firstEvents(ctx context.Context, st store.Store, key store.SegmentKey) json.RawMessage {
	rc, err := st.OpenSegment(ctx, key)
	if err != nil {
		return nil
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return nil
	}
	defer zr.Close()
	b, err := io.ReadAll(io.LimitReader(zr, maxInlineSegment+1))
	if err != nil || len(b) > maxInlineSegment {
		return nil
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || !json.Valid(b) {
		return nil
	}
	return b
}
