package collector

import (
	"bytes"
	"compress/zlib"
	"strings"
	"testing"
)

// TestDuplicateKeysRefused: an event that gives a key the validator reads
// twice is refused. Browsers and encoding/json keep the last value, so a
// body like {"timestamp":1780000000000,"timestamp":"x"} would pass a
// validator that looked at one of them and then break the player or the
// rrweb export, which read the other.
func TestDuplicateKeysRefused(t *testing.T) {
	h := newHarness(t, Config{})
	vid := id("view")
	n := 0
	// tampered is a valid first segment whose bytes are edited by replace.
	tampered := func(old, repl string) *upload {
		n++
		seg := firstSeg(id("dupkey"+itoa(n)), vid, visitStart, clickEv(visitStart+10, 5, 5), viewEv(visitStart+20, "https://shop.example/b", "tab-1"))
		raw := seg.Body()
		if !bytes.Contains(raw, []byte(old)) {
			t.Fatalf("the segment has no %s", old)
		}
		raw = bytes.Replace(raw, []byte(old), []byte(repl), 1)
		u := uploadOf(seg)
		u.body = gz(raw)
		return u.set("raw", itoa(len(raw)))
	}
	cases := []struct{ name, old, repl, key string }{
		{"event timestamp, later not a number", `"timestamp":1780000000000}`, `"timestamp":1780000000000,"timestamp":"x"}`, "timestamp"},
		{"event type, later a string", `{"type":4,`, `{"type":4,"type":"4",`, "type"},
		{"event type, escaped twin", `{"type":4,`, `{"type":4,"t\u0079pe":3,`, "type"},
		{"event data, later not an object", `"height":700}`, `"height":700},"data":1`, "data"},
		{"data href, later a number", `"data":{"href":"https://shop.example/"`, `"data":{"href":"https://shop.example/","href":7`, "href"},
		{"click source", `"source":2,"type":2`, `"source":2,"source":"2","type":2`, "source"},
		{"click target id", `"id":5,`, `"id":5,"id":null,`, "id"},
		{"full snapshot node", `"initialOffset":{"top":0,"left":0}`, `"initialOffset":{"top":0,"left":0},"node":null`, "node"},
		{"custom tag", `"tag":"replay/view"`, `"tag":"replay/view","tag":"replay/error"`, "tag"},
		{"payload url", `"payload":{"url":"https://shop.example/b"`, `"payload":{"url":"https://shop.example/b","url":"https://evil.example/"`, "url"},
	}
	for _, tc := range cases {
		r := h.do(tampered(tc.old, tc.repl))
		msg, _ := r.body["message"].(string)
		if r.status != 400 || r.reason() != "invalid_event" || !strings.Contains(msg, `"`+tc.key+`"`) || !strings.Contains(msg, "twice") {
			t.Errorf("%s: got %d %s, want 400 invalid_event naming %q twice", tc.name, r.status, r.raw, tc.key)
		}
	}
	if total := h.total(); total != 0 {
		t.Fatalf("%d sessions stored from refused uploads", total)
	}
	// Keys the validator does not read may repeat: rrweb's own node and
	// attribute objects are not ours to police, and a repeat there
	// changes nothing the collector decided.
	h.mustAccept(tampered(`"initialOffset":{"top":0,"left":0}`, `"initialOffset":{"top":0,"top":0,"left":0},"extra":1,"extra":2`))
}

// TestZlibTrailingBytesRefused: like gzip, a deflate (zlib) body must be
// exactly one stream; bytes after it would be stored nowhere and are
// refused rather than dropped without a word.
func TestZlibTrailingBytesRefused(t *testing.T) {
	h := newHarness(t, Config{})
	zl := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	for i, tail := range [][]byte{[]byte("GARBAGE"), zl([]byte("[]")), {0}} {
		seg := firstSeg(id("zlibtail"+itoa(i)), id("view"), visitStart)
		u := uploadOf(seg)
		u.body = append(zl(seg.Body()), tail...)
		u.header.Set("Content-Encoding", "deflate")
		r := h.do(u)
		if r.status != 400 || r.reason() != "bad_encoding" || !strings.Contains(r.raw, "follow") {
			t.Errorf("tail %q: got %d %s, want 400 bad_encoding", tail, r.status, r.raw)
		}
	}
	if total := h.total(); total != 0 {
		t.Fatalf("%d sessions stored from refused uploads", total)
	}
	seg := firstSeg(id("zlibclean"), id("view"), visitStart)
	u := uploadOf(seg)
	u.body = zl(seg.Body())
	u.header.Set("Content-Encoding", "deflate")
	h.mustAccept(u)
}
