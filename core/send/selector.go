package send

import (
	"strconv"

	"github.com/rocketsend/rocketsend/core/message"
)

// QueueSelector chooses the queue of a message among the topic's writable queues, which are
// ordered as Java orders them (by broker name, then queue id) so that selectors agree across
// clients. arg is the value the caller passed with the send (a sharding key, an order id); it may
// be nil.
//
// Select runs after the Before hooks, so it sees the message as they left it. It must not keep
// queues: the slice is shared.
type QueueSelector interface {
	Select(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error)
}

// QueueSelectorFunc adapts a function to QueueSelector.
type QueueSelectorFunc func(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error)

// Select calls f.
func (f QueueSelectorFunc) Select(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	return f(msg, queues, arg)
}

// ConsistentSelector is implemented by selectors whose choice depends only on the message and
// the queues offered, such as a hash selector that keeps one key on one queue: the producer reports
// their sends to hooks as ordered messages (OrderMsg). Whether a failed attempt is retried is a
// separate choice: see RetryingSelector.
type ConsistentSelector interface {
	Consistent() bool
}

// SelectorRetry says what the producer may do after a failed attempt of a send whose queue a
// selector chose.
type SelectorRetry uint8

const (
	// RetryNever sends once, as Java's sendSelectImpl does: a failure goes to the caller, who
	// decides. It is the default for WithSelector, OrderedBy and plugin selectors, because a retry
	// elsewhere breaks per-key order and a retry anywhere may store the message twice. (An async
	// send still retries a connection failure or timeout on the same queue, as Java's
	// onExceptionImpl does.)
	RetryNever SelectorRetry = iota
	// RetrySameQueue retries on the queue chosen first, within the send's retries and budget: the
	// key stays on its queue, so order holds unless the failed attempt was in fact stored.
	RetrySameQueue
	// RetryReselect asks the selector again with the failed broker's queues removed (offered only
	// when no other broker has one), for selectors that do not care about order (zone affinity,
	// spreading): the send fails over like a send without a selector.
	RetryReselect
)

func (r SelectorRetry) String() string {
	switch r {
	case RetryNever:
		return "never"
	case RetrySameQueue:
		return "same-queue"
	case RetryReselect:
		return "reselect"
	}
	return "SelectorRetry(" + strconv.Itoa(int(r)) + ")"
}

// RetryingSelector is implemented by selectors that opt in to retries; a selector without it is
// sent once (RetryNever).
type RetryingSelector interface {
	SelectorRetry() SelectorRetry
}

// WithRetry returns sel with the retry policy r, for selectors written without RetryingSelector
// (a QueueSelectorFunc). The result keeps sel's Consistent and Name.
func WithRetry(sel QueueSelector, r SelectorRetry) QueueSelector {
	return retryingSelector{QueueSelector: sel, retry: r}
}

type retryingSelector struct {
	QueueSelector
	retry SelectorRetry
}

func (s retryingSelector) SelectorRetry() SelectorRetry { return s.retry }
func (s retryingSelector) Consistent() bool             { return isConsistent(s.QueueSelector) }
func (s retryingSelector) Name() string                 { return hookName(s.QueueSelector) }

// selectorRetry returns the retry policy s declares.
func selectorRetry(s QueueSelector) SelectorRetry {
	if r, ok := s.(RetryingSelector); ok {
		return r.SelectorRetry()
	}
	return RetryNever
}

// SelectorFactory gives each topic its own selector, for selectors that keep per-topic state (a
// round-robin counter, a zone map). The producer asks once per topic and keeps the result.
type SelectorFactory interface {
	SelectorFor(topic string) QueueSelector
}

// SelectorFactoryFunc adapts a function to SelectorFactory.
type SelectorFactoryFunc func(topic string) QueueSelector

// SelectorFor calls f.
func (f SelectorFactoryFunc) SelectorFor(topic string) QueueSelector { return f(topic) }

// isConsistent reports whether s asks to keep its choice across retries.
func isConsistent(s QueueSelector) bool {
	c, ok := s.(ConsistentSelector)
	return ok && c.Consistent()
}
