//go:build unix

package javapeertest

import (
	"os"
	"syscall"
)

// terminate asks a process to stop gracefully (SIGTERM: the JVM runs its
// shutdown hook, which shuts the RocketMQ client down).
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
