package embedded

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/caddy-replay/caddy-replay/store"
)

// A segment record is self-describing, so the index can be rebuilt from
// the packs alone:
//
//	magic    8 bytes  "RPLSEG1\n"
//	hlen     uint32   big-endian length of the header
//	header   hlen     JSON recordHeader (key, info, Extra, body length)
//	body     blen     the gzip-compressed JSON array, as served
//	crc      uint32   big-endian CRC-32C of header and body
//
// Records are appended to pack files back to back. A record whose length
// or checksum does not add up is partial, damaged or deleted (deletion
// zeroes it) and is never indexed.
const segMagic = "RPLSEG1\n"

var magicBytes = []byte(segMagic)

// recordOverhead is the framing around header and body.
const recordOverhead = len(segMagic) + 4 + 4

// maxHeader bounds a record header; Extra is small (a user agent, an IP).
const maxHeader = 64 << 10

// maxBody bounds a record body, far above any limit the collector sets.
const maxBody = 1 << 30

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errDamaged marks a record that is truncated, zeroed or fails its checksum.
var errDamaged = errors.New("damaged segment record")

type recordHeader struct {
	Session  string `json:"s"`
	View     string `json:"v"`
	Seq      int    `json:"q"`
	Start    int64  `json:"a"`
	End      int64  `json:"b"`
	Full     bool   `json:"f,omitempty"`
	Records  int    `json:"n"`
	Raw      int64  `json:"r"`
	Received int64  `json:"t"`
	BodyLen  int64  `json:"l"`
	Extra    []byte `json:"x,omitempty"`
}

func (h *recordHeader) key() store.SegmentKey {
	return store.SegmentKey{Session: h.Session, View: h.View, Seq: h.Seq}
}

func (h *recordHeader) info() store.SegmentInfo {
	return store.SegmentInfo{
		SegmentKey:   h.key(),
		Start:        h.Start,
		End:          h.End,
		FullSnapshot: h.Full,
		Records:      h.Records,
		RawSize:      h.Raw,
		Size:         h.BodyLen,
		Received:     h.Received,
	}
}

// encodeRecord frames seg as a record.
func encodeRecord(seg *store.NewSegment) ([]byte, error) { return appendRecord(nil, seg) }

// appendRecord is encodeRecord into dst[len(dst):], reusing its capacity.
func appendRecord(dst []byte, seg *store.NewSegment) ([]byte, error) {
	h := recordHeader{
		Session: seg.Session, View: seg.View, Seq: seg.Seq,
		Start: seg.Start, End: seg.End, Full: seg.FullSnapshot,
		Records: seg.Records, Raw: seg.RawSize, Received: seg.Received,
		BodyLen: int64(len(seg.Body)), Extra: seg.Extra,
	}
	if len(seg.Body) > maxBody {
		return nil, fmt.Errorf("%w: segment body too large (%d bytes)", store.ErrInvalid, len(seg.Body))
	}
	// A body that holds the magic could pass for a record of its own once
	// damage in front of it sends the scan looking for the next magic: a
	// segment planted in a gzip header's extra field, for any session,
	// would be indexed. No compressor's output holds these 8 bytes by
	// chance (2^-64 at each offset); a body made to is refused.
	if bytes.Contains(seg.Body, magicBytes) {
		return nil, fmt.Errorf("%w: segment body holds the store's record marker %q, which no real gzip stream does; compress the events with a standard gzip writer", store.ErrInvalid, segMagic)
	}
	buf := slices.Grow(dst, recordOverhead+len(seg.Body)+recordHeaderSize(&h))
	start := len(buf)
	buf = append(buf, segMagic...)
	buf = append(buf, 0, 0, 0, 0) // the header's length, once known
	hstart := len(buf)
	buf, err := appendRecordHeader(buf, &h)
	if err != nil {
		return nil, err
	}
	hj := buf[hstart:]
	if len(hj) > maxHeader {
		return nil, fmt.Errorf("%w: segment Extra too large (%d bytes)", store.ErrInvalid, len(seg.Extra))
	}
	binary.BigEndian.PutUint32(buf[start+len(segMagic):], uint32(len(hj)))
	crc := crc32.Update(crc32.Checksum(hj, castagnoli), castagnoli, seg.Body)
	buf = append(buf, seg.Body...)
	return binary.BigEndian.AppendUint32(buf, crc), nil
}

