package integration

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

const (
	wasmBenchSyncSenders   = 16   // concurrent Send callers in the sync mode
	wasmBenchInflight      = 1024 // async sends in flight, as `make bench-java`
	wasmBenchWarmup        = 500  // untimed sends before each measured run
	wasmBenchClusterWarmup = 5000 // untimed sends per mode before the first round
)

// wasmBenchRun is one measured run: one producer, one mode, with or without the plugin.
type wasmBenchRun struct {
	msgsPerSec, cpuNsPerMsg, allocsPerMsg float64
}

// BenchmarkProducerWasmPair1KiB measures what one wasm before+after hook pair costs a producer
// on the real cluster: the tracing example (examples/plugins/tracing, built from source) stamps
// trace_id and traced_by before each attempt and sees the outcome after it. Sync (16 callers)
// and async (1024 in flight) sends of 1 KiB alternate between no plugin ("none") and the plugin
// ("wasm") on one topic, WASMBENCH_ROUNDS rounds (default 3) in ABBA order so drift in the
// machine's load falls on both sides; every round is reported with the ratio wasm/none of msgs/s.
// Run with -benchtime=20000x and -v (docs/performance.md): -v prints the per-round summary;
// other b.N values work but then each sub-benchmark runs several times and only the last run
// enters the summary. WASMBENCH_HOOKCPU=1 (Linux) wraps the plugin's hooks in a meter of the
// thread CPU time spent inside each call (metrics before-cpu-ns and after-cpu-ns): it shows what
// a call costs in place, between the producer's own work, but adds its own system calls to the
// wasm side, so take ratios from runs without it.
func BenchmarkProducerWasmPair1KiB(b *testing.B) {
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("WASMBENCH_ROUNDS")); err == nil && v > 0 && v <= 20 {
		rounds = v
	}
	cl := rmqtest.Start(b)
	ns := cl.NameServer()
	topic := uniqueTopic("rs_bench_wasm")
	cl.CreateTopic(b, topic, 4)
	plug := loadPlugin(b, b.TempDir(), "tracing", hookv1.KV{Key: "name", Value: "bench"})

	for _, mode := range []send.Mode{send.ModeSync, send.ModeAsync} {
		b.Run(strings.ToLower(mode.String()), func(b *testing.B) {
			// The brokers' JIT and page cache warm up over the first thousands of messages;
			// without this the first round's first side is measured on a colder broker.
			warmup(b, ns, topic, mode)
			got := make([][2]wasmBenchRun, rounds) // [round][0 none, 1 wasm]
			for r := range rounds {
				order := []int{0, 1}
				if r%2 == 1 {
					order = []int{1, 0}
				}
				for _, v := range order {
					name := fmt.Sprintf("r%d_%s", r+1, [...]string{"none", "wasm"}[v])
					b.Run(name, func(b *testing.B) {
						got[r][v] = runWasmBench(b, ns, topic, mode, plug, v == 1)
					})
				}
			}
			b.Logf("%s, 1 KiB, the plugin %q (before+after) against none, per round:", mode, plug.Name())
			b.Logf("%5s %10s %10s %6s %12s %12s %9s %9s", "round", "none/s", "wasm/s", "ratio",
				"none µs/msg", "wasm µs/msg", "none a/op", "wasm a/op")
			for r, g := range got {
				if g[0].msgsPerSec == 0 || g[1].msgsPerSec == 0 {
					continue // a sub-benchmark was filtered out or failed
				}
				b.Logf("%5d %10.0f %10.0f %6.3f %12.1f %12.1f %9.1f %9.1f", r+1,
					g[0].msgsPerSec, g[1].msgsPerSec, g[1].msgsPerSec/g[0].msgsPerSec,
					g[0].cpuNsPerMsg/1e3, g[1].cpuNsPerMsg/1e3, g[0].allocsPerMsg, g[1].allocsPerMsg)
			}
		})
	}
	if s := plug.Stats(); s.Failures != 0 {
		b.Errorf("plugin failures: %+v", s)
	}
}

