package embedded

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/caddy-replay/caddy-replay/store"
)

// sqliteFull is SQLite's SQLITE_FULL result code ("database or disk is
// full"), which it returns when a write fails with ENOSPC.
const sqliteFull = 13

// asFull marks err as store.ErrFull when it says there is no room left:
// the disk is full (ENOSPC, SQLITE_FULL), a quota is spent (EDQUOT) or the
// process may not grow a file further (EFBIG). Callers can then tell a
// visitor's recorder to come back later instead of reporting a failure
// nobody can act on.
func asFull(err error) error {
	if err == nil || errors.Is(err, store.ErrFull) {
		return err
	}
	var coded interface{ Code() int }
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) ||
		errors.As(err, &coded) && coded.Code()&0xff == sqliteFull {
		return fmt.Errorf("%w: %w", store.ErrFull, err)
	}
	return err
}
