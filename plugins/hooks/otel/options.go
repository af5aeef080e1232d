package otel

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a Hook.
type Option func(*config)

type config struct {
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	prop     propagation.TextMapPropagator
	clientID string
}

// WithTracerProvider takes spans from tp instead of the global provider (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider takes instruments from mp instead of the global provider
// (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithPropagator injects the span context into message properties with p instead of the W3C
// trace context alone (propagation.TraceContext: the traceparent and tracestate properties).
// Pass otel.GetTextMapPropagator() to use the process-wide one, baggage included.
func WithPropagator(p propagation.TextMapPropagator) Option { return func(c *config) { c.prop = p } }

// WithClientID sets the client_id label of the metrics and the messaging.client.id span
// attribute, as the RocketMQ 5 clients label theirs: pass the producer's ClientID(). Without it
// the label is left out.
func WithClientID(id string) Option { return func(c *config) { c.clientID = id } }
