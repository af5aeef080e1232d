package send

import (
	"errors"
	"fmt"

	"github.com/rocketsend/rocketsend/core/codec"
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
	// ErrTimeout is wrapped when the send timeout budget ran out across attempts.
	ErrTimeout = errors.New("send: timeout")
)

// ResponseCode is a broker response code usable as an errors.Is target:
// errors.Is(err, send.ResponseCode(codec.NoPermission)).
type ResponseCode int32

func (c ResponseCode) Error() string {
	if n := codec.ResponseCodeName(int32(c)); n != "" {
		return n
	}
	return fmt.Sprintf("response code %d", int32(c))
}

// BrokerError is a broker's refusal of a request: its response code and remark, and which broker.
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

// Is matches a ResponseCode target with the same code.
func (e *BrokerError) Is(target error) bool {
	c, ok := target.(ResponseCode)
	return ok && int32(c) == e.Code
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
