package inject

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// This file decodes compressed upstream bodies so that they can be
// rewritten. The decoders are pull-based (io.Reader) while the response
// arrives by pushes (Write), so each decoded response runs its decoder in
// a goroutine fed through a hand-off: Write gives the goroutine one buffer
// and returns only when the goroutine has consumed it and is waiting for
// more. Everything decodable from what was written has then reached the
// destination, so Flush keeps its meaning, and the destination is never
// used by two goroutines at once.

// maxZstdWindow caps the zstd window (the memory a stream may demand), as
// browsers do (RFC 8878 recommends 8 MiB for HTTP).
const maxZstdWindow = 8 << 20

// decodable reports whether we can decode a Content-Encoding value; "" and
// "identity" mean no encoding. Several stacked encodings are not decoded.
func decodable(ce string) (enc string, ok bool) {
	enc = strings.ToLower(strings.TrimSpace(ce))
	switch enc {
	case "", "identity", "gzip", "x-gzip", "br", "zstd", "deflate":
		return enc, true
	}
	return enc, false
}

// decodeWriter decodes what is written to it into dst.
type decodeWriter struct {
	in      chan []byte
	idle    chan struct{}
	done    chan struct{}
	waiting bool // the goroutine is waiting for input (idle received)
	err     error
	cur     []byte // what the goroutine has not read yet
	eof     bool   // the input was closed (goroutine side)
	closed  bool
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// newDecodeWriter starts decoding enc into dst.
func newDecodeWriter(enc string, dst io.Writer) *decodeWriter {
	d := &decodeWriter{
		in:   make(chan []byte),
		idle: make(chan struct{}),
		done: make(chan struct{}),
	}
	go d.run(enc, dst)
	return d
}

// Read is the decoder's source: it returns what Write handed over and,
// when that is used up, tells Write and waits for more.
func (d *decodeWriter) Read(p []byte) (int, error) {
	for len(d.cur) == 0 {
		if d.eof {
			return 0, io.EOF
		}
		d.idle <- struct{}{}
		b, ok := <-d.in
		if !ok {
			d.eof = true // Close: nobody waits for idle any more
			return 0, io.EOF
		}
		d.cur = b
	}
	n := copy(p, d.cur)
	d.cur = d.cur[n:]
	return n, nil
}

func (d *decodeWriter) run(enc string, dst io.Writer) {
	defer close(d.done)
	src := bufio.NewReaderSize(d, 4<<10)
	dec, release, err := getDecoder(enc, src)
	if err == nil {
		bp := copyBufs.Get().(*[]byte)
		_, err = io.CopyBuffer(onlyWriter{dst}, onlyReader{dec}, *bp)
		copyBufs.Put(bp)
		release()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		d.err = fmt.Errorf("inject: decoding the %s response body: %w", enc, err)
	}
	// Whatever follows the compressed stream (or a corrupt one) is
	// dropped; keep accepting it so the writer never blocks.
	_, _ = io.Copy(io.Discard, src)
}

// Write hands p to the decoder and waits until it has been decoded as far
// as possible. After a decoding error it returns the error.
func (d *decodeWriter) Write(p []byte) (int, error) {
	if d.closed {
		return 0, errClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !d.wait() {
		return 0, d.err
	}
	select {
	case d.in <- p:
	case <-d.done:
		return 0, d.err
	}
	d.waiting = false
	if !d.wait() && d.err != nil {
		return len(p), d.err
	}
	return len(p), nil
}

// wait waits until the goroutine asks for input; it returns false if the
// goroutine ended instead.
func (d *decodeWriter) wait() bool {
	if d.waiting {
		return true
	}
	select {
	case <-d.idle:
		d.waiting = true
		return true
	case <-d.done:
		return false
	}
}

// Close ends the input, waits for the decoder to finish and returns its
// error, if any (a truncated stream is an error).
func (d *decodeWriter) Close() error {
	if d.closed {
		return d.err
	}
	d.closed = true
	if d.wait() {
		close(d.in)
	}
	<-d.done
	return d.err
}

// onlyWriter and onlyReader hide ReadFrom/WriteTo so that io.CopyBuffer
// uses our buffer and writes as soon as data is decoded.
type onlyWriter struct{ io.Writer }
type onlyReader struct{ io.Reader }

var (
	gzipPool   sync.Pool
	brotliPool sync.Pool
	zstdPool   sync.Pool
	flatePool  sync.Pool
	zlibPool   sync.Pool
)

// getDecoder returns a (pooled) decoder for enc reading src, and a
// function that returns it to its pool.
func getDecoder(enc string, src *bufio.Reader) (io.Reader, func(), error) {
	switch enc {
	case "gzip", "x-gzip":
		z, ok := gzipPool.Get().(*gzip.Reader)
		if ok {
			if err := z.Reset(src); err != nil {
				return nil, nil, err
			}
		} else {
			var err error
			if z, err = gzip.NewReader(src); err != nil {
				return nil, nil, err
			}
		}
		z.Multistream(false)
		return &gzipMembers{z: z, src: src}, func() { gzipPool.Put(z) }, nil
	case "br":
		z, ok := brotliPool.Get().(*brotli.Reader)
		if ok {
			if err := z.Reset(src); err != nil {
				return nil, nil, err
			}
		} else {
			z = brotli.NewReader(src)
		}
		return brotliEnd{z}, func() { brotliPool.Put(z) }, nil
	case "zstd":
		if z, ok := zstdPool.Get().(*zstd.Decoder); ok {
			if err := z.Reset(src); err != nil {
				return nil, nil, err
			}
			return z, func() { _ = z.Reset(nil); zstdPool.Put(z) }, nil
		}
		z, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, nil, err
		}
		return z, func() { _ = z.Reset(nil); zstdPool.Put(z) }, nil
	case "deflate":
		// HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2), but
		// some servers send raw deflate: look at the header to tell.
		hdr, err := src.Peek(2)
		if err != nil && len(hdr) < 2 {
			if errors.Is(err, io.EOF) && len(hdr) == 0 {
				return eofReader{}, func() {}, nil
			}
			return nil, nil, err
		}
		if hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			if z, ok := zlibPool.Get().(io.ReadCloser); ok {
				if err := z.(zlib.Resetter).Reset(src, nil); err != nil {
					return nil, nil, err
				}
				return z, func() { zlibPool.Put(z) }, nil
			}
			z, err := zlib.NewReader(src)
			if err != nil {
				return nil, nil, err
			}
			return z, func() { zlibPool.Put(z) }, nil
		}
		if z, ok := flatePool.Get().(io.ReadCloser); ok {
			if err := z.(flate.Resetter).Reset(src, nil); err != nil {
				return nil, nil, err
			}
			return z, func() { flatePool.Put(z) }, nil
		}
		z := flate.NewReader(src)
		return z, func() { flatePool.Put(z) }, nil
	}
	return nil, nil, fmt.Errorf("inject: no decoder for Content-Encoding %q", enc)
}

