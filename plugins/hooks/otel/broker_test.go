package otel

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestMain(m *testing.M) { rmqtest.Main(m) }

// TestRealProducerSpans: the hook in a real producer against the real broker, sync and async:
// one span per attempt with the broker the producer chose and the id the broker acknowledged,
// and the attempts counted by the metrics.
func TestRealProducerSpans(t *testing.T) {
	cl := rmqtest.Start(t)
	topic := "rs_otel_" + strconv.FormatInt(time.Now().UnixNano()%1e10, 36)
	cl.CreateTopic(t, topic, 2)
	h := newHarness(t)
	p, err := send.New(send.WithNameServers(cl.NameServer()), send.WithGroup(topic+"_g"), send.WithHooks(h.hook),
		send.WithSendTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(ctx) }()

	results := map[string]*message.SendResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		m := message.New(topic, []byte(fmt.Sprintf("body %d", i)))
		if i%2 == 0 {
			res, err := p.Send(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			results[res.MsgID] = res
			mu.Unlock()
			continue
		}
		wg.Add(1)
		if err := p.SendAsync(ctx, m, func(res *message.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("async: %v", err)
				return
			}
			mu.Lock()
			results[res.MsgID] = res
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()

	spans := h.spans.GetSpans()
	if len(spans) != 6 {
		t.Fatalf("%d spans for 6 single-attempt sends", len(spans))
	}
	for _, s := range spans {
		a := attrs(s.Attributes)
		res := results[a["messaging.message.id"].String()]
		if res == nil {
			t.Errorf("span %q with message id %q that no send returned", s.Name, a["messaging.message.id"].String())
			continue
		}
		addr := cl.BrokerAddr(res.Queue.BrokerName)
		if s.Name != "send "+topic || a["server.address"].String()+":"+a["server.port"].String() != addr ||
			a["rocketsend.send.status"].String() != "SEND_OK" {
			t.Errorf("span %q attributes %v; want broker %s", s.Name, a, addr)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == MetricSendMessages {
				dps := m.Data.(metricdata.Sum[int64]).DataPoints
				if len(dps) != 1 || dps[0].Value != 6 {
					t.Errorf("%s: %+v", m.Name, dps)
				}
				return
			}
		}
	}
	t.Errorf("no %s", MetricSendMessages)
}
