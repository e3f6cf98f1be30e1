package player

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/klauspost/compress/gzip"
	"go.uber.org/zap"

	"github.com/caddy-replay/caddy-replay/jsbundle"
)

// serveEvents answers GET api/sessions/{id}/events and .../export: the
// session's events as one rrweb recording (see Export), whole or, with
// from (ms since the Unix epoch), from each view's last full snapshot at
// or before it; tab keeps the views of one browser tab.
func (p *Player) serveEvents(w http.ResponseWriter, r *http.Request, id string, download bool) {
	q := r.URL.Query()
	var opts ExportOptions
	if s := q.Get("from"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			apiError(w, http.StatusBadRequest, "bad_query", fmt.Sprintf("from must be a time in ms since the Unix epoch, not %q", s))
			return
		}
		opts.From = n
	}
	opts.Tab = q.Get("tab")
	// Opening reads the first event of every view before answering, so a
	// missing or damaged first segment is a clean error status, not a cut
	// stream.
	exp, err := OpenExport(r.Context(), p.store, id, opts)
	if errors.Is(err, ErrNoSuchTab) {
		apiError(w, http.StatusNotFound, "tab_not_found", "This session has no view in that tab; the session's views (api/sessions/<id>) list the tabs.")
		return
	}
	if err != nil {
		p.streamError(w, r, id, err)
		return
	}
	defer exp.Close()
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if download {
		name := "session-" + id
		if opts.Tab != "" {
			name += "-tab-" + fileNamePart(opts.Tab)
		}
		// id matched idPattern and fileNamePart leaves no quote: the
		// quoted name needs no escaping.
		h.Set("Content-Disposition", `attachment; filename="`+name+`.rrweb.json"`)
	}
	h.Set("Vary", "Accept-Encoding")
	var out io.Writer = w
	var zw *gzip.Writer
	if jsbundle.AcceptsEncoding(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
		out = zw
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := exp.WriteTo(out); err != nil {
		// Headers are gone: cut the response so the client sees an
		// incomplete array instead of a silently shortened recording. A
		// client that went away is not worth a log line.
		var se *segmentError
		if errors.As(err, &se) {
			p.log.Error("player: event stream failed", zap.String("session", id), zap.Error(err))
		}
		panic(http.ErrAbortHandler)
	}
	if zw != nil {
		zw.Close()
	}
}

func (p *Player) streamError(w http.ResponseWriter, r *http.Request, id string, err error) {
	var se *segmentError
	if errors.As(err, &se) && se.decode {
		p.corruptSegment(w, r, se.key, se.err)
		return
	}
	p.storeError(w, r, err, "session")
}

// fileNamePart makes a recorded string (a tab id: whatever the recorder,
// or a forged upload, sent) safe in a download's file name: characters
// other than letters, digits, '-' and '_' become '_' (no quote, no path,
// no extension of its own), at most 64 of them.
func fileNamePart(s string) string {
	b := []byte(s)
	if len(b) > 64 {
		b = b[:64]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
