package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/caddy-replay/caddy-replay/store"
)

// codedErr stands in for the SQLite driver's error, which carries a
// result code.
type codedErr int

func (c codedErr) Error() string { return fmt.Sprintf("sqlite error (%d)", int(c)) }
func (c codedErr) Code() int     { return int(c) }

func TestAsFull(t *testing.T) {
	full := []error{
		&fs.PathError{Op: "write", Path: "x.pack", Err: syscall.ENOSPC},
		fmt.Errorf("store: writing segments: %w", &fs.PathError{Op: "write", Path: "x.pack", Err: syscall.EFBIG}),
		fmt.Errorf("store: committing the index: %w", codedErr(13)),
		codedErr(13 | 1<<8), // an extended SQLITE_FULL
		syscall.EDQUOT,
	}
	for _, err := range full {
		if got := asFull(err); !errors.Is(got, store.ErrFull) || !errors.Is(got, err) {
			t.Errorf("asFull(%v) = %v, want ErrFull wrapping it", err, got)
		}
	}
	other := []error{nil, errors.New("boom"), codedErr(778), syscall.EIO, store.ErrClosed, store.ErrConflict}
	for _, err := range other {
		if got := asFull(err); got != err {
			t.Errorf("asFull(%v) = %v, want it unchanged", err, got)
		}
	}
}
