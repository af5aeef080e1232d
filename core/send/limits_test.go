package send

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// skipStoredCheck lets a test hand the broker what the client would refuse.
func skipStoredCheck() CallOption { return func(c *call) { c.skipStoredCheck = true } }

func startReal(t *testing.T, opts ...Option) (*Producer, *rmqtest.Cluster) {
	t.Helper()
	cl := rmqtest.Start(t)
	opts = append([]Option{WithNameServers(cl.NameServer()), WithGroup(fmt.Sprintf("rs_send_%d", time.Now().UnixNano())),
		WithSendTimeout(10 * time.Second)}, opts...)
	p, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p, cl
}

func realTopic(t *testing.T, p *Producer, prefix string, queues int) string {
	t.Helper()
	topic := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1e9)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.CreateTopic(ctx, "", topic, queues, ""); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{rmqtest.BrokerA, rmqtest.BrokerB} {
		for {
			if _, err := p.MaxOffset(ctx, message.MessageQueue{Topic: topic, BrokerName: b, QueueID: queues - 1}); err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("topic %s never usable on %s", topic, b)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return topic
}

// TestStoredPropertiesLimitIsTheBrokers: the client refuses exactly what the broker refuses. A
// message whose properties, with what the broker adds (CLUSTER; REAL_TOPIC and REAL_QID for delays
// and timers; TIMER_OUT_MS; __transactionId__ for a transaction half message), come to 32767 bytes is stored, and the stored message's properties are
// 32767 bytes; one byte more is refused by the client naming the rule, and, with the client's
// check skipped, by the broker.
//
// A 4.9.7 broker stores fewer properties than a 5.x one (49 bytes fewer for the normal message
// here, 90 for the half message), and the client counts what 5.x stores: against 4.x it refuses a
// message that many bytes before the broker would (docs/producer.md, "Broker releases"), and a
// timer is refused as a missing feature.
func TestStoredPropertiesLimitIsTheBrokers(t *testing.T) {
	p, cl := startReal(t)
	line5 := cl.AtLeast("5.0.0")
	topic := realTopic(t, p, "rs_props", 1)
	q := message.MessageQueue{Topic: topic, BrokerName: rmqtest.BrokerA, QueueID: 0}
	ctx := context.Background()
	for _, kind := range []string{"normal", "delay", "timer", "half"} {
		t.Run(kind, func(t *testing.T) {
			build := func(extra int) *message.Message {
				m := message.New(topic, []byte("props"))
				m.SetKeys("k1")
				switch kind {
				case "delay":
					m.SetDelayLevel(3)
				case "timer":
					m.SetDeliverAfter(time.Hour)
				case "half": // a transaction half message, as SendInTransaction sends it
					m.SetSystemProperty(message.PropertyTransactionPrepared, "true")
					m.SetSystemProperty(message.PropertyProducerGroup, p.Group())
				}
				m.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, codec.NextUniqID())
				m.SetWaitStoreMsgOK(true)
				added := codec.BrokerAddedProperties(m.Properties, codec.StoreTarget{Topic: topic, Cluster: rmqtest.ClusterName,
					Region: "DefaultRegion", TraceOn: true, NowMs: time.Now().UnixMilli()})
				pad := codec.MaxPropertiesLength - codec.StoredPropertiesSize(m.Properties, added) - len("pad") - 2 + extra
				if err := m.SetProperty("pad", strings.Repeat("p", pad)); err != nil {
					t.Fatal(err)
				}
				return m
			}
			m := build(0)
			res, err := p.Send(ctx, m, ToQueue(q))
			if kind == "timer" && !line5 {
				if !errors.Is(err, ErrFeatureUnsupported) {
					t.Fatalf("a timer to %s: %v, want the missing feature", cl.Version(), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			if kind == "half" { // end it, so the broker does not check it back for minutes
				if err := p.endTransaction(ctx, m, res, RollbackMessage, nil); err != nil {
					t.Fatal(err)
				}
			}
			stored, err := p.ViewMessage(ctx, res.OffsetMsgID)
			if err != nil {
				t.Fatal(err)
			}
			n := codec.StoredPropertiesSize(stored.Properties, nil)
			if line5 && n != codec.MaxPropertiesLength || !line5 && n > codec.MaxPropertiesLength {
				t.Fatalf("the broker stored %d bytes of properties, the client predicted %d", n, codec.MaxPropertiesLength)
			}
			if !line5 {
				t.Logf("%s stored %d bytes of properties where the client counted %d", cl.Version(), n, codec.MaxPropertiesLength)
			}
			_, err = p.Send(ctx, build(1), ToQueue(q))
			var ve *codec.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), "PROPERTIES_SIZE_EXCEEDED") || !strings.Contains(err.Error(), "CLUSTER") || !strings.Contains(err.Error(), "MSG_REGION") {
				t.Fatalf("one byte over: %v", err)
			}
			if !line5 {
				return // the broker would store it: it counts fewer properties
			}
			_, err = p.Send(ctx, build(1), ToQueue(q), skipStoredCheck())
			if !errors.Is(err, ErrMessageIllegal) {
				t.Fatalf("one byte over, client check skipped: the broker answered %v", err)
			}
		})
	}
}

// bodySwap is a Before hook that replaces the body or adds a property, as a plugin may.
type bodySwap struct {
	body  []byte
	prop  string
	after []error
}

func (h *bodySwap) SendMessageBefore(sc *SendContext) error {
	if h.body != nil {
		sc.Message.Body = h.body
	}
	if h.prop != "" {
		sc.Message.SetSystemProperty("grown", h.prop)
	}
	return nil
}

func (h *bodySwap) SendMessageAfter(sc *SendContext) { h.after = append(h.after, sc.Err) }

// TestLimitsAfterBeforeHooks: what a Before hook leaves is checked against the limits before
// compression, so a hook that swaps in a 20 MiB body (which zlib would shrink under the broker's
// check) or grows the properties past the broker's limit gets a validation error, and nothing is
// sent. The After hooks see the error.
func TestLimitsAfterBeforeHooks(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	for name, h := range map[string]*bodySwap{
		"body":       {body: make([]byte, 20<<20)},
		"properties": {prop: strings.Repeat("x", codec.MaxPropertiesLength)},
	} {
		t.Run(name, func(t *testing.T) {
			before := fc.brokers["broker-a"].sends.Load()
			p := startFake(t, fc, WithHooks(h))
			_, err := p.Send(context.Background(), msg("small"))
			var ve *codec.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("send: %v", err)
			}
			if n := fc.brokers["broker-a"].sends.Load() - before; n != 0 {
				t.Fatalf("%d sends reached the broker", n)
			}
			if len(h.after) != 1 || !errors.As(h.after[0], &ve) {
				t.Fatalf("After hooks saw %v", h.after)
			}
		})
	}
}
