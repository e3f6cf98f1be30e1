//go:build !linux

package embedded

import "os"

// datasync flushes a file to stable storage.
func datasync(f *os.File) error { return f.Sync() }

// punch deletes n bytes at off from f by overwriting them with zeros.
func punch(f *os.File, off, n int64) error { return zero(f, off, n) }
