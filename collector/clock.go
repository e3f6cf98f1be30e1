package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"

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
func (c *Collector) clockShift(ctx context.Context, p *params, nowMs int64) (int64, *rejection) {
	if p.sent == 0 {
		return 0, nil
	}
	d := p.sent - nowMs
	if abs(d) <= c.maxSkewMs/2 {
		return 0, nil
	}
	// Near the limit or beyond it, the session's earlier segments decide:
	// they keep their correction (or their lack of one, up to a little
	// past the limit) rather than jump by the limit between two segments.
	sess, err := c.store.Session(ctx, p.key.Session)
	switch {
	case err == nil && sess.Segments > 0:
		s := decodeCarry(sess.Carry).Shift
		if abs(d-s) <= shiftTolerance || s == 0 && abs(d) <= c.maxSkewMs+shiftTolerance {
			return s, nil
		}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return 0, storeRejection(err)
	}
	if abs(d) <= c.maxSkewMs {
		return 0, nil
	}
	return d, nil
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
// off), so it re-encodes the events simply: keys in sorted order, values
// as they were.
func (d *decoded) shifted(p *params, maxRaw int64) (*decoded, *rejection) {
	zr, err := gzip.NewReader(bytes.NewReader(d.gz))
	if err != nil {
		return nil, reject(500, "internal", "re-reading the segment: %v", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, p.raw+1))
	if err != nil {
		return nil, reject(500, "internal", "re-reading the segment: %v", err)
	}
	var events []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil {
		return nil, reject(500, "internal", "re-reading the segment: %v", err)
	}
	for i, e := range events {
		// The validator saw an integer-valued number; JSON allows 1e3 or
		// 1000.0 for it.
		ts, err := strconv.ParseFloat(string(e["timestamp"]), 64)
		if err != nil {
			return nil, reject(500, "internal", "re-reading event %d's timestamp: %v", i, err)
		}
		e["timestamp"] = strconv.AppendInt(nil, int64(ts)-p.shift, 10)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(events); err != nil {
		return nil, reject(500, "internal", "re-encoding the segment: %v", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	q := *p
	q.start, q.end, q.raw = p.start-p.shift, p.end-p.shift, int64(len(out))
	d2, rj := decode(out, "identity", &q, max(maxRaw, q.raw))
	if rj != nil {
		return nil, rj
	}
	*p = q
	return d2, nil
}
