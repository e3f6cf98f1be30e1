package collector

import (
	"cmp"
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

	// carryHorizon is how far back from the latest the carried clicks
	// and activity runs reach: far enough for the segments that race
	// each other (the last few of a tab, at pagehide), short enough that
	// the carried state, rewritten with every segment, stays small.
	carryHorizon = 15_000 // ms
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
	vpTS     int64 // when the viewport was recorded
	view     *viewFacts
	user     *userFacts
	userTS   int64 // when the user was set

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
		f.setViewport(t, e.w, e.h)
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
			f.setViewport(t, e.w, e.h)
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
			f.userTS = t
		case "replay/error":
			f.errors++
		case "replay/visibility":
			// Leaving the page (a link opened in a new tab) is a reaction.
			f.change(t)
		}
	}
}

// setViewport keeps the segment's latest viewport size (by time; of two
// at the same time, the later in the body).
func (f *segFacts) setViewport(t int64, w, h float64) {
	if !f.viewport || t >= f.vpTS {
		f.viewport, f.vw, f.vh, f.vpTS = true, clampInt(w), clampInt(h), t
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
//
// Segments of a session do not always arrive in the order they were
// recorded: the beacons sent at pagehide race each other, two tabs upload
// side by side, and Reindex replays segments in (Start, View, Seq) order.
// So what depends on the neighbours of a segment (activity runs, rage-click
// bursts, the latest viewport and user) is kept as the latest runs and
// clicks in time order, and timestamps, rather than as "the state after the
// last segment stored".
type carry struct {
	// Runs are the latest runs of visitor input, merged (no two less than
	// activityGap apart) and in time order: a segment's inputs join those
	// around them whenever it arrives.
	Runs []run
	// Recent are the latest clicks, in time order: a segment's clicks
	// make rage-click bursts with those before and after them.
	Recent []clickFact
	// Pending are clicks whose dead-click window is still open.
	Pending []pendingClick
	// InputView and InputID are the target of the last Input, so that
	// typing that straddles two segments counts as one input.
	InputView string
	InputID   float64
	// ViewportAt and UserAt are when the session's viewport size and
	// user were recorded: a segment recorded earlier that arrives later
	// does not overwrite them.
	ViewportAt, UserAt int64
	// Shift is the clock correction the session's segments were given
	// (ms the visitor's clock is ahead; see clockShift): its next
	// segments keep it, so that their times stay in order.
	Shift int64
}

type pendingClick struct {
	T    int64
	View string
}

// The carried state is read and written with every segment of a session,
// so it has a compact binary form (JSON cost more than the rest of the
// session update): a version byte, then varints, float64 bits and
// length-prefixed strings. Version 1 (a last input time and the burst in
// progress instead of runs, no timestamps) is still read.
const carryVersion = 2

func (c carry) encode() []byte {
	b := make([]byte, 0, 64+16*len(c.Runs)+24*len(c.Recent)+32*len(c.Pending))
	b = append(b, carryVersion)
	b = binary.AppendUvarint(b, uint64(len(c.Runs)))
	for _, r := range c.Runs {
		b = binary.AppendVarint(b, r.a)
		b = binary.AppendVarint(b, r.b)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Recent)))
	for _, k := range c.Recent {
		b = appendClick(b, k)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Pending)))
	for _, p := range c.Pending {
		b = binary.AppendVarint(b, p.T)
		b = appendString(b, p.View)
	}
	b = appendString(b, c.InputView)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.InputID))
	b = binary.AppendVarint(b, c.ViewportAt)
	b = binary.AppendVarint(b, c.UserAt)
	if c.Shift != 0 { // optional: a carry without it reads as 0
		b = binary.AppendVarint(b, c.Shift)
	}
	return b
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
// or from an unknown version) only loses continuity across one boundary.
func decodeCarry(b []byte) carry {
	var c carry
	if len(b) == 0 || (b[0] != carryVersion && b[0] != 1) {
		return c
	}
	r := &carryReader{b: b[1:]}
	if b[0] == 1 {
		// The last input time, the recent clicks, the burst in progress
		// (its clicks are among the recent ones).
		if last := r.varint(); last != 0 {
			c.Runs = []run{{last, last}}
		}
		for range r.count(maxCarried) {
			c.Recent = append(c.Recent, r.click())
		}
		if len(r.b) > 0 && r.b[0] == 1 {
			r.b = r.b[1:]
			r.click()
		} else if len(r.b) > 0 {
			r.b = r.b[1:]
		}
	} else {
		for range r.count(maxCarried) {
			c.Runs = append(c.Runs, run{r.varint(), r.varint()})
		}
		for range r.count(maxCarried) {
			c.Recent = append(c.Recent, r.click())
		}
	}
	for range r.count(maxCarried) {
		c.Pending = append(c.Pending, pendingClick{T: r.varint(), View: r.str()})
	}
	c.InputView = r.str()
	c.InputID = r.float()
	if b[0] == carryVersion {
		c.ViewportAt = r.varint()
		c.UserAt = r.varint()
		if len(r.b) > 0 {
			c.Shift = r.varint()
		}
	}
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
		if x.Shift != 0 {
			c.Shift = x.Shift
		}
		if f.user != nil && (f.user.ID != "" || f.user.Name != "" || f.user.Email != "") && f.userTS >= c.UserAt {
			s.UserID, s.UserName, s.UserEmail = f.user.ID, f.user.Name, f.user.Email
			c.UserAt = f.userTS
		}
		if f.viewport && f.vpTS >= c.ViewportAt {
			s.ViewportWidth, s.ViewportHeight = f.vw, f.vh
			c.ViewportAt = f.vpTS
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

	// Rage clicks: the bursts that this segment's clicks add to those of
	// the latest clicks known, before or after them in time.
	if len(f.clicks) > 0 {
		all := make([]clickFact, 0, len(c.Recent)+len(f.clicks))
		all = append(append(all, c.Recent...), f.clicks...)
		slices.SortStableFunc(all, func(a, b clickFact) int { return cmp.Compare(a.T, b.T) })
		// Never negative: a click cannot take back a burst counted before.
		s.RageClicks += max(0, rageBursts(all)-rageBursts(c.Recent))
		latest := all[len(all)-1].T
		i := max(0, len(all)-maxCarried)
		for i < len(all)-1 && all[i].T < latest-carryHorizon {
			i++
		}
		c.Recent = all[i:]
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

// rageBursts counts the rage-click bursts among clicks (in time order): a
// click with at least rageClicks-1 others before it within rageWindow and
// rageRadius is a rage click, and one that is not within rageWindow and
// rageRadius of the burst in progress starts a new burst. Only the
// maxCarried clicks before a click are looked at, as many as are carried.
func rageBursts(clicks []clickFact) int {
	n := 0
	var burst clickFact
	inBurst := false
	for i, k := range clicks {
		near := 1
		for j := i - 1; j >= max(0, i-maxCarried) && k.T-clicks[j].T <= rageWindow; j-- {
			if within(clicks[j], k) {
				near++
			}
		}
		switch {
		case near < rageClicks:
		case !inBurst || k.T-burst.T > rageWindow || !within(burst, k):
			n++
			burst, inBurst = k, true
		default:
			burst.T = k.T
		}
	}
	return n
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

// applyActivity adds the active time this segment's runs add to the
// latest runs known: runs less than activityGap apart merge, the gap
// counted as active, whichever segment arrives first.
func (f *segFacts) applyActivity(s *store.Session, c *carry) {
	if len(f.runs) > 0 {
		all := make([]run, 0, len(c.Runs)+len(f.runs))
		all = append(append(all, c.Runs...), f.runs...)
		slices.SortStableFunc(all, func(x, y run) int { return cmp.Compare(x.a, y.a) })
		merged := mergeRuns(all)
		s.ActiveMs += runsMs(merged) - runsMs(c.Runs)
		latest := merged[len(merged)-1].b
		i := max(0, len(merged)-maxCarried)
		for i < len(merged)-1 && merged[i].b < latest-carryHorizon {
			i++
		}
		c.Runs = merged[i:]
	}
	if s.ActiveMs > s.Duration {
		s.ActiveMs = s.Duration
	}
}

// mergeRuns merges runs (sorted by start, in place) that overlap or are
// less than activityGap apart.
func mergeRuns(runs []run) []run {
	out := runs[:0]
	for _, r := range runs {
		if n := len(out); n > 0 && r.a-out[n-1].b <= activityGap {
			out[n-1].b = max(out[n-1].b, r.b)
			continue
		}
		out = append(out, r)
	}
	return out
}

// runsMs is the active time of merged runs.
func runsMs(runs []run) int64 {
	var ms int64
	for _, r := range runs {
		ms += r.b - r.a
	}
	return ms
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
