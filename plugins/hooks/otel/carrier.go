package otel

import (
	"github.com/rocketsend/rocketsend/core/message"
)

// Carrier adapts a message's properties to propagation.TextMapCarrier, so that the span context
// the Hook injected can be extracted on the consuming side:
//
//	ctx := propagation.TraceContext{}.Extract(ctx, otel.Carrier{Msg: &received.Message})
//
// The W3C trace context travels as the properties "traceparent" and "tracestate", readable by any
// RocketMQ client, Java included.
type Carrier struct {
	Msg *message.Message
}

// Get returns the property key, or "".
func (c Carrier) Get(key string) string { return c.Msg.Property(key) }

// Set sets the property key (an empty value removes it: the wire format cannot carry one).
func (c Carrier) Set(key, value string) { c.Msg.SetProperty(key, value) }

// Keys lists the message's property names.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c.Msg.Properties))
	for k := range c.Msg.Properties {
		keys = append(keys, k)
	}
	return keys
}
