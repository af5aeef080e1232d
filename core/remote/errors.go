package remote

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by every call on a closed Client.
var ErrClosed = errors.New("remote: client closed")

// ErrTimeout is wrapped by the error of a request whose deadline passed before its response.
var ErrTimeout = errors.New("remote: request timed out")

// ErrConnClosed is matched (errors.Is) by the error of every request that was in flight when its
// connection died; the request may or may not have reached the broker.
var ErrConnClosed = errors.New("remote: connection closed")

// ConnError reports a connection that failed or was lost. It matches ErrConnClosed and unwraps
// to the underlying network error.
type ConnError struct {
	Addr string
	Op   string // "dial", "write", "read", "close"
	Err  error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("remote: %s %s: %v", e.Op, e.Addr, e.Err)
}

// Unwrap returns the underlying error.
func (e *ConnError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrConnClosed) true for every connection failure.
func (e *ConnError) Is(target error) bool { return target == ErrConnClosed }

func timeoutError(addr string, code int32, after string) error {
	return fmt.Errorf("%w: code %d to %s, no response after %s", ErrTimeout, code, addr, after)
}
