package trace

import (
	"context"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// discardSender acknowledges every trace message at once, on the caller's goroutine.
type discardSender struct{}

func (discardSender) SendAsync(_ context.Context, _ *message.Message, cb func(*message.SendResult, error), _ ...send.CallOption) error {
	cb(&message.SendResult{Status: message.SendOK}, nil)
	return nil
}

// BenchmarkSendMessageAfter is the cost the trace hook adds to a send attempt: build a record and
// hand it to the buffer. The background sender encodes and "sends" concurrently (to a sender
// that drops the message), so drops/op says whether it kept up.
func BenchmarkSendMessageAfter(b *testing.B) {
	tr, err := New(discardSender{}, WithBufferSize(1<<16), WithBatchSize(DefaultBatchSize))
	if err != nil {
		b.Fatal(err)
	}
	sc := attempt("T", "AC110001000018B4AAC20000000A0001")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.SendMessageAfter(sc)
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(tr.Stats().Dropped)/float64(b.N), "drops/op")
}

// BenchmarkFlush is the background side per record: encode a batch of 10 records of one topic
// into one trace message (body, keys) and send it.
func BenchmarkFlush(b *testing.B) {
	tr, err := New(discardSender{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tr.Close(context.Background()) }()
	r := record{kind: kindPub, timestampMs: time.Now().UnixMilli(), costMs: 2, bodyLen: 1024, region: "DefaultRegion",
		group: "app", topic: "orders", msgID: "AC110001000018B4AAC20000000A0001", offsetMsgID: "7F00000100002A9F0000000000001234",
		tags: "created", keys: "order-1", storeHost: "127.0.0.1:10911", success: true}
	batch := make([]record, DefaultBatchSize)
	for i := range batch {
		batch[i] = r
	}
	enc := &encoder{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.flush(enc, batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
}
