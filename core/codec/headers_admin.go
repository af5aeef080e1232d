package codec

// GetRouteInfoRequestHeader asks a NameServer for a topic's route (GET_ROUTEINFO_BY_TOPIC).
type GetRouteInfoRequestHeader struct {
	Topic string
	// AcceptStandardJSONOnly asks for quoted map keys; NameServers of 4.9.4 and later honour it.
	AcceptStandardJSONOnly bool
}

// EncodeExt implements HeaderEncoder.
func (h *GetRouteInfoRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("topic", h.Topic)
	if h.AcceptStandardJSONOnly {
		w.Bool("acceptStandardJsonOnly", true)
	}
}

// UnregisterClientRequestHeader tells a broker a client is leaving (UNREGISTER_CLIENT).
type UnregisterClientRequestHeader struct {
	ClientID      string
	ProducerGroup string
	ConsumerGroup string
}

// EncodeExt implements HeaderEncoder.
func (h *UnregisterClientRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("clientID", h.ClientID)
	w.String("producerGroup", h.ProducerGroup)
	w.String("consumerGroup", h.ConsumerGroup)
}

// QueueRequestHeader names one queue of a topic on a broker. It is the whole header of
// GET_MIN_OFFSET and GET_EARLIEST_MSG_STORETIME and the base of the other offset queries.
type QueueRequestHeader struct {
	Topic      string
	QueueID    int32
	BrokerName string
}

// EncodeExt implements HeaderEncoder.
func (h *QueueRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("topic", h.Topic)
	w.Int("queueId", int64(h.QueueID))
	w.String("bname", h.BrokerName)
}

// GetMaxOffsetRequestHeader is the header of GET_MAX_OFFSET. By default it asks for the committed
// max offset, as Java always does; Uncommitted includes messages not yet confirmed by replicas.
type GetMaxOffsetRequestHeader struct {
	QueueRequestHeader
	Uncommitted bool
}

// EncodeExt implements HeaderEncoder.
func (h *GetMaxOffsetRequestHeader) EncodeExt(w *ExtWriter) {
	h.QueueRequestHeader.EncodeExt(w)
	w.Bool("committed", !h.Uncommitted)
}

// BoundaryType picks the lower or upper offset when several messages share a timestamp.
type BoundaryType string

const (
	BoundaryLower BoundaryType = "LOWER"
	BoundaryUpper BoundaryType = "UPPER"
)

// SearchOffsetRequestHeader is the header of SEARCH_OFFSET_BY_TIMESTAMP.
type SearchOffsetRequestHeader struct {
	QueueRequestHeader
	Timestamp int64
	Boundary  BoundaryType
}

// EncodeExt implements HeaderEncoder.
func (h *SearchOffsetRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("topic", h.Topic)
	w.Int("queueId", int64(h.QueueID))
	w.Int("timestamp", h.Timestamp)
	w.String("boundaryType", string(h.Boundary))
	w.String("bname", h.BrokerName)
}

// DecodeOffsetResponse reads the "offset" field of GET_MAX_OFFSET, GET_MIN_OFFSET and
// SEARCH_OFFSET_BY_TIMESTAMP responses.
func DecodeOffsetResponse(c *Command) (int64, error) {
	r := extReader{c: c}
	v := r.i64("offset", true)
	return v, r.err
}

// DecodeTimestampResponse reads the "timestamp" field of a GET_EARLIEST_MSG_STORETIME response.
func DecodeTimestampResponse(c *Command) (int64, error) {
	r := extReader{c: c}
	v := r.i64("timestamp", true)
	return v, r.err
}

// ViewMessageRequestHeader asks a broker for the message at a commit-log offset (VIEW_MESSAGE_BY_ID).
type ViewMessageRequestHeader struct {
	Offset int64
	Topic  string
}

// EncodeExt implements HeaderEncoder.
func (h *ViewMessageRequestHeader) EncodeExt(w *ExtWriter) {
	w.Int("offset", h.Offset)
	w.String("topic", h.Topic)
}

// QueryMessageRequestHeader searches a broker's index by key and time range (QUERY_MESSAGE).
type QueryMessageRequestHeader struct {
	Topic          string
	Key            string
	MaxNum         int32
	BeginTimestamp int64
	EndTimestamp   int64
	// UniqKey searches by UNIQ_KEY instead of KEYS (the _UNIQUE_KEY_QUERY ext field).
	UniqKey bool
}

// EncodeExt implements HeaderEncoder.
func (h *QueryMessageRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("topic", h.Topic)
	w.String("key", h.Key)
	w.Int("maxNum", int64(h.MaxNum))
	w.Int("beginTimestamp", h.BeginTimestamp)
	w.Int("endTimestamp", h.EndTimestamp)
	if h.UniqKey {
		w.Bool("_UNIQUE_KEY_QUERY", true)
	}
}

