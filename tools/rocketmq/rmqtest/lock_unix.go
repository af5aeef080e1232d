//go:build unix

package rmqtest

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on path (created if missing), blocking
// until it is free; it serialises lease bookkeeping between test binaries.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// processAlive reports whether pid is a running process (EPERM: it exists
// but belongs to someone else, so it is alive too).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
