package send

import (
	"github.com/rocketsend/rocketsend/core/codec"
)

// CodeError is one broker response code as an error value, as franz-go's kerr.Error is for
// Kafka: every *BrokerError unwraps to the CodeError of its code, so
//
//	errors.Is(err, send.ErrNoPermission)
//
// asks "did a broker answer NO_PERMISSION?" whatever wraps it. The values are the Err* variables
// below; compare them, never build one.
type CodeError struct {
	// Code is the response code on the wire (Java ResponseCode).
	Code int32
	// Name is Java's name of the code.
	Name string
	// Retriable says whether Java's producer retries a sync send that got this code
	// (DefaultMQProducer.retryResponseCodes), and so whether IsRetriable reports it.
	Retriable bool
	// Description says what the broker means by it.
	Description string
}

// Error returns the code's name, as Java prints it.
func (e *CodeError) Error() string { return e.Name }

// The broker response codes a producer can meet. The sync send retries the Retriable ones on
// another broker; see docs/producer.md for what each kind of send does with each.
var (
	ErrSystemError             = code(codec.SystemError, true, "the broker failed to process the request")
	ErrSystemBusy              = code(codec.SystemBusy, true, "the broker is overloaded (page cache busy, queue full) and refused the request")
	ErrRequestCodeNotSupported = code(codec.RequestCodeNotSupported, false, "the broker does not know the request (older broker version)")
	ErrTransactionFailed       = code(codec.TransactionFailed, false, "the broker could not end the transaction")
	ErrFlushDiskTimeout        = code(codec.FlushDiskTimeoutCode, false, "stored, but the disk flush timed out (a send reports it as a status)")
	ErrSlaveNotAvailable       = code(codec.SlaveNotAvailableCode, false, "stored, but no replica is available (a send reports it as a status)")
	ErrFlushSlaveTimeout       = code(codec.FlushSlaveTimeoutCode, false, "stored, but replication timed out (a send reports it as a status)")
	ErrMessageIllegal          = code(codec.MessageIllegal, false, "the broker refused the message: size, properties or topic invalid")
	ErrServiceNotAvailable     = code(codec.ServiceNotAvailable, true, "the broker does not take writes now (slave, shutting down, disk full)")
	ErrVersionNotSupported     = code(codec.VersionNotSupported, false, "the broker refused the client's protocol version")
	ErrNoPermission            = code(codec.NoPermission, true, "the topic or broker is not writable, or ACL refused the request")
	ErrTopicNotExist           = code(codec.TopicNotExist, true, "the topic does not exist on that broker and auto-creation is off")
	ErrTopicExistAlready       = code(codec.TopicExistAlready, false, "the topic exists already")
	ErrQueryNotFound           = code(codec.QueryNotFound, false, "no message matched the query")
	ErrInvalidParameter        = code(codec.InvalidParameter, false, "a request parameter was invalid")
	ErrNoBuyerID               = code(codec.NoBuyerID, true, "the message has no buyer id (unit mode)")
	ErrNotInCurrentUnit        = code(codec.NotInCurrentUnit, true, "the message belongs to another unit (unit mode)")
	ErrNotLeaderForQueue       = code(codec.NotLeaderForQueue, false, "the broker is not the leader of that queue (static topic)")
	ErrIllegalOperation        = code(codec.IllegalOperation, false, "the broker refused the operation")
	ErrGoAway                  = code(codec.GoAway, true, "the broker is going away (proxy or graceful shutdown)")
	ErrUserNotExist            = code(codec.UserNotExist, false, "ACL 2.0: the access key names no user")
	ErrPolicyNotExist          = code(codec.PolicyNotExist, false, "ACL 2.0: no policy grants the request")
)

var codeErrors = map[int32]*CodeError{}

func code(c int32, retriable bool, desc string) *CodeError {
	e := &CodeError{Code: c, Name: codec.ResponseCodeName(c), Retriable: retriable, Description: desc}
	codeErrors[c] = e
	return e
}

// ErrorForCode returns the CodeError of a response code, or nil for SUCCESS and codes this
// client does not know (a *BrokerError still carries those in its Code).
func ErrorForCode(c int32) *CodeError { return codeErrors[c] }