// warmup sends wasmBenchClusterWarmup messages in mode with a producer of its own, untimed.
func warmup(b *testing.B, ns, topic string, mode send.Mode) {
	p := newProducer(b, ns, send.WithAsyncBackpressure(wasmBenchInflight, 100<<20, true))
	defer func() { _ = p.Shutdown(context.Background()) }()
	var last atomic.Pointer[message.Message]
	body := make([]byte, 1024)
	if mode == send.ModeSync {
		syncSends(b, p, topic, body, wasmBenchClusterWarmup, &last)
	} else {
		asyncSends(b, p, topic, body, wasmBenchClusterWarmup, &last)
	}
}

// runWasmBench sends b.N 1 KiB messages to topic in mode with a fresh producer, after a warm-up,
// and reports msgs/s and client CPU per message. With the plugin it checks that every attempt went
// through both hooks and that the messages carry the plugin's stamp, so a plugin silently not
// called cannot pass for a cheap one.
func runWasmBench(b *testing.B, ns, topic string, mode send.Mode, plug *host.WasmPlugin, withPlugin bool) wasmBenchRun {
	opts := []send.Option{send.WithAsyncBackpressure(wasmBenchInflight, 100<<20, true)}
	var meter *meteredHook
	switch {
	case withPlugin && os.Getenv("WASMBENCH_HOOKCPU") == "1":
		if !threadCPUSupported {
			b.Skip("WASMBENCH_HOOKCPU needs the thread CPU clock of Linux")
		}
		meter = &meteredHook{before: plug.Hooks().(send.SendMessageBeforeHook), after: plug.Hooks().(send.SendMessageAfterHook)}
		opts = append(opts, send.WithHooks(meter))
	case withPlugin:
		opts = append(opts, send.WithHooks(plug.Hooks()))
	}
	p := newProducer(b, ns, opts...)
	defer func() { _ = p.Shutdown(context.Background()) }()
	body := make([]byte, 1024)
	var last atomic.Pointer[message.Message]
	sendAll := func(n int) {
		if mode == send.ModeSync {
			syncSends(b, p, topic, body, n, &last)
		} else {
			asyncSends(b, p, topic, body, n, &last)
		}
	}
	sendAll(wasmBenchWarmup)
	if meter != nil {
		meter.reset()
	}
	calls0 := plug.Stats().Calls
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	sendAll(b.N)
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	res := wasmBenchRun{
		msgsPerSec:   float64(b.N) / elapsed.Seconds(),
		cpuNsPerMsg:  float64(cpu) / float64(b.N),
		allocsPerMsg: float64(ms1.Mallocs-ms0.Mallocs) / float64(b.N),
	}
	b.ReportMetric(res.msgsPerSec, "msgs/s")
	b.ReportMetric(res.cpuNsPerMsg, "cpu-ns/msg")
	if meter != nil {
		bc, ac := meter.perCall()
		b.ReportMetric(bc, "before-cpu-ns")
		b.ReportMetric(ac, "after-cpu-ns")
	}
	calls := plug.Stats().Calls - calls0
	if withPlugin {
		if calls < 2*uint64(b.N) {
			b.Errorf("plugin called %d times for %d sends, want at least 2 per send", calls, b.N)
		}
		if m := last.Load(); m == nil || m.Property("traced_by") != "bench" || !strings.HasPrefix(m.Property("trace_id"), "bench-") {
			b.Errorf("the last message sent does not carry the plugin's stamp")
		}
	} else if calls != 0 {
		b.Errorf("plugin called %d times by the producer without it", calls)
	}
	return res
}

// syncSends sends n messages with Send from wasmBenchSyncSenders goroutines.
func syncSends(b *testing.B, p *send.Producer, topic string, body []byte, n int, last *atomic.Pointer[message.Message]) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range wasmBenchSyncSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				m := message.New(topic, body)
				if _, err := p.Send(context.Background(), m); err != nil {
					b.Error(err)
					return
				}
				last.Store(m)
			}
		}()
	}
	wg.Wait()
}

