package player

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddy-replay/caddy-replay/store"
)

// memStore is an in-memory store.Store for the player's tests: just enough
// of the contract (listing with filters, sort and cursors, segments,
// deletes) to drive the API and the UI.
type memStore struct {
	mu       sync.Mutex
	sessions map[string]*store.Session
	segments map[string][]store.SegmentInfo
	bodies   map[store.SegmentKey][]byte
	deleted  map[string]bool
	// opened counts OpenSegment calls (tests of caching and streaming).
	opened int
}

func newMemStore() *memStore {
	return &memStore{
		sessions: map[string]*store.Session{},
		segments: map[string][]store.SegmentInfo{},
		bodies:   map[store.SegmentKey][]byte{},
		deleted:  map[string]bool{},
	}
}

func (m *memStore) PutSegment(ctx context.Context, seg *store.NewSegment) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deleted[seg.Session] {
		return false, store.ErrSessionDeleted
	}
	if _, ok := m.bodies[seg.SegmentKey]; ok {
		return true, nil
	}
	m.bodies[seg.SegmentKey] = append([]byte(nil), seg.Body...)
	info := seg.SegmentInfo
	info.Size = int64(len(seg.Body))
	list := append(m.segments[seg.Session], info)
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.View != b.View {
			return a.View < b.View
		}
		return a.Seq < b.Seq
	})
	m.segments[seg.Session] = list
	s := m.sessions[seg.Session]
	if s == nil {
		s = &store.Session{ID: seg.Session, Start: seg.Start, End: seg.End}
		m.sessions[seg.Session] = s
	}
	s.Start = min(s.Start, seg.Start)
	s.End = max(s.End, seg.End)
	s.Duration = s.End - s.Start
	s.Segments++
	s.Bytes += info.Size
	s.RawBytes += seg.RawSize
	if seg.Update != nil {
		seg.Update(s)
	}
	return false, nil
}

func (m *memStore) SegmentList(ctx context.Context, session string) ([]store.SegmentInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[session] == nil {
		return nil, store.ErrNotFound
	}
	return append([]store.SegmentInfo(nil), m.segments[session]...), nil
}

func (m *memStore) OpenSegment(ctx context.Context, key store.SegmentKey) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.bodies[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	m.opened++
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memStore) Session(ctx context.Context, id string) (*store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sessions[id]
	if s == nil {
		return nil, store.ErrNotFound
	}
	c := *s
	c.Views = append([]store.View(nil), s.Views...)
	return &c, nil
}

func (m *memStore) ListSessions(ctx context.Context, q store.Query) (*store.SessionPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.Session
	for _, s := range m.sessions {
		if q.From > 0 && s.Start < q.From || q.To > 0 && s.Start >= q.To {
			continue
		}
		if q.URL != "" && !containsURL(s, q.URL) {
			continue
		}
		if q.User != "" && !userMatches(s, q.User) {
			continue
		}
		if q.MinDuration > 0 && s.Duration < q.MinDuration || q.MaxDuration > 0 && s.Duration > q.MaxDuration {
			continue
		}
		if q.HasErrors && s.Errors == 0 || q.HasRageClicks && s.RageClicks == 0 || q.HasDeadClicks && s.DeadClicks == 0 {
			continue
		}
		c := *s
		c.Views = nil
		all = append(all, c)
	}
	key := func(s store.Session) int64 {
		switch q.Sort {
		case store.SortDuration:
			return s.Duration
		case store.SortClicks:
			return int64(s.Clicks)
		case store.SortErrors:
			return int64(s.Errors)
		case store.SortRageClicks:
			return int64(s.RageClicks)
		case store.SortPages:
			return int64(len(s.URLs))
		case store.SortActive:
			return s.ActiveMs
		case store.SortEnd:
			return s.End
		}
		return s.Start
	}
	desc := q.Desc || q.Sort == ""
	sort.SliceStable(all, func(i, j int) bool {
		a, b := key(all[i]), key(all[j])
		if a == b {
			return all[i].ID < all[j].ID
		}
		return a < b != desc
	})
	limit := q.Limit
	if limit == 0 {
		limit = 50
	}
	off := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil {
			return nil, store.ErrInvalid
		}
		off = n
	}
	page := &store.SessionPage{Total: len(all)}
	if off < len(all) {
		end := min(len(all), off+limit)
		page.Sessions = all[off:end]
		if end < len(all) {
			page.Next = strconv.Itoa(end)
		}
	}
	return page, nil
}

func containsURL(s *store.Session, sub string) bool {
	for _, u := range s.URLs {
		if strings.Contains(strings.ToLower(u), strings.ToLower(sub)) {
			return true
		}
	}
	return false
}

func userMatches(s *store.Session, p string) bool {
	p = strings.ToLower(p)
	for _, v := range []string{s.UserID, s.UserName, s.UserEmail} {
		if v != "" && strings.HasPrefix(strings.ToLower(v), p) {
			return true
		}
	}
	return false
}

func (m *memStore) DeleteSession(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[id] == nil {
		return store.ErrNotFound
	}
	m.drop(id)
	return nil
}

func (m *memStore) drop(id string) {
	for _, s := range m.segments[id] {
		delete(m.bodies, s.SegmentKey)
	}
	delete(m.segments, id)
	delete(m.sessions, id)
	m.deleted[id] = true
}

func (m *memStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, s := range m.sessions {
		if s.UserID == userID {
			m.drop(id)
			n++
		}
	}
	return n, nil
}

func (m *memStore) PutAsset(ctx context.Context, a store.Asset, body io.Reader) (string, error) {
	return "", store.ErrClosed
}

func (m *memStore) LookupAsset(ctx context.Context, url string, at int64) (*store.Asset, error) {
	return nil, store.ErrNotFound
}

func (m *memStore) OpenAsset(ctx context.Context, sha256 string) (io.ReadCloser, *store.Asset, error) {
	return nil, nil, store.ErrNotFound
}

func (m *memStore) Expire(ctx context.Context, before time.Time) (int, error) { return 0, nil }

func (m *memStore) Reindex(ctx context.Context, summarize store.Summarizer) (store.ReindexStats, error) {
	return store.ReindexStats{}, nil
}

func (m *memStore) Close() error { return nil }
