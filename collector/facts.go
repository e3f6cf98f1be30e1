package collector

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/caddy-replay/caddy-replay/store"
)

// Metadata rules. They are the product's definitions, so they are named.
const (
	// A rage click is 3 or more clicks within rageWindow of each other and
	// within rageRadius CSS pixels: a visitor hammering something that
	// does not respond. One burst counts once, however long it lasts.
	rageClicks = 3
	rageWindow = 1000 // ms
	rageRadius = 30   // px

	// A dead click is a click after which the page does not change
	// (mutation, input, scroll, CSSOM or media change, navigation) within
	// deadWindow.
	deadWindow = 1000 // ms

	// Active time sums the gaps between visitor inputs (mouse, touch,
	// scroll, keys, selection, drag) that are shorter than activityGap;
	// a longer gap is idle time.
	activityGap = 5000 // ms

	// Bounds on what one segment or the carried state may hold.
	maxClicksPerSegment = 2048
	maxRuns             = 256
	maxCarried          = 32
)

// segFacts is what one segment tells about its session, gathered by the
// scanner event by event.
type segFacts struct {
	minTS, maxTS int64
	events       int
	full         bool // a FullSnapshot
	meta         bool // a Meta event
	metaFirst    bool // the first Meta came before the first FullSnapshot
	navTS        int64

	href     string
	viewport bool
	vw, vh   int
	view     *viewFacts
	user     *userFacts

	clicks     []clickFact
	inputs     int
	firstInput float64 // target of the first Input, to merge with the carried one
	lastInput  float64
	hasInput   bool
	errors     int

	firstChange int64 // first DOM change, to resolve clicks carried from before
	runs        []run
}

type viewFacts struct {
	URL, Referrer, Title, Tab            string
	Service, Env, Version, ApplicationID string
	UserAgent                            string
}

type userFacts struct{ ID, Name, Email string }

type clickFact struct {
	T        int64
	X, Y     float64
	resolved bool
}

type run struct{ a, b int64 }

func (f *segFacts) reset() {
	*f = segFacts{clicks: f.clicks[:0], runs: f.runs[:0]}
}

// isChange reports whether an incremental source changes what the page
// shows.
func isChange(source int) bool {
	switch source {
	case srcMutation, srcScroll, srcInput, srcMediaInteraction, srcStyleSheetRule,
		srcCanvasMutation, srcStyleDeclaration, srcAdoptedStyleSheet:
		return true
	}
	return false
}

// isActivity reports whether an incremental source is visitor input.
func isActivity(source int) bool {
	switch source {
	case srcMouseMove, srcMouseInteraction, srcScroll, srcInput, srcTouchMove, srcDrag, srcSelection:
		return true
	}
	return false
}

// observe folds one validated event into the facts.
func (f *segFacts) observe(e *event) {
	t := e.ts
	if f.events == 0 || t < f.minTS {
		f.minTS = t
	}
	if f.events == 0 || t > f.maxTS {
		f.maxTS = t
	}
	f.events++
	switch e.typ {
	case evMeta:
		if !f.meta {
			f.metaFirst = !f.full
			f.navTS = t
		}
		f.meta = true
		f.href = text(e.href)
		f.viewport, f.vw, f.vh = true, clampInt(e.w), clampInt(e.h)
		f.change(t)
	case evFullSnapshot:
		f.full = true
		f.change(t)
	case evIncremental:
		if isChange(e.source) {
			f.change(t)
		}
		if isActivity(e.source) {
			f.activity(t)
		}
		switch e.source {
		case srcMouseInteraction:
			if e.dataType == miClick && e.has&fX != 0 && e.has&fY != 0 && len(f.clicks) < maxClicksPerSegment {
				f.clicks = append(f.clicks, clickFact{T: t, X: e.x, Y: e.y})
			}
		case srcViewportResize:
			f.viewport, f.vw, f.vh = true, clampInt(e.w), clampInt(e.h)
		case srcInput:
			if !f.hasInput {
				f.firstInput, f.hasInput = e.id, true
				f.inputs++
			} else if e.id != f.lastInput {
				f.inputs++
			}
			f.lastInput = e.id
		}
	case evCustom:
		p := &e.payload
		switch string(e.tag) {
		case "replay/view":
			f.view = &viewFacts{
				URL: text(p.url), Referrer: text(p.referrer), Title: text(p.title), Tab: text(p.tab),
				Service: text(p.service), Env: text(p.env), Version: text(p.version),
				ApplicationID: text(p.applicationID), UserAgent: text(p.userAgent),
			}
		case "replay/user":
			f.user = &userFacts{ID: text(p.userID), Name: text(p.userName), Email: text(p.userMail)}
		case "replay/error":
			f.errors++
		case "replay/visibility":
			// Leaving the page (a link opened in a new tab) is a reaction.
			f.change(t)
		}
	}
}

