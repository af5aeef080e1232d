package integration

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
func buildProcessPlugin(t testing.TB, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	if b, err := exec.Command("go", "build", "-o", out, "../examples/plugins/"+name).CombinedOutput(); err != nil {
		t.Fatalf("building process plugin %s: %v\n%s", name, err, b)
	}
	return out
}

func loadProcessPlugin(t testing.TB, path string, opts ...host.Opt) *host.ProcessPlugin {
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
		p := loadProcessPlugin(t, buildProcessPlugin(t, dir, name), host.WithHookConfig(nil, settings...))
		return examplePlugin{p.Hooks(), p.Selector, func() uint64 { return p.Stats().Failures }}
	})
}

// TestProcessPluginKill9EndToEnd kills the tracing plugin's process with SIGKILL in the middle of a
// run of sends: with its fail-open policy every send still succeeds, the plugin comes back by
// itself, and Java sees every message, stamped before the kill and again after the restart.
func TestProcessPluginKill9EndToEnd(t *testing.T) {
	cl := rmqtest.Start(t)
	path := buildProcessPlugin(t, t.TempDir(), "tracing")
	tracing := loadProcessPlugin(t, path, host.WithHookConfig(nil, hookv1.KV{Key: "name", Value: "k9"}),
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
	for s := tracing.Stats(); s.Live == 0 || s.Pid == pid; s = tracing.Stats() {
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
	if s := tracing.Stats(); s.Discarded < 1 || s.Created < 2 {
		t.Errorf("stats = %+v", s)
	}
}

// BenchmarkProducerAsyncProcessHook measures producer throughput (1 KiB async sends from 32
// goroutines on the real cluster) without hooks and with the tracing example as a process plugin: a
// before-hook that edits every message and an after-hook that observes it, so two hook calls per
// message. Metrics: msgs/s, hook-calls/s, and the mean batch the host sent.
//
//	go test -run='^$' -bench=ProducerAsyncProcessHook -benchtime=20000x ./integration/
func BenchmarkProducerAsyncProcessHook(b *testing.B) {
	for _, withHook := range []bool{false, true} {
		name := "none"
		if withHook {
			name = "process-tracing"
		}
		b.Run(name, func(b *testing.B) {
			cl := rmqtest.Start(b)
			var opts []send.Option
			var plugin *host.ProcessPlugin
			if withHook {
				plugin = loadProcessPlugin(b, buildProcessPlugin(b, b.TempDir(), "tracing"),
					host.WithHookConfig(nil, hookv1.KV{Key: "name", Value: "bench"}))
				opts = append(opts, send.WithHooks(plugin.Hooks()))
			}
			p := newProducer(b, cl.NameServer(), opts...)
			topic := uniqueTopic("rs_bench_proc")
			body := make([]byte, 1024)
			ctx := context.Background()
			// Warm up: route, connections, the plugin's first batches.
			for i := 0; i < 100; i++ {
				if _, err := p.Send(ctx, message.New(topic, body)); err != nil {
					b.Fatal(err)
				}
			}
			var s0 host.Stats
			if plugin != nil {
				s0 = plugin.Stats()
			}
			var wg sync.WaitGroup
			var next atomic.Int64
			cb := func(_ *message.SendResult, err error) {
				if err != nil {
					b.Error(err)
				}
				wg.Done()
			}
			b.SetBytes(1024)
			b.ResetTimer()
			start := time.Now()
			var senders sync.WaitGroup
			for g := 0; g < 32; g++ {
				senders.Add(1)
				go func() {
					defer senders.Done()
					for next.Add(1) <= int64(b.N) {
						wg.Add(1)
						if err := p.SendAsync(ctx, message.New(topic, body), cb); err != nil {
							wg.Done()
							b.Error(err)
							return
						}
					}
				}()
			}
			senders.Wait()
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			if plugin != nil {
				s := plugin.Stats()
				b.ReportMetric(float64(s.Calls-s0.Calls)/elapsed.Seconds(), "hook-calls/s")
				if s.Batches > s0.Batches {
					b.ReportMetric(float64(s.Batched-s0.Batched)/float64(s.Batches-s0.Batches), "calls/batch")
				}
				if s.Failures != 0 {
					b.Errorf("plugin failures: %+v", s)
				}
			}
		})
	}
}
