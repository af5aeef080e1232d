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

// ErrConnect is matched (errors.Is) by the error of a request whose connection could not be made
// (dial or TLS handshake failed): the request never left, so the broker cannot have seen it. It
// never matches ErrConnClosed.
var ErrConnect = errors.New("remote: cannot connect")

// ErrNoDeadline is returned for a request that has neither a deadline of its own nor a context
// with one: every request must end.
var ErrNoDeadline = errors.New("remote: request has no deadline")

// ConnError reports a connection that failed or was lost. One that could not be made (Op "dial")
// matches ErrConnect; one lost later matches ErrConnClosed. It unwraps to the underlying error.
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

// Is makes errors.Is(err, ErrConnect) true for a connection that was never made, and
// errors.Is(err, ErrConnClosed) true for one that was lost.
func (e *ConnError) Is(target error) bool {
	if e.Op == "dial" {
		return target == ErrConnect
	}
	return target == ErrConnClosed
}

func timeoutError(addr string, code int32, after string) error {
	return fmt.Errorf("%w: code %d to %s, no response after %s", ErrTimeout, code, addr, after)
}
