package send

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/route"
)

// uniqKeyLookback is how far back ViewMessageByID searches the index for a client id: Java's
// queryMessageByUniqKey looks three days back.
const uniqKeyLookback = 3 * 24 * time.Hour

// QueryMessage searches every broker of topic's route for messages of topic whose KEYS contain
// key, stored between begin and end, at most maxNum per broker. The broker's index is a hash
// table: it also returns messages whose key only hashes alike ("Aa" and "BB" collide), and those
// of other topics; they are dropped here, as Java's MQAdminImpl.queryMessage drops them. The broker
// indexes asynchronously: a message sent a moment ago may not be found yet.
func (p *Producer) QueryMessage(ctx context.Context, topic, key string, maxNum int, begin, end time.Time) ([]*message.MessageExt, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	if err := codec.ValidateTopic(topic); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("%w: QueryMessage needs a key", codec.ErrValidation)
	}
	return p.queryIndex(ctx, topic, key, false, maxNum, begin.UnixMilli(), end.UnixMilli())
}

// ViewMessageByID reads one message of topic by either of its ids, as Java's
// viewMessage(topic, msgId) does: the broker's offset id (SendResult.OffsetMsgID) is read directly
// from the broker it names, and the client id (SendResult.MsgID, UNIQ_KEY) is looked up in the
// index of every broker of topic's route over the last three days. Both ids are 32 hex digits,
// so an id is read as an offset id only when it names a broker of the topic's route; Java instead
// dials whatever address the id decodes to and falls back after that fails.
func (p *Producer) ViewMessageByID(ctx context.Context, topic, id string) (*message.MessageExt, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	if err := codec.ValidateTopic(topic); err != nil {
		return nil, err
	}
	rd, err := p.routes.FetchRoute(ctx, p.withNamespace(topic))
	if err != nil {
		return nil, err
	}
	if host, _, err := codec.DecodeOffsetMsgID(id); err == nil && routeHasAddr(rd, host.String()) {
		return p.ViewMessage(ctx, id)
	}
	now := time.Now()
	found, err := p.queryIndex(ctx, topic, id, true, 32, now.Add(-uniqKeyLookback).UnixMilli(), math.MaxInt64)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: no message %s in topic %s", ErrMessageNotFound, id, topic)
	}
	return found[0], nil
}

// ErrMessageNotFound is returned by ViewMessageByID when no broker holds the message.
var ErrMessageNotFound = errors.New("send: message not found")

func routeHasAddr(rd *codec.TopicRouteData, addr string) bool {
	for _, b := range rd.BrokerDatas {
		for _, a := range b.BrokerAddrs {
			if a == addr {
				return true
			}
		}
	}
	return false
}

// queryIndex asks the master of every broker of topic's route (QUERY_MESSAGE) and keeps only the
// messages that really match: by client id for a uniq-key query, otherwise by topic and one of the
// space-separated KEYS (Java's filter after the hash lookup).
func (p *Producer) queryIndex(ctx context.Context, topic, key string, uniq bool, maxNum int, begin, end int64) ([]*message.MessageExt, error) {
	nsTopic := p.withNamespace(topic)
	rd, err := p.routes.FetchRoute(ctx, nsTopic)
	if err != nil {
		return nil, err
	}
	var out []*message.MessageExt
	var errs []error
	for _, b := range rd.BrokerDatas {
		addr := b.MasterAddr()
		if addr == "" {
			continue
		}
		h := &codec.QueryMessageRequestHeader{Topic: nsTopic, Key: key, MaxNum: int32(maxNum),
			BeginTimestamp: begin, EndTimestamp: end, UniqKey: uniq}
		resp, err := p.rc.Invoke(ctx, addr, codec.NewRequest(codec.QueryMessage, h, nil), time.Now().Add(p.cfg.sendTimeout))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch resp.Code {
		case codec.Success:
			ms, err := codec.DecodeMessageExts(resp.Body, true)
			if err != nil {
				errs = append(errs, err)
			}
			for _, m := range ms {
				if !indexMatch(m, nsTopic, key, uniq) {
					p.cfg.logger.Debug("query: dropped a message whose key only hashes alike",
						"topic", m.Topic, "msgId", m.MsgID, "keys", m.Property(message.PropertyKeys), "key", key)
					continue
				}
				m.Topic = p.withoutNamespace(m.Topic)
				out = append(out, m)
			}
		case codec.QueryNotFound:
		default:
			errs = append(errs, &BrokerError{Code: resp.Code, Remark: resp.Remark, Broker: b.BrokerName, Addr: addr})
		}
	}
	if len(out) > 0 {
		return out, nil // what some brokers answered beats nothing
	}
	return nil, errors.Join(errs...)
}

