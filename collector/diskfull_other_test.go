//go:build !linux

package collector

import "errors"

// diskFullEnv: see diskfull_linux_test.go (RLIMIT_FSIZE is Linux's here).
const diskFullEnv = "REPLAY_COLLECTOR_DISKFULL_DIR"

func diskFullChild(string) error { return errors.New("the disk-full run needs Linux") }
