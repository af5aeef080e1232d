package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/javapeer/javapeertest"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// TestVersusJava is the side-by-side benchmark (`make bench-java`): rocketsend's bench and the
// official Java producer (tools/javapeer) send the same load to the same cluster, alternating
// ROUNDS times, and the ratios are printed. It runs only with ROCKETSEND_VERSUS_JAVA=1: it takes
// minutes and its figures go to docs/performance.md, never into a pass/fail decision (the only
// failures are sends that fail).
//
// Knobs (environment): VERSUS_COUNT (default 20000), VERSUS_SIZE (1024), VERSUS_MODE (async),
// VERSUS_INFLIGHT (1024), VERSUS_ROUNDS (3).
func TestVersusJava(t *testing.T) {
	if os.Getenv("ROCKETSEND_VERSUS_JAVA") != "1" {
		t.Skip("side-by-side benchmark: run with ROCKETSEND_VERSUS_JAVA=1 (make bench-java)")
	}
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	count, size, inflight, rounds := env("VERSUS_COUNT", 20000), env("VERSUS_SIZE", 1024), env("VERSUS_INFLIGHT", 1024), env("VERSUS_ROUNDS", 3)
	mode := os.Getenv("VERSUS_MODE")
	if mode == "" {
		mode = "async"
	}
	cl := rmqtest.Start(t)
	javapeertest.Jar(t) // build before the clock starts
	f := &producerFlags{namesrv: cl.NameServer(), logLevel: "off"}
	ctx := context.Background()
	p, err := f.producer(ctx, send.WithAsyncBackpressure(inflight, 1<<40, true))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())

	type pair struct {
		rs   *benchResult
		java javapeertest.ProduceResult
	}
	var pairs []pair
	for r := 0; r < rounds; r++ {
		topic := fmt.Sprintf("rs_versus_%d_%d", time.Now().UnixNano()%1e6, r)
		cl.CreateTopic(t, topic, 4)
		rs := benchRun(ctx, p, benchOptions{topic: topic, count: count, size: size, mode: mode,
			concurrency: 8, inflight: inflight, warmup: 500}, nil)
		if rs.Failed > 0 {
			t.Fatalf("rocketsend: %d sends failed: %s", rs.Failed, rs.FirstError)
		}
		java := javapeertest.Produce(t, cl.NameServer(), topic, javapeertest.ProduceOptions{
			Count: count, Size: size, Mode: mode, Inflight: inflight, Threads: 8, Warmup: 500})
		t.Logf("round %d: rocketsend %.0f msgs/s p50 %.2f p99 %.2f ms %.1f us CPU/msg | java %s", r+1,
			rs.MsgsPerSec, rs.P50Ms, rs.P99Ms, rs.CPUNanosPerMsg/1000, java)
		pairs = append(pairs, pair{rs, java})
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(&b, "\n%s, %d x %d B, %d in flight / 8 threads, same cluster, alternating:\n", mode, count, size, inflight)
	fmt.Fprintln(tw, "round\trocketsend msgs/s\tJava msgs/s\tratio\trs p50 ms\tJava p50 ms\trs p99 ms\tJava p99 ms\tp99 ratio\trs CPU us/msg\tJava CPU us/msg\tCPU ratio\t")
	for i, pr := range pairs {
		jcpu := float64(pr.java.CPUNanos) / float64(max(pr.java.Sent, 1)) / 1000
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.2fx\t%.2f\t%.2f\t%.2f\t%.2f\t%.2fx\t%.1f\t%.1f\t%.2fx\t\n", i+1,
			pr.rs.MsgsPerSec, pr.java.MsgsPerSec, pr.rs.MsgsPerSec/pr.java.MsgsPerSec,
			pr.rs.P50Ms, pr.java.P50Ms, pr.rs.P99Ms, pr.java.P99Ms, pr.rs.P99Ms/pr.java.P99Ms,
			pr.rs.CPUNanosPerMsg/1000, jcpu, pr.rs.CPUNanosPerMsg/1000/jcpu)
	}
	_ = tw.Flush()
	fmt.Print(b.String())
	t.Log(b.String())
}
