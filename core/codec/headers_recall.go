package codec

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// RecallMessageRequestHeader asks a RocketMQ 5.3.2+ broker to cancel a timer message that has not
// been delivered yet (RECALL_MESSAGE). The broker must run with recallMessageEnable=true.
type RecallMessageRequestHeader struct {
	ProducerGroup string
	Topic         string
	RecallHandle  string
	BrokerName    string
}

// EncodeExt implements HeaderEncoder.
func (h *RecallMessageRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("producerGroup", h.ProducerGroup)
	w.String("topic", h.Topic)
	w.String("recallHandle", h.RecallHandle)
	w.String("bname", h.BrokerName)
}

// DecodeRecallMessageResponse returns the id (UNIQ_KEY) of the recalled message from a
// RECALL_MESSAGE response.
func DecodeRecallMessageResponse(c *Command) (string, error) {
	r := extReader{c: c}
	id := r.str("msgId", true)
	return id, r.err
}

// RecallHandle is a decoded recall handle (Java's RecallMessageHandle.HandleV1): the base64url
// text "v1 topic brokerName timestamp messageId" a broker returns for every timer message it
// accepts.
type RecallHandle struct {
	Topic      string
	BrokerName string
	// Timestamp is the delivery time in milliseconds, as text.
	Timestamp string
	MessageID string
}

// DecodeRecallHandle parses a recall handle as the broker does; an empty or malformed handle
// wraps ErrMalformed.
func DecodeRecallHandle(handle string) (RecallHandle, error) {
	if handle == "" {
		return RecallHandle{}, fmt.Errorf("%w: recall handle is empty", ErrMalformed)
	}
	raw, err := base64.URLEncoding.DecodeString(handle)
	if err != nil {
		return RecallHandle{}, fmt.Errorf("%w: recall handle is not base64url: %v", ErrMalformed, err)
	}
	items := strings.Split(string(raw), " ")
	if len(items) < 5 || items[0] != "v1" {
		return RecallHandle{}, fmt.Errorf("%w: recall handle is not a v1 handle (version topic broker timestamp id)", ErrMalformed)
	}
	return RecallHandle{Topic: items[1], BrokerName: items[2], Timestamp: items[3], MessageID: items[4]}, nil
}
