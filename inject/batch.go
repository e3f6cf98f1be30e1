package inject

import (
	"io"
	"sync"
)

// firstWriteMin is how many rewritten bytes the ResponseWriter gathers
// before its first write to the wrapped writer (unless a Flush or the end
// of the body comes first). Caddy's encode decides whether to compress a
// response from the size of the first write it sees when there is no
// Content-Length (its minimum_length, 512 bytes by default), and a
// rewritten page has none: without this, a page whose first piece is
// "<!doctype html><head><meta charset=utf-8>" would go out uncompressed.
// net/http buffers 4 KiB before it sends anything anyway, so waiting for
// 1 KiB costs no latency.
const firstWriteMin = 1 << 10

// maxBatch bounds what one batch holds: a decoder that inflates a chunk
// tenfold still writes in pieces of at most this size.
const maxBatch = 64 << 10

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// batchWriter sits between the rewriter and the wrapped writer. It gathers
// the pieces the rewriter emits for one input write (the bytes before our
// tag, the tag, the bytes after it...) into one write, so the next writer
// sees few, large writes, and the first of them at least firstWriteMin
// bytes; a large piece with nothing gathered before it goes through as it
// is. Its buffer comes from a pool and goes back at the end of the
// response, so memory per response stays bounded whatever the page size.
type batchWriter struct {
	w       io.Writer
	buf     *[]byte
	started bool
	err     error
}

// directMin is the size from which a piece that finds the batch empty
// (after the first write) goes straight to the wrapped writer: most of a
// page is passed through in whole input writes, and copying them into the
// batch only to write them out again costs a copy of the page.
const directMin = 4 << 10

// Write gathers p; it writes through once the batch is full.
func (b *batchWriter) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.started && len(p) >= directMin && (b.buf == nil || len(*b.buf) == 0) {
		b.send(p)
		return len(p), b.err
	}
	if b.buf == nil {
		b.buf = batchPool.Get().(*[]byte)
	}
	if len(*b.buf)+len(p) > maxBatch {
		b.flush(false)
		if len(p) > maxBatch && (b.started || len(*b.buf) == 0) {
			// Too big to gather: write it as it is.
			b.send(p)
			return len(p), b.err
		}
	}
	*b.buf = append(*b.buf, p...)
	return len(p), b.err
}

// flush writes what was gathered; before the first write it waits for
// firstWriteMin bytes unless force is set (Flush, end of body).
func (b *batchWriter) flush(force bool) error {
	if b.buf == nil || len(*b.buf) == 0 || b.err != nil {
		return b.err
	}
	if !b.started && !force && len(*b.buf) < firstWriteMin {
		return nil
	}
	b.send(*b.buf)
	*b.buf = (*b.buf)[:0]
	return b.err
}

func (b *batchWriter) send(p []byte) {
	n, err := b.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	b.started = true
	b.err = err
}

// release writes what is left and returns the buffer to the pool.
func (b *batchWriter) release() error {
	err := b.flush(true)
	if b.buf != nil {
		if cap(*b.buf) <= maxBatch+maxBatch/2 {
			*b.buf = (*b.buf)[:0]
			batchPool.Put(b.buf)
		}
		b.buf = nil
	}
	return err
}
