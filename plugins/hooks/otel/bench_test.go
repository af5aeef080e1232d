package otel

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tnoop "go.opentelemetry.io/otel/trace/noop"
)

type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkHook is what the hook adds to one send attempt (Before and After), with the SDK
// recording and exporting every span (batched, to an exporter that drops them) and aggregating
// the metrics; with the SDK sampling nothing (metrics and propagation only); and with the no-op
// providers (OpenTelemetry not configured).
func BenchmarkHook(b *testing.B) {
	run := func(b *testing.B, opts ...Option) {
		h, err := New(opts...)
		if err != nil {
			b.Fatal(err)
		}
		sc := sendContext(context.Background())
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			sc.Context, sc.Result, sc.Err = context.Background(), nil, nil
			_ = h.SendMessageBefore(sc)
			answered(sc, 2*time.Millisecond, nil)
			h.SendMessageAfter(sc)
		}
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	b.Run("sampled", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
		defer func() { _ = tp.Shutdown(context.Background()) }()
		run(b, WithTracerProvider(tp), WithMeterProvider(mp))
	})
	b.Run("unsampled", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
		defer func() { _ = tp.Shutdown(context.Background()) }()
		run(b, WithTracerProvider(tp), WithMeterProvider(mp))
	})
	b.Run("noop", func(b *testing.B) {
		run(b, WithTracerProvider(tnoop.NewTracerProvider()), WithMeterProvider(noop.NewMeterProvider()))
	})
}
