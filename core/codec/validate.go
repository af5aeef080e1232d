package codec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rocketsend/rocketsend/core/message"
)

// Client-side limits (Java Validators, TopicValidator, MessageExtEncoder).
const (
	// DefaultMaxMessageSize is maxMessageSize on both producer and broker: 4 MiB of body.
	DefaultMaxMessageSize = 4 * 1024 * 1024
	// MaxTopicLength is the longest topic a producer may send to.
	MaxTopicLength = 127
	// MaxGroupLength is the longest producer group name.
	MaxGroupLength = 120
	// MaxPropertiesLength is the longest encoded property string: its length is a signed short.
	MaxPropertiesLength = 32767
)

// topicCharPattern is how Java spells the topic and group charset in its error messages.
const topicCharPattern = "^[%|a-zA-Z0-9_-]+$"

// ErrValidation is wrapped by every *ValidationError, so callers can tell a refused message from
// a transport failure with errors.Is(err, codec.ErrValidation).
var ErrValidation = errors.New("codec: validation failed")

// ValidationError says which rule a topic, group, body or property broke. Sending the same input
// again cannot succeed, which is why producers must not retry on it.
type ValidationError struct {
	// Field is what was checked: "topic", "group", "message body", "property name", ...
	Field string
	// Value is the offending value, or "" when printing it would not help (a body).
	Value string
	// Rule is the broken rule, phrased to follow Field and Value in a sentence.
	Rule string
}

// Error reads as a sentence: field, quoted value (clipped to 64 bytes), rule.
func (e *ValidationError) Error() string {
	if e.Value == "" {
		return e.Field + " " + e.Rule
	}
	return e.Field + " " + strconv.Quote(codecClip(e.Value)) + " " + e.Rule
}

// Is makes errors.Is(err, ErrValidation) hold.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

func newValidationError(field, value, rule string) error {
	return &ValidationError{Field: field, Value: value, Rule: rule}
}

// topicCharBitmap is TopicValidator.VALID_CHAR_BIT_MAP: one bit per ASCII byte.
var topicCharBitmap = func() (m [2]uint64) {
	for _, c := range []byte("%|_-") {
		m[c>>6] |= 1 << (c & 63)
	}
	for c := byte('0'); c <= '9'; c++ {
		m[c>>6] |= 1 << (c & 63)
	}
	for c := byte('a'); c <= 'z'; c++ {
		m[c>>6] |= 1 << (c & 63)
		m[(c-32)>>6] |= 1 << ((c - 32) & 63)
	}
	return m
}()

// hasIllegalTopicChar reports whether s has a byte outside ^[%|a-zA-Z0-9_-]$ (every non-ASCII byte
// is outside).
func hasIllegalTopicChar(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 128 || topicCharBitmap[c>>6]&(1<<(c&63)) == 0 {
			return true
		}
	}
	return false
}

// notAllowedSendTopics is TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET.
var notAllowedSendTopics = map[string]struct{}{
	"SCHEDULE_TOPIC_XXXX":         {},
	"RMQ_SYS_TRANS_HALF_TOPIC":    {},
	"RMQ_SYS_TRANS_OP_HALF_TOPIC": {},
	"TRANS_CHECK_MAX_TIME_TOPIC":  {},
	"SELF_TEST_TOPIC":             {},
	"OFFSET_MOVED_EVENT":          {},
}

func blankString(s string) bool { return strings.TrimSpace(s) == "" }

// ValidateTopic applies Java's Validators.checkTopic and the not-allowed-to-send set, in Java's
// order: not blank, at most MaxTopicLength bytes, only ^[%|a-zA-Z0-9_-]+$, not a broker-internal
// topic. Checking on the client gives a clear error where the broker would answer with a bare code.
func ValidateTopic(topic string) error {
	if blankString(topic) {
		return newValidationError("topic", topic, "is blank")
	}
	if len(topic) > MaxTopicLength {
		return newValidationError("topic", topic, fmt.Sprintf("is longer than topic max length %d", MaxTopicLength))
	}
	if hasIllegalTopicChar(topic) {
		return newValidationError("topic", topic, "contains illegal characters, allowing only "+topicCharPattern)
	}
	if _, ok := notAllowedSendTopics[topic]; ok {
		return newValidationError("topic", topic, "is a broker system topic; sending to it is forbidden")
	}
	return nil
}

