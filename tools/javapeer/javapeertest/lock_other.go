//go:build !unix

package javapeertest

import "os"

// lockFile is a no-op where flock is unavailable: concurrent builds from
// several test binaries are then not serialised.
func lockFile(string) (func(), error) { return func() {}, nil }

// terminate has no graceful variant here: kill.
func terminate(p *os.Process) error { return p.Kill() }
