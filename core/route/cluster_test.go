package route

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/remote"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// TestMain shares one real RocketMQ cluster among the integration tests and stops it afterwards if
// this binary started it.
func TestMain(m *testing.M) { rmqtest.Main(m) }

// TestRealCluster checks routes against a real NameServer and two brokers (broker-a, broker-b).
func TestRealCluster(t *testing.T) {
	cl := rmqtest.Start(t)
	rc := remote.NewClient()
	t.Cleanup(func() { rc.Close() })
	newClient := func(opts ...Option) *Client {
		c, err := New(rc, append([]Option{WithNameServers(cl.NameServer())}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := newClient()
	addrA, addrB := cl.BrokerAddr(rmqtest.BrokerA), cl.BrokerAddr(rmqtest.BrokerB)

	t.Run("default topic route", func(t *testing.T) {
		rd, err := c.FetchRoute(ctxT(t), DefaultTopic)
		if err != nil {
			t.Fatal(err)
		}
		masters := map[string]string{}
		for _, bd := range rd.BrokerDatas {
			masters[bd.BrokerName] = bd.MasterAddr()
		}
		if masters[rmqtest.BrokerA] != addrA || masters[rmqtest.BrokerB] != addrB {
			t.Fatalf("masters %v, want %s=%s %s=%s", masters, rmqtest.BrokerA, addrA, rmqtest.BrokerB, addrB)
		}
		for _, qd := range rd.QueueDatas {
			if !qd.Writable() || qd.ReadQueueNums < 1 {
				t.Errorf("%s queue data %+v: want writable queues (autoCreateTopicEnable)", DefaultTopic, qd)
			}
		}
		if got := c.Brokers(); got[rmqtest.BrokerA] != addrA || got[rmqtest.BrokerB] != addrB {
			t.Fatalf("Brokers() = %v", got)
		}
		t.Logf("%s route: %+v", DefaultTopic, rd)
	})

	t.Run("created topic publish queues", func(t *testing.T) {
		const topic = "route_it_topic"
		cl.CreateTopic(t, topic, 4)
		p, err := c.PublishInfo(ctxT(t), topic)
		if err != nil {
			t.Fatal(err)
		}
		want := queuesOf(topic, 4, rmqtest.BrokerA, rmqtest.BrokerB)
		if !slices.Equal(p.Queues, want) || p.Fallback || p.OrderTopic {
			t.Fatalf("queues %v (fallback %v, order %v), want %v", p.Queues, p.Fallback, p.OrderTopic, want)
		}
		if c.BrokerAddr(rmqtest.BrokerA) != addrA || c.BrokerAddr(rmqtest.BrokerB) != addrB {
			t.Fatalf("BrokerAddr: %v", c.Brokers())
		}
		p2, err := c.Refresh(ctxT(t), topic)
		if err != nil || !slices.Equal(p2.Queues, want) {
			t.Fatalf("Refresh: %v %v", p2, err)
		}
	})

	unknown := fmt.Sprintf("route_it_unknown_%d", time.Now().UnixNano())

	t.Run("unknown topic falls back to the default topic", func(t *testing.T) {
		_, err := c.FetchRoute(ctxT(t), unknown)
		if !errors.Is(err, ErrNoRoute) {
			t.Fatalf("FetchRoute(%s): %v, want ErrNoRoute", unknown, err)
		}
		rd, err := c.FetchRoute(ctxT(t), DefaultTopic)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, qd := range rd.QueueDatas {
			want = append(want, fmt.Sprintf("%s x %d", qd.BrokerName, min(DefaultTopicQueueNums, int(qd.ReadQueueNums))))
		}
		slices.Sort(want)

		p, err := c.PublishInfo(ctxT(t), unknown)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Fallback || p.Topic != unknown {
			t.Fatalf("fallback %v topic %q", p.Fallback, p.Topic)
		}
		count := map[string]int{}
		for i, q := range p.Queues {
			if q.Topic != unknown {
				t.Fatalf("queue %v carries the wrong topic", q)
			}
			if i > 0 && p.Queues[i-1].BrokerName > q.BrokerName {
				t.Fatalf("queues out of order: %v", p.Queues)
			}
			count[q.BrokerName]++
		}
		var got []string
		for b, n := range count {
			got = append(got, fmt.Sprintf("%s x %d", b, n))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("fallback queues %v, want %v", got, want)
		}
	})

	t.Run("unknown topic without fallback", func(t *testing.T) {
		strict := newClient(WithoutDefaultTopic())
		_, err := strict.PublishInfo(ctxT(t), unknown)
		var nre *NoRouteError
		if !errors.As(err, &nre) || !slices.Equal(nre.NameServers, []string{cl.NameServer()}) {
			t.Fatalf("err = %v, want a NoRouteError naming %s", err, cl.NameServer())
		}
		t.Logf("error text: %v", err)
	})

	t.Run("failover from a dead NameServer to the real one", func(t *testing.T) {
		fo := newClient(WithNameServers(deadAddr(t)))
		fo.nsIndex.Store(1) // the dead address is second in the list: ask it first
		if _, err := fo.FetchRoute(ctxT(t), DefaultTopic); err != nil {
			t.Fatal(err)
		}
		if got := fo.nsIndex.Load(); got != 0 {
			t.Fatalf("the NameServer that answered was not remembered (index %d)", got)
		}
	})
}
