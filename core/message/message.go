// Package message holds the nouns every other rocketsend package speaks: the message a producer
// sends, the queue it lands on, the result of a send and the stored message a broker returns.
//
// It has no behaviour beyond small accessors, so that codec, transport, routing and the plugin host
// can share these types without depending on one another.
package message

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Message is one message to send, in the shape Apache RocketMQ stores it: a topic, an opaque user
// flag, a body and a set of string properties. Tags, keys and the other well-known attributes live in
// Properties under the keys of the Property* constants, exactly as the Java client keeps them, so a
// property set by a plugin and one set through an accessor are the same thing.
//
// On a nil *Message the getters return zero values, SetProperty returns an error, and the other
// setters panic, as any method writing through a nil pointer does; the producer refuses a nil
// message with an error.
type Message struct {
	Topic string
	// Flag is an application-defined integer stored with the message and returned to consumers
	// untouched; the broker does not interpret it.
	Flag int32
	Body []byte
	// Properties holds user and system properties. Names and values must not contain the
	// separator characters \x01 and \x02, and empty values are dropped on the wire (Java does the same).
	Properties map[string]string
}

// New returns a message for topic with body, ready for SetTags/SetKeys.
func New(topic string, body []byte) *Message {
	return &Message{Topic: topic, Body: body}
}

// Property returns the value of property name, or "" when it is not set.
func (m *Message) Property(name string) string {
	if m == nil {
		return ""
	}
	return m.Properties[name]
}

// SetProperty sets the user property name to value, as Java's putUserProperty does: it refuses
// (with an error wrapping ErrReservedProperty or ErrInvalidProperty, and leaves the message as it
// was) a name the client or broker owns (IsReserved: UNIQ_KEY, TAGS, KEYS, DELAY, ...), a blank
// name, a value of only spaces, and the separators \x01 and \x02, which would corrupt every
// property after them on the wire. An empty value removes the property, because the wire format
// cannot carry empty values. System properties have accessors (SetTags, SetKeys, SetDelayLevel,
// SetDeliverAt, SetWaitStoreMsgOK) or, for the producer and hooks, SetSystemProperty.
func (m *Message) SetProperty(name, value string) error {
	if m == nil {
		return fmt.Errorf("%w: SetProperty on a nil *Message", ErrInvalidProperty)
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: property name %q is blank", ErrInvalidProperty, name)
	}
	if IsReserved(name) {
		return fmt.Errorf("%w: property %q is used by the system, choose another name", ErrReservedProperty, name)
	}
	if value != "" && strings.TrimSpace(value) == "" {
		return fmt.Errorf("%w: value of property %q is blank", ErrInvalidProperty, name)
	}
	if strings.ContainsAny(name, "\x01\x02") || strings.ContainsAny(value, "\x01\x02") {
		return fmt.Errorf("%w: property %q: names and values must not contain \\x01 or \\x02", ErrInvalidProperty, name)
	}
	m.setProperty(name, value)
	return nil
}

// SetSystemProperty sets any property, reserved names included, without SetProperty's checks
// (Java's MessageAccessor.putProperty). It is for the producer, hooks and plugins that own a
// system property; an empty value removes it. The send validates every property before it goes
// out.
func (m *Message) SetSystemProperty(name, value string) { m.setProperty(name, value) }

func (m *Message) setProperty(name, value string) {
	if value == "" {
		delete(m.Properties, name)
		return
	}
	if m.Properties == nil {
		m.Properties = make(map[string]string, 4)
	}
	m.Properties[name] = value
}

// ErrReservedProperty is wrapped by SetProperty's error for a name the client or broker owns.
var ErrReservedProperty = errors.New("message: reserved property name")

// ErrInvalidProperty is wrapped by SetProperty's error for a name or value the wire cannot carry.
var ErrInvalidProperty = errors.New("message: invalid property")

// DelProperty removes property name.
func (m *Message) DelProperty(name string) { delete(m.Properties, name) }

