package embedded

import "os"

// zero overwrites n bytes at off with zeros and syncs them.
func zero(f *os.File, off, n int64) error {
	buf := make([]byte, min(n, 64<<10))
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := f.WriteAt(buf[:k], off); err != nil {
			return err
		}
		off += k
		n -= k
	}
	return datasync(f)
}
