package codec

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/core/message"
)

// cdxCheck runs one validation table row: ok rows must pass, others must fail with a
// *ValidationError wrapping ErrValidation, and with exactly text when text is given.
func cdxCheck(t *testing.T, what string, err error, ok bool, text string) {
	t.Helper()
	if ok {
		if err != nil {
			t.Errorf("%s: unexpected error %v", what, err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrValidation) {
		t.Errorf("%s: err = %v, want a *ValidationError", what, err)
		return
	}
	if text != "" && err.Error() != text {
		t.Errorf("%s:\n got %q\nwant %q", what, err.Error(), text)
	}
}

func TestValidateTopic(t *testing.T) {
	tests := []struct {
		topic string
		ok    bool
		text  string
	}{
		{"TopicTest", true, ""},
		{"%RETRY%group|x_y-z09", true, ""},
		{strings.Repeat("a", 127), true, ""},
		{"TBW102", true, ""}, // a system topic, but not in the not-allowed-to-send set
		{"", false, "topic is blank"},
		{"   ", false, `topic "   " is blank`},
		{strings.Repeat("a", 128), false, `topic "` + strings.Repeat("a", 64) + `..." is longer than topic max length 127`},
		{"a b", false, `topic "a b" contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$`},
		{"tópico", false, `topic "tópico" contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$`},
		{"a.b", false, ""},
		{"a/b", false, ""},
		{"a\x00", false, ""},
		{"SCHEDULE_TOPIC_XXXX", false, `topic "SCHEDULE_TOPIC_XXXX" is a broker system topic; sending to it is forbidden`},
		{"RMQ_SYS_TRANS_HALF_TOPIC", false, ""},
		{"RMQ_SYS_TRANS_OP_HALF_TOPIC", false, ""},
		{"TRANS_CHECK_MAX_TIME_TOPIC", false, ""},
		{"SELF_TEST_TOPIC", false, ""},
		{"OFFSET_MOVED_EVENT", false, ""},
	}
	for _, tc := range tests {
		cdxCheck(t, "ValidateTopic("+tc.topic+")", ValidateTopic(tc.topic), tc.ok, tc.text)
	}
	// Every byte outside the charset is refused, every byte inside accepted.
	for c := 0; c < 256; c++ {
		want := c == '%' || c == '|' || c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if got := ValidateTopic("T"+string([]byte{byte(c)})) == nil; got != want {
			t.Errorf("byte %#x: accepted=%v, want %v", c, got, want)
		}
	}
}

func TestValidateGroup(t *testing.T) {
	tests := []struct {
		group string
		ok    bool
		text  string
	}{
		{"please_rename_unique_group_name", true, ""},
		{strings.Repeat("g", 120), true, ""},
		{"", false, "group is blank"},
		{strings.Repeat("g", 121), false, ""},
		{"my group", false, `group "my group" contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$`},
		{"DEFAULT_PRODUCER", false, `group "DEFAULT_PRODUCER" is reserved by the client; choose another producer group`},
		{"CLIENT_INNER_PRODUCER", false, ""},
	}
	for _, tc := range tests {
		cdxCheck(t, "ValidateGroup("+tc.group+")", ValidateGroup(tc.group), tc.ok, tc.text)
	}
}

func TestValidateBody(t *testing.T) {
	cdxCheck(t, "nil", ValidateBody(nil, 0), false, "message body is nil")
	cdxCheck(t, "empty", ValidateBody([]byte{}, 0), false, "message body length is zero")
	cdxCheck(t, "one", ValidateBody([]byte{1}, 0), true, "")
	cdxCheck(t, "max", ValidateBody(make([]byte, DefaultMaxMessageSize), 0), true, "")
	cdxCheck(t, "over", ValidateBody(make([]byte, DefaultMaxMessageSize+1), 0), false,
		"message body size 4194305 is over max value, MAX: 4194304")
	cdxCheck(t, "custom", ValidateBody(make([]byte, 11), 10), false, "message body size 11 is over max value, MAX: 10")
}

func TestValidateProperty(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
		text        string
	}{
		{"color", "red", true, ""},
		{"", "v", false, "property name is blank"},
		{" ", "v", false, ""},
		{"a\x01b", "v", false, `property name "a\x01b" contains a separator character \x01 or \x02`},
		{"a", "b\x02", false, `value of property "a" "b\x02" contains a separator character \x01 or \x02`},
		{"a", "", false, `value of property "a" is blank`},
		{"a", "\t", false, ""},
		{"TAGS", "x", false, `property name "TAGS" is used by the system; choose another name`},
		{"UNIQ_KEY", "x", false, ""},
		{"__STARTDELIVERTIME", "1", false, ""},
	}
	for _, tc := range tests {
		cdxCheck(t, "ValidateUserProperty("+tc.name+")", ValidateUserProperty(tc.name, tc.value), tc.ok, tc.text)
	}
	cdxCheck(t, "name ok", ValidatePropertyName("TAGS"), true, "")
	cdxCheck(t, "value ok", ValidatePropertyValue("TAGS", "x"), true, "")
}

func TestValidateProperties(t *testing.T) {
	cdxCheck(t, "nil", ValidateProperties(nil), true, "")
	cdxCheck(t, "system names allowed", ValidateProperties(map[string]string{"TAGS": "a", "EMPTY": ""}), true, "")
	cdxCheck(t, "empty name", ValidateProperties(map[string]string{"": "lost"}), false, `property name is empty (its value "lost" would be dropped)`)
	cdxCheck(t, "separator in name", ValidateProperties(map[string]string{"a\x02": "v"}), false, "")
	cdxCheck(t, "separator in value", ValidateProperties(map[string]string{"k": "\x01"}), false, "")
	// Exactly at the limit: name + value + 2 = 32767.
	cdxCheck(t, "at limit", ValidateProperties(map[string]string{"k": strings.Repeat("v", MaxPropertiesLength-3)}), true, "")
	cdxCheck(t, "over limit", ValidateProperties(map[string]string{"k": strings.Repeat("v", MaxPropertiesLength-2)}), false,
		"properties encode to 32768 bytes, over max value, MAX: 32767")
}

func TestValidateMessage(t *testing.T) {
	good := func() *message.Message {
		m := message.New("TopicTest", []byte("hi"))
		m.SetTags("a")
		return m
	}
	cdxCheck(t, "good", ValidateMessage(good(), 0), true, "")
	cdxCheck(t, "nil", ValidateMessage(nil, 0), false, "message is nil")
	m := good()
	m.Topic = "bad topic"
	cdxCheck(t, "topic", ValidateMessage(m, 0), false, "")
	m = good()
	m.Body = nil
	cdxCheck(t, "body", ValidateMessage(m, 0), false, "message body is nil")
	cdxCheck(t, "size", ValidateMessage(good(), 1), false, "message body size 2 is over max value, MAX: 1")
	m = good()
	m.Properties["x"] = "a\x01"
	cdxCheck(t, "props", ValidateMessage(m, 0), false, "")
	m = good()
	m.Properties["INNER_MULTI_DISPATCH"] = "a/b"
	cdxCheck(t, "lmq", ValidateMessage(m, 0), false, `value of property "INNER_MULTI_DISPATCH" "a/b" contains the path separator /`)
	if DefaultMaxMessageSize != 4194304 || MaxTopicLength != 127 || MaxGroupLength != 120 || MaxPropertiesLength != 32767 {
		t.Error("limits differ from the reference")
	}
}

func BenchmarkValidateMessage(b *testing.B) {
	m := message.New("TopicTest", make([]byte, 1024))
	m.SetTags("TagA")
	m.SetKeys("order-1")
	m.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, cdxUniq)
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateMessage(m, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckStoredPropertiesMatchesTheFullCheck: for property sets made of every name the broker
// or the producer treats specially, and others, what CheckProperties learns and CheckStoredProperties
// decides agree with the full lookups (PropertiesLen, BrokerAddedProperties, ValidateStoredProperties).
func TestCheckStoredPropertiesMatchesTheFullCheck(t *testing.T) {
	names := []string{message.PropertyTags, message.PropertyKeys, message.PropertyWaitStoreMsgOK,
		message.PropertyUniqClientMessageIDKeyIdx, message.PropertyTransactionPrepared, message.PropertyDelayTimeLevel,
		message.PropertyStartDeliverTime, message.PropertyTimerDeliverMS, message.PropertyTimerDelaySec,
		message.PropertyTimerDelayMS, "TIMER_OUT_MS", message.PropertyProducerGroup, message.PropertyMessageType,
		message.PropertyMsgRegion, message.PropertyTraceSwitch, message.PropertyCluster, message.PropertyRealTopic,
		message.PropertyRealQueueID, message.PropertyTransactionID, "INNER_MULTI_DISPATCH", "user_a", "user_b"}
	values := []string{"", "1", "3", "true", "TRUE", "false", "-5", "x", "4102444800000", "60",
		strings.Repeat("v", 16360), strings.Repeat("w", 32700), strings.Repeat("y", 32730), strings.Repeat("z", 32750)}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		props := map[string]string{}
		for range rng.IntN(5) {
			props[names[rng.IntN(len(names))]] = values[rng.IntN(len(values))]
		}
		target := StoreTarget{Topic: "T", QueueID: rng.IntN(20), Cluster: values[rng.IntN(4)], Region: "DefaultRegion",
			TraceOn: rng.IntN(2) == 0, NowMs: 1_700_000_000_000}
		in, err := CheckProperties(props)
		if err != nil {
			continue // over the limit alone
		}
		if in.Len != PropertiesLen(props) {
			t.Fatalf("%v: Len %d, PropertiesLen %d", props, in.Len, PropertiesLen(props))
		}
		added := BrokerAddedProperties(props, target)
		if !in.Special && !slices.Equal(added, appendBrokerStamps(nil, target)) {
			t.Fatalf("%v: not special, but the broker adds %v", props, added)
		}
		full := ValidateStoredProperties(props, added)
		got := CheckStoredProperties(props, in, target)
		if (full == nil) != (got == nil) || (full != nil && full.Error() != got.Error()) {
			t.Fatalf("%v: CheckStoredProperties %v, the full check %v", props, got, full)
		}
		grown := in
		name, value := names[rng.IntN(len(names))], values[1+rng.IntN(len(values)-1)]
		if props[name] == "" {
			props[name] = value
			grown.Added(name, value)
			if want, _ := CheckProperties(props); grown != want {
				t.Fatalf("%v: Added(%s) gives %+v, CheckProperties %+v", props, name, grown, want)
			}
		}
	}
}
