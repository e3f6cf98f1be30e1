package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/storetest"
)

// spyReader is a pack in memory that remembers the largest read asked of
// it: every read of the scan goes into a buffer allocated for it, so a
// read larger than the file is an allocation a length field in the file
// chose.
type spyReader struct {
	*bytes.Reader
	maxRead int
	total   int64 // bytes asked for, in all
}

func (s *spyReader) ReadAt(p []byte, off int64) (int, error) {
	s.maxRead = max(s.maxRead, len(p))
	s.total += int64(len(p))
	return s.Reader.ReadAt(p, off)
}

// fuzzSegments are the segments the pack fuzzers build their packs from:
// bodies of several sizes (none, one byte, a few KB), with and without
// Extra, in two sessions.
func fuzzSegments() []*store.NewSegment {
	var segs []*store.NewSegment
	for i, n := range []int{0, 1, 60, 700, 5000} {
		body := make([]byte, n)
		for j := range body {
			body[j] = byte(j*7 + i) // no magic in it
		}
		seg := newSeg(storetest.ID(fmt.Sprint("fuzz", i%2)), storetest.ID("view"), i, int64(1000*i), int64(1000*i+500))
		seg.Body = body
		if i%2 == 1 {
			seg.Extra = []byte(`{"ua":"Mozilla/5.0"}`)
		}
		segs = append(segs, seg)
	}
	return segs
}