// change records a DOM change at t: it resolves this segment's clicks that
// it follows within deadWindow.
func (f *segFacts) change(t int64) {
	if f.firstChange == 0 {
		f.firstChange = t
	}
	for i := len(f.clicks) - 1; i >= 0; i-- {
		c := &f.clicks[i]
		if t-c.T > deadWindow {
			break
		}
		if t >= c.T {
			c.resolved = true
		}
	}
}

// activity records visitor input at t, merging it into runs of inputs less
// than activityGap apart.
func (f *segFacts) activity(t int64) {
	n := len(f.runs)
	switch {
	case n > 0 && t <= f.runs[n-1].b:
	case n > 0 && t-f.runs[n-1].b <= activityGap:
		f.runs[n-1].b = t
	case n >= maxRuns:
		f.runs[n-1].b = t // degenerate input: count it as one long run
	default:
		f.runs = append(f.runs, run{t, t})
	}
}

// settle decides the fate of this segment's clicks once all its events are
// seen: resolved, dead (the segment went on past the click's window with no
// change), or pending (the window reaches past the segment's end).
func (f *segFacts) settle() (dead int, pending []clickFact) {
	for _, c := range f.clicks {
		switch {
		case c.resolved:
		case f.maxTS > c.T+deadWindow:
			dead++
		default:
			pending = append(pending, c)
		}
	}
	return dead, pending
}

// carry is the state a session keeps between segments (Session.Carry).
type carry struct {
	// Last is the last visitor input, to continue an activity run.
	Last int64
	// Recent are the clicks of the last rageWindow; Burst the rage-click
	// burst in progress.
	Recent []clickFact
	Burst  *clickFact
	// Pending are clicks whose dead-click window is still open.
	Pending []pendingClick
	// InputView and InputID are the target of the last Input, so that
	// typing that straddles two segments counts as one input.
	InputView string
	InputID   float64
}

type pendingClick struct {
	T    int64
	View string
}

// The carried state is read and written with every segment of a session,
// so it has a compact binary form (JSON cost more than the rest of the
// session update): a version byte, then varints, float64 bits and
// length-prefixed strings.
const carryVersion = 1

func (c carry) encode() []byte {
	b := make([]byte, 0, 64+24*len(c.Recent)+32*len(c.Pending))
	b = append(b, carryVersion)
	b = binary.AppendVarint(b, c.Last)
	b = binary.AppendUvarint(b, uint64(len(c.Recent)))
	for _, k := range c.Recent {
		b = appendClick(b, k)
	}
	if c.Burst != nil {
		b = append(b, 1)
		b = appendClick(b, *c.Burst)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Pending)))
	for _, p := range c.Pending {
		b = binary.AppendVarint(b, p.T)
		b = appendString(b, p.View)
	}
	b = appendString(b, c.InputView)
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(c.InputID))
}

func appendClick(b []byte, k clickFact) []byte {
	b = binary.AppendVarint(b, k.T)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(k.X))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(k.Y))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// carryReader decodes the binary form; a malformed input sets bad.
type carryReader struct {
	b   []byte
	bad bool
}

