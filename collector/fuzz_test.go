package collector

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/caddy-replay/caddy-replay/store"
)

// FuzzScanJSON checks the streaming scanner against encoding/json: for any
// input it must agree on validity (its only extra limits are nesting depth
// and UTF-8), never panic, and never read past the limit.
func FuzzScanJSON(f *testing.F) {
	for _, s := range []string{`[]`, `{}`, `[1,-0.5e+3,"a\u00e9\ud83d\ude00",true,false,null,{"a":[{}]}]`, `"\x"`, `[1,]`, `01`, `1.`, "\"\x1f\"", `[`, `{"a" 1}`, ` [ ] `, `"\ud800"`, "\"caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80\"", "\"\xff\"", "\"\xc3\"", "[\"\xed\xa0\x80\"]", "\"\xf0\x9f\x98\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sc scanner
		windows := []int{7, 32 << 10}
		if len(data) < 2048 {
			// A one-byte window splits every token; it is slow, so only
			// for small inputs.
			windows = append(windows, 1)
		}
		for _, window := range windows {
			sc.buf = make([]byte, window)
			sc.reset(bytes.NewReader(data), nil, int64(len(data)))
			err := sc.value()
			if err == nil {
				err = sc.finish()
			}
			var se *syntaxError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("window %d: a non-syntax error from valid-length input: %v", window, err)
			}
			if err != nil && strings.Contains(err.Error(), "nested deeper") {
				return
			}
			// encoding/json reads invalid UTF-8 as U+FFFD; the scanner
			// refuses it (RFC 8259: JSON text is UTF-8).
			if valid := json.Valid(data) && utf8.Valid(data); valid != (err == nil) {
				t.Fatalf("window %d: scanner says %v, encoding/json says valid=%v (UTF-8 %v) for %q", window, err, json.Valid(data), utf8.Valid(data), data)
			}
			if sc.offset() > int64(len(data)) {
				t.Fatalf("read past the end")
			}
		}
		// With a limit one byte short, the scanner must stop with
		// errInflated (or finish earlier on a syntax error), never read on.
		if len(data) > 0 {
			sc.buf = make([]byte, 5)
			sc.reset(bytes.NewReader(data), nil, int64(len(data)-1))
			err := sc.value()
			if err == nil {
				err = sc.finish()
			}
			if err == nil {
				t.Fatalf("accepted %d bytes with a limit of %d", len(data), len(data)-1)
			}
		}
	})
}

// FuzzSegment drives the whole body path — decompression, scanning,
// schema, facts and the session Update — with arbitrary bodies and
// metadata. It must never panic, and whatever it accepts must be
// consistent with the query.
func FuzzSegment(f *testing.F) {
	seed := firstSeg(id("fuzz"), id("view"), visitStart, clickEv(visitStart+10, 1, 2), mutationEv(visitStart+20),
		inputEv(visitStart+30, 4), errorEv(visitStart+40), userEv(visitStart+50, "u"), resizeEv(visitStart+60, 10, 20))
	body := seed.Body()
	f.Add(body, false, 0, len(seed.Events), true)
	f.Add(gz(body), true, 0, len(seed.Events), true)
	f.Add([]byte(`[{"type":3,"timestamp":1780000000000,"data":{"source":2,"type":2,"id":1,"x":1,"y":1}}]`), false, 1, 1, false)
	f.Add([]byte(`[{"type":5,"timestamp":1780000000000,"data":{"tag":"replay/view","payload":{"url":"\u0000x","tab":1}}}]`), false, 3, 1, false)
	f.Add([]byte(`[{"type":3,"timestamp":1780000000000,"timestamp":"x","data":{"source":1}}]`), false, 1, 1, false)
	f.Add([]byte(`[{"type":3,"timestamp":1780000000000,"data":{"source":1},"t\u0079pe":9}]`), false, 1, 1, false)
	f.Fuzz(func(t *testing.T, data []byte, gzipped bool, seq, n int, full bool) {
		if seq < 0 || seq >= store.MaxSeq || n < 1 || n > 10000 {
			return
		}
		enc := "identity"
		raw := int64(len(data))
		if gzipped {
			enc = "gzip"
			raw = 1 << 20
		}
		if raw < 2 {
			return
		}
		p := &params{key: store.SegmentKey{Session: id("fuzzsession"), View: id("fuzzview"), Seq: seq},
			start: visitStart, end: visitStart + 100_000, full: full, records: n, raw: raw}
		d, rj := decode(data, enc, p, 1<<20)
		if rj != nil {
			if rj.status < 400 || rj.status >= 500 || rj.reason == "" || rj.message == "" {
				t.Fatalf("refusal without a 4xx and a reason: %+v", rj)
			}
			return
		}
		defer d.release()
		checkAsOthersRead(t, d.gz, p)
		if d.facts.events != n || d.facts.full != full {
			t.Fatalf("accepted %d events (full %v) for n=%d full=%v", d.facts.events, d.facts.full, n, full)
		}
		if d.facts.minTS < p.start || d.facts.maxTS > p.end {
			t.Fatalf("accepted timestamps %d..%d outside %d..%d", d.facts.minTS, d.facts.maxTS, p.start, p.end)
		}
		info := store.SegmentInfo{SegmentKey: p.key, Start: p.start, End: p.end}
		s := &store.Session{ID: p.key.Session, Views: []store.View{{ID: p.key.View}}, Duration: 100_000}
		upd := d.facts.update(info, extra{UserAgent: "ua"})
		upd(s)
		upd2 := d.facts.update(info, extra{})
		upd2(s) // twice: the carried state must stay readable
		if s.Clicks < 0 || s.RageClicks > s.Clicks || s.DeadClicks > s.Clicks || s.ActiveMs < 0 || s.ActiveMs > s.Duration {
			t.Fatalf("inconsistent session after updates: %+v", s)
		}
		if len(s.Carry) > 16<<10 {
			t.Fatalf("carried state grew to %d bytes", len(s.Carry))
		}
		// Moved to the server's clock (clock.go), an accepted segment is
		// still valid, with the same events at the moved times.
		for _, shift := range []int64{7_200_000, -259_200_000} {
			q := *p
			q.shift = shift
			d2, rj := d.shifted(&q, 1<<20)
			if rj != nil {
				t.Fatalf("an accepted segment cannot be moved by %d: %+v", shift, rj)
			}
			if q.start != p.start-shift || q.end != p.end-shift {
				t.Fatalf("moved by %d: start..end %d..%d from %d..%d", shift, q.start, q.end, p.start, p.end)
			}
			checkAsOthersRead(t, d2.gz, &q)
			if d2.facts.events != n || d2.facts.full != full || d2.facts.minTS < q.start || d2.facts.maxTS > q.end {
				t.Fatalf("moved by %d: %d events (full %v) at %d..%d", shift, d2.facts.events, d2.facts.full, d2.facts.minTS, d2.facts.maxTS)
			}
			d2.release()
		}
	})
}

