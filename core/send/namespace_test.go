package send

import (
	"context"
	"sync"
	"testing"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// TestNamespaceOnlyOnTheWire: the namespace is applied once, on the wire (route lookups and
// request headers); hooks, selectors, results and the caller's message keep the topic as the user
// named it, also when the user wrote it with the namespace.
func TestNamespaceOnlyOnTheWire(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	var mu sync.Mutex
	var routed, sent, hooked []string
	record := func(to *[]string, s string) {
		mu.Lock()
		*to = append(*to, s)
		mu.Unlock()
	}
	fc.ns.setHandler(func(req *codec.Command) *codec.Command {
		if v, ok := req.ExtValue("topic"); ok {
			record(&routed, v)
		}
		return fc.route(req)
	})
	b := fc.brokers["broker-a"]
	b.setHandler(func(req *codec.Command) *codec.Command {
		if h, err := codec.DecodeSendMessageRequestHeader(req); err == nil {
			record(&sent, h.Topic)
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	hook := hookFuncs{
		forbid: func(sc *SendContext) error { record(&hooked, "forbid "+sc.Message.Topic); return nil },
		before: func(sc *SendContext) error { record(&hooked, "before "+sc.Message.Topic); return nil },
	}
	after := &attempts{}
	p := startFake(t, fc, WithNamespace("ns"), WithHooks(hook, after))
	sel := QueueSelectorFunc(func(m *message.Message, qs []message.MessageQueue, _ any) (message.MessageQueue, error) {
		record(&hooked, "select "+m.Topic)
		return qs[0], nil
	})
	for _, topic := range []string{"FakeTopic", "ns%FakeTopic"} {
		m := message.New(topic, []byte("x"))
		res, err := p.Send(context.Background(), m, WithSelector(sel, nil))
		if err != nil {
			t.Fatal(err)
		}
		if res.Queue.Topic != "FakeTopic" || m.Topic != "FakeTopic" {
			t.Errorf("sent as %q: result queue topic %q, message topic %q, want FakeTopic", topic, res.Queue.Topic, m.Topic)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range routed {
		if r != "ns%FakeTopic" {
			t.Errorf("route looked up for %q, want ns%%FakeTopic", r)
		}
	}
	if len(sent) != 2 || sent[0] != "ns%FakeTopic" || sent[1] != "ns%FakeTopic" {
		t.Errorf("topics on the wire %q, want ns%%FakeTopic twice", sent)
	}
	want := []string{"forbid FakeTopic", "before FakeTopic", "select FakeTopic"}
	if len(hooked) != 6 {
		t.Fatalf("hooks saw %q", hooked)
	}
	for i, h := range hooked {
		if h != want[i%3] {
			t.Errorf("hook call %d saw %q, want %q", i, h, want[i%3])
		}
	}
	for _, sc := range after.seen {
		if sc.Message.Topic != "FakeTopic" || sc.Queue.Topic != "FakeTopic" || sc.Namespace != "ns" {
			t.Errorf("after hook saw message topic %q, queue topic %q, namespace %q", sc.Message.Topic, sc.Queue.Topic, sc.Namespace)
		}
	}
}