// asyncSends sends n messages with SendAsync from one goroutine (the producer bounds what is in
// flight) and waits for every callback.
func asyncSends(b *testing.B, p *send.Producer, topic string, body []byte, n int, last *atomic.Pointer[message.Message]) {
	var wg sync.WaitGroup
	cb := func(_ *message.SendResult, err error) {
		if err != nil {
			b.Error(err)
		}
		wg.Done()
	}
	for range n {
		m := message.New(topic, body)
		wg.Add(1)
		if err := p.SendAsync(context.Background(), m, cb); err != nil {
			wg.Done()
			b.Error(err)
			break
		}
		last.Store(m)
	}
	wg.Wait()
}

// BenchmarkWasmPairHost is the plugin's share of BenchmarkProducerWasmPair1KiB without a broker:
// per op a fresh 1 KiB message and SendContext (as the producer makes per send), then one
// before+after pair of the tracing example through the host adapters, so the before hook's two
// property edits land on a message that has none yet. "none" is the message alone (subtract it);
// "pair" uses the host's default null logger, so the after hook's log_enabled says no and it
// formats nothing; "pair-logging" gives the plugin an Info logger (writing to io.Discard), so the
// after hook formats its latency line in the guest on every attempt (the host then keeps at most
// 100 lines a second). host/bench_test.go has the per-hook-kind figures of a minimal guest.
func BenchmarkWasmPairHost(b *testing.B) {
	path := buildPlugin(b, b.TempDir(), "tracing")
	cfg := host.WithHookConfig(nil, hookv1.KV{Key: "name", Value: "bench"})
	quiet := loadPluginWith(b, path, []host.Opt{cfg})
	logging := loadPluginWith(b, path, []host.Opt{cfg,
		host.WithLogger(hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Info}))})
	body := make([]byte, 1024)
	res := &message.SendResult{Status: message.SendOK, MsgID: "7F00000100002A9F0000000000000001", QueueOffset: 42}
	fresh := func(sc *send.SendContext) {
		*sc = send.SendContext{Context: context.Background(), Group: "bench", Message: message.New("orders", body),
			Mode: send.ModeAsync, Attempt: 1}
	}
	pairOf := func(plug *host.WasmPlugin) func(sc *send.SendContext) error {
		before := plug.Hooks().(send.SendMessageBeforeHook)
		after := plug.Hooks().(send.SendMessageAfterHook)
		return func(sc *send.SendContext) error {
			fresh(sc)
			if err := before.SendMessageBefore(sc); err != nil {
				return err
			}
			sc.Queue = message.MessageQueue{Topic: "orders", BrokerName: "broker-a", QueueID: 3}
			sc.BrokerAddr, sc.Latency, sc.Result = "127.0.0.1:10911", time.Millisecond, res
			after.SendMessageAfter(sc)
			return nil
		}
	}
	cases := []struct {
		name string
		plug *host.WasmPlugin
		op   func(sc *send.SendContext) error
	}{
		{"none", nil, func(sc *send.SendContext) error { fresh(sc); return nil }},
		{"pair", quiet, pairOf(quiet)},
		{"pair-logging", logging, pairOf(logging)},
	}
	for _, c := range cases {
		var sc send.SendContext
		if err := c.op(&sc); err != nil {
			b.Fatal(err)
		}
		if c.plug != nil && sc.Message.Property("traced_by") != "bench" {
			b.Fatalf("%s: the before hook did not stamp the message: %v", c.name, sc.Message.Properties)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.op(&sc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("pair-parallel", func(b *testing.B) {
		pair := pairOf(quiet)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var sc send.SendContext
			for pb.Next() {
				if err := pair(&sc); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	for _, p := range []*host.WasmPlugin{quiet, logging} {
		if s := p.Stats(); s.Failures != 0 {
			b.Errorf("plugin failures: %+v", s)
		}
	}
}
