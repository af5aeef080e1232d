package integration

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/javapeer/javapeertest"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// Producer throughput against the real local cluster (go test -run=^$ -bench=Producer ./integration/).
// The brokers share the machine's cores with the producer, so these bound rocketsend's client cost
// from above; the side-by-side figures against the Java producer come from `rocketsend bench`.

func BenchmarkProducerSync1KiB(b *testing.B) {
	cl := rmqtest.Start(b)
	p := newProducer(b, cl.NameServer())
	topic := uniqueTopic("rs_bench_sync")
	body := make([]byte, 1024)
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Send(context.Background(), message.New(topic, body)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkProducerAsync1KiB(b *testing.B) {
	cl := rmqtest.Start(b)
	p := newProducer(b, cl.NameServer())
	benchAsync1KiB(b, p, uniqueTopic("rs_bench_async"))
}

// benchAsync1KiB sends b.N messages of 1 KiB to topic with SendAsync from one goroutine (the
// producer bounds what is in flight), waits for every callback and reports msgs/s and the
// process's CPU per message.
func benchAsync1KiB(b *testing.B, p *send.Producer, topic string) {
	body := make([]byte, 1024)
	var wg sync.WaitGroup
	cb := func(_ *message.SendResult, err error) {
		if err != nil {
			b.Error(err)
		}
		wg.Done()
	}
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		if err := p.SendAsync(context.Background(), message.New(topic, body), cb); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/msg")
}

// processCPU returns this process's user+system CPU time in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkJavaProducerAsync1KiB runs the official Java producer (tools/javapeer) with the same
// load on the same cluster, for a same-run comparison: msgs/s and CPU per message as metrics.
// (b.N is ignored: the JVM sends a fixed 10 000 messages after a 500-message warmup.)
func BenchmarkJavaProducerAsync1KiB(b *testing.B) {
	cl := rmqtest.Start(b)
	topic := uniqueTopic("rs_bench_java")
	b.StopTimer()
	r := javapeertest.Produce(b, cl.NameServer(), topic, javapeertest.ProduceOptions{
		Count: 10_000, Size: 1024, Mode: "async", Inflight: 1024, Warmup: 500})
	b.ReportMetric(r.MsgsPerSec, "msgs/s")
	b.ReportMetric(float64(r.CPUNanos)/float64(r.Sent), "cpu-ns/msg")
	b.ReportMetric(r.P99Ms, "p99-ms")
}
