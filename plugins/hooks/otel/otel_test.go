package otel

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

type harness struct {
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	hook   *Hook
}

func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	h := &harness{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(h.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() { _ = h.tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	hook, err := New(append([]Option{WithTracerProvider(h.tp), WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h.hook = hook
	return h
}

// sendContext is what the producer hands the hooks for attempt 1 of a sync send in namespace ns.
func sendContext(ctx context.Context) *send.SendContext {
	m := message.New("orders", []byte("0123456789"))
	m.SetTags("created")
	m.SetKeys("order-1", "customer-2")
	m.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, "AC110001000018B4AAC2")
	return &send.SendContext{Context: ctx, Group: "billing", Namespace: "ns", Message: m, Mode: send.ModeSync,
		MessageType: send.OrderMsg, Attempt: 1}
}

// answered fills in what the producer sets once the broker answered.
func answered(sc *send.SendContext, latency time.Duration, err error) {
	sc.Queue = message.MessageQueue{Topic: "orders", BrokerName: "broker-a", QueueID: 2}
	sc.BrokerAddr = "127.0.0.1:10911"
	sc.Latency, sc.Err = latency, err
	if err == nil {
		sc.Result = &message.SendResult{Status: message.SendOK, MsgID: sc.Message.UniqID(), OffsetMsgID: "7F000001", TraceOn: true}
	}
}

func attrs(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestSpanPerAttemptWithMessagingAttributes(t *testing.T) {
	h := newHarness(t, WithClientID("127.0.0.1@42"))
	parentCtx, parent := h.tp.Tracer("app").Start(context.Background(), "checkout")
	sc := sendContext(parentCtx)
	if err := h.hook.SendMessageBefore(sc); err != nil {
		t.Fatal(err)
	}
	// Hooks after this one see the attempt's span as current.
	current := trace.SpanFromContext(sc.Context).SpanContext()
	if !current.IsValid() || current.SpanID() == parent.SpanContext().SpanID() {
		t.Fatalf("SendContext.Context does not carry the attempt's span: %v", current)
	}
	answered(sc, 4*time.Millisecond, nil)
	h.hook.SendMessageAfter(sc)
	parent.End()

	spans := h.spans.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the attempt's and the parent's", len(spans))
	}
	s := spans[0]
	if s.Name != "send orders" || s.SpanKind != trace.SpanKindProducer || s.Parent.SpanID() != parent.SpanContext().SpanID() ||
		s.SpanContext.TraceID() != parent.SpanContext().TraceID() || s.Status.Code == codes.Error {
		t.Errorf("span %q kind %v parent %v status %v", s.Name, s.SpanKind, s.Parent.SpanID(), s.Status)
	}
	a := attrs(s.Attributes)
	want := map[attribute.Key]string{
		"messaging.system": "rocketmq", "messaging.operation.type": "send", "messaging.operation.name": "send",
		"messaging.destination.name": "orders", "messaging.message.id": "AC110001000018B4AAC2",
		"messaging.rocketmq.message.tag": "created", "messaging.rocketmq.message.type": "fifo",
		"messaging.rocketmq.namespace": "ns", "messaging.rocketmq.client_group": "billing",
		"messaging.client.id": "127.0.0.1@42", "server.address": "127.0.0.1", "rocketsend.send.status": "SEND_OK",
	}
	for k, v := range want {
		if got := a[k].String(); got != v {
			t.Errorf("attribute %s = %q, want %q", k, got, v)
		}
	}
	if a["messaging.message.body.size"].AsInt64() != 10 || a["server.port"].AsInt64() != 10911 || a["rocketsend.send.attempt"].AsInt64() != 1 {
		t.Errorf("numeric attributes %v", a)
	}
	if got := a["messaging.rocketmq.message.keys"].AsStringSlice(); fmt.Sprint(got) != "[order-1 customer-2]" {
		t.Errorf("keys %v", got)
	}
	// The W3C trace context of the attempt travels in the message.
	wantTP := fmt.Sprintf("00-%s-%s-01", s.SpanContext.TraceID(), s.SpanContext.SpanID())
	if got := sc.Message.Property("traceparent"); got != wantTP {
		t.Errorf("traceparent property %q, want %q", got, wantTP)
	}
	consumer := propagation.TraceContext{}.Extract(context.Background(), Carrier{Msg: sc.Message})
	if got := trace.SpanContextFromContext(consumer); got.SpanID() != s.SpanContext.SpanID() || !got.IsRemote() {
		t.Errorf("a consumer extracts %v", got)
	}
}

func TestRetriedAttemptsAreSiblingSpans(t *testing.T) {
	h := newHarness(t)
	parentCtx, parent := h.tp.Tracer("app").Start(context.Background(), "checkout")
	sc := sendContext(parentCtx)
	// Attempt 1 fails after it was sent; attempt 2 fails before it is sent (no After: a queue
	// selector error, say); attempt 3 succeeds.
	_ = h.hook.SendMessageBefore(sc)
	answered(sc, 30*time.Millisecond, errors.New("broker-a: timeout"))
	h.hook.SendMessageAfter(sc)
	sc.Attempt, sc.Result, sc.Err = 2, nil, nil
	_ = h.hook.SendMessageBefore(sc)
	sc.Attempt = 3
	_ = h.hook.SendMessageBefore(sc)
	answered(sc, 2*time.Millisecond, nil)
	h.hook.SendMessageAfter(sc)
	parent.End()

	spans := h.spans.GetSpans()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 3 attempts and the parent", len(spans))
	}
	for i, s := range spans[:3] {
		if s.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("attempt span %d is not a child of the send's span", i+1)
		}
		if got := attrs(s.Attributes)["rocketsend.send.attempt"].AsInt64(); got != int64(i+1) {
			t.Errorf("span %d: attempt %d", i, got)
		}
	}
	if s := spans[0]; s.Status.Code != codes.Error || attrs(s.Attributes)["error.type"].String() == "" || len(s.Events) != 1 {
		t.Errorf("failed attempt: status %v, attributes %v, events %v", s.Status, s.Attributes, s.Events)
	}
	if s := spans[1]; s.Status.Code != codes.Error || s.Status.Description != "attempt failed before it was sent" {
		t.Errorf("unsent attempt: status %v", s.Status)
	}
	if s := spans[2]; s.Status.Code == codes.Error {
		t.Errorf("successful attempt: status %v", s.Status)
	}
	if got, want := sc.Message.Property("traceparent"), fmt.Sprintf("00-%s-%s-01", spans[2].SpanContext.TraceID(), spans[2].SpanContext.SpanID()); got != want {
		t.Errorf("traceparent %q is not the last attempt's %q", got, want)
	}
}

func TestMetricsNamedAsTheRocketMQ5Clients(t *testing.T) {
	h := newHarness(t, WithClientID("cid"))
	for i, lat := range []time.Duration{500 * time.Microsecond, 7 * time.Millisecond, 300 * time.Millisecond} {
		sc := sendContext(context.Background())
		_ = h.hook.SendMessageBefore(sc)
		var err error
		if i == 2 {
			err = errors.New("timeout")
		}
		answered(sc, lat, err)
		h.hook.SendMessageAfter(sc)
	}
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			got[m.Name] = m
		}
	}
	success := attribute.NewSet(attribute.String("topic", "orders"), attribute.String("client_id", "cid"), attribute.String("invocation_status", "success"))
	failure := attribute.NewSet(attribute.String("topic", "orders"), attribute.String("client_id", "cid"), attribute.String("invocation_status", "failure"))

	cost, ok := got["rocketmq_send_cost_time"].Data.(metricdata.Histogram[float64])
	if !ok || got["rocketmq_send_cost_time"].Unit != "ms" {
		t.Fatalf("rocketmq_send_cost_time: %+v", got["rocketmq_send_cost_time"])
	}
	for _, dp := range cost.DataPoints {
		if fmt.Sprint(dp.Bounds) != "[1 5 10 20 50 200 500]" {
			t.Errorf("buckets %v", dp.Bounds)
		}
		switch {
		case dp.Attributes.Equals(&success):
			if dp.Count != 2 || fmt.Sprint(dp.BucketCounts) != "[1 0 1 0 0 0 0 0]" || dp.Sum != 7.5 {
				t.Errorf("success histogram count %d buckets %v sum %v", dp.Count, dp.BucketCounts, dp.Sum)
			}
		case dp.Attributes.Equals(&failure):
			if dp.Count != 1 || dp.Sum != 300 {
				t.Errorf("failure histogram count %d sum %v", dp.Count, dp.Sum)
			}
		default:
			t.Errorf("unexpected labels %v", dp.Attributes.ToSlice())
		}
	}
	for name, want := range map[string][2]int64{"rocketmq_send_messages_total": {2, 1}, "rocketmq_send_bytes_total": {20, 10}} {
		sum, ok := got[name].Data.(metricdata.Sum[int64])
		if !ok || !sum.IsMonotonic {
			t.Fatalf("%s: %+v", name, got[name])
		}
		for _, dp := range sum.DataPoints {
			if (dp.Attributes.Equals(&success) && dp.Value != want[0]) || (dp.Attributes.Equals(&failure) && dp.Value != want[1]) {
				t.Errorf("%s %v = %d", name, dp.Attributes.ToSlice(), dp.Value)
			}
		}
		if len(sum.DataPoints) != 2 {
			t.Errorf("%s: %d series", name, len(sum.DataPoints))
		}
	}
}

// Without a sampled parent the span is not recorded, but the context still travels (sampled=0),
// so a consumer can still join the trace's decision; metrics are recorded regardless.
func TestUnsampledSendsStillPropagate(t *testing.T) {
	h := &harness{spans: tracetest.NewInMemoryExporter()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(h.spans), sdktrace.WithSampler(sdktrace.NeverSample()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	hook, err := New(WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	sc := sendContext(context.Background())
	_ = hook.SendMessageBefore(sc)
	answered(sc, time.Millisecond, nil)
	hook.SendMessageAfter(sc)
	if n := len(h.spans.GetSpans()); n != 0 {
		t.Errorf("%d spans exported with NeverSample", n)
	}
	if tp := sc.Message.Property("traceparent"); len(tp) != 55 || tp[53:] != "00" {
		t.Errorf("traceparent %q, want an unsampled W3C trace context", tp)
	}
}

func TestNewRejectsANilPropagator(t *testing.T) {
	if _, err := New(WithPropagator(nil)); err == nil {
		t.Fatal("nil propagator accepted")
	}
}