func encodeAll(tb testing.TB, segs []*store.NewSegment) [][]byte {
	var recs [][]byte
	for _, seg := range segs {
		rec, err := encodeRecord(seg)
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// checkScan scans data from off and checks what any scan must give: no
// error from a reader that cannot fail, no read larger than the file, and
// records in order, inside the file, each one that reads back whole with
// its checksum.
func checkScan(t *testing.T, data []byte, off int64) []found {
	t.Helper()
	r := &spyReader{Reader: bytes.NewReader(data)}
	size := int64(len(data))
	recs, end, skipped, err := scanPackFrom(r, "fuzz.pack", off, size)
	if err != nil {
		t.Fatalf("scan from %d: %v", off, err)
	}
	if r.maxRead > max(len(data), len(segMagic)+4) {
		t.Fatalf("scan of %d bytes read %d bytes at once: a length field chose the allocation", len(data), r.maxRead)
	}
	if end < off || end > max(size, off) {
		t.Fatalf("end %d outside [%d, %d]", end, off, size)
	}
	if skipped < 0 {
		t.Fatalf("skipped %d", skipped)
	}
	prev := off
	for _, f := range recs {
		if f.off < prev || f.len <= 0 || f.off+f.len > end {
			t.Fatalf("record at %d (+%d) out of order or past end %d (previous ends at %d)", f.off, f.len, end, prev)
		}
		prev = f.off + f.len
		h, body, n, err := readRecord(bytes.NewReader(data), f.off, f.off+f.len)
		if err != nil || n != f.len || !sameHeader(h, f.h) {
			t.Fatalf("record at %d does not read back: %v, %d bytes, %+v vs %+v", f.off, err, n, h, f.h)
		}
		if int64(len(body)) != h.BodyLen || !h.key().Valid() {
			t.Fatalf("record at %d: body of %d bytes for a header of %d, key %+v", f.off, len(body), h.BodyLen, h.key())
		}
	}
	return recs
}

func sameHeader(a, b *recordHeader) bool {
	return a.info() == b.info() && bytes.Equal(a.Extra, b.Extra)
}

// FuzzScanPack runs the recovery scan (what Reindex and Open's crash
// recovery run over pack files) over any bytes, from the start and from
// a point inside, as recovery does from the committed offset.
func FuzzScanPack(f *testing.F) {
	recs := encodeAll(f, fuzzSegments())
	pack := bytes.Join(recs, nil)
	f.Add(pack)
	f.Add(recs[0])
	f.Add(pack[:len(pack)-3])                               // torn tail
	f.Add(append([]byte(segMagic), 0xff, 0xff, 0xff, 0xff)) // 4 GB header length
	big := bytes.Clone(recs[1])
	big = bytes.Replace(big, []byte(`"l":1,`), []byte(`"l":9,`), 1)
	f.Add(big) // a body length past the end of the file
	zeroed := bytes.Clone(pack)
	clear(zeroed[len(recs[0]) : len(recs[0])+len(recs[1])])
	f.Add(zeroed) // a deleted record
	f.Add(bytes.Repeat([]byte(segMagic+"\x00\x00\xff\xff"), 50))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The header is read two ways (whole when the index gave the
		// offset, decoded as it is read in a scan): they must agree.
		h1, o1, err1 := readRecordHeader(bytes.NewReader(data), 0, int64(len(data)))
		h2, o2, err2 := readRecordHeader(bytes.NewReader(data), 0, -1)
		if (err1 == nil) != (err2 == nil) || err1 == nil && (o1 != o2 || !sameHeader(h1, h2)) {
			t.Fatalf("the header is %+v at %d (%v) in a scan, %+v at %d (%v) read whole", h1, o1, err1, h2, o2, err2)
		}
		checkScan(t, data, 0)
		if len(data) > 2 {
			checkScan(t, data, int64(data[0])%int64(len(data)))
		}
	})
}

// FuzzPackSplice builds a pack of valid records with garbage inserted
// between them and written over some of them: raw bytes, torn copies of
// records (a write cut short), zeroed stretches (deleted records). Every
// record no garbage overlaps must come back intact.
func FuzzPackSplice(f *testing.F) {
	segs := fuzzSegments()
	recs := encodeAll(f, segs)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1, 0, 5}, []byte("garbage"))
	f.Add([]byte{2, 3, 200, 0, 0, 2, 1, 40}, []byte{})              // torn copies before records
	f.Add([]byte{0, 3, 2, 10, 0, 0, 0, 4, 0, 0, 0, 0}, []byte("x")) // zeros over a record
	f.Add([]byte{5, 7, 9}, []byte(segMagic+"\x00\x00\x00\x10{\"s\":1}"))
	f.Fuzz(func(t *testing.T, layout, garbage []byte) {
		next := func() int {
			if len(layout) == 0 {
				return 0
			}
			b := layout[0]
			layout = layout[1:]
			return int(b)
		}
		var pack []byte
		intact := make([]bool, len(recs))
		offs := make([]int, len(recs))
		filler := func() []byte {
			switch next() % 4 {
			case 1: // raw bytes
				a, b := next(), next()
				if len(garbage) == 0 {
					return nil
				}
				a %= len(garbage)
				return garbage[a : a+(b%(len(garbage)-a+1))]
			case 2: // a record cut short
				rec := recs[next()%len(recs)]
				return rec[:(next()*len(rec)/256)%len(rec)]
			case 3: // zeros
				return make([]byte, next()*4)
			}
			return nil
		}
		for i, rec := range recs {
			pack = append(pack, filler()...)
			offs[i] = len(pack)
			pack = append(pack, rec...)
			intact[i] = true
		}
		pack = append(pack, filler()...)
		// Overwrites: garbage laid over some records.
		for range next() % 3 {
			over := filler()
			at := (next()<<8 | next()) % (len(pack) + 1)
			n := copy(pack[at:], over)
			for i := range recs {
				if at < offs[i]+len(recs[i]) && offs[i] < at+n {
					intact[i] = false
				}
			}
		}
		got := checkScan(t, pack, 0)
		for i, seg := range segs {
			if !intact[i] {
				continue
			}
			ok := false
			for _, g := range got {
				if g.h.key() == seg.SegmentKey {
					_, body, _, err := readRecord(bytes.NewReader(pack), g.off, g.off+g.len)
					ok = err == nil && bytes.Equal(body, seg.Body) && bytes.Equal(g.h.Extra, seg.Extra)
					break
				}
			}
			if !ok {
				t.Fatalf("record %d (at %d) is intact but was not recovered; pack of %d bytes, found %d records", i, offs[i], len(pack), len(got))
			}
		}
	})
}