// ValidateGroup checks a producer group: not blank, at most MaxGroupLength bytes, the topic
// charset, and not one of the names the Java client reserves (DEFAULT_PRODUCER,
// CLIENT_INNER_PRODUCER), which would collide with other clients' check-back routing.
func ValidateGroup(group string) error {
	if blankString(group) {
		return newValidationError("group", group, "is blank")
	}
	if len(group) > MaxGroupLength {
		return newValidationError("group", group, fmt.Sprintf("is longer than group max length %d", MaxGroupLength))
	}
	if hasIllegalTopicChar(group) {
		return newValidationError("group", group, "contains illegal characters, allowing only "+topicCharPattern)
	}
	if group == "DEFAULT_PRODUCER" || group == "CLIENT_INNER_PRODUCER" {
		return newValidationError("group", group, "is reserved by the client; choose another producer group")
	}
	return nil
}

// ValidateBody checks a body as Java's Validators.checkMessage does: present, non-empty and at
// most maxSize bytes (maxSize <= 0 means DefaultMaxMessageSize). The size is that of the
// uncompressed body, which is what Java checks.
func ValidateBody(body []byte, maxSize int) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxMessageSize
	}
	if body == nil {
		return newValidationError("message body", "", "is nil")
	}
	if len(body) == 0 {
		return newValidationError("message body", "", "length is zero")
	}
	if len(body) > maxSize {
		return newValidationError("message body", "", fmt.Sprintf("size %d is over max value, MAX: %d", len(body), maxSize))
	}
	return nil
}

// ValidatePropertyName checks a property name: not blank, no \x01 or \x02 (they frame the
// properties on the wire and would corrupt every property after them).
func ValidatePropertyName(name string) error {
	if blankString(name) {
		return newValidationError("property name", name, "is blank")
	}
	if strings.ContainsAny(name, "\x01\x02") {
		return newValidationError("property name", name, `contains a separator character \x01 or \x02`)
	}
	return nil
}

// ValidatePropertyValue checks a property value: not blank, no \x01 or \x02.
func ValidatePropertyValue(name, value string) error {
	if blankString(value) {
		return newValidationError("value of property "+strconv.Quote(codecClip(name)), value, "is blank")
	}
	if strings.ContainsAny(value, "\x01\x02") {
		return newValidationError("value of property "+strconv.Quote(codecClip(name)), value, `contains a separator character \x01 or \x02`)
	}
	return nil
}

// ValidateUserProperty checks a property set by application code, as Java's putUserProperty does:
// name and value valid and the name not one the client or broker owns (message.IsReserved).
func ValidateUserProperty(name, value string) error {
	if err := ValidatePropertyName(name); err != nil {
		return err
	}
	if message.IsReserved(name) {
		return newValidationError("property name", name, "is used by the system; choose another name")
	}
	return ValidatePropertyValue(name, value)
}

// ValidateProperties checks a message's whole property set, system properties included: no name
// or value may contain \x01 or \x02, a non-empty value needs a non-empty name (it would be
// dropped silently), and the encoded form must fit in MaxPropertiesLength bytes. Empty values are
// allowed: the encoder drops them, as Java's decoder would.
func ValidateProperties(props map[string]string) error {
	_, err := CheckProperties(props)
	return err
}

// CheckProperties is ValidateProperties that also returns what the pass learned of props, so that
// the send path need not look at them again.
func CheckProperties(props map[string]string) (PropertiesInfo, error) {
	var in PropertiesInfo
	for k, v := range props {
		if !in.Special && specialProperty(k) {
			in.Special = true
		}
		if v == "" {
			continue
		}
		if k == "" {
			return in, newValidationError("property name", "", "is empty (its value "+strconv.Quote(codecClip(v))+" would be dropped)")
		}
		if strings.ContainsAny(k, "\x01\x02") {
			return in, newValidationError("property name", k, `contains a separator character \x01 or \x02`)
		}
		if strings.ContainsAny(v, "\x01\x02") {
			return in, newValidationError("value of property "+strconv.Quote(codecClip(k)), v, `contains a separator character \x01 or \x02`)
		}
		in.Len += len(k) + len(v) + 2
	}
	if in.Len > MaxPropertiesLength {
		return in, newValidationError("properties", "", fmt.Sprintf("encode to %d bytes, over max value, MAX: %d", in.Len, MaxPropertiesLength))
	}
	return in, nil
}

// PropertiesInfo is what one pass over a message's properties (CheckProperties, CheckMessage)
// tells the send path, so that it looks none of them up one by one: a message without special
// properties (nearly every message) is a normal message, and what the broker adds to it before
// its size check does not depend on them.
type PropertiesInfo struct {
	// Len is the number of bytes the properties encode to (PropertiesLen).
	Len int
	// Special says a property is set, even to "", whose name the producer or the broker treats
	// specially: a transaction, a delay or timer, a producer group, a reply, or one the broker
	// adds or replaces (see specialProperty).
	Special bool
}

