// Package otel is the OpenTelemetry hook for rocketsend producers: a span per send attempt with
// the messaging semantic conventions, the W3C trace context injected into the message's
// properties so consumers continue the trace, and the send metrics the RocketMQ 5 clients
// publish, through the OpenTelemetry Go SDK (or whatever providers you pass).
//
//	h, _ := otel.New(otel.WithTracerProvider(tp), otel.WithMeterProvider(mp))
//	p, _ := send.New(send.WithNameServers(ns), send.WithGroup("app"), send.WithHooks(h))
//
// Spans: one per attempt, kind Producer, named "send <topic>", child of the span in the send's
// context; attributes messaging.system=rocketmq, messaging.operation.type=send,
// messaging.operation.name=send, messaging.destination.name, messaging.message.id,
// messaging.message.body.size, messaging.rocketmq.message.tag/.keys/.type,
// messaging.rocketmq.namespace, messaging.rocketmq.client_group, messaging.client.id,
// server.address/server.port (the broker) and rocketsend.send.attempt; a failed attempt has
// status Error, error.type and the error recorded as an event. A stored message whose status is
// not SEND_OK (a flush or slave timeout) is not an error; rocketsend.send.status says which.
// While the attempt runs, the span is also in SendContext.Context, so hooks registered after
// this one see it as their current span.
//
// Metrics (labels topic, client_id when set, invocation_status=success|failure, per attempt):
//
//	rocketmq_send_cost_time       histogram, ms, buckets 1 5 10 20 50 200 500 (the RocketMQ 5
//	                              clients' name, unit and buckets)
//	rocketmq_send_messages_total  counter of attempts by outcome
//	rocketmq_send_bytes_total     counter of body bytes by outcome
//
// OpenTelemetry stays out of core/: only this package imports it.
package otel

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/rocketsend/rocketsend/core/send"
)

// ScopeName is the instrumentation scope of the spans and instruments.
const ScopeName = "github.com/rocketsend/rocketsend/plugins/hooks/otel"

// Metric names and labels, as the RocketMQ 5 clients (apache/rocketmq-clients) name theirs.
const (
	MetricSendCostTime = "rocketmq_send_cost_time"
	MetricSendMessages = "rocketmq_send_messages_total"
	MetricSendBytes    = "rocketmq_send_bytes_total"

	LabelTopic            = "topic"
	LabelClientID         = "client_id"
	LabelInvocationStatus = "invocation_status"
)

// sendCostBuckets are the RocketMQ 5 clients' buckets for rocketmq_send_cost_time (ms).
var sendCostBuckets = []float64{1, 5, 10, 20, 50, 200, 500}

// Attribute keys that the semantic conventions do not (or no longer) define.
const (
	attrClientGroup = attribute.Key("messaging.rocketmq.client_group")
	attrAttempt     = attribute.Key("rocketsend.send.attempt")
	attrSendStatus  = attribute.Key("rocketsend.send.status")
)

// Hook is the OpenTelemetry hook: a send.SendMessageBeforeHook and send.SendMessageAfterHook.
// It is safe for concurrent use.
type Hook struct {
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	clientID string

	costTime metric.Float64Histogram
	messages metric.Int64Counter
	bytes    metric.Int64Counter

	labels sync.Map // labelKey -> metric.MeasurementOption (an attribute.Set made once)
}