// Tags returns the message tag (RocketMQ carries one tag per message; the broker hashes it for
// consumer-side filtering).
func (m *Message) Tags() string { return m.Property(PropertyTags) }

// SetTags sets the message tag.
func (m *Message) SetTags(tags string) { m.setProperty(PropertyTags, tags) }

// Keys returns the message keys; the broker indexes each one for QueryMessage.
func (m *Message) Keys() []string {
	k := m.Property(PropertyKeys)
	if k == "" {
		return nil
	}
	return strings.Fields(k)
}

// SetKeys sets the message keys, joined by a single space as Java does.
func (m *Message) SetKeys(keys ...string) {
	m.setProperty(PropertyKeys, strings.Join(keys, KeySeparator))
}

// UniqID returns the client-side message id (UNIQ_KEY), or "" before the producer stamps one.
func (m *Message) UniqID() string { return m.Property(PropertyUniqClientMessageIDKeyIdx) }

// DelayLevel returns the DELAY property as a level (1..18 on a default broker), or 0 when unset or
// unparsable.
func (m *Message) DelayLevel() int {
	v := m.Property(PropertyDelayTimeLevel)
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' || n > 1<<20 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Clone returns a copy whose Properties map can be changed without affecting m. The body is shared:
// callers that rewrite the body replace the slice rather than editing it in place.
func (m *Message) Clone() *Message {
	if m == nil {
		return nil
	}
	c := *m
	if m.Properties != nil {
		c.Properties = make(map[string]string, len(m.Properties))
		for k, v := range m.Properties {
			c.Properties[k] = v
		}
	}
	return &c
}

// SetDelayLevel delays delivery by one of the broker's delay levels (1..18: 1s 5s 10s 30s 1m 2m
// ... 2h on a default broker); 0 clears it. Works on every broker version.
func (m *Message) SetDelayLevel(level int) {
	if level <= 0 {
		m.DelProperty(PropertyDelayTimeLevel)
		return
	}
	m.setProperty(PropertyDelayTimeLevel, strconv.Itoa(level))
}

// SetDeliverAt asks a RocketMQ 5 broker to deliver the message at t (TIMER_DELIVER_MS; the
// broker rounds down to its timer precision, 1 s by default, and refuses times more than
// timerMaxDelaySec, 3 days, ahead). Brokers of 4.x ignore it and deliver at once.
func (m *Message) SetDeliverAt(t time.Time) {
	m.DelProperty(PropertyTimerDelaySec)
	m.setProperty(PropertyTimerDeliverMS, strconv.FormatInt(t.UnixMilli(), 10))
}

// SetDeliverAfter asks a RocketMQ 5 broker to deliver the message d from now (TIMER_DELAY_SEC,
// whole seconds, rounded up); see SetDeliverAt.
func (m *Message) SetDeliverAfter(d time.Duration) {
	m.DelProperty(PropertyTimerDeliverMS)
	m.setProperty(PropertyTimerDelaySec, strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
}

// WaitStoreMsgOK reports whether the broker answers only after the message is stored as its
// flush and replication settings ask (the WAIT property; absent means true, as in Java).
func (m *Message) WaitStoreMsgOK() bool {
	if m == nil {
		return true
	}
	v, ok := m.Properties[PropertyWaitStoreMsgOK]
	return !ok || strings.EqualFold(v, "true") // Java's Boolean.parseBoolean
}

// SetWaitStoreMsgOK sets the WAIT property, Java's setWaitStoreMsgOK. Every message carries it,
// true unless set otherwise, as Java's do (the producer adds WAIT=true when it is absent). With
// false, a broker with SYNC_FLUSH or SYNC_MASTER answers without waiting for the flush or the
// replica.
func (m *Message) SetWaitStoreMsgOK(wait bool) {
	m.setProperty(PropertyWaitStoreMsgOK, strconv.FormatBool(wait))
}
