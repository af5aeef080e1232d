package send

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

// TestOfflineBrokerIsForgotten: once no route lists broker-b, the producer stops heartbeating it
// and Shutdown does not unregister from it (Java's cleanOfflineBroker); broker-a goes on.
func TestOfflineBrokerIsForgotten(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	var mu sync.Mutex
	calls := map[string]map[int32]int{"broker-a": {}, "broker-b": {}}
	for name, b := range fc.brokers {
		b.setHandler(func(req *codec.Command) *codec.Command {
			mu.Lock()
			calls[name][req.Code]++
			mu.Unlock()
			return fakeBrokerAnswer(b, req, codec.Success)
		})
	}
	count := func(broker string, code int32) int {
		mu.Lock()
		defer mu.Unlock()
		return calls[broker][code]
	}
	p, err := New(WithNameServers(fc.addr()), WithGroup("offline_group"), WithHeartbeatInterval(20*time.Millisecond),
		WithRoutePollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), msg("x")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return count("broker-b", codec.HeartBeat) >= 2 })

	onlyA := &fakeCluster{t: t, brokers: map[string]*fakeServer{"broker-a": fc.brokers["broker-a"]}, queues: fc.queues}
	fc.ns.setHandler(onlyA.route)
	waitUntil(t, func() bool { _, ok := p.routes.Brokers()["broker-b"]; return !ok })
	time.Sleep(50 * time.Millisecond) // a heartbeat round already under way may still reach broker-b
	hb := count("broker-b", codec.HeartBeat)
	hbA := count("broker-a", codec.HeartBeat)
	waitUntil(t, func() bool { return count("broker-a", codec.HeartBeat) >= hbA+3 })
	if n := count("broker-b", codec.HeartBeat); n != hb {
		t.Fatalf("broker-b heartbeated %d more times after leaving every route", n-hb)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if count("broker-b", codec.UnregisterClient) != 0 || count("broker-a", codec.UnregisterClient) != 1 {
		t.Fatalf("unregister: broker-a %d, broker-b %d", count("broker-a", codec.UnregisterClient), count("broker-b", codec.UnregisterClient))
	}
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
	}
}