// FuzzDecodeCursor feeds any string to the list cursor decoder and to
// ListSessions as the cursor (the player's list cursor arrives from the
// URL): a cursor either decodes to one that encodes back to itself, or
// is ErrInvalid, and the store answers either a page or ErrInvalid.
func FuzzDecodeCursor(f *testing.F) {
	s, err := Open(f.TempDir(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	ids := []string{storetest.ID("cursor-a"), storetest.ID("cursor-b"), storetest.ID("cursor-c")}
	for i, id := range ids {
		if _, err := s.PutSegment(context.Background(), newSeg(id, storetest.ID("view"), 0, int64(i*1000), int64(i*1000+500))); err != nil {
			f.Fatal(err)
		}
	}
	page, err := s.ListSessions(context.Background(), store.Query{Limit: 1})
	if err != nil || page.Next == "" {
		f.Fatalf("first page: %v %+v", err, page)
	}
	f.Add(page.Next)
	for _, c := range []cursor{
		{Sort: store.SortDuration, Desc: false, Value: -1 << 63, ID: ids[1]},
		{Sort: "nope", Value: 1 << 62, ID: ids[0]},
		{Sort: store.SortPages, Desc: true, ID: "../../etc/passwd"},
	} {
		f.Add(c.encode())
	}
	for _, s := range []string{"", "=", "e30", "eyJpIjoiJyBPUiAxPTE7LS0ifQ", "!!!!", "eyJ2IjoxZTMwMH0", "bnVsbA", "W10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := decodeCursor(raw)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("decodeCursor(%q): %v is not ErrInvalid", raw, err)
			}
		} else {
			if !store.ValidID(c.ID) {
				t.Fatalf("decodeCursor(%q) accepted id %q", raw, c.ID)
			}
			if back, err := decodeCursor(c.encode()); err != nil || back != c {
				t.Fatalf("cursor %+v does not survive encoding: %+v, %v", c, back, err)
			}
		}
		// Asked with the order the cursor claims, so a well-formed one
		// reaches the keyset query.
		q := store.Query{Cursor: raw, Sort: c.Sort, Desc: c.Desc, Limit: 2}
		if q.Sort == "" {
			q.Sort = store.SortStart
		}
		page, err := s.ListSessions(context.Background(), q)
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("ListSessions with cursor %q: %v", raw, err)
		}
		if err == nil && len(page.Sessions) > 2 {
			t.Fatalf("a page of %d sessions for a limit of 2", len(page.Sessions))
		}
	})
}