// Added accounts for a property set to a non-empty value where it was absent or empty.
func (in *PropertiesInfo) Added(name, value string) {
	in.Len += len(name) + len(value) + 2
	in.Special = in.Special || specialProperty(name)
}

// specialProperty says whether a property named name changes how a message is sent (its type,
// whether it may be batched, its request code) or what the broker adds to it before its size
// check (BrokerAddedProperties): while none is set, both are known without looking.
func specialProperty(name string) bool {
	switch name {
	case message.PropertyTransactionPrepared, message.PropertyDelayTimeLevel, message.PropertyStartDeliverTime,
		message.PropertyTimerDeliverMS, message.PropertyTimerDelaySec, message.PropertyTimerDelayMS, propertyTimerOutMs,
		message.PropertyProducerGroup, message.PropertyMessageType, message.PropertyMsgRegion, message.PropertyTraceSwitch,
		message.PropertyCluster, message.PropertyRealTopic, message.PropertyRealQueueID, message.PropertyTransactionID,
		propertyInnerMultiDispatch:
		return true
	}
	return false
}

const (
	propertyTimerOutMs         = "TIMER_OUT_MS"
	propertyInnerMultiDispatch = "INNER_MULTI_DISPATCH"
)

// ValidateMessage runs every client-side check on m before its first send: topic, body against
// maxSize (<= 0 means DefaultMaxMessageSize), properties, and Java's rule that
// INNER_MULTI_DISPATCH holds no path separator.
func ValidateMessage(m *message.Message, maxSize int) error {
	_, err := CheckMessage(m, maxSize)
	return err
}

// CheckMessage is ValidateMessage that also returns what it learned of m's properties.
func CheckMessage(m *message.Message, maxSize int) (PropertiesInfo, error) {
	if m == nil {
		return PropertiesInfo{}, newValidationError("message", "", "is nil")
	}
	if err := ValidateTopic(m.Topic); err != nil {
		return PropertiesInfo{}, err
	}
	if err := ValidateBody(m.Body, maxSize); err != nil {
		return PropertiesInfo{}, err
	}
	in, err := CheckProperties(m.Properties)
	if err != nil {
		return in, err
	}
	if in.Special {
		if v := m.Properties[propertyInnerMultiDispatch]; strings.Contains(v, "/") {
			return in, newValidationError("value of property \"INNER_MULTI_DISPATCH\"", v, "contains the path separator /")
		}
	}
	return in, nil
}

// StoredProperty is a property the broker adds to a message before it stores it.
type StoredProperty struct{ Name, Value string }

// StoreTarget is where a message goes and what the broker there adds to it.
type StoreTarget struct {
	Topic   string
	QueueID int
	// Cluster is the broker's cluster name (the route's BrokerData.Cluster).
	Cluster string
	// Region and TraceOn are the broker's regionId and traceOn settings, which it returns in every
	// send response (MSG_REGION, TRACE_ON); DefaultRegion and true by default.
	Region  string
	TraceOn bool
	// NowMs is the time of the send in milliseconds, for timer messages.
	NowMs int64
}

// BrokerAddedProperties lists what a RocketMQ broker adds to, or removes from, the properties of a
// message sent to t before its store checks their size. An empty Value means the broker removes
// the property.
//
// From the 5.3.3 sources: SendMessageProcessor puts MSG_REGION and TRACE_ON (buildMsgContext) and
// CLUSTER; a transaction half message gets __transactionId__ (its UNIQ_KEY), REAL_TOPIC and REAL_QID
// (TransactionalMessageBridge); a message with a delay level gets REAL_TOPIC and REAL_QID and loses
// its timer properties; a timer message gets TIMER_OUT_MS, REAL_TOPIC and REAL_QID
// (HookUtils.handleScheduleMessage).
func BrokerAddedProperties(props map[string]string, t StoreTarget) []StoredProperty {
	return AppendBrokerAddedProperties(nil, props, t)
}

