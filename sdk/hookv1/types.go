package hookv1

// HookPoint is hook.v1.HookPoint: where in the send pipeline a plugin is called. Its value is the
// point argument of the wasm export hook_call.
type HookPoint int32

const (
	PointUnspecified    HookPoint = 0
	PointBeforeSend     HookPoint = 1
	PointAfterSend      HookPoint = 2
	PointCheckForbidden HookPoint = 3
	PointSelectQueue    HookPoint = 4
)

// Need is hook.v1.Need: a capability a plugin declares.
type Need int32

const (
	NeedUnspecified Need = 0
	NeedProperties  Need = 1
	NeedQueues      Need = 2
	NeedBodyEager   Need = 3
	NeedBodyLazy    Need = 4
)

// FailurePolicy is hook.v1.FailurePolicy.
type FailurePolicy int32

const (
	FailureDefault FailurePolicy = 0
	FailClosed     FailurePolicy = 1
	FailOpen       FailurePolicy = 2
)

// Mode is hook.v1.Mode: how the message is sent.
type Mode int32

const (
	ModeUnspecified Mode = 0
	ModeSync        Mode = 1
	ModeAsync       Mode = 2
	ModeOneway      Mode = 3
)

// MessageType is hook.v1.MessageType.
type MessageType int32

const (
	MessageTypeUnspecified MessageType = 0
	MessageTypeNormal      MessageType = 1
	MessageTypeTransHalf   MessageType = 2
	MessageTypeTransCommit MessageType = 3
	MessageTypeDelay       MessageType = 4
	MessageTypeOrder       MessageType = 5
)

// SendStatus is hook.v1.SendStatus.
type SendStatus int32

const (
	StatusUnspecified       SendStatus = 0
	StatusOK                SendStatus = 1
	StatusFlushDiskTimeout  SendStatus = 2
	StatusFlushSlaveTimeout SendStatus = 3
	StatusSlaveNotAvailable SendStatus = 4
)

// Verdict is hook.v1.Verdict.
type Verdict int32

const (
	Allow  Verdict = 0
	Forbid Verdict = 1
)

// Field numbers of hook.v1 (hook.proto). They are frozen: see the evolution rules there.
const (
	fInfoName          = 1
	fInfoVersion       = 2
	fInfoPoints        = 3
	fInfoNeeds         = 4
	fInfoTopics        = 5
	fInfoFailurePolicy = 6
	fInfoTimeoutUs     = 7
	fInfoConsistent    = 8
	fInfoSelectRetry   = 9

	fCfgConfig   = 1
	fCfgSettings = 2
	fKVKey       = 1
	fKVValue     = 2

	fPropName  = 1
	fPropValue = 2

	fQueueBroker = 1
	fQueueID     = 2

	fViewTopic       = 1
	fViewTags        = 2
	fViewKeys        = 3
	fViewProperties  = 4
	fViewBodySize    = 5
	fViewFlag        = 6
	fViewGroup       = 7
	fViewNamespace   = 8
	fViewMode        = 9
	fViewMessageType = 10
	fViewAttempt     = 11
	fViewQueue       = 12
	fViewBrokerAddr  = 13
	fViewBornHost    = 14
	fViewQueues      = 15
	fViewQueueCount  = 16
	fViewSelectArg   = 17
	fViewBatch       = 18
	fViewStatus      = 20
	fViewMsgID       = 21
	fViewOffsetMsgID = 22
	fViewQueueOffset = 23
	fViewLatencyNs   = 24
	fViewError       = 25

	fEditName   = 1
	fEditValue  = 2
	fEditDelete = 3

	fDecVerdict     = 1
	fDecReason      = 2
	fDecEdits       = 3
	fDecTags        = 4
	fDecKeys        = 5
	fDecReplaceBody = 6
	fDecBody        = 7
	fDecQueueIndex  = 8
)

// HookInfo is hook.v1.HookInfo: what a plugin says about itself.
type HookInfo struct {
	Name, Version string
	Points        []HookPoint
	Needs         []Need
	Topics        []string
	FailurePolicy FailurePolicy
	TimeoutUs     uint32
	// ConsistentSelect says the SELECT_QUEUE choice depends only on the message and the offered
	// queues (a key hash): the send is an ordered one (core/send's ConsistentSelector).
	ConsistentSelect bool
	// SelectRetry says what a failed attempt of a send this plugin routed may do; the zero value,
	// SelectRetryNever, sends once, as Java does for selector sends (core/send's RetryingSelector).
	SelectRetry SelectRetry
}

// SelectRetry is hook.v1.SelectRetry: what the producer may do after a failed attempt of a send
// whose queue the plugin chose.
type SelectRetry int32

const (
	// SelectRetryNever sends once (Java's sendSelectImpl); the default.
	SelectRetryNever SelectRetry = 0
	// SelectRetrySameQueue retries on the queue chosen first, so per-key order holds.
	SelectRetrySameQueue SelectRetry = 1
	// SelectRetryReselect asks the plugin again without the failed broker's queues, for plugins
	// that do not care about order.
	SelectRetryReselect SelectRetry = 2
)

// Has reports whether p is among the declared points.
func (h *HookInfo) Has(p HookPoint) bool {
	for _, q := range h.Points {
		if q == p {
			return true
		}
	}
	return false
}

// Needs reports whether n is among the declared needs.
func (h *HookInfo) Need(n Need) bool {
	for _, m := range h.Needs {
		if m == n {
			return true
		}
	}
	return false
}

// KV is one entry of HookConfig.settings.
type KV struct{ Key, Value string }

// HookConfig is hook.v1.HookConfig.
type HookConfig struct {
	Config   []byte
	Settings []KV
}

// Property is hook.v1.Property.
type Property struct{ Name, Value string }

// QueueRef is hook.v1.QueueRef.
type QueueRef struct {
	Broker  string
	QueueID int32
}

// MessageView is hook.v1.MessageView as the host fills it. Zero fields are not encoded.
type MessageView struct {
	Topic, Tags, Keys string
	Properties        []Property // encode sorted by name for deterministic bytes
	BodySize          uint32
	Flag              int32
	Group, Namespace  string
	Mode              Mode
	MessageType       MessageType
	Attempt           uint32
	HasQueue          bool // Queue is encoded only when HasQueue
	Queue             QueueRef
	BrokerAddr        string
	BornHost          string
	Queues            []QueueRef
	QueueCount        uint32
	SelectArg         []byte // encoded when non-nil (explicit presence; may be empty)
	Batch             bool   // the message is a batch wrapper: its body is the encoded batch

	Status      SendStatus
	MsgID       string
	OffsetMsgID string
	QueueOffset int64
	LatencyNs   int64
	Error       string
}

// PropertyEdit is hook.v1.PropertyEdit.
type PropertyEdit struct {
	Name, Value string
	Delete      bool
}

// Decision is hook.v1.Decision as the host decodes it.
type Decision struct {
	Verdict     Verdict
	Reason      string
	Edits       []PropertyEdit
	HasTags     bool
	Tags        string
	HasKeys     bool
	Keys        string
	ReplaceBody bool
	Body        []byte
	// QueueIndex is the chosen index into the offered queues, or -1 for no choice (field absent or
	// negative).
	QueueIndex int32
}

// IsNoop reports whether d allows the send and changes nothing: what the wasm return value 0 means.
func (d *Decision) IsNoop() bool {
	return d.Verdict == Allow && len(d.Edits) == 0 && !d.HasTags && !d.HasKeys && !d.ReplaceBody &&
		d.QueueIndex < 0
}