// indexMatch is Java's MQAdminImpl.queryMessage filter.
func indexMatch(m *message.MessageExt, topic, key string, uniq bool) bool {
	if uniq {
		return m.MsgID == key
	}
	if m.Topic != topic {
		return false
	}
	for k := range strings.SplitSeq(m.Property(message.PropertyKeys), message.KeySeparator) {
		if k == key {
			return true
		}
	}
	return false
}

// FetchPublishMessageQueues returns the queues a send to topic may use, fresh from the
// NameServer (Java's fetchPublishMessageQueues): the write queues of every broker with a master,
// in Java's order, with topics shown without the namespace. A topic without a route fails with
// ErrNoRoute; one whose route has no writable queue fails too.
func (p *Producer) FetchPublishMessageQueues(ctx context.Context, topic string) ([]message.MessageQueue, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	if err := codec.ValidateTopic(topic); err != nil {
		return nil, err
	}
	nsTopic := p.withNamespace(topic)
	rd, err := p.routes.FetchRoute(ctx, nsTopic)
	if err != nil {
		return nil, err
	}
	info, err := route.NewTopicPublishInfo(nsTopic, rd)
	if err != nil {
		return nil, err
	}
	if len(info.Queues) == 0 {
		return nil, fmt.Errorf("send: topic %s has no writable queue", topic)
	}
	out := make([]message.MessageQueue, len(info.Queues))
	for i, q := range info.Queues {
		q.Topic = topic
		out[i] = q
	}
	return out, nil
}

// RecallMessage cancels a timer message that is not delivered yet, by the recall handle its send
// returned (SendResult.RecallHandle), and returns the recalled message's client id. It needs a
// RocketMQ 5.3.2+ broker started with recallMessageEnable=true; others refuse it with a
// *BrokerError. A handle is only good for the topic and the broker that issued it, and only
// before the delivery time.
func (p *Producer) RecallMessage(ctx context.Context, topic, recallHandle string) (string, error) {
	if err := p.ready(ctx); err != nil {
		return "", err
	}
	if err := codec.ValidateTopic(topic); err != nil {
		return "", err
	}
	if strings.HasPrefix(topic, "%RETRY%") || strings.HasPrefix(topic, "%DLQ%") {
		return "", fmt.Errorf("%w: recall is not supported for retry or dead-letter topic %s", codec.ErrValidation, topic)
	}
	h, err := codec.DecodeRecallHandle(recallHandle)
	if err != nil {
		return "", fmt.Errorf("%w: %w", codec.ErrValidation, err)
	}
	nsTopic := p.withNamespace(topic)
	if _, err := p.routes.PublishInfo(ctx, nsTopic); err != nil {
		return "", err
	}
	addr := p.routes.BrokerAddr(h.BrokerName)
	if addr == "" {
		return "", fmt.Errorf("%w: %s (from the recall handle)", errNoBrokerAddr, h.BrokerName)
	}
	p.ensureHeartbeat(ctx, addr) // learns the broker's release for the check below
	if err := p.RequireFeature(FeatureRecall, h.BrokerName, addr); err != nil {
		return "", err
	}
	req := codec.NewRequest(codec.RecallMessage, &codec.RecallMessageRequestHeader{ProducerGroup: p.group,
		Topic: nsTopic, RecallHandle: recallHandle, BrokerName: h.BrokerName}, nil)
	resp, err := p.rc.Invoke(ctx, addr, req, time.Now().Add(p.cfg.sendTimeout))
	if err != nil {
		return "", err
	}
	if resp.Code != codec.Success {
		return "", &BrokerError{Code: resp.Code, Remark: resp.Remark, Broker: h.BrokerName, Addr: addr}
	}
	return codec.DecodeRecallMessageResponse(resp)
}