// AppendBrokerAddedProperties appends BrokerAddedProperties(props, t) to dst; with room in dst
// (8 entries always suffice) it does not allocate, which the send path relies on.
func AppendBrokerAddedProperties(dst []StoredProperty, props map[string]string, t StoreTarget) []StoredProperty {
	add := appendBrokerStamps(dst, t)
	topic, queueID, nowMs := t.Topic, t.QueueID, t.NowMs
	appendReal := func(add []StoredProperty) []StoredProperty {
		return append(add, StoredProperty{message.PropertyRealTopic, topic}, StoredProperty{message.PropertyRealQueueID, strconv.Itoa(queueID)})
	}
	if strings.EqualFold(props[message.PropertyTransactionPrepared], "true") {
		if id := props[message.PropertyUniqClientMessageIDKeyIdx]; id != "" {
			add = append(add, StoredProperty{message.PropertyTransactionID, id})
		}
		return appendReal(add)
	}
	if lvl := props[message.PropertyDelayTimeLevel]; lvl != "" { // Atoi("") would allocate its error
		if n, err := strconv.Atoi(lvl); err == nil && n > 0 {
			add = append(add, StoredProperty{message.PropertyTimerDeliverMS, ""}, StoredProperty{message.PropertyTimerDelaySec, ""},
				StoredProperty{message.PropertyTimerDelayMS, ""})
			return appendReal(add)
		}
	}
	if props[propertyTimerOutMs] != "" {
		return add
	}
	var deliverMs int64
	var err error
	switch {
	case props[message.PropertyTimerDelaySec] != "":
		var sec int64
		sec, err = strconv.ParseInt(props[message.PropertyTimerDelaySec], 10, 64)
		deliverMs = nowMs + sec*1000
	case props[message.PropertyTimerDelayMS] != "":
		var ms int64
		ms, err = strconv.ParseInt(props[message.PropertyTimerDelayMS], 10, 64)
		deliverMs = nowMs + ms
	case props[message.PropertyTimerDeliverMS] != "":
		deliverMs, err = strconv.ParseInt(props[message.PropertyTimerDeliverMS], 10, 64)
	default:
		return add
	}
	if err != nil || deliverMs <= nowMs {
		return add // the broker refuses an unparsable time, and delivers a past one at once
	}
	add = append(add, StoredProperty{propertyTimerOutMs, strconv.FormatInt(deliverMs, 10)})
	return appendReal(add)
}

// appendBrokerStamps appends what the broker adds to every message it stores.
func appendBrokerStamps(dst []StoredProperty, t StoreTarget) []StoredProperty {
	return append(dst, StoredProperty{message.PropertyMsgRegion, t.Region}, StoredProperty{message.PropertyTraceSwitch, strconv.FormatBool(t.TraceOn)},
		StoredProperty{message.PropertyCluster, t.Cluster})
}

// CheckStoredProperties is ValidateStoredProperties(props, BrokerAddedProperties(props, t)) for
// the properties that in describes (CheckProperties, kept up to date with Added). Without special
// properties the broker adds only its stamps, whatever props holds: the size is a sum, and
// neither props nor t.NowMs is read.
func CheckStoredProperties(props map[string]string, in PropertiesInfo, t StoreTarget) error {
	if !in.Special {
		var stamps [3]StoredProperty
		n := in.Len
		for _, a := range appendBrokerStamps(stamps[:0], t) {
			if a.Value != "" {
				n += len(a.Name) + len(a.Value) + 2
			}
		}
		if n <= MaxPropertiesLength {
			return nil
		}
	}
	var added [8]StoredProperty
	return ValidateStoredProperties(props, AppendBrokerAddedProperties(added[:0], props, t))
}

// StoredPropertiesSize returns how many bytes props encode to once the broker applied added (see
// BrokerAddedProperties): the size its store compares with MaxPropertiesLength. Empty values are
// not encoded, as on the wire.
func StoredPropertiesSize(props map[string]string, added []StoredProperty) int {
	n := 0
	for k, v := range props {
		if v != "" {
			n += len(k) + len(v) + 2
		}
	}
	for _, a := range added {
		if old := props[a.Name]; old != "" {
			n -= len(a.Name) + len(old) + 2
		}
		if a.Value != "" {
			n += len(a.Name) + len(a.Value) + 2
		}
	}
	return n
}

// ValidateStoredProperties refuses properties the broker's store would refuse once it added its own
// (see BrokerAddedProperties): more than MaxPropertiesLength bytes, the rule of 5.3.3's
// MessageExtEncoder.encode (PROPERTIES_SIZE_EXCEEDED, answered as MESSAGE_ILLEGAL).
func ValidateStoredProperties(props map[string]string, added []StoredProperty) error {
	if n := StoredPropertiesSize(props, added); n > MaxPropertiesLength {
		var names []string
		for _, a := range added {
			if a.Value != "" {
				names = append(names, a.Name)
			}
		}
		return newValidationError("properties", "", fmt.Sprintf(
			"encode to %d bytes once the broker adds %s, over the broker's limit of %d (its store refuses them: PROPERTIES_SIZE_EXCEEDED)",
			n, strings.Join(names, ", "), MaxPropertiesLength))
	}
	return nil
}
