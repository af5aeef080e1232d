package route

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rocketsend/rocketsend/core/codec"
)

// ErrNoRoute is matched (errors.Is) by every error saying that a topic has no route: the NameServers
// answered TOPIC_NOT_EXIST, and the default-topic fallback was off or found no route either.
var ErrNoRoute = errors.New("route: no route for topic")

// ErrClosed is returned by every call on a closed Client.
var ErrClosed = errors.New("route: client closed")

// NoRouteError says which topic has no route and which NameServers said so, so that a
// misconfigured NameServer list or a topic that was never created is obvious from the message.
type NoRouteError struct {
	Topic string
	// NameServers are the NameServers asked, in the order asked.
	NameServers []string
	// DefaultTopic is the default topic that was tried as a fallback and had no route either, or ""
	// when the fallback is off.
	DefaultTopic string
}

// Error names the topic, the NameServers asked and, when it was tried, the default topic.
func (e *NoRouteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "route: no route for topic %q (NameServers asked: %s)", e.Topic, strings.Join(e.NameServers, ", "))
	if e.DefaultTopic != "" {
		fmt.Fprintf(&b, "; default topic %q has no route either (is autoCreateTopicEnable off on the brokers?)", e.DefaultTopic)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNoRoute) true.
func (e *NoRouteError) Is(target error) bool { return target == ErrNoRoute }

// ResponseError is a NameServer's answer with a code other than SUCCESS and TOPIC_NOT_EXIST.
type ResponseError struct {
	Addr   string
	Topic  string
	Code   int32
	Remark string
}

// Error names the NameServer, the response code and its remark.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("route: NameServer %s answered %s (%d) for topic %q: %s",
		e.Addr, codec.ResponseCodeName(e.Code), e.Code, e.Topic, e.Remark)
}
