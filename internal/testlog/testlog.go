// Package testlog holds what tests use to read what a plugin logged: an io.Writer safe for the
// concurrent writes of a logger and of plugin instances, read back as a string.
package testlog

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that may be written and read from several goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
