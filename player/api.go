package player

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/jsbundle"
	"github.com/caddy-replay/caddy-replay/store"
)

// idPattern is what session and view ids may look like in a URL. The
// collector is stricter ([A-Za-z0-9_-]{16,64}); anything else cannot name
// a stored object and is answered 404 without asking the store.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// serveAPI routes /api/... (rest is the path after "/api").
func (p *Player) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	w.Header().Set("Cache-Control", "no-store")
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) == 0 || parts[0] != "sessions" {
		apiError(w, http.StatusNotFound, "not_found", "No such API endpoint. The API serves sessions/… under this player's api/ path.")
		return
	}
	parts = parts[1:]
	if len(parts) == 0 {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			p.listSessions(w, r)
		case http.MethodDelete:
			p.deleteUser(w, r)
		default:
			methodNotAllowed(w, "GET, HEAD, DELETE")
		}
		return
	}
	id := parts[0]
	if !idPattern.MatchString(id) {
		apiError(w, http.StatusNotFound, "session_not_found", "No session has this id.")
		return
	}
	switch {
	case len(parts) == 1:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			p.getSession(w, r, id)
		case http.MethodDelete:
			p.deleteSession(w, r, id)
		default:
			methodNotAllowed(w, "GET, HEAD, DELETE")
		}
	case len(parts) == 2 && parts[1] == "segments":
		if !isRead(w, r) {
			return
		}
		p.listSegments(w, r, id)
	case len(parts) == 4 && parts[1] == "segments":
		if !isRead(w, r) {
			return
		}
		seq, err := strconv.Atoi(parts[3])
		if !idPattern.MatchString(parts[2]) || err != nil || seq < 0 || strconv.Itoa(seq) != parts[3] {
			apiError(w, http.StatusNotFound, "segment_not_found", "No segment has this view id and sequence number.")
			return
		}
		p.serveSegment(w, r, store.SegmentKey{Session: id, View: parts[2], Seq: seq})
	case len(parts) == 2 && (parts[1] == "events" || parts[1] == "export"):
		if !isRead(w, r) {
			return
		}
		p.serveEvents(w, r, id, parts[1] == "export")
	default:
		apiError(w, http.StatusNotFound, "not_found", "No such API endpoint.")
	}
}

// isRead answers 405 unless r is a GET or HEAD.
func isRead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	methodNotAllowed(w, "GET, HEAD")
	return false
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	apiError(w, http.StatusMethodNotAllowed, "method_not_allowed", "This endpoint accepts "+allow+".")
}

// apiError writes {"error": code, "message": message}: a stable code for
// programs and a sentence that says what to do for people.
func apiError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	h.Del("Content-Encoding")
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, message})
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "internal", "The response could not be encoded.")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(append(b, '\n'))
	}
}

// storeError answers a store failure: 404 for missing or deleted
// sessions, 503 when the store is closed, 500 (logged) otherwise.
func (p *Player) storeError(w http.ResponseWriter, r *http.Request, err error, what string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		apiError(w, http.StatusNotFound, what+"_not_found", "No "+what+" has this id: it may have expired under the retention policy or been deleted.")
	case errors.Is(err, store.ErrSessionDeleted):
		apiError(w, http.StatusGone, "session_deleted", "This session was deleted.")
	case errors.Is(err, store.ErrInvalid):
		// A malformed cursor or id: the request, not the store, is wrong.
		apiError(w, http.StatusBadRequest, "bad_query", "The store refused the request ("+err.Error()+"): start the listing again from the first page.")
	case errors.Is(err, store.ErrClosed):
		w.Header().Set("Retry-After", "2")
		apiError(w, http.StatusServiceUnavailable, "store_closed", "The store is closed (Caddy is reloading or stopping): try again in a few seconds.")
	case errors.Is(err, store.ErrBusy):
		w.Header().Set("Retry-After", "5")
		apiError(w, http.StatusServiceUnavailable, "store_busy", "The store is busy with maintenance (a reindex is running): try again in a little while.")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody is listening for an answer.
	default:
		p.log.Error("player: store request failed", zap.String("path", r.URL.Path), zap.Error(err))
		apiError(w, http.StatusInternalServerError, "store_error", "The store failed to answer; the Caddy log has the details.")
	}
}

// sessionJSON is a session as the API shows it: the store's summary (in
// its JSON names, which `caddy replay sessions --json` prints too) and the
// number of pages.
type sessionJSON struct {
	store.Session
	Pages int `json:"pages"`
}

func toSessionJSON(s *store.Session) sessionJSON {
	j := sessionJSON{Session: *s, Pages: len(s.URLs)}
	if j.URLs == nil {
		j.URLs = []string{}
	}
	if len(s.Views) > 0 {
		j.Pages = len(s.Views)
	}
	return j
}

