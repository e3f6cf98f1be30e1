package embedded

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"hash/crc32"
	"os"
	"strings"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
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

// TestBodyWithRecordMarkerRefused: a gzip body can carry any bytes in its
// header's extra field, including a whole record framed for another
// session. Stored, it would stay hidden inside its own record until damage
// in front of it (a torn write, a bad sector) made a scan look for the
// next magic and index the planted record: a segment forged into the
// victim's session. The store refuses such a body (ErrInvalid), stores
// nothing of it, and a damaged pack's reindex finds no victim.
func TestBodyWithRecordMarkerRefused(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := context.Background()
	attacker, victim, vid := storetest.ID("attacker"), storetest.ID("victim"), storetest.ID("view")
	forged, err := encodeRecord(newSeg(victim, vid, 0, 5, 6))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Header.Extra = forged
	zw.Write([]byte(`[{"type":4,"timestamp":1,"data":{}}]`))
	zw.Close()
	planted := newSeg(attacker, vid, 1, 1, 2)
	planted.Body = b.Bytes()

	mustPut(t, s, newSeg(attacker, vid, 0, 0, 1))
	if _, err := s.PutSegment(ctx, planted); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "record marker") {
		t.Errorf("a body holding a framed record: %v, want ErrInvalid naming the marker", err)
	}
	mustPut(t, s, newSeg(attacker, vid, 2, 2, 3))
	if list, _ := s.SegmentList(ctx, attacker); len(list) != 2 || list[0].Seq != 0 || list[1].Seq != 2 {
		t.Errorf("the attacker's session lists %+v, want seq 0 and 2", list)
	}

	// Damage every indexed record's magic (never a byte inside a body): a
	// reindex then searches the packs byte by byte for magics, and must
	// find none inside a stored body.
	rows, err := s.rdb.Query(`SELECT s.off, p.name FROM segments s JOIN packs p ON p.id = s.pack`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var off int64
		var name string
		if err := rows.Scan(&off, &name); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(s.packPath(name), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte("XX"), off)
		f.Close()
	}
	rows.Close()
	if _, err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, victim); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after damage and reindex the victim's session is there (%v): a planted record was indexed", err)
	}
}
