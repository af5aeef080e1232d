//go:build unix

package rmqtest

import "syscall"

// processAlive reports whether pid is a running process (EPERM: it exists
// but belongs to someone else, so it is alive too).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
