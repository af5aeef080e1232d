//go:build unix

package javapeertest

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on path (created if missing), blocking
// until it is free; it serialises jar builds between test binaries.
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

// terminate asks a process to stop gracefully (SIGTERM: the JVM runs its
// shutdown hook, which shuts the RocketMQ client down).
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
