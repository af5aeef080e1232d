package send

import (
	"fmt"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/route"
)

// checkAfterHooks applies the limits again to what the Before hooks left, before compression:
// the body against the maximum message size (a hook that replaced it with 20 MiB must not get it
// through because compression shrinks it under the broker's check), and the properties exactly as
// the broker will count them once it added its own (CLUSTER, and REAL_TOPIC and the like for
// delayed, timer and transaction messages). A batch wrapper's body is the encoded batch, checked
// when it was split.
func (c *call) checkAfterHooks(tp *route.TopicPublishInfo, q message.MessageQueue) error {
	m := c.msg
	if !c.batch {
		if err := codec.ValidateBody(m.Body, c.p.cfg.maxMessageSize); err != nil {
			return fmt.Errorf("after the Before hooks: %w", err)
		}
	}
	if err := codec.ValidateProperties(m.Properties); err != nil {
		return fmt.Errorf("after the Before hooks: %w", err)
	}
	if c.skipStoredCheck {
		return nil
	}
	t := codec.StoreTarget{Topic: m.Topic, QueueID: q.QueueID, Cluster: clusterOf(tp, q.BrokerName),
		Region: defaultRegion, TraceOn: true, NowMs: time.Now().UnixMilli()}
	if f, ok := c.p.brokerFacts.Load(q.BrokerName); ok {
		t.Region, t.TraceOn = f.(brokerFacts).region, f.(brokerFacts).traceOn
	}
	return codec.ValidateStoredProperties(m.Properties, codec.BrokerAddedProperties(m.Properties, t))
}

// defaultRegion is a broker's regionId unless configured otherwise.
const defaultRegion = "DefaultRegion"

// brokerFacts are what a broker adds to every message it stores, learned from its send responses
// (until the first one, a broker's defaults are assumed).
type brokerFacts struct {
	region  string
	traceOn bool
}

// noteBrokerFacts remembers what broker said in a send response; it writes only on a change.
func (p *Producer) noteBrokerFacts(broker, region string, traceOn bool) {
	f := brokerFacts{region, traceOn}
	if old, ok := p.brokerFacts.Load(broker); !ok || old.(brokerFacts) != f {
		p.brokerFacts.Store(broker, f)
	}
}

// clusterOf returns the cluster of brokerName in the route, "" when the route does not say.
func clusterOf(tp *route.TopicPublishInfo, brokerName string) string {
	if tp == nil || tp.Route == nil {
		return ""
	}
	for _, b := range tp.Route.BrokerDatas {
		if b.BrokerName == brokerName {
			return b.Cluster
		}
	}
	return ""
}
