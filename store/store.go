// Package store defines where recordings live: segments, the session
// index, and (for the proxy's asset archive) content-addressed assets.
//
// Callers (the collector, the player, the CLI) use only the interfaces in
// this package. Backends live in sub-packages: store/embedded (segment packs
// on the file system + SQLite, the default that needs no set-up) today, an
// S3-compatible blob store + PostgreSQL index for scale-out later. A backend proves it
// keeps the contract by passing store/storetest.
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors every backend returns (possibly wrapped), so callers can answer
// with the right HTTP status.
var (
	// ErrNotFound: no such session, segment or asset.
	ErrNotFound = errors.New("store: not found")
	// ErrSessionDeleted: the session was deleted on request; segments that
	// arrive for it later are refused instead of bringing it back.
	ErrSessionDeleted = errors.New("store: session was deleted")
	// ErrClosed: the store was closed (Caddy is stopping or reloading).
	ErrClosed = errors.New("store: closed")
	// ErrConflict: a segment with the same key but different content
	// (timestamps, record count, raw size or snapshot flag) is already
	// stored. A true retry is reported as a duplicate instead.
	ErrConflict = errors.New("store: a different segment with the same key exists")
	// ErrInvalid: an argument breaks the contract (malformed id, bad
	// cursor, Start after End). Callers should answer 400.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrBusy: the store is held exclusively by another process (a reindex
	// is running), or an operation that needs exclusivity found it in use.
	ErrBusy = errors.New("store: in use by another process")
	// ErrSessionFull: the segment would add a view to a session that
	// holds as many as the backend allows (each segment's bookkeeping
	// grows with a session's views, so a hostile client could otherwise
	// slow every write down). The recorder goes on in a new session.
	ErrSessionFull = errors.New("store: the session holds as many views as it may")
	// ErrFull: the write found no room (the disk is full, a quota is
	// spent); nothing of it was stored, and a retry once space returns
	// can succeed.
	ErrFull = errors.New("store: out of space")
)

// Store is everything the rest of Caddy Replay needs from a backend.
// Implementations are safe for concurrent use.
type Store interface {
	Segments
	Index
	Assets
	Maintenance
	// Close flushes pending writes and releases files and connections.
	Close() error
}

// MaxSeq bounds SegmentKey.Seq: 0 <= Seq < MaxSeq.
const MaxSeq = 1_000_000

