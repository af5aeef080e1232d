//go:build linux && race

package remote

import "syscall"

// Under the race detector the socket calls go through syscall.Read and syscall.Write, which tell
// the detector that what one goroutine wrote to a socket happens before what another reads from
// it (as net.Conn's do); raw calls would hide that and report races that are not. The rest of the
// raw path (the poller, partial writes, errors) is the same.
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return n, 0
}

func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return n, 0
}
