package embedded

import (
	"encoding/json"
	"strings"

	"github.com/caddy-replay/caddy-replay/store"
)

// sessionCols lists the sessions columns in the order scanSession reads and
// sessionArgs writes them.
const sessionCols = `id, start_ms, end_ms, duration, active_ms, pages, entry_url,
	clicks, rage_clicks, dead_clicks, inputs, errors, vw, vh,
	user_agent, user_id, user_name, user_email, service, env, version, application_id,
	client_ip, segments, bytes, raw_bytes, created, updated, urls, views, carry`

// listCols is sessionCols without views and carry, which listings omit.
const listCols = `id, start_ms, end_ms, duration, active_ms, pages, entry_url,
	clicks, rage_clicks, dead_clicks, inputs, errors, vw, vh,
	user_agent, user_id, user_name, user_email, service, env, version, application_id,
	client_ip, segments, bytes, raw_bytes, created, updated, urls`

const insertSession = `INSERT INTO sessions (` + sessionCols + `)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

type scanner interface{ Scan(...any) error }

// scanSession reads a row of sessionCols (withViews) or listCols. It also
// returns the pages column, which a listing (without Views) needs for its
// cursor.
func scanSession(row scanner, withViews bool) (*store.Session, int64, error) {
	var s store.Session
	var urls, views string
	var pages int64
	dst := []any{&s.ID, &s.Start, &s.End, &s.Duration, &s.ActiveMs, &pages, &s.EntryURL,
		&s.Clicks, &s.RageClicks, &s.DeadClicks, &s.Inputs, &s.Errors, &s.ViewportWidth, &s.ViewportHeight,
		&s.UserAgent, &s.UserID, &s.UserName, &s.UserEmail, &s.Service, &s.Env, &s.Version, &s.ApplicationID,
		&s.ClientIP, &s.Segments, &s.Bytes, &s.RawBytes, &s.Created, &s.Updated, &urls}
	if withViews {
		dst = append(dst, &views, &s.Carry)
	}
	if err := row.Scan(dst...); err != nil {
		return nil, 0, err
	}
	if urls != "" && urls != "null" {
		if err := json.Unmarshal([]byte(urls), &s.URLs); err != nil {
			return nil, 0, err
		}
	}
	if withViews && views != "" && views != "null" {
		if err := json.Unmarshal([]byte(views), &s.Views); err != nil {
			return nil, 0, err
		}
	}
	return &s, pages, nil
}

// sessionArgs are the values for upsertSession.
func sessionArgs(s *store.Session) ([]any, error) {
	urls, err := json.Marshal(nonNil(s.URLs))
	if err != nil {
		return nil, err
	}
	views, err := json.Marshal(nonNilViews(s.Views))
	if err != nil {
		return nil, err
	}
	return []any{s.ID, s.Start, s.End, s.Duration, s.ActiveMs, len(s.Views), s.EntryURL,
		s.Clicks, s.RageClicks, s.DeadClicks, s.Inputs, s.Errors, s.ViewportWidth, s.ViewportHeight,
		s.UserAgent, s.UserID, s.UserName, s.UserEmail, s.Service, s.Env, s.Version, s.ApplicationID,
		s.ClientIP, s.Segments, s.Bytes, s.RawBytes, s.Created, s.Updated, string(urls), string(views), s.Carry}, nil
}

func nonNil(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}

func nonNilViews(a []store.View) []store.View {
	if a == nil {
		return []store.View{}
	}
	return a
}

// userTerms are the lower-cased strings a Query.User prefix is matched
// against.
func userTerms(s *store.Session) []string {
	var terms []string
	for _, t := range []string{s.UserID, s.UserName, s.UserEmail} {
		t = strings.ToLower(t)
		if t == "" {
			continue
		}
		dup := false
		for _, u := range terms {
			dup = dup || u == t
		}
		if !dup {
			terms = append(terms, t)
		}
	}
	return terms
}

// cloneSession deep-copies s, so that an Update that fails half-way leaves
// the original untouched.
func cloneSession(s *store.Session) *store.Session {
	c := *s
	c.Views = append([]store.View(nil), s.Views...)
	c.URLs = append([]string(nil), s.URLs...)
	c.Carry = append([]byte(nil), s.Carry...)
	return &c
}
