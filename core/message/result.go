package message

import (
	"fmt"
	"net/netip"
)

// MessageQueue names one queue of a topic on one broker. Queues are ordered by topic, broker name
// and id, the order Java uses, so that selectors agree across clients.
type MessageQueue struct {
	Topic      string
	BrokerName string
	QueueID    int
}

func (q MessageQueue) String() string {
	return fmt.Sprintf("%s@%s:%d", q.Topic, q.BrokerName, q.QueueID)
}

// SendStatus says how a broker stored a message that it accepted. Anything other than SendOK
// still means the message is stored; it reports a weaker durability guarantee than asked for.
type SendStatus int

const (
	SendOK SendStatus = iota
	FlushDiskTimeout
	FlushSlaveTimeout
	SlaveNotAvailable
)

func (s SendStatus) String() string {
	switch s {
	case SendOK:
		return "SEND_OK"
	case FlushDiskTimeout:
		return "FLUSH_DISK_TIMEOUT"
	case FlushSlaveTimeout:
		return "FLUSH_SLAVE_TIMEOUT"
	case SlaveNotAvailable:
		return "SLAVE_NOT_AVAILABLE"
	}
	return fmt.Sprintf("SendStatus(%d)", int(s))
}

// SendResult is what a successful send returns.
type SendResult struct {
	Status SendStatus
	// MsgID is the client-side id (UNIQ_KEY); for a batch, the ids of its messages joined by commas.
	MsgID string
	// OffsetMsgID is the broker's id: store host and commit-log offset. ViewMessage takes it.
	OffsetMsgID   string
	Queue         MessageQueue
	QueueOffset   int64
	TransactionID string
	RegionID      string
	TraceOn       bool
	// RecallHandle is set for a timer message (SetDeliverAt, SetDeliverAfter) accepted by a
	// RocketMQ 5.3.2+ broker: Producer.RecallMessage takes it to cancel the delivery.
	RecallHandle string
}

// MessageExt is a message as a broker stored it, decoded from a commit-log record (pull, view by
// id, query, transaction check-back).
type MessageExt struct {
	Message
	// MsgID is the client id (UNIQ_KEY) when the message carries one, otherwise OffsetMsgID.
	MsgID                     string
	OffsetMsgID               string
	QueueID                   int32
	StoreSize                 int32
	BodyCRC                   int32
	QueueOffset               int64
	CommitLogOffset           int64
	SysFlag                   int32
	BornTimestamp             int64
	BornHost                  netip.AddrPort
	StoreTimestamp            int64
	StoreHost                 netip.AddrPort
	ReconsumeTimes            int32
	PreparedTransactionOffset int64
}
