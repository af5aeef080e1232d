package rocketsend

import (
	"context"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// The send methods of the producer: those of send.Producer, whose documentation applies. The
// producer is held, not embedded, so that its Start and Shutdown are not reachable: Shutdown alone
// would leave the plugins (and their processes) running. Close stops everything.

// Send sends msg and waits for the broker's answer (send.Producer.Send).
func (p *Producer) Send(ctx context.Context, msg *message.Message, opts ...send.CallOption) (*message.SendResult, error) {
	return p.sp.Send(ctx, msg, opts...)
}

// SendAsync sends msg and calls cb with the outcome (send.Producer.SendAsync).
func (p *Producer) SendAsync(ctx context.Context, msg *message.Message, cb func(*message.SendResult, error), opts ...send.CallOption) error {
	return p.sp.SendAsync(ctx, msg, cb, opts...)
}

// SendOneway writes msg without waiting for an answer (send.Producer.SendOneway).
func (p *Producer) SendOneway(ctx context.Context, msg *message.Message, opts ...send.CallOption) error {
	return p.sp.SendOneway(ctx, msg, opts...)
}

// SendBatch sends messages of one topic as batches (send.Producer.SendBatch).
func (p *Producer) SendBatch(ctx context.Context, msgs []*message.Message, opts ...send.CallOption) (*send.BatchResult, error) {
	return p.sp.SendBatch(ctx, msgs, opts...)
}

// SendInTransaction sends a half message, runs local and ends the transaction
// (send.Producer.SendInTransaction).
func (p *Producer) SendInTransaction(ctx context.Context, msg *message.Message, local send.LocalTransaction) (*send.TransactionResult, error) {
	return p.sp.SendInTransaction(ctx, msg, local)
}

// Request sends msg as a request and waits for its reply (send.Producer.Request).
func (p *Producer) Request(ctx context.Context, msg *message.Message, opts ...send.CallOption) (*message.Message, error) {
	return p.sp.Request(ctx, msg, opts...)
}

// RequestAsync sends msg as a request and calls cb with the reply (send.Producer.RequestAsync).
func (p *Producer) RequestAsync(ctx context.Context, msg *message.Message, cb func(*message.Message, error), opts ...send.CallOption) error {
	return p.sp.RequestAsync(ctx, msg, cb, opts...)
}

// CreateTopic creates a topic on the brokers hosting key (send.Producer.CreateTopic).
func (p *Producer) CreateTopic(ctx context.Context, key, topic string, queueNum int, attributes string, opts ...send.TopicOption) error {
	return p.sp.CreateTopic(ctx, key, topic, queueNum, attributes, opts...)
}

// MaxOffset returns the queue's next offset (send.Producer.MaxOffset).
func (p *Producer) MaxOffset(ctx context.Context, q message.MessageQueue) (int64, error) {
	return p.sp.MaxOffset(ctx, q)
}

// MinOffset returns the queue's smallest offset still stored (send.Producer.MinOffset).
func (p *Producer) MinOffset(ctx context.Context, q message.MessageQueue) (int64, error) {
	return p.sp.MinOffset(ctx, q)
}

// SearchOffset returns the offset of the first message stored at or after t
// (send.Producer.SearchOffset).
func (p *Producer) SearchOffset(ctx context.Context, q message.MessageQueue, t time.Time) (int64, error) {
	return p.sp.SearchOffset(ctx, q, t)
}

// EarliestMsgStoreTime returns when the queue's oldest stored message was stored
// (send.Producer.EarliestMsgStoreTime).
func (p *Producer) EarliestMsgStoreTime(ctx context.Context, q message.MessageQueue) (time.Time, error) {
	return p.sp.EarliestMsgStoreTime(ctx, q)
}

// ViewMessage reads one message by its offset message id (send.Producer.ViewMessage).
func (p *Producer) ViewMessage(ctx context.Context, offsetMsgID string) (*message.MessageExt, error) {
	return p.sp.ViewMessage(ctx, offsetMsgID)
}

// QueryMessage searches topic's brokers for messages by key (send.Producer.QueryMessage).
func (p *Producer) QueryMessage(ctx context.Context, topic, key string, maxNum int, begin, end time.Time) ([]*message.MessageExt, error) {
	return p.sp.QueryMessage(ctx, topic, key, maxNum, begin, end)
}

// TopicRoute asks the NameServers for topic's route now, past the cache (send.Producer.TopicRoute).
func (p *Producer) TopicRoute(ctx context.Context, topic string) (*codec.TopicRouteData, error) {
	return p.sp.TopicRoute(ctx, topic)
}

// ViewMessageByID reads one message by its offset id or client id (send.Producer.ViewMessageByID).
func (p *Producer) ViewMessageByID(ctx context.Context, topic, id string) (*message.MessageExt, error) {
	return p.sp.ViewMessageByID(ctx, topic, id)
}

// FetchPublishMessageQueues returns the queues a send to topic may use, fresh from the NameServer
// (send.Producer.FetchPublishMessageQueues).
func (p *Producer) FetchPublishMessageQueues(ctx context.Context, topic string) ([]message.MessageQueue, error) {
	return p.sp.FetchPublishMessageQueues(ctx, topic)
}

// RecallMessage recalls a delayed message before its delivery time (send.Producer.RecallMessage).
func (p *Producer) RecallMessage(ctx context.Context, topic, recallHandle string) (string, error) {
	return p.sp.RecallMessage(ctx, topic, recallHandle)
}

// BrokerVersion returns the version the broker at addr last answered with
// (send.Producer.BrokerVersion).
func (p *Producer) BrokerVersion(addr string) (int32, bool) { return p.sp.BrokerVersion(addr) }

// RequireFeature returns a *send.FeatureError when the broker at addr is known to lack f
// (send.Producer.RequireFeature).
func (p *Producer) RequireFeature(f send.Feature, broker, addr string) error {
	return p.sp.RequireFeature(f, broker, addr)
}

// ClientID returns the id the producer announces to brokers (send.Producer.ClientID).
func (p *Producer) ClientID() string { return p.sp.ClientID() }

// Group returns the producer group, with the namespace if one is set (send.Producer.Group).
func (p *Producer) Group() string { return p.sp.Group() }
