package embedded

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
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
	hj, err := json.Marshal(&h)
	if err != nil {
		return nil, err
	}
	if len(hj) > maxHeader {
		return nil, fmt.Errorf("%w: segment Extra too large (%d bytes)", store.ErrInvalid, len(seg.Extra))
	}
	if len(seg.Body) > maxBody {
		return nil, fmt.Errorf("%w: segment body too large (%d bytes)", store.ErrInvalid, len(seg.Body))
	}
	buf := slices.Grow(dst, recordOverhead+len(hj)+len(seg.Body))
	buf = append(buf, segMagic...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(hj)))
	buf = append(buf, hj...)
	buf = append(buf, seg.Body...)
	crc := crc32.Update(crc32.Checksum(hj, castagnoli), castagnoli, seg.Body)
	return binary.BigEndian.AppendUint32(buf, crc), nil
}

// readRecordHeader reads the header of the record at off without checking
// the body. It returns the header and the offset of the body.
func readRecordHeader(r io.ReaderAt, off int64) (*recordHeader, int64, error) {
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
	hj := make([]byte, n)
	if _, err := r.ReadAt(hj, off+int64(len(pre))); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", errDamaged, err)
	}
	var h recordHeader
	if err := json.Unmarshal(hj, &h); err != nil {
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
	h, bodyOff, err := readRecordHeader(r, off)
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
		// The framing holds: report the extent so a scan can step over it.
		return nil, nil, end - off, fmt.Errorf("%w: checksum mismatch at %d", errDamaged, off)
	}
	return h, body, end - off, nil
}

// nextMagic returns the offset of the next record magic at or after off,
// or -1. Reindex uses it to step over damaged or deleted records.
func nextMagic(r io.ReaderAt, off, size int64) int64 {
	const chunk = 64 << 10
	buf := make([]byte, chunk+len(segMagic))
	for off < size {
		n, _ := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n < len(segMagic) {
			return -1
		}
		if i := bytes.Index(buf[:n], []byte(segMagic)); i >= 0 {
			return off + int64(i)
		}
		off += int64(n - len(segMagic) + 1)
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
