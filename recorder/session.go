package recorder

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CookieName is the name of the recorder's first-party session cookie.
const CookieName = "_replay_s"

// Session is the recorder's session cookie, which every tab of a site shares:
//
//	_replay_s=v1:<sid>:<createdMs>:<expiresMs>:<sampled 0|1>
//
// Expires is the last activity + 15 minutes, capped at Created + 4 hours.
type Session struct {
	ID      string
	Created time.Time
	Expires time.Time
	// Sampled is the recording decision, made once per session by the
	// recorder with Sampled().
	Sampled bool
}

// MaxSessionAge is the longest a session lasts, whatever the activity.
const MaxSessionAge = 4 * time.Hour

// SessionInactivity is how long a session lasts after its last activity
// (src/timing.js's INACTIVITY).
const SessionInactivity = 15 * time.Minute

// ParseCookie parses the value of the _replay_s cookie. It reports false
// for a malformed value.
func ParseCookie(value string) (Session, bool) {
	p := strings.Split(value, ":")
	if len(p) != 5 || p[0] != "v1" || !validSessionID(p[1]) || !digits(p[2]) || !digits(p[3]) || (p[4] != "0" && p[4] != "1") {
		return Session{}, false
	}
	created, err1 := strconv.ParseInt(p[2], 10, 64)
	expires, err2 := strconv.ParseInt(p[3], 10, 64)
	if err1 != nil || err2 != nil {
		return Session{}, false
	}
	return Session{ID: p[1], Created: time.UnixMilli(created), Expires: time.UnixMilli(expires), Sampled: p[4] == "1"}, true
}

// Live reports whether the session is still current at now: before its
// expiry and less than MaxSessionAge old.
func (s Session) Live(now time.Time) bool {
	return now.Before(s.Expires) && now.Before(s.Created.Add(MaxSessionAge))
}

// SkipRecorder reports whether a page served at now should not carry the
// recorder at all: the session is live and was not sampled.
func (s Session) SkipRecorder(now time.Time) bool {
	return !s.Sampled && s.Live(now)
}

// ExtendedAt returns the session extended by activity at now, as the
// recorder extends it: expiry at now + SessionInactivity, capped at
// Created + MaxSessionAge.
func (s Session) ExtendedAt(now time.Time) Session {
	s.Expires = now.Add(SessionInactivity)
	if limit := s.Created.Add(MaxSessionAge); s.Expires.After(limit) {
		s.Expires = limit
	}
	return s
}

// Cookie returns the session as the recorder writes its cookie at now
// (src/session.js's writeCookie): the same value and attributes, so that
// either side can overwrite what the other wrote. secure is whether the
// page was served over https.
func (s Session) Cookie(now time.Time, secure bool) *http.Cookie {
	sampled := "0"
	if s.Sampled {
		sampled = "1"
	}
	left := s.Created.Add(MaxSessionAge).Sub(now)
	return &http.Cookie{
		Name:     CookieName,
		Value:    "v1:" + s.ID + ":" + strconv.FormatInt(s.Created.UnixMilli(), 10) + ":" + strconv.FormatInt(s.Expires.UnixMilli(), 10) + ":" + sampled,
		Path:     "/",
		MaxAge:   max(1, int((left+time.Second-1)/time.Second)),
		SameSite: http.SameSiteLaxMode,
		Secure:   secure,
	}
}

// Sampled is the recorder's deterministic sampling decision for a session
// id: FNV-1a (32 bit) of the id's bytes, modulo 10000, is compared with
// sampleRate × replaySampleRate (both percentages, 0–100). Rates are
// read as the recorder reads them (docs/FORMAT.md): a larger one counts
// as 100, a negative one as 0, NaN as 100.
func Sampled(id string, sampleRate, replaySampleRate float64) bool {
	h := uint32(0x811c9dc5)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 0x01000193
	}
	return float64(h%10000) < roundHalfUp(percent(sampleRate)*percent(replaySampleRate))
}

// percent clamps a rate as the recorder's config.js does: without it, two
// negative rates multiplied into a positive one (-10 × -10 sampled 1% of
// sessions where the recorder samples none) and 150 × 50 sampled 75%.
func percent(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v < 100 {
		return v
	}
	return 100 // NaN too
}

// roundHalfUp rounds like JavaScript's Math.round.
func roundHalfUp(v float64) float64 {
	f := float64(int64(v))
	if v-f >= 0.5 {
		return f + 1
	}
	return f
}

// digits reports whether s is a run of decimal digits, as the recorder
// reads the cookie's times: ParseInt alone took "+1700000000000" too, a
// cookie the recorder ignores (it starts a session of its own) while the
// handler, finding it live and unsampled, left the recorder out.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func validSessionID(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
