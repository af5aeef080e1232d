package integration

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/internal/examplebuild"
	"github.com/rocketsend/rocketsend/internal/testlog"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
	"github.com/rocketsend/rocketsend/tools/javapeer/javapeertest"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// buildPlugin builds one of examples/plugins for wasip1 into dir (nothing binary is committed)
// and returns the module's path.
func buildPlugin(t testing.TB, dir, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := examplebuild.Build(ctx, dir, name); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name+".wasm")
}

// loadPlugin builds one of examples/plugins and loads it into the wasm host with the given
// settings (and hclog's null logger, the host's default).
func loadPlugin(t testing.TB, dir, name string, settings ...hookv1.KV) *host.WasmPlugin {
	t.Helper()
	return loadPluginWith(t, buildPlugin(t, dir, name), []host.Opt{host.WithHookConfig(nil, settings...)})
}

// loadPluginWith loads the module at path with opts, without the on-disk compilation cache.
func loadPluginWith(t testing.TB, path string, opts []host.Opt) *host.WasmPlugin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := filepath.Base(path)
	p, err := host.LoadWasm(ctx, path, append([]host.Opt{host.WithCacheDir("")}, opts...)...)
	if err != nil {
		t.Fatalf("loading plugin %s: %v", name, err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// TestWasmPluginsEndToEnd runs the example plugins, built from source and loaded into the wasm
// host, in a real producer against the real broker, with the Java consumer as witness: the policy
// plugin refuses what its rules forbid, the tracing plugin stamps what goes out, the redaction
// plugin rewrites bodies, and the key-hash selector puts a key where Java's hash puts it.
func TestWasmPluginsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	checkExamplePlugins(t, "rs_wasm", func(name string, settings ...hookv1.KV) examplePlugin {
		p := loadPlugin(t, dir, name, settings...)
		return examplePlugin{p.Hooks(), p.Selector, func() uint64 { return p.Stats().Failures }}
	})
}

// examplePlugin is a loaded example plugin, whatever its back end.
type examplePlugin struct {
	hooks    send.Hook
	selector func(fallback send.QueueSelector) send.QueueSelector
	failures func() uint64
}

// checkExamplePlugins is the end-to-end check of the example plugins shared by the back ends.
func checkExamplePlugins(t *testing.T, topicPrefix string, load func(name string, settings ...hookv1.KV) examplePlugin) {
	cl := rmqtest.Start(t)
	policy := load("policy", hookv1.KV{Key: "deny_tags", Value: "secret"}, hookv1.KV{Key: "require_keys", Value: "true"})
	tracing := load("tracing", hookv1.KV{Key: "name", Value: "it"})
	redact := load("redact")
	keyhash := load("keyhash")
	selector := keyhash.selector(send.RoundRobin())
	if cs, ok := selector.(send.ConsistentSelector); !ok || !cs.Consistent() {
		t.Errorf("keyhash declares consistent_select, its selector %T is not a consistent one", selector)
	}
	p := newProducer(t, cl.NameServer(),
		send.WithHooks(policy.hooks, tracing.hooks, redact.hooks),
		send.WithQueueSelector(send.SelectorFactoryFunc(func(string) send.QueueSelector { return selector })))
	topic := uniqueTopic(topicPrefix)
	newTopic(t, p, topic, 4) // 8 queues: broker-a 0..3, broker-b 0..3
	w := witness(t, cl.NameServer(), topic, 2)
	ctx := context.Background()

	key := "order-订单-42"
	plain := message.New(topic, []byte("order placed"))
	plain.SetKeys(key)
	r1, err := p.Send(ctx, plain)
	if err != nil {
		t.Fatalf("allowed message: %v", err)
	}
	card := message.New(topic, []byte("card 4111111111111111 charged"))
	card.SetKeys("order-7")
	if _, err := p.Send(ctx, card); err != nil {
		t.Fatalf("message to redact: %v", err)
	}
	secret := message.New(topic, []byte("must not leave"))
	secret.SetKeys("order-8")
	secret.SetTags("secret")
	var fe *send.ForbiddenError
	if _, err := p.Send(ctx, secret); !errors.As(err, &fe) {
		t.Fatalf("tag secret: %v, want a ForbiddenError from the policy plugin", err)
	}
	if _, err := p.Send(ctx, message.New(topic, []byte("no keys"))); !errors.As(err, &fe) {
		t.Fatalf("message without keys: %v, want a ForbiddenError from the policy plugin", err)
	}

	got := byID(w.Collect(2, witnessWait))
	for _, m := range []*message.Message{plain, card} {
		g, ok := got[m.UniqID()]
		if !ok {
			t.Fatalf("Java never saw %q", m.Body)
		}
		if !strings.HasPrefix(g.Properties["trace_id"], "it-") || g.Properties["traced_by"] != "it" {
			t.Errorf("%q: trace properties %v", m.Body, g.Properties)
		}
	}
	if g := got[card.UniqID()]; string(g.Body) != "card **************** charged" || g.Properties["redacted"] != "true" {
		t.Errorf("redaction: Java saw %q with redacted=%q", g.Body, g.Properties["redacted"])
	}
	if g := got[plain.UniqID()]; string(g.Body) != "order placed" || g.Properties["redacted"] != "" {
		t.Errorf("a body without card numbers was changed: %q %v", g.Body, g.Properties)
	}
	idx := javapeertest.HashQueue(t, key, 8)
	want := message.MessageQueue{Topic: topic, BrokerName: rmqtest.BrokerA, QueueID: idx}
	if idx >= 4 {
		want.BrokerName, want.QueueID = rmqtest.BrokerB, idx-4
	}
	if r1.Queue != want {
		t.Errorf("keyhash plugin put %q on %v, Java's hash picks %v", key, r1.Queue, want)
	}
	if n := policy.failures(); n != 0 {
		t.Errorf("policy plugin failures: %d", n)
	}
}

// TestWasmZoneAffinityAndTracingEndToEnd: the zone-affinity selector, configured for broker-b,
// puts every message on broker-b's queues (Java sees them there), and the tracing plugin's after
// hook records each attempt's outcome and latency (its log line names the message id, the queue
// the broker answered with and a positive latency).
func TestWasmZoneAffinityAndTracingEndToEnd(t *testing.T) {
	cl := rmqtest.Start(t)
	dir := t.TempDir()
	var logs testlog.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Name: "it", Output: &logs, Level: hclog.Info})
	zone := loadPlugin(t, dir, "zoneaffinity", hookv1.KV{Key: "brokers", Value: rmqtest.BrokerB})
	tracing := loadPluginWith(t, buildPlugin(t, dir, "tracing"),
		[]host.Opt{host.WithLogger(logger), host.WithHookConfig(nil, hookv1.KV{Key: "name", Value: "zt"})})
	selector := zone.Selector(send.RoundRobin())
	if cs, ok := selector.(send.ConsistentSelector); ok && cs.Consistent() {
		t.Errorf("zoneaffinity (round robin) does not declare consistent_select, its selector %T claims it", selector)
	}
	p := newProducer(t, cl.NameServer(), send.WithHooks(tracing.Hooks()),
		send.WithQueueSelector(send.SelectorFactoryFunc(func(string) send.QueueSelector { return selector })))
	topic := uniqueTopic("rs_zone")
	newTopic(t, p, topic, 4) // 8 queues: broker-a 0..3, broker-b 0..3
	const n = 6
	w := witness(t, cl.NameServer(), topic, n)
	results := map[string]*message.SendResult{}
	for i := range n {
		m := message.New(topic, []byte("zone "+strconv.Itoa(i)))
		res, err := p.Send(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if res.Queue.BrokerName != rmqtest.BrokerB {
			t.Errorf("message %d on %v, want broker-b", i, res.Queue)
		}
		results[m.UniqID()] = res
	}
	for _, g := range w.Collect(n, witnessWait) {
		if g.BrokerName != rmqtest.BrokerB || !strings.HasPrefix(g.Properties["trace_id"], "zt-") {
			t.Errorf("Java saw %q on %s/%d with trace_id %q", g.Body, g.BrokerName, g.QueueID, g.Properties["trace_id"])
		}
	}
	out := logs.String()
	for id, res := range results {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "msg_id="+id) {
				line = l
			}
		}
		want := fmt.Sprintf("queue=%s/%d", res.Queue.BrokerName, res.Queue.QueueID)
		if line == "" || !strings.Contains(line, want) || !strings.Contains(line, "status=1") {
			t.Errorf("no after-hook line for %s with %s and status=1 in:\n%s", id, want, out)
			continue
		}
		lat := line[strings.Index(line, "latency=")+len("latency="):]
		d, err := time.ParseDuration(lat[:strings.IndexByte(lat, ' ')])
		if err != nil || d <= 0 {
			t.Errorf("latency in %q: %v %v", line, d, err)
		}
	}
	if s := zone.Stats(); s.Failures != 0 || s.Calls < n {
		t.Errorf("zoneaffinity stats: %+v", s)
	}
}