// recordHeaderSize is about the size of h encoded, to reserve room for it.
func recordHeaderSize(h *recordHeader) int {
	return 160 + len(h.Session) + len(h.View) + base64.StdEncoding.EncodedLen(len(h.Extra))
}

// appendRecordHeader appends h as JSON, the bytes json.Marshal gives,
// written directly: this runs for every segment, and json.Marshal's
// reflection was most of the framing's cost. Ids with any character JSON
// might escape (none that ValidID accepts) go through json.Marshal.
func appendRecordHeader(buf []byte, h *recordHeader) ([]byte, error) {
	if !plainJSON(h.Session) || !plainJSON(h.View) {
		hj, err := json.Marshal(h)
		return append(buf, hj...), err
	}
	buf = append(buf, `{"s":"`...)
	buf = append(buf, h.Session...)
	buf = append(buf, `","v":"`...)
	buf = append(buf, h.View...)
	buf = append(buf, `","q":`...)
	buf = strconv.AppendInt(buf, int64(h.Seq), 10)
	buf = append(buf, `,"a":`...)
	buf = strconv.AppendInt(buf, h.Start, 10)
	buf = append(buf, `,"b":`...)
	buf = strconv.AppendInt(buf, h.End, 10)
	if h.Full {
		buf = append(buf, `,"f":true`...)
	}
	buf = append(buf, `,"n":`...)
	buf = strconv.AppendInt(buf, int64(h.Records), 10)
	buf = append(buf, `,"r":`...)
	buf = strconv.AppendInt(buf, h.Raw, 10)
	buf = append(buf, `,"t":`...)
	buf = strconv.AppendInt(buf, h.Received, 10)
	buf = append(buf, `,"l":`...)
	buf = strconv.AppendInt(buf, h.BodyLen, 10)
	if len(h.Extra) > 0 {
		buf = append(buf, `,"x":"`...)
		buf = base64.StdEncoding.AppendEncode(buf, h.Extra)
		buf = append(buf, '"')
	}
	return append(buf, '}'), nil
}

// plainJSON reports whether s is made of characters JSON writes as they
// are: letters, digits, '_' and '-' (the characters of an id).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// readRecordHeader reads the header of the record at off without checking
// the body. It returns the header and the offset of the body. size is the
// file's size, or -1 when the caller does not know it (the index gave off).
func readRecordHeader(r io.ReaderAt, off, size int64) (*recordHeader, int64, error) {
	var pre [len(segMagic) + 4]byte
	if _, err := r.ReadAt(pre[:], off); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", errDamaged, err)
	}
	if string(pre[:len(segMagic)]) != segMagic {
		return nil, 0, fmt.Errorf("%w: no record at %d", errDamaged, off)
	}
	n := binary.BigEndian.Uint32(pre[len(segMagic):])
	if n == 0 || n > maxHeader {
		return nil, 0, fmt.Errorf("%w: header length %d", errDamaged, n)
	}
	// A scan meets a magic every few bytes in a damaged stretch: a length
	// that runs past the file is refused before it is allocated.
	if size >= 0 && off+int64(len(pre))+int64(n) > size {
		return nil, 0, fmt.Errorf("%w: header at %d runs past the end of the pack", errDamaged, off)
	}
	var h recordHeader
	var err error
	if size < 0 {
		// The index gave off: a record is there, read it whole (the
		// faster way, on the path that serves segments).
		hj := make([]byte, n)
		if _, err := r.ReadAt(hj, off+int64(len(pre))); err != nil {
			return nil, 0, fmt.Errorf("%w: %v", errDamaged, err)
		}
		err = json.Unmarshal(hj, &h)
	} else {
		// A scan: decoded as it is read, not read whole first. In a
		// damaged stretch the JSON fails within a few bytes, at the latest
		// at the next magic (its '\n' and the zeros of its length are
		// invalid in and out of JSON strings), so a scan past magic after
		// magic reads each stretch about once instead of a header's worth
		// at every magic.
		dec := json.NewDecoder(io.NewSectionReader(r, off+int64(len(pre)), int64(n)))
		err = dec.Decode(&h)
		if err == nil {
			if _, end := dec.Token(); end != io.EOF {
				err = errors.New("bytes after the header")
			}
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: header: %v", errDamaged, err)
	}
	if h.BodyLen < 0 || h.BodyLen > maxBody || !h.key().Valid() {
		return nil, 0, fmt.Errorf("%w: invalid header", errDamaged)
	}
	return &h, off + int64(len(pre)) + int64(n), nil
}