// TestReindexRecoversAroundGarbage is FuzzPackSplice's invariant through
// the whole store: a real pack with a torn copy of a record spliced in
// front of intact ones (a write that was cut short, then written after)
// and zeros and bytes laid over another; Reindex keeps every intact
// segment, readable with its body.
func TestReindexRecoversAroundGarbage(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	sid, vid := storetest.ID("splice"), storetest.ID("view")
	var bodies [][]byte
	for i := range 6 {
		seg := newSeg(sid, vid, i, int64(i*100), int64(i*100+50))
		bodies = append(bodies, seg.Body)
		mustPut(t, s, seg)
	}
	s = reopen(t, s, dir)
	packs, _ := filepath.Glob(filepath.Join(dir, "packs", "*", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("%d packs, want 1", len(packs))
	}
	data, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	recs, _, _, _ := scanPackFrom(bytes.NewReader(data), packs[0], 0, int64(len(data)))
	if len(recs) != 6 {
		t.Fatalf("%d records in the pack, want 6", len(recs))
	}
	// A torn copy of record 5 (its header, a third of its body) before
	// record 1: its length claims bytes from records 1 and 2.
	r5 := data[recs[5].off : recs[5].off+recs[5].len]
	torn := r5[:len(r5)-int(recs[5].h.BodyLen)*2/3]
	var out []byte
	out = append(out, data[:recs[1].off]...)
	out = append(out, torn...)
	out = append(out, data[recs[1].off:]...)
	// Record 3 overwritten in its middle.
	mid := int(recs[3].off) + len(torn) + int(recs[3].len)/2
	copy(out[mid:], "\x00\x00\x00garbage")
	if err := os.WriteFile(packs[0], out, 0o600); err != nil {
		t.Fatal(err)
	}
	stats, err := s.Reindex(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Segments != 5 || stats.Skipped != 2 {
		t.Errorf("reindex: %+v, want 5 segments and 2 damaged stretches skipped", stats)
	}
	for i, want := range bodies {
		rc, err := s.OpenSegment(context.Background(), store.SegmentKey{Session: sid, View: vid, Seq: i})
		if i == 3 {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("segment 3 was overwritten: %v", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("segment %d: %v", i, err)
			continue
		}
		var got bytes.Buffer
		got.ReadFrom(rc)
		rc.Close()
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("segment %d: body differs", i)
		}
	}
}

// FuzzFileName checks the id ↔ file name mapping Reindex reads tombstone
// names back with: a name maps back to an id only if it is the one name
// that id is stored under, and every valid id survives the round trip.
func FuzzFileName(f *testing.F) {
	for _, s := range []string{"abcdefghijklmnop", "=a=b=c=d=e=f=g=h=i=j=k=l=m=n=o=p", "=A", "==", "=", "../../../etc/passwd", "AbCdEfGhIjKlMnOp", "a=", "tmp-1234567890123.partial"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if id, ok := idFromFileName(s); ok && (!store.ValidID(id) || fileName(id) != s) {
			t.Fatalf("name %q read back as id %q, which is stored as %q", s, id, fileName(id))
		}
		if store.ValidID(s) {
			if id, ok := idFromFileName(fileName(s)); !ok || id != s {
				t.Fatalf("id %q stored as %q reads back as %q, %v", s, fileName(s), id, ok)
			}
		}
	})
}

// TestNextMagicAcrossReads places a magic across each boundary of
// nextMagic's growing reads (512 bytes, doubling to 64 KB): it is found
// wherever it lies, and not past the end given.
func TestNextMagicAcrossReads(t *testing.T) {
	for _, at := range []int{0, 1, 512 - 4, 1536 - 3, 4<<10 - 4, 4<<10 - 8, 12<<10 - 11, 28<<10 - 3, 64<<10 - 5, 124<<10 - 2, 188<<10 + 1, 300<<10 - 8} {
		data := make([]byte, 300<<10)
		copy(data[at:], segMagic)
		r := bytes.NewReader(data)
		if got := nextMagic(r, 0, int64(len(data))); got != int64(at) {
			t.Errorf("magic at %d found at %d", at, got)
		}
		if got := nextMagic(r, int64(at)+1, int64(len(data))); got != -1 {
			t.Errorf("magic at %d: searching past it found %d", at, got)
		}
		if got := nextMagic(r, 0, int64(at+len(segMagic)-1)); got != -1 {
			t.Errorf("magic at %d found in a file that ends inside it (%d)", at, got)
		}
	}
}

// TestScanDenseMagicsReadsLinear scans a stretch that is nothing but
// magics claiming 64 KB headers (damage no write makes, but bytes anyone
// can put in a gzip header field): each magic must cost about the bytes
// up to the next, not a header's worth. Reading 64 KB at every magic took
// 10 s a megabyte.
func TestScanDenseMagicsReadsLinear(t *testing.T) {
	for _, unit := range []string{segMagic + "\x00\x00\xff\xff", segMagic + "\x00\x00\xff\xff{\"s\":\"aaaaaaaaaaaa"} {
		data := bytes.Repeat([]byte(unit), (256<<10)/len(unit))
		r := &spyReader{Reader: bytes.NewReader(data)}
		recs, end, _, err := scanPackFrom(r, "dense.pack", 0, int64(len(data)))
		if err != nil || len(recs) != 0 || end != 0 {
			t.Fatalf("%q: %d records, end %d, %v", unit, len(recs), end, err)
		}
		if r.total > 200*int64(len(data)) {
			t.Errorf("%q: scanning %d bytes read %d (%d× the file)", unit, len(data), r.total, r.total/int64(len(data)))
		}
	}
}
