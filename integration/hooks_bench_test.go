package integration

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/plugins/hooks/otel"
	"github.com/rocketsend/rocketsend/plugins/hooks/trace"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkProducerAsync1KiBHooks is BenchmarkProducerAsync1KiB with the observability hooks:
// none, the RocketMQ message trace (records sent to a trace topic by a second producer), the
// OpenTelemetry hook (every span recorded and exported in batches to a discarding exporter,
// metrics aggregated), and both. Run with -benchtime=20000x; compare msgs/s and cpu-ns/msg
// between sub-benchmarks of the same run.
func BenchmarkProducerAsync1KiBHooks(b *testing.B) {
	cl := rmqtest.Start(b)
	ns := cl.NameServer()
	traceTopic := uniqueTopic("rs_bench_trace")
	cl.CreateTopic(b, traceTopic, 1)
	mk := map[string]func(b *testing.B) ([]send.Hook, func()){
		"none": func(*testing.B) ([]send.Hook, func()) { return nil, func() {} },
		"trace": func(b *testing.B) ([]send.Hook, func()) {
			tr := newTraceHook(b, ns, traceTopic)
			return []send.Hook{tr}, func() { reportTrace(b, tr) }
		},
		"otel": func(b *testing.B) ([]send.Hook, func()) {
			h, done := newOtelHook(b)
			return []send.Hook{h}, done
		},
		"both": func(b *testing.B) ([]send.Hook, func()) {
			tr := newTraceHook(b, ns, traceTopic)
			h, done := newOtelHook(b)
			return []send.Hook{h, tr}, func() { done(); reportTrace(b, tr) }
		},
	}
	for _, name := range []string{"none", "trace", "otel", "both"} {
		b.Run(name, func(b *testing.B) {
			hooks, done := mk[name](b)
			p := newProducer(b, ns, send.WithHooks(hooks...))
			benchAsync1KiB(b, p, uniqueTopic("rs_bench_hooks"))
			b.StopTimer()
			_ = p.Shutdown(context.Background())
			done()
		})
	}
}

func newTraceHook(b *testing.B, ns, topic string) *trace.Tracer {
	tp := newProducer(b, ns)
	tr, err := trace.New(tp, trace.WithTopic(topic))
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// reportTrace closes tr (sending what is buffered) and reports the share of records dropped.
func reportTrace(b *testing.B, tr *trace.Tracer) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		b.Error(err)
	}
	s := tr.Stats()
	if total := s.Recorded + s.Dropped; total > 0 {
		b.ReportMetric(float64(s.Dropped)/float64(total), "trace-dropped/rec")
	}
	if s.Failed > 0 {
		b.Errorf("trace records failed: %+v", s)
	}
}

func newOtelHook(b *testing.B) (*otel.Hook, func()) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	h, err := otel.New(otel.WithTracerProvider(tp), otel.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	return h, func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }
}