// readRecord reads and verifies the whole record at off in a file of size
// size. It returns the header, the body and the record's length; a record
// whose checksum fails still returns its length, with an error.
func readRecord(r io.ReaderAt, off, size int64) (*recordHeader, []byte, int64, error) {
	h, bodyOff, err := readRecordHeader(r, off, size)
	if err != nil {
		return nil, nil, 0, err
	}
	end := bodyOff + h.BodyLen + 4
	if end > size {
		return nil, nil, 0, fmt.Errorf("%w: record at %d runs past the end of the pack", errDamaged, off)
	}
	hj := make([]byte, bodyOff-off-int64(len(segMagic)+4))
	if _, err := r.ReadAt(hj, off+int64(len(segMagic)+4)); err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %v", errDamaged, err)
	}
	rest := make([]byte, h.BodyLen+4)
	if _, err := r.ReadAt(rest, bodyOff); err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %v", errDamaged, err)
	}
	body := rest[:h.BodyLen]
	crc := crc32.Update(crc32.Checksum(hj, castagnoli), castagnoli, body)
	if crc != binary.BigEndian.Uint32(rest[h.BodyLen:]) {
		// The framing holds, so report its extent; a scan still does not
		// step over it by this length, which a torn write can have left
		// running over the records after it.
		return nil, nil, end - off, fmt.Errorf("%w: checksum mismatch at %d", errDamaged, off)
	}
	return h, body, end - off, nil
}

// nextMagic returns the offset of the next record magic at or after off,
// or -1. Reindex uses it to step over damaged or deleted records.
func nextMagic(r io.ReaderAt, off, size int64) int64 {
	const chunk = 64 << 10
	if off >= size {
		return -1
	}
	// A damaged stretch full of magics calls this once per magic: start
	// small, and never bigger than what is left of the file.
	buf := make([]byte, min(int64(512), size-off))
	for off < size {
		n, _ := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n < len(segMagic) {
			return -1
		}
		if i := bytes.Index(buf[:n], []byte(segMagic)); i >= 0 {
			return off + int64(i)
		}
		off += int64(n - len(segMagic) + 1)
		if len(buf) < chunk && int64(len(buf)) < size-off {
			buf = make([]byte, min(int64(2*len(buf)), chunk, size-off))
		}
	}
	return -1
}

// fileName maps an id to a file name that is the same on case-insensitive
// file systems (macOS, Windows): ids are case-sensitive, so an upper-case
// letter becomes '=' and its lower-case form, a character ids never hold.
func fileName(id string) string {
	if strings.IndexFunc(id, func(r rune) bool { return 'A' <= r && r <= 'Z' }) < 0 {
		return id
	}
	var b strings.Builder
	b.Grow(len(id) * 2)
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'A' <= c && c <= 'Z' {
			b.WriteByte('=')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// idFromFileName reverses fileName; ok is false for names fileName never
// produces.
func idFromFileName(name string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '=' {
			if i+1 >= len(name) || name[i+1] < 'a' || name[i+1] > 'z' {
				return "", false
			}
			i++
			c = name[i] - ('a' - 'A')
		}
		b.WriteByte(c)
	}
	id := b.String()
	return id, store.ValidID(id) && fileName(id) == name
}