// sortKeys are the accepted values of the sort parameter.
var sortKeys = map[string]store.SortKey{
	"start": store.SortStart, "end": store.SortEnd, "duration": store.SortDuration,
	"active": store.SortActive, "clicks": store.SortClicks, "errors": store.SortErrors,
	"rage_clicks": store.SortRageClicks, "dead_clicks": store.SortDeadClicks, "pages": store.SortPages,
}

// parseQuery turns list parameters into a store.Query. Times are ms since
// the Unix epoch or RFC 3339; durations are ms; flags are 1/true.
func (p *Player) parseQuery(v map[string][]string) (store.Query, error) {
	get := func(k string) string {
		if s := v[k]; len(s) > 0 {
			return strings.TrimSpace(s[0])
		}
		return ""
	}
	q := store.Query{URL: get("url"), User: get("user"), Cursor: get("cursor"), Limit: p.pageSize}
	for _, f := range []struct {
		name string
		dst  *int64
		time bool
	}{{"from", &q.From, true}, {"to", &q.To, true}, {"min_duration", &q.MinDuration, false}, {"max_duration", &q.MaxDuration, false}} {
		s := get(f.name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil && f.time {
			var t time.Time
			if t, err = time.Parse(time.RFC3339, s); err == nil {
				n = t.UnixMilli()
			}
		}
		if err != nil || n < 0 {
			if f.time {
				return q, fmt.Errorf("%s must be a time in ms since the Unix epoch or RFC 3339, not %q", f.name, s)
			}
			return q, fmt.Errorf("%s must be a duration in ms (a non-negative integer), not %q", f.name, s)
		}
		*f.dst = n
	}
	// An empty range is a mistake, not a question with no answer: say so
	// rather than list nothing.
	if q.From > 0 && q.To > 0 && q.From > q.To {
		// Named as dates: the list sends ms, which nobody reads.
		day := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05 MST") }
		return q, fmt.Errorf("from (%s) is after to (%s): the time range is empty; give a start before the end", day(q.From), day(q.To))
	}
	if q.MinDuration > 0 && q.MaxDuration > 0 && q.MinDuration > q.MaxDuration {
		return q, fmt.Errorf("min_duration (%d ms) is over max_duration (%d ms): no session can match; give a minimum below the maximum", q.MinDuration, q.MaxDuration)
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"errors", &q.HasErrors}, {"rage_clicks", &q.HasRageClicks}, {"dead_clicks", &q.HasDeadClicks}} {
		switch get(f.name) {
		case "", "0", "false":
		case "1", "true":
			*f.dst = true
		default:
			return q, fmt.Errorf("%s must be 1 or 0, not %q", f.name, get(f.name))
		}
	}
	if s := get("sort"); s != "" {
		k, ok := sortKeys[s]
		if !ok {
			return q, fmt.Errorf("sort must be one of start, end, duration, active, clicks, errors, rage_clicks, dead_clicks, pages, not %q", s)
		}
		q.Sort = k
		q.Desc = true
	}
	switch get("order") {
	case "", "desc":
	case "asc":
		q.Desc = false
		if q.Sort == "" {
			q.Sort = store.SortStart
		}
	default:
		return q, fmt.Errorf("order must be asc or desc, not %q", get("order"))
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return q, fmt.Errorf("limit must be between 1 and %d, not %q", maxPageSize, s)
		}
		q.Limit = n
	}
	return q, nil
}

// listSessions answers GET api/sessions.
func (p *Player) listSessions(w http.ResponseWriter, r *http.Request) {
	q, err := p.parseQuery(r.URL.Query())
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_query", err.Error())
		return
	}
	page, err := p.store.ListSessions(r.Context(), q)
	if err != nil {
		p.storeError(w, r, err, "session")
		return
	}
	out := struct {
		Sessions []sessionJSON `json:"sessions"`
		Next     string        `json:"next"`
		Total    int           `json:"total"`
		// Estimated: Total is an estimate (see store.SessionPage).
		Estimated bool `json:"totalEstimated"`
	}{Sessions: []sessionJSON{}, Next: page.Next, Total: page.Total, Estimated: page.TotalEstimated}
	for i := range page.Sessions {
		out.Sessions = append(out.Sessions, toSessionJSON(&page.Sessions[i]))
	}
	writeJSON(w, r, http.StatusOK, out)
}

// getSession answers GET api/sessions/{id}.
func (p *Player) getSession(w http.ResponseWriter, r *http.Request, id string) {
	s, err := p.store.Session(r.Context(), id)
	if err != nil {
		p.storeError(w, r, err, "session")
		return
	}
	writeJSON(w, r, http.StatusOK, toSessionJSON(s))
}

