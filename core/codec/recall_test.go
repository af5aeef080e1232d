package codec

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// A handle as a 5.3.3 broker builds it (RecallMessageHandle.HandleV1.buildHandle).
func recallHandleOf(raw string) string { return base64.URLEncoding.EncodeToString([]byte(raw)) }

func TestDecodeRecallHandle(t *testing.T) {
	h, err := DecodeRecallHandle(recallHandleOf("v1 TopicA broker-a 1700000001001 7F0000010001"))
	if err != nil || h != (RecallHandle{Topic: "TopicA", BrokerName: "broker-a", Timestamp: "1700000001001", MessageID: "7F0000010001"}) {
		t.Fatalf("%+v, %v", h, err)
	}
	for _, bad := range []string{"", "%%%", recallHandleOf("v2 T b 1 id"), recallHandleOf("v1 T b 1")} {
		if _, err := DecodeRecallHandle(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzDecodeRecallHandle(f *testing.F) {
	f.Add(recallHandleOf("v1 TopicA broker-a 1700000001001 7F0000010001"))
	f.Add("")
	f.Add(recallHandleOf("v1    "))
	f.Fuzz(func(t *testing.T, s string) {
		h, err := DecodeRecallHandle(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, field := range []string{h.Topic, h.BrokerName, h.Timestamp, h.MessageID} {
			if strings.Contains(field, " ") {
				t.Fatalf("field %q holds the separator", field)
			}
		}
	})
}