// QueryMessageResponseHeader is the header of a QUERY_MESSAGE response.
type QueryMessageResponseHeader struct {
	IndexLastUpdateTimestamp int64
	IndexLastUpdatePhyoffset int64
}

// DecodeQueryMessageResponseHeader reads a QUERY_MESSAGE response header.
func DecodeQueryMessageResponseHeader(c *Command) (*QueryMessageResponseHeader, error) {
	r := extReader{c: c}
	h := &QueryMessageResponseHeader{
		IndexLastUpdateTimestamp: r.i64("indexLastUpdateTimestamp", false),
		IndexLastUpdatePhyoffset: r.i64("indexLastUpdatePhyoffset", false),
	}
	return h, r.err
}

// PullMessageRequestHeader reads messages of one queue (PULL_MESSAGE). rocketsend uses it to read
// back what it sent; with SysFlag PullSubscription and Subscription "*" no consumer heartbeat is
// needed.
type PullMessageRequestHeader struct {
	ConsumerGroup        string
	Topic                string
	QueueID              int32
	QueueOffset          int64
	MaxMsgNums           int32
	SysFlag              int32
	CommitOffset         int64
	SuspendTimeoutMillis int64
	Subscription         string
	SubVersion           int64
	ExpressionType       string
	MaxMsgBytes          int32
	BrokerName           string
}

// EncodeExt implements HeaderEncoder.
func (h *PullMessageRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("consumerGroup", h.ConsumerGroup)
	w.String("topic", h.Topic)
	w.Int("queueId", int64(h.QueueID))
	w.Int("queueOffset", h.QueueOffset)
	w.Int("maxMsgNums", int64(h.MaxMsgNums))
	w.Int("sysFlag", int64(h.SysFlag))
	w.Int("commitOffset", h.CommitOffset)
	w.Int("suspendTimeoutMillis", h.SuspendTimeoutMillis)
	w.String("subscription", h.Subscription)
	w.Int("subVersion", h.SubVersion)
	w.String("expressionType", h.ExpressionType)
	if h.MaxMsgBytes > 0 {
		w.Int("maxMsgBytes", int64(h.MaxMsgBytes))
	}
	w.String("bname", h.BrokerName)
}

// PullMessageResponseHeader is the header of a PULL_MESSAGE response.
type PullMessageResponseHeader struct {
	SuggestWhichBrokerID int64
	NextBeginOffset      int64
	MinOffset            int64
	MaxOffset            int64
}

// DecodePullMessageResponseHeader reads a PULL_MESSAGE response header.
func DecodePullMessageResponseHeader(c *Command) (*PullMessageResponseHeader, error) {
	r := extReader{c: c}
	h := &PullMessageResponseHeader{
		SuggestWhichBrokerID: r.i64("suggestWhichBrokerId", false),
		NextBeginOffset:      r.i64("nextBeginOffset", true),
		MinOffset:            r.i64("minOffset", true),
		MaxOffset:            r.i64("maxOffset", true),
	}
	return h, r.err
}

// Topic permission bits (Java PermName).
const (
	PermInherit  = 1
	PermWrite    = 2
	PermRead     = 4
	PermPriority = 8
)

// CreateTopicRequestHeader creates or updates a topic on one broker (UPDATE_AND_CREATE_TOPIC). It
// must be sent to every broker that should host the topic.
type CreateTopicRequestHeader struct {
	Topic           string
	DefaultTopic    string
	ReadQueueNums   int32
	WriteQueueNums  int32
	Perm            int32
	TopicFilterType string // "SINGLE_TAG" (default) or "MULTI_TAG"
	TopicSysFlag    int32
	Order           bool
	// Attributes in Java's "+k=v,+k2=v2,-k3" form, e.g. "+message.type=NORMAL".
	Attributes string
	Force      bool
}

// EncodeExt implements HeaderEncoder.
func (h *CreateTopicRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("topic", h.Topic)
	w.String("defaultTopic", h.DefaultTopic)
	w.Int("readQueueNums", int64(h.ReadQueueNums))
	w.Int("writeQueueNums", int64(h.WriteQueueNums))
	w.Int("perm", int64(h.Perm))
	ft := h.TopicFilterType
	if ft == "" {
		ft = "SINGLE_TAG"
	}
	w.String("topicFilterType", ft)
	w.Int("topicSysFlag", int64(h.TopicSysFlag))
	w.Bool("order", h.Order)
	w.String("attributes", h.Attributes)
	if h.Force {
		w.Bool("force", true)
	}
}
