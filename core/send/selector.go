package send

import (
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

// ConsistentSelector is implemented by selectors whose choice must not change on retry, such as
// a hash selector that keeps one key on one queue for ordering. When Consistent returns true a
// failed attempt is retried on the same queue; otherwise the selector is asked again, with the
// queues of the broker that failed offered last.
type ConsistentSelector interface {
	Consistent() bool
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
