package send

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// Admin queries, Java's MQAdmin part of DefaultMQProducer. Each asks the master of the queue's
// broker and returns a *BrokerError when the broker refuses.

// CreateTopic creates topic with queueNum read and write queues on every broker that hosts the
// key topic, as Java's createTopic(key, newTopic, queueNum, topicSysFlag, attributes) does. key ""
// means the producer's create-topic key (WithCreateTopicKey, default DefaultTopicKey: every broker
// that allows auto-creation). attributes use Java's "+k=v" form and may be empty; opts set the
// topic's system flag (TopicSysFlag).
func (p *Producer) CreateTopic(ctx context.Context, key, topic string, queueNum int, attributes string, opts ...TopicOption) error {
	if err := p.ready(ctx); err != nil {
		return err
	}
	if err := codec.ValidateTopic(topic); err != nil {
		return err
	}
	if queueNum <= 0 {
		return fmt.Errorf("%w: queue count %d must be positive", codec.ErrValidation, queueNum)
	}
	if key == "" {
		key = p.cfg.createTopicKey
	}
	var tc topicConfig
	for _, o := range opts {
		if o == nil {
			return fmt.Errorf("%w: nil TopicOption", codec.ErrValidation)
		}
		o(&tc)
	}
	rd, err := p.routes.FetchRoute(ctx, key) // the key topic is a system topic: never namespaced (Java)
	if err != nil {
		return err
	}
	var errs []error
	created := 0
	for _, b := range rd.BrokerDatas {
		addr := b.MasterAddr()
		if addr == "" {
			continue
		}
		h := &codec.CreateTopicRequestHeader{Topic: p.withNamespace(topic), DefaultTopic: key,
			ReadQueueNums: int32(queueNum), WriteQueueNums: int32(queueNum), Perm: codec.PermRead | codec.PermWrite,
			Attributes: attributes, TopicSysFlag: tc.sysFlag}
		// Five tries per broker, as Java's MQAdminImpl.createTopic: a broker busy with its own
		// start-up or a flush refuses now and accepts a moment later.
		var err error
		for try := 0; try < createTopicTries; try++ {
			if err = p.expectSuccess(ctx, addr, b.BrokerName, codec.NewRequest(codec.UpdateAndCreateTopic, h, nil)); err == nil || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		created++
	}
	if created == 0 && len(errs) == 0 {
		return fmt.Errorf("send: no broker with a master hosts %s", key)
	}
	return errors.Join(errs...)
}

// createTopicTries is how often CreateTopic asks each broker before it reports that broker's
// refusal (Java's MQAdminImpl.createTopic: 5).
const createTopicTries = 5

// TopicOption sets a property of a topic CreateTopic creates.
type TopicOption func(*topicConfig)

type topicConfig struct{ sysFlag int32 }

// Topic system flags (Java's TopicSysFlag), for WithTopicSysFlag.
const (
	// TopicSysFlagUnit marks a unit topic of a unitized deployment (producers send to it with
	// WithUnitMode(true)).
	TopicSysFlagUnit int32 = 1 << 0
	// TopicSysFlagUnitSub marks a topic that unit subscriptions read.
	TopicSysFlagUnitSub int32 = 1 << 1
)

// WithTopicSysFlag sets the topic's system flag (Java's topicSysFlag; default 0): a combination
// of TopicSysFlagUnit and TopicSysFlagUnitSub.
func WithTopicSysFlag(flag int32) TopicOption { return func(c *topicConfig) { c.sysFlag = flag } }

// MaxOffset returns the queue's next offset (one past the last committed message).
func (p *Producer) MaxOffset(ctx context.Context, q message.MessageQueue) (int64, error) {
	h := &codec.GetMaxOffsetRequestHeader{QueueRequestHeader: p.queueHeader(q)}
	return p.offsetQuery(ctx, q, codec.NewRequest(codec.GetMaxOffset, h, nil))
}

// MinOffset returns the queue's smallest offset still stored.
func (p *Producer) MinOffset(ctx context.Context, q message.MessageQueue) (int64, error) {
	h := p.queueHeader(q)
	return p.offsetQuery(ctx, q, codec.NewRequest(codec.GetMinOffset, &h, nil))
}

// SearchOffset returns the offset of the first message stored at or after t (boundary lower).
func (p *Producer) SearchOffset(ctx context.Context, q message.MessageQueue, t time.Time) (int64, error) {
	h := &codec.SearchOffsetRequestHeader{QueueRequestHeader: p.queueHeader(q), Timestamp: t.UnixMilli(),
		Boundary: codec.BoundaryLower}
	return p.offsetQuery(ctx, q, codec.NewRequest(codec.SearchOffsetByTimestamp, h, nil))
}

// EarliestMsgStoreTime returns when the oldest message still stored in the queue was stored.
func (p *Producer) EarliestMsgStoreTime(ctx context.Context, q message.MessageQueue) (time.Time, error) {
	h := p.queueHeader(q)
	resp, err := p.queueRequest(ctx, q, codec.NewRequest(codec.GetEarliestMsgStoreTime, &h, nil))
	if err != nil {
		return time.Time{}, err
	}
	ms, err := codec.DecodeTimestampResponse(resp)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}

// ViewMessage reads one message by its offset message id (SendResult.OffsetMsgID), from the
// broker the id names.
func (p *Producer) ViewMessage(ctx context.Context, offsetMsgID string) (*message.MessageExt, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	host, offset, err := codec.DecodeOffsetMsgID(offsetMsgID)
	if err != nil {
		return nil, err
	}
	resp, err := p.rc.Invoke(ctx, host.String(), codec.NewRequest(codec.ViewMessageByID,
		&codec.ViewMessageRequestHeader{Offset: offset}, nil), time.Now().Add(p.cfg.sendTimeout))
	if err != nil {
		return nil, err
	}
	if resp.Code != codec.Success {
		return nil, &BrokerError{Code: resp.Code, Remark: resp.Remark, Addr: host.String()}
	}
	m, _, err := codec.DecodeMessageExt(resp.Body, true)
	if err != nil {
		return nil, err
	}
	m.Topic = p.withoutNamespace(m.Topic)
	return m, nil
}

func (p *Producer) queueHeader(q message.MessageQueue) codec.QueueRequestHeader {
	return codec.QueueRequestHeader{Topic: p.withNamespace(q.Topic), QueueID: int32(q.QueueID), BrokerName: q.BrokerName}
}

func (p *Producer) offsetQuery(ctx context.Context, q message.MessageQueue, req *codec.Command) (int64, error) {
	resp, err := p.queueRequest(ctx, q, req)
	if err != nil {
		return 0, err
	}
	return codec.DecodeOffsetResponse(resp)
}

// queueRequest sends req to the master of q's broker, fetching the topic's route if the broker is
// not known yet, and turns a refusal into a *BrokerError.
func (p *Producer) queueRequest(ctx context.Context, q message.MessageQueue, req *codec.Command) (*codec.Command, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	addr := p.routes.BrokerAddr(q.BrokerName)
	if addr == "" {
		if _, err := p.routes.PublishInfo(ctx, p.withNamespace(q.Topic)); err != nil {
			return nil, err
		}
		if addr = p.routes.BrokerAddr(q.BrokerName); addr == "" {
			return nil, fmt.Errorf("%w: %s", errNoBrokerAddr, q.BrokerName)
		}
	}
	resp, err := p.rc.Invoke(ctx, addr, req, time.Now().Add(p.cfg.sendTimeout))
	if err != nil {
		return nil, err
	}
	if resp.Code != codec.Success {
		return nil, &BrokerError{Code: resp.Code, Remark: resp.Remark, Broker: q.BrokerName, Addr: addr}
	}
	return resp, nil
}

func (p *Producer) expectSuccess(ctx context.Context, addr, broker string, req *codec.Command) error {
	resp, err := p.rc.Invoke(ctx, addr, req, time.Now().Add(p.cfg.sendTimeout))
	if err != nil {
		return err
	}
	if resp.Code != codec.Success {
		return &BrokerError{Code: resp.Code, Remark: resp.Remark, Broker: broker, Addr: addr}
	}
	return nil
}

// TopicRoute asks the NameServers for topic's route now, past the producer's cache: the brokers
// that host it (with their addresses) and each broker's read and write queue counts and
// permissions. It is what `rocketsend topic route` prints when a send lands somewhere unexpected.
func (p *Producer) TopicRoute(ctx context.Context, topic string) (*TopicRouteData, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	return p.routes.FetchRoute(ctx, p.withNamespace(topic))
}