// New returns a Hook with instruments created from the meter provider.
func New(opts ...Option) (*Hook, error) {
	cfg := config{prop: propagation.TraceContext{}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.tp == nil {
		cfg.tp = gotel.GetTracerProvider()
	}
	if cfg.mp == nil {
		cfg.mp = gotel.GetMeterProvider()
	}
	if cfg.prop == nil {
		return nil, errors.New("otel: nil propagator")
	}
	h := &Hook{
		tracer:   cfg.tp.Tracer(ScopeName),
		prop:     cfg.prop,
		clientID: cfg.clientID,
	}
	meter := cfg.mp.Meter(ScopeName)
	var err, e error
	h.costTime, e = meter.Float64Histogram(MetricSendCostTime, metric.WithUnit("ms"),
		metric.WithDescription("Duration of a send attempt, from the request written to the broker's answer or the error."),
		metric.WithExplicitBucketBoundaries(sendCostBuckets...))
	err = errors.Join(err, e)
	h.messages, e = meter.Int64Counter(MetricSendMessages, metric.WithUnit("{attempt}"),
		metric.WithDescription("Send attempts, by outcome."))
	err = errors.Join(err, e)
	h.bytes, e = meter.Int64Counter(MetricSendBytes, metric.WithUnit("By"),
		metric.WithDescription("Message body bytes of send attempts, by outcome."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// attemptCtx is the context an attempt's hooks see: the send's context with the attempt's span
// as current span. It remembers the send's own context so the next attempt's span is a sibling,
// not a child, and the span, for the After hook.
type attemptCtx struct {
	context.Context // parent + span
	parent          context.Context
	span            trace.Span
	ended           bool
}

type attemptKey struct{}

func (c *attemptCtx) Value(k any) any {
	if k == (attemptKey{}) {
		return c
	}
	return c.Context.Value(k)
}

// SendMessageBefore starts the attempt's span and injects its context into the message.
func (h *Hook) SendMessageBefore(sc *send.SendContext) error {
	parent := sc.Context
	if parent == nil {
		parent = context.Background()
	}
	if prev, ok := parent.Value(attemptKey{}).(*attemptCtx); ok {
		// A previous attempt of this send: its span ended in After, unless the attempt failed
		// before it was sent (After does not run then).
		if !prev.ended {
			prev.span.SetStatus(codes.Error, "attempt failed before it was sent")
			prev.span.End()
			prev.ended = true
		}
		parent = prev.parent
	}
	msg := sc.Message
	topic := msg.Topic // the producer gives hooks the topic without its namespace
	ctx, span := h.tracer.Start(parent, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer))
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 14)
		attrs = append(attrs,
			semconv.MessagingSystemRocketMQ,
			semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("send"),
			semconv.MessagingDestinationName(topic),
			semconv.MessagingMessageBodySize(len(msg.Body)),
			attrClientGroup.String(sc.Group),
			attrAttempt.Int(sc.Attempt),
			messageType(sc.MessageType),
		)
		if id := msg.UniqID(); id != "" {
			attrs = append(attrs, semconv.MessagingMessageID(id))
		}
		if tag := msg.Tags(); tag != "" {
			attrs = append(attrs, semconv.MessagingRocketMQMessageTag(tag))
		}
		if keys := msg.Keys(); len(keys) > 0 {
			attrs = append(attrs, semconv.MessagingRocketMQMessageKeys(keys...))
		}
		if sc.Namespace != "" {
			attrs = append(attrs, semconv.MessagingRocketMQNamespace(sc.Namespace))
		}
		if h.clientID != "" {
			attrs = append(attrs, semconv.MessagingClientID(h.clientID))
		}
		span.SetAttributes(attrs...)
	}
	h.prop.Inject(ctx, Carrier{Msg: msg})
	sc.Context = &attemptCtx{Context: ctx, parent: parent, span: span}
	return nil
}

// SendMessageAfter ends the attempt's span and records the metrics. It never blocks.
func (h *Hook) SendMessageAfter(sc *send.SendContext) {
	failed := sc.Err != nil
	topic := sc.Queue.Topic
	if topic == "" && sc.Message != nil {
		topic = sc.Message.Topic
	}
	labels := h.labelsFor(topic, failed)
	ms := float64(sc.Latency) / float64(time.Millisecond)
	h.costTime.Record(context.Background(), ms, labels)
	h.messages.Add(context.Background(), 1, labels)
	if sc.Message != nil {
		h.bytes.Add(context.Background(), int64(len(sc.Message.Body)), labels)
	}

	ac, ok := sc.Context.(*attemptCtx)
	if !ok || ac.ended {
		return // our Before did not run for this attempt (a hook before it failed)
	}
	ac.ended = true
	span := ac.span
	if span.IsRecording() {
		if host, port, err := net.SplitHostPort(sc.BrokerAddr); err == nil {
			span.SetAttributes(semconv.ServerAddress(host))
			if p, err := strconv.Atoi(port); err == nil {
				span.SetAttributes(semconv.ServerPort(p))
			}
		}
		if r := sc.Result; r != nil {
			if r.MsgID != "" {
				span.SetAttributes(semconv.MessagingMessageID(r.MsgID))
			}
			span.SetAttributes(attrSendStatus.String(r.Status.String()))
		}
		if failed {
			span.SetAttributes(semconv.ErrorType(sc.Err))
			span.RecordError(sc.Err)
			span.SetStatus(codes.Error, sc.Err.Error())
		}
	}
	span.End()
}

type labelKey struct {
	topic  string
	failed bool
}

// labelsFor returns the metric labels of a topic and outcome, made once: building an
// attribute.Set per attempt would allocate on every send. There are two per topic sent to.
func (h *Hook) labelsFor(topic string, failed bool) metric.MeasurementOption {
	k := labelKey{topic, failed}
	if v, ok := h.labels.Load(k); ok {
		return v.(metric.MeasurementOption)
	}
	status := "success"
	if failed {
		status = "failure"
	}
	kv := []attribute.KeyValue{attribute.String(LabelTopic, topic), attribute.String(LabelInvocationStatus, status)}
	if h.clientID != "" {
		kv = append(kv, attribute.String(LabelClientID, h.clientID))
	}
	v, _ := h.labels.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(kv...)))
	return v.(metric.MeasurementOption)
}

func messageType(t send.MessageType) attribute.KeyValue {
	switch t {
	case send.OrderMsg:
		return semconv.MessagingRocketMQMessageTypeFifo
	case send.DelayMsg:
		return semconv.MessagingRocketMQMessageTypeDelay
	case send.TransMsgHalf, send.TransMsgCommit:
		return semconv.MessagingRocketMQMessageTypeTransaction
	}
	return semconv.MessagingRocketMQMessageTypeNormal
}

// Compile-time checks: the Hook is both halves of a send hook.
var _ send.SendMessageHook = (*Hook)(nil)
