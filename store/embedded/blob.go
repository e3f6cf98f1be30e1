package embedded

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/caddy-replay/caddy-replay/store"
)

// A segment blob is self-describing, so the index can be rebuilt from the
// blobs alone:
//
//	magic    8 bytes  "RPLSEG1\n"
//	hlen     uint32   big-endian length of the header
//	header   hlen     JSON blobHeader (key, info, Extra, body length)
//	body     blen     the gzip-compressed JSON array, as served
//	crc      uint32   big-endian CRC-32C of header and body
//
// A blob whose length or checksum does not add up is partial or damaged and
// is never indexed.
const segMagic = "RPLSEG1\n"

// maxHeader bounds a blob header; Extra is small (a user agent, an IP).
const maxHeader = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errDamaged marks a blob that is truncated or fails its checksum.
var errDamaged = errors.New("damaged segment blob")

type blobHeader struct {
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

func (h *blobHeader) info() store.SegmentInfo {
	return store.SegmentInfo{
		SegmentKey:   store.SegmentKey{Session: h.Session, View: h.View, Seq: h.Seq},
		Start:        h.Start,
		End:          h.End,
		FullSnapshot: h.Full,
		Records:      h.Records,
		RawSize:      h.Raw,
		Size:         h.BodyLen,
		Received:     h.Received,
	}
}

// writeBlob writes seg to a new file at path and fsyncs it. The file is not
// visible under its final name until the caller renames it.
func writeBlob(path string, seg *store.NewSegment) (err error) {
	h := blobHeader{
		Session: seg.Session, View: seg.View, Seq: seg.Seq,
		Start: seg.Start, End: seg.End, Full: seg.FullSnapshot,
		Records: seg.Records, Raw: seg.RawSize, Received: seg.Received,
		BodyLen: int64(len(seg.Body)), Extra: seg.Extra,
	}
	hj, err := json.Marshal(&h)
	if err != nil {
		return err
	}
	if len(hj) > maxHeader {
		return fmt.Errorf("%w: segment Extra too large (%d bytes)", store.ErrInvalid, len(seg.Extra))
	}
	buf := make([]byte, 0, len(segMagic)+4+len(hj)+len(seg.Body)+4)
	buf = append(buf, segMagic...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(hj)))
	buf = append(buf, hj...)
	buf = append(buf, seg.Body...)
	crc := crc32.Update(crc32.Checksum(hj, castagnoli), castagnoli, seg.Body)
	buf = binary.BigEndian.AppendUint32(buf, crc)

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if _, err = f.Write(buf); err != nil {
		return err
	}
	return f.Sync()
}

// readBlobHeader reads and parses the header at the start of r. It returns
// the header, its raw bytes (for the checksum) and the body's offset.
func readBlobHeader(r io.Reader) (*blobHeader, []byte, int64, error) {
	var pre [len(segMagic) + 4]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %v", errDamaged, err)
	}
	if string(pre[:len(segMagic)]) != segMagic {
		return nil, nil, 0, fmt.Errorf("%w: bad magic", errDamaged)
	}
	n := binary.BigEndian.Uint32(pre[len(segMagic):])
	if n > maxHeader {
		return nil, nil, 0, fmt.Errorf("%w: header length %d", errDamaged, n)
	}
	hj := make([]byte, n)
	if _, err := io.ReadFull(r, hj); err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %v", errDamaged, err)
	}
	var h blobHeader
	if err := json.Unmarshal(hj, &h); err != nil {
		return nil, nil, 0, fmt.Errorf("%w: header: %v", errDamaged, err)
	}
	if h.BodyLen < 0 {
		return nil, nil, 0, fmt.Errorf("%w: body length %d", errDamaged, h.BodyLen)
	}
	return &h, hj, int64(len(pre)) + int64(n), nil
}

// readBlob reads a whole blob and verifies its length and checksum.
func readBlob(path string) (*blobHeader, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReader(f)
	h, hj, off, err := readBlobHeader(br)
	if err != nil {
		return nil, nil, err
	}
	if off+h.BodyLen+4 != st.Size() {
		return nil, nil, fmt.Errorf("%w: size %d, header says %d", errDamaged, st.Size(), off+h.BodyLen+4)
	}
	if !(store.SegmentKey{Session: h.Session, View: h.View, Seq: h.Seq}).Valid() {
		return nil, nil, fmt.Errorf("%w: invalid key in header", errDamaged)
	}
	body := make([]byte, h.BodyLen)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errDamaged, err)
	}
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errDamaged, err)
	}
	crc := crc32.Update(crc32.Checksum(hj, castagnoli), castagnoli, body)
	if crc != binary.BigEndian.Uint32(tail[:]) {
		return nil, nil, fmt.Errorf("%w: checksum mismatch", errDamaged)
	}
	return h, body, nil
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

// sessionDir is where a session's segment blobs live: a two-character
// bucket keeps directories small; one directory per session makes deleting
// a session one RemoveAll.
func (s *Store) sessionDir(session string) string {
	name := fileName(session)
	return filepath.Join(s.dir, "segments", name[:2], name)
}

// segmentPath is the final path of a segment blob.
func (s *Store) segmentPath(k store.SegmentKey) string {
	return filepath.Join(s.sessionDir(k.Session), segmentFileName(k))
}

func segmentFileName(k store.SegmentKey) string {
	return fileName(k.View) + "." + strconv.Itoa(k.Seq) + ".seg"
}

// tmpSegmentName is the blob's name in this process's temporary directory
// while it waits for its index transaction.
func tmpSegmentName(k store.SegmentKey) string {
	return fileName(k.Session) + "." + fileName(k.View) + "." + strconv.Itoa(k.Seq) + ".seg"
}
