package integration

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// buildProcessPlugin builds one of examples/plugins natively: the same source as the wasm build,
// served as a process plugin by guest.Serve in its main.
func buildProcessPlugin(t *testing.T, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	if b, err := exec.Command("go", "build", "-o", out, "../examples/plugins/"+name).CombinedOutput(); err != nil {
		t.Fatalf("building process plugin %s: %v\n%s", name, err, b)
	}
	return out
}

func loadProcessPlugin(t *testing.T, path string, opts ...host.ProcessOption) *host.ProcessPlugin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := host.LoadProcess(ctx, path, opts...)
	if err != nil {
		t.Fatalf("loading process plugin %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("closing %s: %v", path, err)
		}
		if out, err := exec.Command("pgrep", "-f", path).Output(); err == nil {
			t.Errorf("plugin %s left processes behind: %s", path, strings.Fields(string(out)))
		}
	})
	return p
}

// TestProcessPluginsEndToEnd runs the example plugins built as process plugins, from the same
// source as the wasm ones, through the same end-to-end check: a real producer, the real broker and
// the Java consumer as witness.
func TestProcessPluginsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	checkExamplePlugins(t, "rs_proc", func(name string, settings ...hookv1.KV) examplePlugin {
		p := loadProcessPlugin(t, buildProcessPlugin(t, dir, name), host.WithProcessHookConfig(nil, settings...))
		return examplePlugin{p.Hooks(), p.Selector, func() uint64 { return p.Stats().Failures }}
	})
}

// TestProcessPluginKill9EndToEnd kills the tracing plugin's process with SIGKILL in the middle of a
// run of sends: with its fail-open policy every send still succeeds, the plugin comes back by
// itself, and Java sees every message, stamped before the kill and again after the restart.
func TestProcessPluginKill9EndToEnd(t *testing.T) {
	cl := rmqtest.Start(t)
	path := buildProcessPlugin(t, t.TempDir(), "tracing")
	tracing := loadProcessPlugin(t, path, host.WithProcessHookConfig(nil, hookv1.KV{Key: "name", Value: "k9"}),
		host.WithRestartBackoff(50*time.Millisecond, time.Second))
	p := newProducer(t, cl.NameServer(), send.WithHooks(tracing.Hooks()))
	topic := uniqueTopic("rs_proc_k9")
	newTopic(t, p, topic, 2)
	const before, during, after = 10, 10, 10
	w := witness(t, cl.NameServer(), topic, before+during+after)
	ctx := context.Background()
	sendN := func(n int, label string) []*message.Message {
		var ms []*message.Message
		for i := 0; i < n; i++ {
			m := message.New(topic, []byte(label))
			if _, err := p.Send(ctx, m); err != nil {
				t.Fatalf("send %s #%d: %v", label, i, err)
			}
			ms = append(ms, m)
		}
		return ms
	}
	first := sendN(before, "before")
	pid := tracing.Stats().Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sendN(during, "during") // the plugin is dead or restarting: fail open, the sends go on
	deadline := time.Now().Add(30 * time.Second)
	for s := tracing.Stats(); !s.Up || s.Pid == pid; s = tracing.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("tracing plugin did not come back: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	last := sendN(after, "after")

	got := byID(w.Collect(before+during+after, witnessWait))
	if len(got) != before+during+after {
		t.Fatalf("Java saw %d messages, want %d", len(got), before+during+after)
	}
	for _, m := range append(first, last...) {
		g := got[m.UniqID()]
		if g.Properties["traced_by"] != "k9" || !strings.HasPrefix(g.Properties["trace_id"], "k9-") {
			t.Errorf("%s message %s not traced: %v", m.Body, m.UniqID(), g.Properties)
		}
	}
	if s := tracing.Stats(); s.Crashes < 1 || s.Starts < 2 {
		t.Errorf("stats = %+v", s)
	}
}
