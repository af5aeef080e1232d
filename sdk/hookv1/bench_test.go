package hookv1

import (
	"strconv"
	"testing"
)

// benchView is a ~500 B view: a BEFORE_SEND of a traced, keyed message with a dozen properties.
func benchView() *MessageView {
	props := []Property{
		{"KEYS", "order-20240611-000042"}, {"TAGS", "paid"}, {"TRACE_ON", "true"}, {"UNIQ_KEY", "7F0000010B2A18B4AAC2"},
		{"WAIT", "true"}, {"region", "eu-west-1"}, {"tenant", "acme-corp"},
		{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
	for i := 0; len(props) < 14; i++ {
		props = append(props, Property{"app.attr" + strconv.Itoa(i), "value-" + strconv.Itoa(i*1000)})
	}
	return &MessageView{
		Topic: "prod%orders-events", Tags: "paid", Keys: "order-20240611-000042",
		Properties: props, BodySize: 1024, Group: "order-service-producer", Namespace: "prod",
		Mode: ModeAsync, MessageType: MessageTypeNormal, Attempt: 1,
		BrokerAddr: "10.20.30.40:10911", BornHost: "10.20.30.99:0",
		Queues:     []QueueRef{{"broker-a", 0}, {"broker-a", 1}, {"broker-b", 0}, {"broker-b", 1}},
		QueueCount: 4,
	}
}

func BenchmarkAppendMessageView(b *testing.B) {
	v := benchView()
	buf := AppendMessageView(nil, v)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessageView(buf[:0], v)
	}
	b.ReportMetric(float64(len(buf)), "view-bytes")
}

// BenchmarkViewScan is the cost of reading every field (Validate); BenchmarkViewTags that of a
// hook that reads only the tags (the lazy scan stops at field 2).
func BenchmarkViewScan(b *testing.B) {
	buf := AppendMessageView(nil, benchView())
	var v View
	b.ReportAllocs()
	for b.Loop() {
		v.Reset(buf)
		if v.Validate() != nil {
			b.Fatal("malformed")
		}
	}
}

func BenchmarkViewTags(b *testing.B) {
	buf := AppendMessageView(nil, benchView())
	var v View
	b.ReportAllocs()
	for b.Loop() {
		v.Reset(buf)
		if len(v.Tags()) == 0 {
			b.Fatal("no tags")
		}
	}
}

func BenchmarkViewProperty(b *testing.B) {
	buf := AppendMessageView(nil, benchView())
	var v View
	v.Reset(buf)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := v.Property("traceparent"); !ok {
			b.Fatal("missing")
		}
	}
}

// BenchmarkViewResetAndProperty is what a guest hook does per call: index the view, read one
// property and the topic.
func BenchmarkViewResetAndProperty(b *testing.B) {
	buf := AppendMessageView(nil, benchView())
	var v View
	b.ReportAllocs()
	for b.Loop() {
		v.Reset(buf)
		_, _ = v.Property("traceparent")
		_ = v.Topic()
	}
}

func BenchmarkDecisionBuilder(b *testing.B) {
	var d DecisionBuilder
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		d.SetProperty("trace-id", "0af7651916cd43dd8448eb211c80319c")
		d.DeleteProperty("secret")
		d.SetTags("paid,eu")
		d.SelectQueue(3)
	}
}

func decisionBytes() []byte {
	var d DecisionBuilder
	d.SetProperty("trace-id", "0af7651916cd43dd8448eb211c80319c")
	d.DeleteProperty("secret")
	d.SetTags("paid,eu")
	d.SelectQueue(3)
	return d.Bytes()
}

func BenchmarkDecodeDecision(b *testing.B) {
	buf := decisionBytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDecision(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDecisionInto(b *testing.B) {
	buf := decisionBytes()
	var d Decision
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeDecisionInto(&d, buf); err != nil {
			b.Fatal(err)
		}
	}
}
