//go:build linux

package embedded

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync flushes a file's data (and its size) to stable storage, without
// the inode times fsync would also write.
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// punch deletes n bytes at off from f, freeing the disk blocks: reads
// return zeros. Where the file system cannot punch holes, the bytes are
// overwritten with zeros instead.
func punch(f *os.File, off, n int64) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		return nil
	}
	return zero(f, off, n)
}