func (r *carryReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *carryReader) count(max int) int {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(max) {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *carryReader) float() float64 {
	if len(r.b) < 8 {
		r.bad, r.b = true, nil
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *carryReader) str() string {
	n := r.count(len(r.b))
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *carryReader) click() clickFact {
	return clickFact{T: r.varint(), X: r.float(), Y: r.float()}
}

// decodeCarry reads a session's carried state. Unreadable state (damaged,
// or from another version) only loses continuity across one boundary.
func decodeCarry(b []byte) carry {
	var c carry
	if len(b) == 0 || b[0] != carryVersion {
		return c
	}
	r := &carryReader{b: b[1:]}
	c.Last = r.varint()
	for range r.count(maxCarried) {
		c.Recent = append(c.Recent, r.click())
	}
	if len(r.b) > 0 && r.b[0] == 1 {
		r.b = r.b[1:]
		k := r.click()
		c.Burst = &k
	} else if len(r.b) > 0 {
		r.b = r.b[1:]
	}
	for range r.count(maxCarried) {
		c.Pending = append(c.Pending, pendingClick{T: r.varint(), View: r.str()})
	}
	c.InputView = r.str()
	c.InputID = r.float()
	if r.bad {
		return carry{}
	}
	return c
}

// update returns the store.NewSegment.Update for a segment with facts f,
// key info and request context x. It owns f's data: the caller must not
// reuse f.
func (f *segFacts) update(info store.SegmentInfo, x extra) func(*store.Session) {
	dead, pending := f.settle()
	return func(s *store.Session) {
		c := decodeCarry(s.Carry)
		vi := slices.IndexFunc(s.Views, func(v store.View) bool { return v.ID == info.View })
		if vi < 0 {
			// The backend adds the view before calling Update; be safe.
			s.Views = append(s.Views, store.View{ID: info.View, Start: info.Start, End: info.End})
			vi = len(s.Views) - 1
		}
		view := &s.Views[vi]
		f.applyView(s, view, x)
		f.applyClicks(s, &c, info, view.Tab, dead, pending)
		f.applyInputs(s, &c, info)
		f.applyActivity(s, &c)
		s.Errors += f.errors
		if f.user != nil && (f.user.ID != "" || f.user.Name != "" || f.user.Email != "") {
			s.UserID, s.UserName, s.UserEmail = f.user.ID, f.user.Name, f.user.Email
		}
		if f.viewport {
			s.ViewportWidth, s.ViewportHeight = f.vw, f.vh
		}
		s.Carry = c.encode()
	}
}

func (f *segFacts) applyView(s *store.Session, view *store.View, x extra) {
	if v := f.view; v != nil {
		if v.URL != "" {
			view.URL = v.URL
		}
		if v.Title != "" {
			view.Title = v.Title
		}
		if v.Tab != "" {
			view.Tab = v.Tab
		}
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&s.Service, v.Service)
		set(&s.Env, v.Env)
		set(&s.Version, v.Version)
		set(&s.ApplicationID, v.ApplicationID)
		set(&s.UserAgent, v.UserAgent)
	}
	if view.URL == "" && f.href != "" {
		view.URL = f.href
	}
	if s.UserAgent == "" {
		s.UserAgent = x.UserAgent
	}
	if x.ClientIP != "" {
		s.ClientIP = x.ClientIP
	}
	if view.URL != "" && !slices.Contains(s.URLs, view.URL) && len(s.URLs) < maxURLs {
		s.URLs = append(s.URLs, view.URL)
	}
	s.EntryURL = ""
	for _, v := range s.Views { // sorted by Start
		if v.URL != "" {
			s.EntryURL = v.URL
			break
		}
	}
}

// maxURLs caps Session.URLs (the store enforces it too).
const maxURLs = 200

func (f *segFacts) applyClicks(s *store.Session, c *carry, info store.SegmentInfo, tab string, dead int, pending []clickFact) {
	s.Clicks += len(f.clicks)

	// Rage clicks: a sliding window over the session's clicks.
	for _, k := range f.clicks {
		recent := c.Recent[:0]
		near := 1
		for _, r := range c.Recent {
			if k.T-r.T > rageWindow || r.T > k.T {
				continue
			}
			recent = append(recent, r)
			if within(r, k) {
				near++
			}
		}
		c.Recent = append(recent, k)
		if len(c.Recent) > maxCarried {
			c.Recent = c.Recent[len(c.Recent)-maxCarried:]
		}
		if near >= rageClicks {
			if c.Burst == nil || k.T-c.Burst.T > rageWindow || !within(*c.Burst, k) {
				s.RageClicks++
				b := k
				c.Burst = &b
			} else {
				c.Burst.T = k.T
			}
		}
	}

	// Dead clicks carried from earlier segments.
	tabOf := func(view string) string {
		for _, v := range s.Views {
			if v.ID == view {
				return v.Tab
			}
		}
		return ""
	}
	kept := c.Pending[:0]
	for _, p := range c.Pending {
		switch {
		case p.View == info.View:
			if f.firstChange != 0 && f.firstChange >= p.T && f.firstChange <= p.T+deadWindow {
				continue // the page reacted
			}
			if f.maxTS > p.T+deadWindow {
				s.DeadClicks++
				continue
			}
		case f.meta && info.Seq == 0 && f.navTS >= p.T && sameTab(tabOf(p.View), tab):
			continue // the click navigated to this new view
		}
		kept = append(kept, p)
	}
	c.Pending = kept
	s.DeadClicks += dead
	for _, k := range pending {
		c.Pending = append(c.Pending, pendingClick{T: k.T, View: info.View})
	}
	if len(c.Pending) > maxCarried {
		c.Pending = c.Pending[len(c.Pending)-maxCarried:]
	}
}

func sameTab(a, b string) bool { return a == "" || b == "" || a == b }

func within(a, b clickFact) bool {
	dx, dy := a.X-b.X, a.Y-b.Y
	return dx*dx+dy*dy <= rageRadius*rageRadius
}

func (f *segFacts) applyInputs(s *store.Session, c *carry, info store.SegmentInfo) {
	if !f.hasInput {
		return
	}
	n := f.inputs
	if c.InputView == info.View && c.InputID == f.firstInput {
		n-- // the same field as at the end of the previous segment
	}
	s.Inputs += n
	c.InputView, c.InputID = info.View, f.lastInput
}

func (f *segFacts) applyActivity(s *store.Session, c *carry) {
	for i, r := range f.runs {
		if i == 0 && c.Last != 0 && r.a >= c.Last && r.a-c.Last <= activityGap {
			s.ActiveMs += r.b - c.Last
		} else {
			s.ActiveMs += r.b - r.a
		}
	}
	if n := len(f.runs); n > 0 && f.runs[n-1].b > c.Last {
		c.Last = f.runs[n-1].b
	}
	if s.ActiveMs > s.Duration {
		s.ActiveMs = s.Duration
	}
}

func clampInt(v float64) int {
	switch {
	case v < 0:
		return 0
	case v > 1<<20:
		return 1 << 20
	}
	return int(v)
}