// gzipMembers reads a gzip body member by member, as browsers do: bytes
// after a complete member that do not start another one (junk, padding)
// end the body without an error, since a browser shows such a page as if
// they were not there (Chromium's GzipSourceStream ignores everything
// after the footer). gzip.Reader's own multistream mode would report
// them as an invalid header and cut the response. Further members are
// decoded (RFC 1952); one that starts but is corrupt is an error.
//
// The end of a member is handled on the next Read, after the member's
// last bytes were returned: looking for the next member waits for input,
// and an upstream that ends a member at a flush must get it to the client
// before it sends more.
type gzipMembers struct {
	z     *gzip.Reader
	src   *bufio.Reader
	ended bool // the current member ended: look for another
	done  bool // no other member: the body is over
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for {
		if g.done {
			return 0, io.EOF
		}
		if g.ended {
			if hdr, _ := g.src.Peek(2); len(hdr) < 2 || hdr[0] != 0x1f || hdr[1] != 0x8b {
				g.done = true // the rest is dropped by decodeWriter.run
				continue
			}
			if err := g.z.Reset(g.src); err != nil {
				return 0, err
			}
			g.z.Multistream(false)
			g.ended = false
		}
		n, err := g.z.Read(p)
		if err == io.EOF {
			g.ended = true
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// brotliEnd ends a brotli body at the end of its stream, as browsers do
// (Chromium's BrotliSourceStream consumes whatever follows it): the
// decoder reports bytes after the end as "excessive input", which would
// cut a page that displays fine without the proxy. The decoder does not
// export that error, hence the comparison of its text.
type brotliEnd struct{ r *brotli.Reader }

func (b brotliEnd) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err.Error() == "brotli: excessive input" {
		err = io.EOF // the rest is dropped by decodeWriter.run
	}
	return n, err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
