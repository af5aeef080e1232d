package codec

// Request codes a producer sends or receives (Java RequestCode).
const (
	SendMessage                 = 10
	PullMessage                 = 11
	QueryMessage                = 12
	UpdateAndCreateTopic        = 17
	SearchOffsetByTimestamp     = 29
	GetMaxOffset                = 30
	GetMinOffset                = 31
	GetEarliestMsgStoreTime     = 32
	ViewMessageByID             = 33
	HeartBeat                   = 34
	UnregisterClient            = 35
	EndTransaction              = 37
	CheckTransactionState       = 39 // broker to client, oneway
	NotifyConsumerIDsChanged    = 40 // broker to client
	GetRouteInfoByTopic         = 105
	GetBrokerClusterInfo        = 106
	SendMessageV2               = 310
	SendBatchMessage            = 320
	SendReplyMessage            = 324
	SendReplyMessageV2          = 325
	PushReplyMessageToClient    = 326 // broker to client, expects a response
	RecallMessage               = 370
	ResetConsumerClientOffset   = 220
	GetConsumerStatusFromClient = 221
	GetConsumerRunningInfo      = 307
	ConsumeMessageDirectly      = 309
)

// Response codes (Java RemotingSysResponseCode and ResponseCode).
const (
	Success                     = 0
	SystemError                 = 1
	SystemBusy                  = 2
	RequestCodeNotSupported     = 3
	TransactionFailed           = 4
	FlushDiskTimeoutCode        = 10
	SlaveNotAvailableCode       = 11
	FlushSlaveTimeoutCode       = 12
	MessageIllegal              = 13
	ServiceNotAvailable         = 14
	VersionNotSupported         = 15
	NoPermission                = 16
	TopicNotExist               = 17
	TopicExistAlready           = 18
	PullNotFound                = 19
	PullRetryImmediately        = 20
	PullOffsetMoved             = 21
	QueryNotFound               = 22
	InvalidParameter            = 29
	TransactionShouldCommit     = 200
	TransactionShouldRollback   = 201
	TransactionStateUnknow      = 202
	TransactionStateGroupWrong  = 203
	NoBuyerID                   = 204
	NotInCurrentUnit            = 205
	ConsumerNotOnline           = 206
	ConsumeMsgTimeout           = 207
	NoMessage                   = 208
	NotLeaderForQueue           = 501
	IllegalOperation            = 604
	GoAway                      = 1500
	ControllerFencedMasterEpoch = 2000
	UserNotExist                = 3001
	PolicyNotExist              = 3002
)

var responseCodeNames = map[int32]string{
	Success: "SUCCESS", SystemError: "SYSTEM_ERROR", SystemBusy: "SYSTEM_BUSY",
	RequestCodeNotSupported: "REQUEST_CODE_NOT_SUPPORTED", TransactionFailed: "TRANSACTION_FAILED",
	FlushDiskTimeoutCode: "FLUSH_DISK_TIMEOUT", SlaveNotAvailableCode: "SLAVE_NOT_AVAILABLE",
	FlushSlaveTimeoutCode: "FLUSH_SLAVE_TIMEOUT", MessageIllegal: "MESSAGE_ILLEGAL",
	ServiceNotAvailable: "SERVICE_NOT_AVAILABLE", VersionNotSupported: "VERSION_NOT_SUPPORTED",
	NoPermission: "NO_PERMISSION", TopicNotExist: "TOPIC_NOT_EXIST", TopicExistAlready: "TOPIC_EXIST_ALREADY",
	PullNotFound: "PULL_NOT_FOUND", PullRetryImmediately: "PULL_RETRY_IMMEDIATELY",
	PullOffsetMoved: "PULL_OFFSET_MOVED", QueryNotFound: "QUERY_NOT_FOUND",
	InvalidParameter: "INVALID_PARAMETER", TransactionShouldCommit: "TRANSACTION_SHOULD_COMMIT",
	TransactionShouldRollback: "TRANSACTION_SHOULD_ROLLBACK", TransactionStateUnknow: "TRANSACTION_STATE_UNKNOW",
	TransactionStateGroupWrong: "TRANSACTION_STATE_GROUP_WRONG", NoBuyerID: "NO_BUYER_ID",
	NotInCurrentUnit: "NOT_IN_CURRENT_UNIT", ConsumerNotOnline: "CONSUMER_NOT_ONLINE",
	ConsumeMsgTimeout: "CONSUME_MSG_TIMEOUT", NoMessage: "NO_MESSAGE",
	NotLeaderForQueue: "NOT_LEADER_FOR_QUEUE", IllegalOperation: "ILLEGAL_OPERATION", GoAway: "GO_AWAY",
	UserNotExist: "USER_NOT_EXIST", PolicyNotExist: "POLICY_NOT_EXIST",
}

// ResponseCodeName returns the Java name of a response code, or "" for an unknown one.
func ResponseCodeName(code int32) string { return responseCodeNames[code] }
