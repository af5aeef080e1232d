package send

import (
	"context"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
)

// Hook is any value that implements one or more of the hook interfaces of this package:
// SendMessageBeforeHook, SendMessageAfterHook, CheckForbiddenHook, EndTransactionHook. The
// producer discovers which by type assertion when the hook is registered, so a hook implements
// only what it needs and a hook kind added later never breaks an existing one.
//
// Hooks run in registration order on every send attempt (Java semantics): CheckForbidden, then
// Before (which may edit the message), then queue selection, then the request, then After. For an
// async send, CheckForbidden and Before run on a callback worker (so those of concurrent sends run
// concurrently; an ordered send's run on the caller's goroutine, to keep its order) and After on a
// callback worker too; for a sync or oneway send, on the caller's goroutine. An auto-batched message (WithAutoBatch) runs CheckForbidden and Before once, when it
// is held, and After once, with its batch's outcome.
//
// Hooks must be safe for concurrent use.
type Hook any

// SendMessageBeforeHook runs before each attempt, after the forbidden checks and before the queue
// is chosen, so the selector sees what it changed. It may edit the message's properties, tags,
// keys and body. An error stops the send with that error (as a *HookError).
type SendMessageBeforeHook interface {
	SendMessageBefore(sc *SendContext) error
}

// SendMessageAfterHook runs after each attempt with its outcome: Result or Err, Latency, Queue,
// BrokerAddr, Attempt. It runs for every attempt whose Before hooks ran, even one that failed
// before reaching the broker (Err set, Latency 0), so what a Before hook opened can be closed. It
// observes only; it must not block, because async sends run it on the
// connection's reader goroutine.
type SendMessageAfterHook interface {
	SendMessageAfter(sc *SendContext)
}

// SendMessageHook is a hook with both halves, the shape of Java's SendMessageHook.
type SendMessageHook interface {
	SendMessageBeforeHook
	SendMessageAfterHook
}

// CheckForbiddenHook vetoes a send before each attempt. A non-nil error stops the send; the
// caller gets a *ForbiddenError naming the hook's reason, and nothing is sent.
type CheckForbiddenHook interface {
	CheckForbidden(sc *SendContext) error
}

// EndTransactionHook observes every END_TRANSACTION the producer sends, the producer's own
// decisions and the answers to broker check-backs alike.
type EndTransactionHook interface {
	EndTransaction(ec *EndTransactionContext)
}

// Mode is how a message is sent.
type Mode uint8

const (
	ModeSync Mode = iota
	ModeAsync
	ModeOneway
)

func (m Mode) String() string {
	switch m {
	case ModeSync:
		return "SYNC"
	case ModeAsync:
		return "ASYNC"
	case ModeOneway:
		return "ONEWAY"
	}
	return "UNKNOWN"
}

// MessageType classifies a message for hooks and traces, as Java's MessageType does.
type MessageType uint8

const (
	NormalMsg MessageType = iota
	TransMsgHalf
	TransMsgCommit
	DelayMsg
	OrderMsg
)

func (t MessageType) String() string {
	return [...]string{"Normal_Msg", "Trans_Msg_Half", "Trans_msg_Commit", "Delay_Msg", "Order_Msg"}[t]
}

// SendContext is what hooks see of one send attempt. The producer fills it; Before hooks may edit
// Message; Props carries data from a Before hook to the After hook of the same attempt.
type SendContext struct {
	Context     context.Context
	Group       string
	Namespace   string
	Message     *message.Message
	Mode        Mode
	MessageType MessageType
	// Batch says Message is the wrapper of a SendBatch request: its Body is the encoded batch (every
	// message with its properties), not one message's body, and must not be rewritten.
	Batch bool
	// Attempt counts from 1.
	Attempt int
	// Queue, BrokerAddr and BornHost are set once the queue is chosen (After hooks see them).
	Queue      message.MessageQueue
	BrokerAddr string
	BornHost   string
	// Latency, Result and Err describe the attempt's outcome (After hooks only).
	Latency time.Duration
	Result  *message.SendResult
	Err     error
	// Props is nil until a hook sets one (SetProp); it is reset before every attempt.
	Props map[string]string
}

// SetProp stores a value for a later hook of the same attempt (a Before hook's start time for
// its After hook, say).
func (sc *SendContext) SetProp(key, value string) {
	if sc.Props == nil {
		sc.Props = make(map[string]string, 2)
	}
	sc.Props[key] = value
}

// Prop returns a value stored with SetProp, or "".
func (sc *SendContext) Prop(key string) string { return sc.Props[key] }

// EndTransactionContext is what EndTransactionHooks see.
type EndTransactionContext struct {
	Group      string
	Message    *message.Message
	BrokerAddr string
	MsgID      string
	// TransactionID is the message's UNIQ_KEY, as Java's hook context has it (its producer sets
	// the message's transaction id from that key), or, for a message without one, the broker's
	// transaction id. A 4.x broker returns no transaction id with the half message; 5.x returns
	// the same key.
	TransactionID string
	State         LocalTransactionState
	FromCheck     bool
}
