package message

// Property names RocketMQ gives a meaning to (Java MessageConst). User code sets the first group
// through accessors or SetProperty; the rest are set by the producer or the broker.
const (
	PropertyKeys                       = "KEYS"
	PropertyTags                       = "TAGS"
	PropertyWaitStoreMsgOK             = "WAIT"
	PropertyDelayTimeLevel             = "DELAY"
	PropertyTimerDeliverMS             = "TIMER_DELIVER_MS"
	PropertyTimerDelaySec              = "TIMER_DELAY_SEC"
	PropertyTimerDelayMS               = "TIMER_DELAY_MS"
	PropertyStartDeliverTime           = "__STARTDELIVERTIME"
	PropertyShardingKey                = "__SHARDINGKEY"
	PropertyBuyerID                    = "BUYER_ID"
	PropertyUniqClientMessageIDKeyIdx  = "UNIQ_KEY"
	PropertyTransactionPrepared        = "TRAN_MSG"
	PropertyProducerGroup              = "PGROUP"
	PropertyTransactionID              = "__transactionId__"
	PropertyCheckImmunityTimeInSeconds = "CHECK_IMMUNITY_TIME_IN_SECONDS"
	PropertyMsgRegion                  = "MSG_REGION"
	PropertyTraceSwitch                = "TRACE_ON"
	PropertyInstanceID                 = "INSTANCE_ID"
	PropertyCorrelationID              = "CORRELATION_ID"
	PropertyMessageReplyToClient       = "REPLY_TO_CLIENT"
	PropertyMessageTTL                 = "TTL"
	PropertyMessageType                = "MSG_TYPE"
	PropertyReplyMessageArriveTime     = "ARRIVE_TIME"
	PropertyPushReplyTime              = "PUSH_REPLY_TIME"
	PropertyCluster                    = "CLUSTER"
	PropertyReconsumeTime              = "RECONSUME_TIME"
	PropertyMaxReconsumeTimes          = "MAX_RECONSUME_TIMES"
	PropertyRealTopic                  = "REAL_TOPIC"
	PropertyRealQueueID                = "REAL_QID"
	PropertyTransientPrefix            = "__RMQ.TRANSIENT."

	// KeySeparator separates several keys inside the KEYS property.
	KeySeparator = " "
	// ReplyMessageFlag is the MSG_TYPE value that marks a reply in request-reply.
	ReplyMessageFlag = "reply"
)

// NameValueSeparator and PropertySeparator frame the properties string on the wire; neither may
// appear in a property name or value.
const (
	NameValueSeparator = '\x01'
	PropertySeparator  = '\x02'
)

// reserved is Java's MessageConst.STRING_HASH_SET: names an application must not set as user
// properties because the client or broker owns them.
var reserved = map[string]struct{}{}

func init() {
	for _, k := range []string{
		"TRACE_ON", "MSG_REGION", "KEYS", "TAGS", "WAIT", "DELAY", "RETRY_TOPIC", "REAL_TOPIC",
		"REAL_QID", "TRAN_MSG", "PGROUP", "MIN_OFFSET", "MAX_OFFSET", "BUYER_ID", "ORIGIN_MESSAGE_ID",
		"TRANSFER_FLAG", "CORRECTION_FLAG", "MQ2_FLAG", "RECONSUME_TIME", "UNIQ_KEY",
		"MAX_RECONSUME_TIMES", "CONSUME_START_TIME", "POP_CK", "POP_CK_OFFSET", "1ST_POP_TIME",
		"TRAN_PREPARED_QUEUE_OFFSET", "DUP_INFO", "EXTEND_UNIQ_INFO", "INSTANCE_ID", "CORRELATION_ID",
		"REPLY_TO_CLIENT", "TTL", "ARRIVE_TIME", "PUSH_REPLY_TIME", "CLUSTER", "MSG_TYPE",
		"INNER_MULTI_QUEUE_OFFSET", "TRACE_CONTEXT", "TIMER_DELAY_SEC", "TIMER_DELIVER_MS",
		"__BORNHOST", "BORN_TIMESTAMP", "TIMER_ENQUEUE_MS", "TIMER_DEQUEUE_MS", "TIMER_ROLL_TIMES",
		"TIMER_OUT_MS", "TIMER_DEL_UNIQKEY", "TIMER_DELAY_LEVEL", "TIMER_DELAY_MS",
		"__STARTDELIVERTIME", "__SHARDINGKEY", "__transactionId__", "CHECK_IMMUNITY_TIME_IN_SECONDS",
		"TRANSACTION_CHECK_TIMES", "INNER_NUM", "INNER_BASE", "INNER_MULTI_DISPATCH",
		"PROPERTY_FORWARD_QUEUE_ID", "REDIRECT", "__CRC32#", "DLQ_ORIGIN_TOPIC",
		"DLQ_ORIGIN_MESSAGE_ID",
	} {
		reserved[k] = struct{}{}
	}
}

// IsReserved reports whether name is a system property that user code must not set directly
// (Java's Message.putUserProperty refuses the same set).
func IsReserved(name string) bool {
	_, ok := reserved[name]
	return ok
}
