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

// buildPlugin builds one of examples/plugins for wasip1 into dir (nothing binary is committed)
// and returns the module's path.
func buildPlugin(t testing.TB, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "../examples/plugins/"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building plugin %s: %v\n%s", name, err, b)
	}
	return out
}

// loadPlugin builds one of examples/plugins and loads it into the wasm host with the given
// settings (and hclog's null logger, the host's default).
func loadPlugin(t testing.TB, dir, name string, settings ...hookv1.KV) *host.WasmPlugin {
	t.Helper()
	return loadPluginWith(t, buildPlugin(t, dir, name), []host.WasmOption{host.WithHookConfig(nil, settings...)})
}

// loadPluginWith loads the module at path with opts, without the on-disk compilation cache.
func loadPluginWith(t testing.TB, path string, opts []host.WasmOption) *host.WasmPlugin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := filepath.Base(path)
	p, err := host.LoadWasm(ctx, path, append([]host.WasmOption{host.WithCacheDir("")}, opts...)...)
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
	cl := rmqtest.Start(t)
	dir := t.TempDir()
	policy := loadPlugin(t, dir, "policy", hookv1.KV{Key: "deny_tags", Value: "secret"}, hookv1.KV{Key: "require_keys", Value: "true"})
	tracing := loadPlugin(t, dir, "tracing", hookv1.KV{Key: "name", Value: "it"})
	redact := loadPlugin(t, dir, "redact")
	keyhash := loadPlugin(t, dir, "keyhash")
	selector := keyhash.Selector(send.RoundRobin())
	p := newProducer(t, cl.NameServer(),
		send.WithHooks(policy.Hooks(), tracing.Hooks(), redact.Hooks()),
		send.WithQueueSelector(send.SelectorFactoryFunc(func(string) send.QueueSelector { return selector })))
	topic := uniqueTopic("rs_wasm")
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
	if s := policy.Stats(); s.Failures != 0 {
		t.Errorf("policy plugin failures: %+v", s)
	}
}
