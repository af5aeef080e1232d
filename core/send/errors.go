package send

import (
	"context"
	"errors"
	"fmt"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
	"github.com/rocketsend/rocketsend/core/route"
)

var (
	// ErrNotStarted is returned by sends before Start.
	ErrNotStarted = errors.New("send: producer not started")
	// ErrShutdown is returned by sends after Shutdown began, and given to async sends that were
	// still in flight when Shutdown's deadline passed.
	ErrShutdown = errors.New("send: producer shut down")
	// ErrAlreadyStarted is returned by a second Start, as Java refuses to start a producer twice.
	ErrAlreadyStarted = errors.New("send: producer already started")
	// ErrBackpressure is returned by SendAsync when the in-flight bound is reached and the
	// producer is configured to fail fast instead of waiting.
	ErrBackpressure = errors.New("send: too many async sends in flight")
	// ErrTimeout is matched by every timeout of a send: the budget ran out across attempts, an
	// attempt got no answer in its share of the budget, the context's deadline passed, a connection
	// was not made in time.
	ErrTimeout = errors.New("send: timeout")
)

// Errors from below the producer, re-exported so that a user of send never imports core/remote,
// core/route or core/codec: each is the same value as its origin, so errors.Is works either way.
var (
	// ErrConnClosed is matched by the error of an attempt whose connection was lost while the
	// request was in flight: the broker may have received, and stored, the message.
	ErrConnClosed = remote.ErrConnClosed
	// ErrConnect is matched by the error of an attempt whose connection could not be made (dial or
	// TLS handshake failed): the request never left, the broker cannot have stored it. It never
	// matches ErrConnClosed.
	ErrConnect = remote.ErrConnect
	// ErrNoRoute is matched when the NameServers know no route for the topic (and the
	// default-topic fallback found none either).
	ErrNoRoute = route.ErrNoRoute
	// ErrValidation is matched by every refusal of bad input (message, topic, group, properties,
	// batch) before anything is sent.
	ErrValidation = codec.ErrValidation
)

// BrokerError is a broker's refusal of a request: its response code and remark, and which broker.
// It unwraps to the code's CodeError, so errors.Is(err, send.ErrSystemBusy) matches it.
type BrokerError struct {
	Code   int32
	Remark string
	Broker string
	Addr   string
}

func (e *BrokerError) Error() string {
	name := codec.ResponseCodeName(e.Code)
	if name == "" {
		name = "code"
	}
	return fmt.Sprintf("send: broker %s (%s) answered %s (%d): %s", e.Broker, e.Addr, name, e.Code, e.Remark)
}

// Unwrap returns the CodeError of the code (ErrNoPermission, ErrSystemBusy, ...), or nil for a
// code this client does not know.
func (e *BrokerError) Unwrap() error {
	if ce := ErrorForCode(e.Code); ce != nil {
		return ce
	}
	return nil
}

// IsRetriable reports whether sending the same message again may succeed: a broker code Java's
// producer retries (CodeError.Retriable), a connection that failed or was lost, a timeout, a
// broker without an address yet, or backpressure. A refusal of the message itself (validation,
// a forbidden check, a hook, MESSAGE_ILLEGAL), a cancelled context and a shut-down producer are
// not. The producer's own retries follow the narrower rules of docs/producer.md.
func IsRetriable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrShutdown) {
		return false
	}
	var be *BrokerError
	if errors.As(err, &be) {
		ce := ErrorForCode(be.Code)
		return ce != nil && ce.Retriable
	}
	return isTransport(err) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrBackpressure)
}

// isTransport reports a failure of the connection or of the wait for the response, as opposed to
// an answer: Java's RemotingException (RemotingConnectException, RemotingSendRequestException,
// RemotingTimeoutException), and a broker whose address the route lacks yet.
func isTransport(err error) bool {
	return errors.Is(err, ErrConnClosed) || errors.Is(err, ErrConnect) || errors.Is(err, remote.ErrTimeout) ||
		errors.Is(err, errNoBrokerAddr)
}

// fromTransport makes the transport's errors the producer's: every timeout (the transport's own,
// a context deadline) matches ErrTimeout, a closed client matches ErrShutdown.
func fromTransport(err error) error {
	switch {
	case err == nil || errors.Is(err, ErrTimeout):
		return err
	case errors.Is(err, remote.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, remote.ErrClosed) && !errors.Is(err, ErrShutdown):
		return fmt.Errorf("%w: %w", ErrShutdown, err)
	}
	return err
}

// ForbiddenError is returned when a CheckForbiddenHook vetoed a send.
type ForbiddenError struct {
	Hook string
	Err  error
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("send: forbidden by %s: %v", e.Hook, e.Err)
}

// Unwrap returns the hook's error.
func (e *ForbiddenError) Unwrap() error { return e.Err }

// HookError is returned when a SendMessageBeforeHook failed and so stopped the send.
type HookError struct {
	Hook string
	Err  error
}

func (e *HookError) Error() string { return fmt.Sprintf("send: hook %s: %v", e.Hook, e.Err) }

// Unwrap returns the hook's error.
func (e *HookError) Unwrap() error { return e.Err }

// hookName names a hook in errors and logs: its Name() if it has one, else its type.
func hookName(h any) string {
	if n, ok := h.(interface{ Name() string }); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", h)
}
