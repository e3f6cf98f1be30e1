package embedded

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
)

// TestRecordHeaderLikeJSON checks that the record header written by hand
// is, byte for byte, what json.Marshal writes (the format packs have
// always had), and that the record around it reads back.
func TestRecordHeaderLikeJSON(t *testing.T) {
	segs := []*store.NewSegment{
		{SegmentInfo: store.SegmentInfo{SegmentKey: store.SegmentKey{Session: "AAAAAAAAAAAAAAAAAAAAAA", View: "b_b-b0b0b0b0b0b0b0b0bb", Seq: 0},
			Start: 1780000000000, End: 1780000004000, FullSnapshot: true, Records: 12, RawSize: 9000, Received: 1780000004100},
			Body: []byte("gzip"), Extra: []byte(`{"ua":"Mozilla/5.0 <x> & \"y\""}`)},
		{SegmentInfo: store.SegmentInfo{SegmentKey: store.SegmentKey{Session: "zzzzzzzzzzzzzzzz", View: "yyyyyyyyyyyyyyyy", Seq: 99999},
			Start: 0, End: 0, Records: 1, RawSize: 2, Received: -5},
			Body: nil, Extra: []byte{}},
		{SegmentInfo: store.SegmentInfo{SegmentKey: store.SegmentKey{Session: "not an id: \"<é>\"", View: "v\u2028", Seq: 3},
			Start: 10, End: 20, Records: 3, RawSize: 40, Received: 50},
			Body: []byte{1, 2, 3}, Extra: []byte{0xff, 0}},
	}
	for i, seg := range segs {
		rec, err := appendRecord([]byte("prefix"), seg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(rec, []byte("prefix")) {
			t.Fatalf("segment %d: the bytes before the record were changed", i)
		}
		rec = rec[len("prefix"):]
		want, _ := json.Marshal(&recordHeader{Session: seg.Session, View: seg.View, Seq: seg.Seq,
			Start: seg.Start, End: seg.End, Full: seg.FullSnapshot, Records: seg.Records, Raw: seg.RawSize,
			Received: seg.Received, BodyLen: int64(len(seg.Body)), Extra: seg.Extra})
		hlen := int(rec[8])<<24 | int(rec[9])<<16 | int(rec[10])<<8 | int(rec[11])
		if got := rec[12 : 12+hlen]; !bytes.Equal(got, want) {
			t.Errorf("segment %d: header\n%s\nwant (json.Marshal)\n%s", i, got, want)
		}
		if len(rec) != recordOverhead+hlen+len(seg.Body) {
			t.Fatalf("segment %d: record of %d bytes, want %d", i, len(rec), recordOverhead+hlen+len(seg.Body))
		}
		body := rec[12+hlen : len(rec)-4]
		crc := uint32(rec[len(rec)-4])<<24 | uint32(rec[len(rec)-3])<<16 | uint32(rec[len(rec)-2])<<8 | uint32(rec[len(rec)-1])
		if !bytes.Equal(body, seg.Body) || crc != crc32.Update(crc32.Checksum(want, castagnoli), castagnoli, seg.Body) {
			t.Errorf("segment %d: body or checksum differ", i)
		}
		if !store.ValidID(seg.Session) {
			continue // the third segment is for the encoding alone: reading refuses its ids
		}
		info := seg.SegmentInfo
		info.Size = int64(len(seg.Body)) // the record keeps the body's length as its size
		h, rb, _, err := readRecord(bytes.NewReader(rec), 0, int64(len(rec)))
		if err != nil || h.info() != info || !bytes.Equal(rb, seg.Body) || !bytes.Equal(h.Extra, seg.Extra) {
			t.Errorf("segment %d: read back %+v, %q, %v", i, h, rb, err)
		}
	}
}
