package send

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

func TestVersionOrdinalsAreJavas(t *testing.T) {
	// Ordinals of Java's MQVersion.Version (reference §1.6, and what the real brokers answer).
	for release, want := range map[string]int32{"4.0.0": 213, "4.9.4": 401, "4.9.7": 407, "5.0.0": 413,
		"5.3.2": 477, "5.3.3": 479, "5.5.1": 515, "5.9.9": 611, "3.9.9": -1, "6.0.0": -1, "5.x": -1} {
		if got := VersionOrdinal(release); got != want {
			t.Errorf("VersionOrdinal(%q) = %d, want %d", release, got, want)
		}
	}
	for v, want := range map[int32]string{407: "4.9.7 (V4_9_7)", 412: "5.0.0-SNAPSHOT (V5_0_0_SNAPSHOT)",
		515: "5.5.1 (V5_5_1)", 612: "a release after 5.9.9 (HIGHER_VERSION)", 100: "a release with version ordinal 100"} {
		if got := VersionName(v); got != want {
			t.Errorf("VersionName(%d) = %q, want %q", v, got, want)
		}
	}
}

// answeringAs makes every answer of the fake brokers carry version v, as a broker of that
// release does.
func answeringAs(fc *fakeCluster, v int32) {
	for _, b := range fc.brokers {
		answerAs(b, v)
	}
}

func answerAs(b *fakeServer, v int32) {
	b.setHandler(func(req *codec.Command) *codec.Command {
		resp := fakeBrokerAnswer(b, req, codec.Success)
		resp.Version = v
		return resp
	})
}

func TestTimerSendRefusedByA4xBroker(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	answeringAs(fc, VersionOrdinal("4.9.7"))
	p := startFake(t, fc)
	ctx := context.Background()

	m := msg("after")
	m.SetDeliverAfter(5 * time.Second)
	_, err := p.Send(ctx, m)
	var fe *FeatureError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFeatureUnsupported) {
		t.Fatalf("timer send to a 4.9.7 broker: %v, want a FeatureError", err)
	}
	for _, want := range []string{"TIMER_DELAY_SEC", "5.0.0", "4.9.7", "broker-a"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	m = msg("at")
	m.SetDeliverAt(time.Now().Add(time.Minute))
	if err := p.SendOneway(ctx, m); !errors.Is(err, ErrFeatureUnsupported) {
		t.Fatalf("oneway timer send: %v", err)
	}
	m = msg("async")
	m.SetDeliverAfter(time.Second)
	got := make(chan error, 1)
	if err := p.SendAsync(ctx, m, func(_ *message.SendResult, err error) { got <- err }); err != nil {
		got <- err
	}
	if err := <-got; !errors.Is(err, ErrFeatureUnsupported) {
		t.Fatalf("async timer send: %v", err)
	}
	if n := fc.brokers["broker-a"].sends.Load(); n != 0 {
		t.Fatalf("%d timer message(s) reached the broker", n)
	}
	// A message without timer properties goes through; so does a delay level, which 4.x has.
	if _, err := p.Send(ctx, msg("plain")); err != nil {
		t.Fatal(err)
	}
	m = msg("level")
	m.SetDelayLevel(2)
	if _, err := p.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if v, ok := p.BrokerVersion(p.brokerAddr("broker-a")); !ok || v != 407 {
		t.Fatalf("BrokerVersion = %d, %v", v, ok)
	}
}

func TestTimerSendAcceptedByA5xBroker(t *testing.T) {
	fc := newFakeCluster(t, "broker-a")
	answeringAs(fc, VersionOrdinal("5.0.0"))
	p := startFake(t, fc)
	m := msg("timer")
	m.SetDeliverAfter(5 * time.Second)
	if _, err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := p.RequireFeature(FeatureRecall, "broker-a", p.brokerAddr("broker-a")); !errors.Is(err, ErrFeatureUnsupported) ||
		!strings.Contains(err.Error(), "5.3.2") {
		t.Fatalf("recall on 5.0.0: %v", err)
	}
	if err := p.RequireFeature(FeatureRecall, "x", "127.0.0.1:1"); err != nil {
		t.Fatalf("a broker of unknown version is not checked: %v", err)
	}
}

func TestFeatureChecksFollowTheBroker(t *testing.T) {
	// A cluster mixing releases: the check is per broker, not per cluster.
	fc := newFakeCluster(t, "broker-a", "broker-b")
	answerAs(fc.brokers["broker-a"], VersionOrdinal("4.9.7"))
	answerAs(fc.brokers["broker-b"], VersionOrdinal("5.5.1"))
	p := startFake(t, fc)
	send := func(broker string) error {
		m := msg("timer to " + broker)
		m.SetDeliverAfter(time.Second)
		_, err := p.Send(context.Background(), m, ToQueue(message.MessageQueue{Topic: "FakeTopic", BrokerName: broker}))
		return err
	}
	if err := send("broker-b"); err != nil {
		t.Fatalf("timer message to the 5.5.1 broker: %v", err)
	}
	if err := send("broker-a"); !errors.Is(err, ErrFeatureUnsupported) || !strings.Contains(err.Error(), "4.9.7") {
		t.Fatalf("timer message to the 4.9.7 broker: %v", err)
	}
}