// segmentJSON describes one stored segment.
type segmentJSON struct {
	View         string `json:"view"`
	Seq          int    `json:"seq"`
	Start        int64  `json:"start"`
	End          int64  `json:"end"`
	FullSnapshot bool   `json:"fullSnapshot"`
	Records      int    `json:"records"`
	RawSize      int64  `json:"rawSize"`
	Size         int64  `json:"size"`
	// URL is the body's address relative to the player's root (left out
	// of the page's boot data, which the page completes).
	URL string `json:"url,omitempty"`
}

// listSegments answers GET api/sessions/{id}/segments.
func (p *Player) listSegments(w http.ResponseWriter, r *http.Request, id string) {
	segs, err := p.store.SegmentList(r.Context(), id)
	if err != nil {
		p.storeError(w, r, err, "session")
		return
	}
	if len(segs) == 0 {
		// The index lists no segment for unknown sessions rather than
		// failing; tell them apart for the UI.
		if _, err := p.store.Session(r.Context(), id); err != nil {
			p.storeError(w, r, err, "session")
			return
		}
	}
	writeJSON(w, r, http.StatusOK, struct {
		Segments []segmentJSON `json:"segments"`
	}{segmentsJSON(id, segs)})
}

// segmentsJSON describes a session's segments as the API shows them.
func segmentsJSON(id string, segs []store.SegmentInfo) []segmentJSON {
	out := make([]segmentJSON, 0, len(segs))
	for _, s := range segs {
		out = append(out, segmentJSON{
			View: s.View, Seq: s.Seq, Start: s.Start, End: s.End, FullSnapshot: s.FullSnapshot,
			Records: s.Records, RawSize: s.RawSize, Size: s.Size,
			URL: fmt.Sprintf("api/sessions/%s/segments/%s/%d", id, s.View, s.Seq),
		})
	}
	return out
}

// serveSegment answers GET api/sessions/{id}/segments/{view}/{seq} with the
// stored gzip body as is: the browser inflates it natively. A stored
// segment never changes (uploads are idempotent on its key), so it is
// cacheable forever; it is private because it holds a visitor's session.
func (p *Player) serveSegment(w http.ResponseWriter, r *http.Request, key store.SegmentKey) {
	rc, err := p.store.OpenSegment(r.Context(), key)
	if err != nil {
		p.storeError(w, r, err, "segment")
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("Vary", "Accept-Encoding")
	if !jsbundle.AcceptsEncoding(r.Header.Get("Accept-Encoding"), "gzip") {
		// A client that cannot inflate (curl without --compressed) gets
		// the JSON decoded here.
		zr, err := gzip.NewReader(rc)
		if err != nil {
			p.corruptSegment(w, r, key, err)
			return
		}
		defer zr.Close()
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			io.Copy(w, zr)
		}
		return
	}
	h.Set("Content-Encoding", "gzip")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.Copy(w, rc)
	}
}

func (p *Player) corruptSegment(w http.ResponseWriter, r *http.Request, key store.SegmentKey, err error) {
	p.log.Error("player: stored segment is not readable gzip",
		zap.String("session", key.Session), zap.String("view", key.View), zap.Int("seq", key.Seq), zap.Error(err))
	apiError(w, http.StatusInternalServerError, "segment_corrupt", "This segment is stored but cannot be read; `caddy replay reindex` reports damaged blobs.")
}

// deleteSession answers DELETE api/sessions/{id}.
func (p *Player) deleteSession(w http.ResponseWriter, r *http.Request, id string) {
	if code, msg := p.csrf.check(r); code != "" {
		apiError(w, http.StatusForbidden, code, msg)
		return
	}
	// Backends accept deletes of unknown ids (to refuse late segments);
	// the API tells the user when there was nothing to delete.
	if _, err := p.store.Session(r.Context(), id); err != nil {
		p.storeError(w, r, err, "session")
		return
	}
	if err := p.store.DeleteSession(r.Context(), id); err != nil {
		p.storeError(w, r, err, "session")
		return
	}
	p.log.Info("player: session deleted on request", zap.String("session", id))
	writeJSON(w, r, http.StatusOK, map[string]any{"deleted": 1})
}

// deleteUser answers DELETE api/sessions?user=ID: every session of one
// user (exact UserID), as a privacy request asks.
func (p *Player) deleteUser(w http.ResponseWriter, r *http.Request) {
	if code, msg := p.csrf.check(r); code != "" {
		apiError(w, http.StatusForbidden, code, msg)
		return
	}
	user := r.URL.Query().Get("user")
	if user == "" {
		apiError(w, http.StatusBadRequest, "user_required", "Deleting sessions needs ?user=<user id>; to delete one session use DELETE api/sessions/<id>.")
		return
	}
	n, err := p.store.DeleteUser(r.Context(), user)
	if err != nil {
		p.storeError(w, r, err, "session")
		return
	}
	p.log.Info("player: user's sessions deleted on request", zap.String("user", user), zap.Int("sessions", n))
	writeJSON(w, r, http.StatusOK, map[string]any{"deleted": n})
}
