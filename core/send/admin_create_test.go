package send

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/rocketsend/rocketsend/core/codec"
)

// CreateTopic asks each broker up to five times, as Java does; unlike Java, a broker that refused
// all five is reported even when another broker created the topic (docs/producer.md).
func TestCreateTopicTriesEachBrokerFiveTimes(t *testing.T) {
	fc := newFakeCluster(t, "a", "b")
	var triesA, triesB atomic.Int64
	answer := func(b *fakeServer, tries *atomic.Int64, okAt int64) {
		b.setHandler(func(req *codec.Command) *codec.Command {
			if req.Code == codec.UpdateAndCreateTopic {
				if n := tries.Add(1); okAt == 0 || n < okAt {
					return codec.NewResponse(req, codec.SystemError, "not yet")
				}
				return codec.NewResponse(req, codec.Success, "")
			}
			return fakeBrokerAnswer(b, req, codec.Success)
		})
	}
	answer(fc.brokers["a"], &triesA, 5) // accepts the fifth try
	answer(fc.brokers["b"], &triesB, 0) // never accepts
	p := startFake(t, fc)

	err := p.CreateTopic(context.Background(), "", "NewTopic", 4, "")
	if got := triesA.Load(); got != 5 {
		t.Errorf("broker a asked %d times, want 5 (it accepts the fifth)", got)
	}
	if got := triesB.Load(); got != 5 {
		t.Errorf("broker b asked %d times, want 5", got)
	}
	var be *BrokerError
	if !errors.As(err, &be) || be.Broker != "b" {
		t.Fatalf("err = %v, want broker b's refusal", err)
	}
}
