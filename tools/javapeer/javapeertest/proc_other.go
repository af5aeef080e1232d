//go:build !unix

package javapeertest

import "os"

// terminate has no graceful variant here: kill.
func terminate(p *os.Process) error { return p.Kill() }
