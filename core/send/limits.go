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
//
// With no hook and no selector, nothing could change the message since newCall validated it (it
// added only its own UNIQ_KEY and WAIT), so only the stored-properties check runs.
func (c *call) checkAfterHooks(tp *route.TopicPublishInfo, q message.MessageQueue) error {
	m := c.msg
	edited := c.mayBeEdited()
	if edited && !c.batch {
		if err := codec.ValidateBody(m.Body, c.p.cfg.maxMessageSize); err != nil {
			return fmt.Errorf("after the Before hooks: %w", err)
		}
	}
	if edited || c.batch {
		props, err := codec.CheckProperties(m.Properties)
		if err != nil {
			return fmt.Errorf("after the Before hooks: %w", err)
		}
		c.props = props
	}
	if c.skipStoredCheck {
		return nil
	}
	t := codec.StoreTarget{Topic: m.Topic, QueueID: q.QueueID, Cluster: clusterOf(tp, q.BrokerName),
		Region: defaultRegion, TraceOn: true}
	if c.batch || c.props.Special {
		t.NowMs = time.Now().UnixMilli() // read for timer messages only
	}
	if f, ok := c.p.brokerFacts.Load(q.BrokerName); ok {
		t.Region, t.TraceOn = f.(brokerFacts).region, f.(brokerFacts).traceOn
	}
	if c.batch {
		switch {
		case c.spreadBody != nil:
			return checkBatchRecords(c.spreadRecords, c.spreadProps, t)
		case c.held != nil:
			return c.held.checkRecords(c.batchRecords, m.Properties, t)
		}
		return checkBatchRecords(c.batchRecords, m.Properties, t)
	}
	return codec.CheckStoredProperties(m.Properties, c.props, t)
}

// mayBeEdited says whether anything since newCall was handed the message and could have changed
// it: a forbidden check, a Before hook or a selector.
func (c *call) mayBeEdited() bool {
	return len(c.hooks.before) > 0 || len(c.hooks.forbidden) > 0 || c.selector != nil
}

// checkBatchRecords applies the properties limit to every message of a batch request. The broker
// appends the request's properties, and its own (MSG_REGION, TRACE_ON, CLUSTER), to each record's
// without checking the sum; a sum over the limit would be stored with a wrapped length, so it is
// refused here.
func checkBatchRecords(records []*message.Message, wrapper map[string]string, t codec.StoreTarget) error {
	shared := codec.StoredPropertiesSize(wrapper, codec.BrokerAddedProperties(map[string]string{}, t))
	for i, r := range records {
		own := codec.StoredPropertiesSize(r.Properties, nil)
		if n := own + shared; n > codec.MaxPropertiesLength {
			return &codec.ValidationError{Field: fmt.Sprintf("properties of batch message %d", i), Rule: fmt.Sprintf(
				"come to %d bytes once the broker appends the batch's and its own (MSG_REGION, TRACE_ON, CLUSTER), over the limit of %d (the broker would store a wrapped length)",
				n, codec.MaxPropertiesLength)}
		}
	}
	return nil
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
