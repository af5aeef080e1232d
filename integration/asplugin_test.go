package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
	"github.com/rocketsend/rocketsend/tools/javapeer/javapeertest"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// loadASPlugin builds the AssemblyScript example examples/plugins/asgate with its own build
// script (npm ci from its lockfile into ~/.cache/rocketsend, then asc) and loads it into the
// wasm host. Without node/npm it skips, except under CI=true.
func loadASPlugin(t *testing.T, dir string, settings ...hookv1.KV) *host.WasmPlugin {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI: %s not found: the AssemblyScript plugin cannot be built", tool)
			}
			t.Skipf("%s not found: the AssemblyScript plugin cannot be built", tool)
		}
	}
	out := filepath.Join(dir, "asgate.wasm")
	if b, err := exec.Command("bash", "../examples/plugins/asgate/build.sh", out).CombinedOutput(); err != nil {
		t.Fatalf("building the AssemblyScript plugin: %v\n%s", err, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := host.LoadWasm(ctx, out, host.WithCacheDir(""), host.WithHookConfig(nil, settings...))
	if err != nil {
		t.Fatalf("loading the AssemblyScript plugin: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// TestWasmAssemblyScriptPluginEndToEnd runs asgate, a plugin written in AssemblyScript against
// docs/abi.md alone, in a real producer against the real broker, with the Java consumer as
// witness: it stamps what it lets through, refuses what its rules forbid, puts a key where Java's
// String.hashCode puts it, and leaves topics outside its filter alone. The producer uses a
// namespace so that the plugin's fixed topic filter ("orders", matched without namespace) names
// topics unique to this run.
func TestWasmAssemblyScriptPluginEndToEnd(t *testing.T) {
	cl := rmqtest.Start(t)
	gate := loadASPlugin(t, t.TempDir(),
		hookv1.KV{Key: "deny_tags", Value: "secret"},
		hookv1.KV{Key: "require_keys", Value: "true"},
		hookv1.KV{Key: "stamp", Value: "it-as"},
		hookv1.KV{Key: "default_priority", Value: "normal"},
		hookv1.KV{Key: "priorities", Value: "low,normal,high"})
	selector := gate.Selector(send.RoundRobin())
	ns := uniqueTopic("rsas")
	p := newProducer(t, cl.NameServer(), send.WithNamespace(ns), send.WithHooks(gate.Hooks()),
		send.WithQueueSelector(send.SelectorFactoryFunc(func(string) send.QueueSelector { return selector })))
	// The topics are created by a producer without namespace under their full names: Producer.
	// CreateTopic qualifies its key topic (TBW102) with the namespace too, which then has no route.
	admin := newProducer(t, cl.NameServer())
	newTopic(t, admin, ns+"%orders", 4) // 8 queues: broker-a 0..3, broker-b 0..3
	newTopic(t, admin, ns+"%audit", 4)
	orders := witness(t, cl.NameServer(), ns+"%orders", 2)
	audit := witness(t, cl.NameServer(), ns+"%audit", 1)
	ctx := context.Background()

	keys := []string{"order-订单-42", "🚀-launch-7"}
	first := message.New("orders", []byte("order placed"))
	first.SetKeys(keys[0])
	first.SetTags("paid")
	r1, err := p.Send(ctx, first)
	if err != nil {
		t.Fatalf("allowed message: %v", err)
	}
	second := message.New("orders", []byte("order shipped"))
	second.SetKeys(keys[1], "second-key")
	second.SetProperty("priority", "high")
	r2, err := p.Send(ctx, second)
	if err != nil {
		t.Fatalf("allowed message with a priority: %v", err)
	}

	secret := message.New("orders", []byte("must not leave"))
	secret.SetKeys("order-8")
	secret.SetTags("secret")
	var fe *send.ForbiddenError
	var f *host.Forbidden
	if _, err := p.Send(ctx, secret); !errors.As(err, &fe) || !errors.As(err, &f) || f.Plugin != "asgate" ||
		f.Reason != `tag "secret" is denied` {
		t.Errorf("tag secret: %v, want a ForbiddenError from asgate", err)
	}
	if _, err := p.Send(ctx, message.New("orders", []byte("no keys"))); !errors.As(err, &f) || f.Reason != "message has no keys" {
		t.Errorf("message without keys: %v, want a ForbiddenError from asgate", err)
	}
	urgent := message.New("orders", []byte("now"))
	urgent.SetKeys("order-9")
	urgent.SetProperty("priority", "urgent")
	var he *send.HookError
	if _, err := p.Send(ctx, urgent); !errors.As(err, &he) || !errors.As(err, &f) ||
		f.Reason != `priority "urgent" is not one of low, normal, high` {
		t.Errorf("priority urgent: %v, want a HookError from asgate's BEFORE_SEND", err)
	}
	// Outside the topic filter: neither forbidden nor stamped.
	other := message.New("audit", []byte("audit record"))
	other.SetTags("secret")
	if _, err := p.Send(ctx, other); err != nil {
		t.Fatalf("a topic outside the plugin's filter: %v", err)
	}

	got := byID(orders.Collect(2, witnessWait))
	for _, c := range []struct {
		m        *message.Message
		res      *message.SendResult
		priority string
	}{{first, r1, "normal"}, {second, r2, "high"}} {
		g, ok := got[c.m.UniqID()]
		if !ok {
			t.Fatalf("Java never saw %q", c.m.Body)
		}
		if g.Properties["gated_by"] != "it-as" || g.Properties["priority"] != c.priority {
			t.Errorf("%q: Java saw gated_by=%q priority=%q, want it-as and %s", c.m.Body,
				g.Properties["gated_by"], g.Properties["priority"], c.priority)
		}
		if g.BrokerName != c.res.Queue.BrokerName || g.QueueID != c.res.Queue.QueueID {
			t.Errorf("%q: Java saw %s/%d, the send reported %v", c.m.Body, g.BrokerName, g.QueueID, c.res.Queue)
		}
	}
	idx := javapeertest.HashQueues(t, 8, keys...)
	for i, res := range []*message.SendResult{r1, r2} {
		want := message.MessageQueue{BrokerName: rmqtest.BrokerA, QueueID: idx[i]}
		if idx[i] >= 4 {
			want.BrokerName, want.QueueID = rmqtest.BrokerB, idx[i]-4
		}
		if res.Queue.BrokerName != want.BrokerName || res.Queue.QueueID != want.QueueID {
			t.Errorf("asgate put %q on %s/%d, Java's hash picks %s/%d", keys[i],
				res.Queue.BrokerName, res.Queue.QueueID, want.BrokerName, want.QueueID)
		}
	}
	a := audit.Collect(1, witnessWait)
	if len(a) != 1 || a[0].Properties["gated_by"] != "" || !strings.HasSuffix(a[0].Topic, "%audit") {
		t.Errorf("audit: Java saw %+v, want one unstamped message", a)
	}
	if s := gate.Stats(); s.Failures != 0 {
		t.Errorf("asgate failures: %+v", s)
	}
}
