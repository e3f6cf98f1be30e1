package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/caddy-replay/caddy-replay/store"
)

// shiftTolerance is how far an upload's clock reading may stray from the
// correction its session already has and still get that correction: the
// time an upload takes to arrive varies by milliseconds, and one
// correction per session keeps its events in order (and a retry identical
// to the upload it repeats, which the store compares).
const shiftTolerance = 60_000

// clockShift decides how far to move an upload's timestamps (ms; 0: not
// at all). A visitor's clock can be hours off; the recorder sends its
// reading with each upload (t), and when it is more than MaxClockSkew from
// the server's, the segment is moved to the server's clock, so that the
// session lists, filters and expires by real time instead of being
// refused. Within MaxClockSkew nothing moves: times stay as recorded.
// An upload without t is held to the server's clock alone.
//
// slack is how far past MaxClockSkew the segment may end, on the server's
// clock plus shift: shiftTolerance when a session that began with its
// times as recorded keeps them a little past the limit (its segments end
// that far ahead), else 0.
func (c *Collector) clockShift(ctx context.Context, p *params, nowMs int64) (shift, slack int64, rj *rejection) {
	if !c.clockReadsSession(p, nowMs) {
		return 0, 0, nil
	}
	d := p.sent - nowMs
	// Near the limit or beyond it, the session's earlier segments decide:
	// they keep their correction (or their lack of one, up to a little
	// past the limit) rather than jump by the limit between two segments.
	sess, err := c.store.Session(ctx, p.key.Session)
	switch {
	case err == nil && sess.Segments > 0:
		s := decodeCarry(sess.Carry).Shift
		if abs(d-s) <= shiftTolerance {
			return s, 0, nil
		}
		if s == 0 && abs(d) <= c.maxSkewMs+shiftTolerance {
			return 0, shiftTolerance, nil
		}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return 0, 0, storeRejection(err)
	}
	if abs(d) <= c.maxSkewMs {
		return 0, 0, nil
	}
	return d, 0, nil
}

// clockReadsSession reports whether clockShift needs the session's
// correction: not for an upload without t, nor for one whose clock is so
// close to the server's that no correction a session can have (more than
// MaxClockSkew, kept within shiftTolerance) would apply to it. Normal
// clients take no store read and no lock.
func (c *Collector) clockReadsSession(p *params, nowMs int64) bool {
	return p.sent != 0 && abs(p.sent-nowMs) > min(c.maxSkewMs/2, c.maxSkewMs-shiftTolerance)
}

// clockLock is the lock an upload that reads its session's correction
// holds from that read until its segment is stored, so that two uploads
// of one session (two tabs) cannot both find no correction and each take
// their own: the second finds the first's. A fixed set of mutexes, by the
// session id's hash; sessions that share one only wait for each other.
func (c *Collector) clockLock(sid string) *sync.Mutex {
	return &c.clockLocks[maphash.String(clockSeed, sid)%uint64(len(c.clockLocks))]
}

var clockSeed = maphash.MakeSeed()

// checkWindows refuses a segment whose times lie outside the windows:
// end at most MaxClockSkew (plus slack) ahead of the clock it is held to,
// start at most MaxAge before it. That clock is the server's, moved by the
// upload's correction: the sender's clock when it is corrected.
func (c *Collector) checkWindows(p *params, nowMs, slack int64) *rejection {
	clock := nowMs + p.shift
	if limit := clock + c.maxSkewMs + slack; p.end > limit {
		if p.sent != 0 {
			return reject(400, "timestamp_in_future", "end=%d is %s ahead of the server's clock moved by the correction this upload gets (%s; t=%d is %s ahead), more than %s",
				p.end, time.Duration(p.end-clock)*time.Millisecond, time.Duration(p.shift)*time.Millisecond, p.sent, time.Duration(p.sent-nowMs)*time.Millisecond, time.Duration(c.maxSkewMs+slack)*time.Millisecond)
		}
		return reject(400, "timestamp_in_future", "end=%d is %s ahead of the server's clock (more than %s): is the client's clock wrong? (send t, the client's time, to have it corrected)",
			p.end, time.Duration(p.end-nowMs)*time.Millisecond, c.cfg.MaxClockSkew)
	}
	if p.start < clock-c.maxAgeMs {
		return reject(400, "timestamp_too_old", "start=%d is more than %s ago; segments that old are not accepted", p.start, c.cfg.MaxAge)
	}
	return nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// shifted returns d's segment with every event's timestamp moved back by
// p.shift, validated and summarized again (the facts are of the new
// times), and updates p to match. It is the uncommon path (a clock far
// off): the events are read again with encoding/json, and only each
// event's timestamp value is replaced, as an integer; every other byte
// (keys, their order and spelling, whitespace) stays as it was sent.
// (Decoding the events into maps and encoding them again would merge
// keys that decode alike: two unpaired surrogates both read as U+FFFD.)
func (d *decoded) shifted(p *params, maxRaw int64) (*decoded, *rejection) {
	zr, err := gzip.NewReader(bytes.NewReader(d.gz))
	if err != nil {
		return nil, reject(500, "internal", "re-reading the segment: %v", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, p.raw+1))
	if err != nil {
		return nil, reject(500, "internal", "re-reading the segment: %v", err)
	}
	out, err := shiftTimestamps(raw, p.shift)
	if err != nil {
		return nil, reject(500, "internal", "re-reading the segment: %v", err)
	}
	q := *p
	q.start, q.end, q.raw = p.start-p.shift, p.end-p.shift, int64(len(out))
	d2, rj := decode(out, "identity", &q, max(maxRaw, q.raw))
	if rj != nil {
		return nil, rj
	}
	*p = q
	return d2, nil
}

// shiftTimestamps returns raw, a validated JSON array of event objects,
// with each event's top-level timestamp moved back by shift (ms).
func shiftTimestamps(raw []byte, shift int64) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	out := make([]byte, 0, len(raw)+64)
	// raw[:copied] is in out.
	copied := 0
	if _, err := dec.Token(); err != nil { // [
		return nil, err
	}
	for i := 0; dec.More(); i++ {
		if _, err := dec.Token(); err != nil { // {
			return nil, err
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			// v is the value's bytes as sent, without the ':' and
			// spaces before it, ending where the decoder stopped.
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			if k != "timestamp" {
				continue
			}
			to := int(dec.InputOffset())
			from := to - len(v)
			// The validator saw a number from 0 to 1e15 and took its
			// integer part; JSON allows 1e3 or 1000.0 for it.
			ts, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return nil, fmt.Errorf("event %d's timestamp: %w", i, err)
			}
			out = append(out, raw[copied:from]...)
			out = strconv.AppendInt(out, int64(ts)-shift, 10)
			copied = to
		}
		if _, err := dec.Token(); err != nil { // }
			return nil, err
		}
	}
	return append(out, raw[copied:]...), nil
}