// ValidID reports whether id is a well-formed session or view id:
// 16 to 64 characters from [A-Za-z0-9_-]. Every backend refuses other ids,
// so an id can never be a path, a wildcard or a control character.
func ValidID(id string) bool {
	if len(id) < 16 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Valid reports whether k has valid ids and a sequence number in range.
func (k SegmentKey) Valid() bool {
	return ValidID(k.Session) && ValidID(k.View) && k.Seq >= 0 && k.Seq < MaxSeq
}

// SegmentKey identifies a segment: the seq-th upload of one view (page
// load or SPA route) of one session. Uploads are idempotent on it.
type SegmentKey struct {
	Session string
	View    string
	Seq     int
}

// SegmentInfo describes a stored segment.
type SegmentInfo struct {
	SegmentKey
	// Start and End are the timestamps (ms since the Unix epoch) of the
	// segment's first and last event.
	Start, End int64
	// FullSnapshot is true when the segment holds a full snapshot (rrweb
	// event type 2), i.e. playback can start from it.
	FullSnapshot bool
	// Records is the number of events.
	Records int
	// RawSize is the size of the uncompressed JSON; Size the stored size.
	RawSize, Size int64
	// Received is when the collector stored it (ms since the Unix epoch).
	Received int64
}

// NewSegment is a validated segment ready to be written.
type NewSegment struct {
	SegmentInfo
	// Body is the gzip-compressed JSON array of events, exactly as it will
	// be served to the player.
	Body []byte
	// Extra is opaque context from the upload request that is not in the
	// events (user agent header, client IP when configured). It is stored
	// beside the body and handed back to the Summarizer by Reindex.
	Extra []byte
	// Update merges what this segment tells about its session into the
	// session's summary. The backend calls it inside the same index
	// transaction that records the segment, with the current summary (a
	// zero Session with only ID set for a new session), so summaries never
	// disagree with the segments they were built from. It must be fast and
	// must not block.
	//
	// Before calling it, the backend has already accounted for the segment
	// in Start, End, Duration, Segments, Bytes, RawBytes, Created, Updated,
	// and in the Start and End of the segment's View (added if new, with
	// only ID, Start and End set; Views stay sorted by Start). Update fills
	// in the rest. A panic in Update refuses the segment, not the batch.
	Update func(*Session)
}

// Segments stores and serves the recorded event segments.
type Segments interface {
	// PutSegment stores seg durably and indexes it in one step: when it
	// returns nil, the segment survives a crash. If a segment with the same
	// key and the same info exists it stores nothing and reports duplicate
	// (a client retry); if the existing one differs it returns ErrConflict.
	// A segment of a deleted session gets ErrSessionDeleted; one that
	// would add a view to a session holding as many as the backend allows
	// gets ErrSessionFull.
	PutSegment(ctx context.Context, seg *NewSegment) (duplicate bool, err error)
	// SegmentList lists a session's segments ordered by (Start, View, Seq),
	// or returns ErrNotFound for an unknown session.
	SegmentList(ctx context.Context, session string) ([]SegmentInfo, error)
	// OpenSegment returns the stored gzip-compressed body of one segment,
	// or ErrNotFound.
	OpenSegment(ctx context.Context, key SegmentKey) (io.ReadCloser, error)
}

// Session is the searchable summary of one recorded session. Its JSON
// form (camelCase, as the player's API writes it) is what `caddy replay
// sessions --json` prints; backends store it in their own formats.
type Session struct {
	ID string `json:"id"`
	// Start and End are the first and last event timestamps (ms since the
	// Unix epoch); Duration is End-Start in ms.
	Start    int64 `json:"start"`
	End      int64 `json:"end"`
	Duration int64 `json:"duration"`
	// ActiveMs is the time with visitor activity (ms).
	ActiveMs int64 `json:"activeMs"`
	// Views are the page loads and SPA routes, in start order.
	Views []View `json:"views,omitempty"`
	// EntryURL is the first page's URL; URLs the distinct URLs visited
	// (capped by the backend at 200).
	EntryURL string   `json:"entryUrl"`
	URLs     []string `json:"urls"`
	// Interaction counts.
	Clicks     int `json:"clicks"`
	RageClicks int `json:"rageClicks"`
	DeadClicks int `json:"deadClicks"`
	Inputs     int `json:"inputs"`
	Errors     int `json:"errors"`
	// Viewport is the last recorded viewport size in CSS pixels.
	ViewportWidth  int `json:"viewportWidth"`
	ViewportHeight int `json:"viewportHeight"`
	// UserAgent is the recording browser's User-Agent header.
	UserAgent string `json:"userAgent"`
	// UserID, UserName and UserEmail come from SessionReplay.setUser().
	UserID    string `json:"userId"`
	UserName  string `json:"userName"`
	UserEmail string `json:"userEmail"`
	// Service, Env, Version and ApplicationID come from the recorder's
	// configuration.
	Service       string `json:"service"`
	Env           string `json:"env"`
	Version       string `json:"version"`
	ApplicationID string `json:"applicationId"`
	// ClientIP is stored only when the operator configured it.
	ClientIP string `json:"clientIp,omitempty"`
	// Segments, Bytes and RawBytes count what is stored for the session.
	Segments int   `json:"segments"`
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"rawBytes"`
	// Created and Updated are when the first and last segment arrived
	// (ms since the Unix epoch).
	Created int64 `json:"created"`
	Updated int64 `json:"updated"`
	// Carry is opaque state that Update functions keep between segments
	// (e.g. recent clicks, for rage clicks that straddle two segments).
	Carry []byte `json:"-"`
}

// View is one page load or SPA route of a session.
type View struct {
	ID    string `json:"id"`
	URL   string `json:"url"`
	Title string `json:"title"`
	// Tab identifies the browser tab; views of one tab share it.
	Tab string `json:"tab"`
	// Start and End are ms since the Unix epoch.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// SortKey orders session lists.
type SortKey string

// Sort keys.
const (
	SortStart      SortKey = "start"
	SortEnd        SortKey = "end"
	SortDuration   SortKey = "duration"
	SortActive     SortKey = "active"
	SortClicks     SortKey = "clicks"
	SortErrors     SortKey = "errors"
	SortRageClicks SortKey = "rage_clicks"
	SortDeadClicks SortKey = "dead_clicks"
	SortPages      SortKey = "pages"
)

// Query selects sessions. Zero fields do not filter.
type Query struct {
	// From and To bound the session's Start (ms since the Unix epoch):
	// From <= Start < To.
	From, To int64
	// URL matches sessions that visited a URL containing it
	// (case-insensitive). It is text, never query syntax; a NUL in it is
	// ErrInvalid.
	URL string
	// User matches UserID, UserName or UserEmail (case-insensitive
	// prefix).
	User string
	// MinDuration and MaxDuration bound Duration (ms).
	MinDuration, MaxDuration int64
	// HasErrors, HasRageClicks and HasDeadClicks keep only sessions with
	// at least one of those.
	HasErrors, HasRageClicks, HasDeadClicks bool
	// Sort and Desc order the result; the default is newest first.
	Sort SortKey
	Desc bool
	// Limit caps the page size (backends cap it at 500; 0 means 50).
	Limit int
	// Cursor continues a previous listing (SessionPage.Next).
	Cursor string
}

// SessionPage is one page of a session listing.
type SessionPage struct {
	Sessions []Session `json:"sessions"`
	// Next is the cursor of the following page; empty on the last page.
	Next string `json:"next"`
	// Total counts all sessions matching the query, or estimates it when
	// TotalEstimated is set.
	Total int `json:"total"`
	// TotalEstimated reports that Total is an estimate (a backend may
	// estimate when counting a broad filter over a large index would take
	// seconds): the player shows it as "about".
	TotalEstimated bool `json:"totalEstimated,omitempty"`
}

// Index answers questions about sessions.
type Index interface {
	// Session returns one session's summary, including its Views, or
	// ErrNotFound.
	Session(ctx context.Context, id string) (*Session, error)
	// ListSessions returns sessions matching q, without their Views.
	ListSessions(ctx context.Context, q Query) (*SessionPage, error)
}

// Asset is an archived copy of a CSS file, font or image, as the proxy saw
// it pass, keyed by the SHA-256 of its body.
type Asset struct {
	// SHA256 is the lowercase hex digest of the body.
	SHA256 string
	// URL is the absolute URL it was served at.
	URL string
	// ContentType is the response's Content-Type.
	ContentType string
	// Size is the body size in bytes.
	Size int64
	// Seen is when the proxy saw it (ms since the Unix epoch).
	Seen int64
}

// Assets archives static assets so replays render after a redeploy, behind
// authentication, and without CORS.
type Assets interface {
	// PutAsset stores body under its SHA-256 (once; later puts only record
	// that a.URL served it at a.Seen) and returns the digest.
	PutAsset(ctx context.Context, a Asset, body io.Reader) (sha256 string, err error)
	// LookupAsset returns the asset that url served most recently at or
	// before at (ms since the Unix epoch), or ErrNotFound.
	LookupAsset(ctx context.Context, url string, at int64) (*Asset, error)
	// OpenAsset returns an archived body by digest.
	OpenAsset(ctx context.Context, sha256 string) (io.ReadCloser, *Asset, error)
}

// Maintenance covers retention, deletion on request and recovery.
type Maintenance interface {
	// DeleteSession removes a session, its segments and its index rows,
	// and remembers the ID so late segments do not bring it back.
	DeleteSession(ctx context.Context, id string) error
	// DeleteUser deletes every session that recorded userID as its user
	// (its UserID, or an earlier one: another user may have signed in
	// since on the same browser) and returns how many were deleted.
	DeleteUser(ctx context.Context, userID string) (int, error)
	// Expire deletes sessions whose last activity (End) is before t, and
	// assets no recording from after t refers to, and returns how many
	// sessions were deleted.
	Expire(ctx context.Context, before time.Time) (int, error)
	// Reindex rebuilds the index from the stored segments alone, calling summarize
	// for every segment of a session in (Start, View, Seq) order.
	Reindex(ctx context.Context, summarize Summarizer) (ReindexStats, error)
}

// Summarizer recomputes a stored segment's session Update from its info,
// its Extra and its gzip-compressed body. The collector provides it.
type Summarizer func(info SegmentInfo, extra, body []byte) (update func(*Session), err error)

// ReindexStats reports what Reindex found.
type ReindexStats struct {
	Sessions, Segments, Assets int
	// Skipped counts unreadable or partial segments that were left out.
	Skipped int
}
