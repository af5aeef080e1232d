package route

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// TopicPublishInfo is the list of queues a producer may send a topic's messages to, built from the
// topic's route. It is immutable once built (a refresh builds a new one), so a send can hold it
// without locks; callers must not modify Queues or Route.
type TopicPublishInfo struct {
	Topic string
	// Queues are the writable queues, in Java's order: broker by broker, brokers sorted by name,
	// queue ids ascending; for an ordered topic, the order of its orderTopicConf. Every client that
	// sees the same route sees the same order, so hash selectors agree across machines (the
	// inconsistent ordering of rocketmq-client-go #795 / #1092).
	Queues []message.MessageQueue
	// OrderTopic is set when the route carried an orderTopicConf.
	OrderTopic bool
	// Fallback is set when the topic had no route and the queues come from the default topic's
	// route (TBW102): the broker creates the topic on the first send, and the next refresh after that
	// finds the topic's own route.
	Fallback bool
	// Route is the route the queues were built from; for a fallback, the default topic's route with
	// its queue numbers capped, as Java keeps it.
	Route *codec.TopicRouteData

	// counter is the topic's round-robin position (for fault.Strategy.SelectOneMessageQueue). A
	// refresh carries it over, so the rotation continues where it was.
	counter atomic.Uint32
}

// Empty reports whether there is no queue to send to (no writable queue on a broker with a master):
// the producer must fail the send rather than pick a queue.
func (p *TopicPublishInfo) Empty() bool { return p == nil || len(p.Queues) == 0 }

// Counter returns the topic's round-robin position, shared by every send of the topic; pass it to
// fault.Strategy.SelectOneMessageQueue.
func (p *TopicPublishInfo) Counter() *atomic.Uint32 { return &p.counter }

// WriteQueueNums returns how many write queues the route gives broker brokerName, or -1 when the
// route does not list it (Java's getWriteQueueNumsByBroker).
func (p *TopicPublishInfo) WriteQueueNums(brokerName string) int {
	if p.Route != nil {
		for _, qd := range p.Route.QueueDatas {
			if qd.BrokerName == brokerName {
				return int(qd.WriteQueueNums)
			}
		}
	}
	return -1
}

// NewTopicPublishInfo builds topic's publish info from its route exactly as Java's
// MQClientInstance.topicRouteData2TopicPublishInfo does:
//
//   - with an orderTopicConf ("brokerName:n;brokerName:n"), exactly those queues, 0..n-1 per
//     entry, in the order listed, and OrderTopic set;
//   - otherwise the route's QueueDatas sorted by broker name (a stable sort, as Java's), skipping
//     those without the write permission and those whose BrokerData is missing or has no master
//     (broker id 0), with queues 0..writeQueueNums-1 each.
//
// Static topics (topicQueueMappingByBroker) are not supported: codec does not decode that field,
// and such routes are built like ordinary ones. A malformed orderTopicConf is an error wrapping
// codec.ErrMalformed (Java throws too). The route is kept, not copied.
func NewTopicPublishInfo(topic string, rd *codec.TopicRouteData) (*TopicPublishInfo, error) {
	p := &TopicPublishInfo{Topic: topic, Route: rd}
	p.counter.Store(rand.Uint32()) // like Java's ThreadLocalIndex: producers do not all start on queue 0
	if rd == nil {
		return p, nil
	}
	if rd.OrderTopicConf != "" {
		p.OrderTopic = true
		for _, entry := range strings.Split(rd.OrderTopicConf, ";") {
			if entry == "" {
				continue // "a:4;" has a trailing separator; Java's split drops it too
			}
			broker, num, ok := strings.Cut(entry, ":")
			n, err := strconv.Atoi(num)
			if !ok || broker == "" || err != nil || n < 0 {
				return nil, fmt.Errorf("%w: topic %q: orderTopicConf entry %q is not brokerName:queueNums", codec.ErrMalformed, topic, entry)
			}
			for i := range n {
				p.Queues = append(p.Queues, message.MessageQueue{Topic: topic, BrokerName: broker, QueueID: i})
			}
		}
		return p, nil
	}

	qds := slices.Clone(rd.QueueDatas)
	slices.SortStableFunc(qds, func(a, b codec.QueueData) int { return strings.Compare(a.BrokerName, b.BrokerName) })
	for _, qd := range qds {
		if !qd.Writable() || !hasMaster(rd, qd.BrokerName) {
			continue
		}
		for i := range int(qd.WriteQueueNums) {
			p.Queues = append(p.Queues, message.MessageQueue{Topic: topic, BrokerName: qd.BrokerName, QueueID: i})
		}
	}
	return p, nil
}

// hasMaster reports whether the first BrokerData named brokerName has a master address (Java takes
// the first match too).
func hasMaster(rd *codec.TopicRouteData, brokerName string) bool {
	for _, bd := range rd.BrokerDatas {
		if bd.BrokerName == brokerName {
			_, ok := bd.BrokerAddrs[codec.MasterID]
			return ok
		}
	}
	return false
}

// fallbackRoute returns a copy of the default topic's route with every broker's read and write queue
// numbers capped at queueNums, as Java's updateTopicRouteInfoFromNameServer(topic, true, producer)
// does before building the publish info of a topic without a route. Java caps by readQueueNums and
// sets both numbers to the result.
func fallbackRoute(def *codec.TopicRouteData, queueNums int) *codec.TopicRouteData {
	rd := *def
	rd.QueueDatas = slices.Clone(def.QueueDatas)
	for i := range rd.QueueDatas {
		n := min(int32(queueNums), rd.QueueDatas[i].ReadQueueNums)
		rd.QueueDatas[i].ReadQueueNums = n
		rd.QueueDatas[i].WriteQueueNums = n
	}
	return &rd
}
