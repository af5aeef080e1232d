package send

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

// TestJavaSettingsReachTheWire: the create-topic key and unitMode travel in every send header,
// the client IP names the client, and the latency table decides isolation.
func TestJavaSettingsReachTheWire(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	b := fc.brokers["broker-a"]
	var mu sync.Mutex
	var seen []*codec.SendMessageRequestHeader
	b.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendMessageV2 {
			h, err := codec.DecodeSendMessageRequestHeader(req)
			if err == nil {
				mu.Lock()
				seen = append(seen, h)
				mu.Unlock()
			}
		}
		return fakeBrokerAnswer(b, req, codec.Success)
	})
	p := startFake(t, fc, WithCreateTopicKey("MY_KEY"), WithUnitMode(true), WithClientIP("10.9.8.7"),
		WithLatencyTable([]time.Duration{0, time.Second}, []time.Duration{time.Millisecond, time.Minute}))
	if _, err := p.Send(context.Background(), msg("x")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].DefaultTopic != "MY_KEY" || !seen[0].UnitMode {
		t.Fatalf("headers %+v", seen)
	}
	if !strings.HasPrefix(p.ClientID(), "10.9.8.7@") {
		t.Fatalf("client id %s", p.ClientID())
	}
	if d := p.fault.NotAvailableDuration(2 * time.Second); d != time.Minute {
		t.Fatalf("isolation %v", d)
	}

	// Defaults: Java's key, unitMode off.
	seen = nil
	mu.Unlock()
	p2 := startFake(t, fc)
	if _, err := p2.Send(context.Background(), msg("x")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].DefaultTopic != DefaultTopicKey || seen[0].UnitMode {
		t.Fatalf("default headers %+v", seen)
	}
	if d := p2.fault.NotAvailableDuration(2 * time.Second); d != 5*time.Second {
		t.Fatalf("default isolation %v", d)
	}
}

func TestJavaSettingsRefused(t *testing.T) {
	_, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"), WithCreateTopicKey(""), WithClientIP("host name"),
		WithLatencyTable([]time.Duration{time.Second, 0}, []time.Duration{0, 0}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"create topic key", "client IP", "ascend"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	if _, err := New(WithNameServers("127.0.0.1:1"), WithGroup("g"),
		WithLatencyTable([]time.Duration{time.Second}, nil)); err == nil || !strings.Contains(err.Error(), "latency table") {
		t.Fatalf("uneven table: %v", err)
	}
}