// checkAsOthersRead decodes an accepted body the way the export and the
// player read it (encoding/json, JavaScript's JSON.parse: the last of
// duplicate keys wins) and checks that they see what the validator
// accepted: an array of n events, each with an integer type from 0 to 6,
// a numeric timestamp within the segment and an object as data.
func checkAsOthersRead(t *testing.T, stored []byte, p *params) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(stored))
	if err != nil {
		t.Fatalf("the stored body is not gzip: %v", err)
	}
	var events []map[string]json.RawMessage
	if err := json.NewDecoder(zr).Decode(&events); err != nil {
		t.Fatalf("encoding/json cannot read an accepted body: %v", err)
	}
	if len(events) != p.records {
		t.Fatalf("encoding/json reads %d events, n=%d", len(events), p.records)
	}
	for i, e := range events {
		var typ, ts float64
		var data map[string]json.RawMessage
		if json.Unmarshal(e["type"], &typ) != nil || typ != float64(int(typ)) || typ < 0 || typ > 6 {
			t.Fatalf("event %d: encoding/json reads type %s", i, e["type"])
		}
		if json.Unmarshal(e["timestamp"], &ts) != nil || ts < float64(p.start) || ts > float64(p.end)+1 {
			t.Fatalf("event %d: encoding/json reads timestamp %s", i, e["timestamp"])
		}
		if json.Unmarshal(e["data"], &data) != nil || data == nil {
			t.Fatalf("event %d: encoding/json reads data %.40s", i, e["data"])
		}
	}
}

// FuzzQuery checks the query splitter against url.ParseQuery: for any query
// string both agree on whether it is malformed and, for every name in it
// (and a few absent ones), on its first value and how many times it is
// given.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"", "v=1&sid=abcdefghijklmnop&vid=abcdefghijklmnop&seq=0&start=1&end=2&full=1&n=3&raw=40",
		"a=1&a=2", "&&a&=b&c=", "a=%41&b=+", "a=%zz", "a;b=1", "sid=x&sid=x&sid=y",
		strings.Repeat("k=v&", 15) + "k=v", strings.Repeat("k=v&", 16) + "k=v", "=&=", "a==b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, wantErr := url.ParseQuery(raw)
		var q query
		err := q.parse(raw)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, url.ParseQuery's %v", raw, err, wantErr)
		}
		if err != nil {
			return
		}
		names := []string{"v", "sid", "seq", "", "absent"}
		for name := range want {
			names = append(names, name)
		}
		for _, name := range names {
			v, n := q.get(name)
			if n != len(want[name]) || (n > 0 && v != want[name][0]) {
				t.Fatalf("%q: %q is %q ×%d, url.ParseQuery says %q", raw, name, v, n, want[name])
			}
		}
	})
}
