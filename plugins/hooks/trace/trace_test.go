package trace

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// fakeSender records trace messages. With gate set, each send waits for it before answering
// (on its own goroutine, as a producer's callback worker would).
type fakeSender struct {
	mu    sync.Mutex
	msgs  []*message.Message
	fail  error // returned by SendAsync itself
	cbErr error // passed to the callback
	gate  chan struct{}
	wg    sync.WaitGroup
}

func (f *fakeSender) SendAsync(ctx context.Context, msg *message.Message, cb func(*message.SendResult, error), _ ...send.CallOption) error {
	if f.fail != nil {
		return f.fail
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, msg)
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if f.gate != nil {
			select {
			case <-f.gate:
			case <-ctx.Done():
				cb(nil, ctx.Err())
				return
			}
		}
		if f.cbErr != nil {
			cb(nil, f.cbErr)
			return
		}
		cb(&message.SendResult{Status: message.SendOK}, nil)
	}()
	return nil
}

func (f *fakeSender) sent() []*message.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*message.Message(nil), f.msgs...)
}

func newTracer(t *testing.T, s Sender, opts ...Option) *Tracer {
	t.Helper()
	tr, err := New(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	return tr
}

func closeTracer(t *testing.T, tr *Tracer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// attempt is the SendContext the producer hands After hooks for an acknowledged attempt.
func attempt(topic, id string, mutate ...func(*send.SendContext)) *send.SendContext {
	m := message.New(topic, []byte("hello"))
	m.SetTags("TagA")
	m.SetKeys("k-"+id, "shared")
	sc := &send.SendContext{Context: context.Background(), Group: "app", Namespace: "ns", Message: m, Mode: send.ModeSync,
		MessageType: send.NormalMsg, Attempt: 1, Queue: message.MessageQueue{Topic: topic, BrokerName: "broker-a", QueueID: 1},
		BrokerAddr: "127.0.0.1:10911", Latency: 3 * time.Millisecond,
		Result: &message.SendResult{Status: message.SendOK, MsgID: id, OffsetMsgID: "off-" + id, RegionID: "DefaultRegion", TraceOn: true}}
	for _, f := range mutate {
		f(sc)
	}
	return sc
}

func TestAcknowledgedAttemptsAreTracedAsJavaDoes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := &fakeSender{}
	tr := newTracer(t, fs, WithBatchSize(100), WithFlushInterval(time.Hour))
	before := time.Now().UnixMilli()
	tr.SendMessageAfter(attempt("T", "ID1"))
	tr.SendMessageAfter(attempt("T", "ID2", func(sc *send.SendContext) {
		sc.MessageType = send.OrderMsg // traced as Normal_Msg, as Java's producer traces it
		sc.Result.Status = message.FlushDiskTimeout
		sc.Message.DelProperty(message.PropertyTags)
		sc.Message.DelProperty(message.PropertyKeys)
	}))
	// Not traced: a failed attempt, a oneway send, a broker with tracing off, the trace topic.
	tr.SendMessageAfter(attempt("T", "ID3", func(sc *send.SendContext) { sc.Result, sc.Err = nil, errors.New("timeout") }))
	tr.SendMessageAfter(attempt("T", "ID4", func(sc *send.SendContext) { sc.Result, sc.Mode = nil, send.ModeOneway }))
	tr.SendMessageAfter(attempt("T", "ID5", func(sc *send.SendContext) { sc.Result.TraceOn = false }))
	tr.SendMessageAfter(attempt(DefaultTopic, "ID6"))
	closeTracer(t, tr)
	after := time.Now().UnixMilli()

	msgs := fs.sent()
	if len(msgs) != 1 {
		t.Fatalf("%d trace messages, want 1 (one topic, one flush)", len(msgs))
	}
	m := msgs[0]
	if m.Topic != DefaultTopic {
		t.Errorf("trace message topic %q", m.Topic)
	}
	if got, want := m.Property(message.PropertyKeys), "ID1 k-ID1 shared ID2"; got != want {
		t.Errorf("trace message keys %q, want %q (ids and keys, each once)", got, want)
	}
	ds, err := decodeJavaLike(string(m.Body))
	if err != nil || len(ds) != 2 {
		t.Fatalf("decoded %d records, %v: %q", len(ds), err, m.Body)
	}
	d := ds[0]
	if d.typ != "Pub" || d.region != "DefaultRegion" || d.group != "app" || d.topic != "T" || d.msgID != "ID1" ||
		d.tags != "TagA" || d.keys != "k-ID1 shared" || d.storeHost != "127.0.0.1:10911" || d.bodyLen != 5 ||
		d.cost != 3 || d.msgType != int(send.NormalMsg) || d.offset != "off-ID1" || !d.success {
		t.Errorf("first record %+v", d)
	}
	if d.ts < before-3 || d.ts > after {
		t.Errorf("time stamp %d outside [%d-3, %d]: it is the attempt's start", d.ts, before, after)
	}
	if d := ds[1]; d.msgID != "ID2" || d.success || d.tags != "null" || d.keys != "null" || d.msgType != int(send.NormalMsg) {
		t.Errorf("second record %+v: a non-OK status is success=false; no tags/keys are Java's null; an ordered send is Normal_Msg", d)
	}
	if s := tr.Stats(); s != (Stats{Recorded: 2, Sent: 2, Messages: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestEndTransactionIsTraced(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := &fakeSender{}
	tr := newTracer(t, fs)
	m := message.New("TX", []byte("x"))
	m.SetKeys("order-1")
	tr.EndTransaction(&send.EndTransactionContext{Group: "txg", Message: m, BrokerAddr: "127.0.0.1:10911", MsgID: "ID",
		TransactionID: "TXID", State: send.CommitMessage, FromCheck: false})
	closeTracer(t, tr)
	msgs := fs.sent()
	if len(msgs) != 1 {
		t.Fatalf("%d trace messages", len(msgs))
	}
	ds, err := decodeJavaLike(string(msgs[0].Body))
	if err != nil || len(ds) != 1 {
		t.Fatalf("%v %q", err, msgs[0].Body)
	}
	if d := ds[0]; d.typ != "EndTransaction" || d.topic != "TX" || d.region != "DefaultRegion" || d.group != "txg" ||
		d.txID != "TXID" || d.txState != "COMMIT_MESSAGE" || d.tags != "null" || d.keys != "order-1" || d.msgType != int(send.TransMsgCommit) {
		t.Errorf("record %+v", d)
	}
}

func TestBatchesGroupByTopicAndSplitBySize(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := &fakeSender{}
	// Measure one record to size the bound at two records and a half.
	probe := record{kind: kindPub, region: "DefaultRegion", group: "app", topic: "A", msgID: "ID00", offsetMsgID: "off-ID00",
		tags: "TagA", keys: "k-ID00 shared", storeHost: "127.0.0.1:10911", bodyLen: 5, costMs: 3, timestampMs: time.Now().UnixMilli(), success: true}
	size := len(probe.appendTo(nil))
	tr := newTracer(t, fs, WithBatchSize(9), WithFlushInterval(time.Hour), WithMaxMessageSize(size*5/2))
	for i, topic := range []string{"A", "B", "A", "A", "B", "A", "A", "A", "B"} { // A x6, B x3: one batch of 9
		tr.SendMessageAfter(attempt(topic, "ID0"+string(rune('0'+i))))
	}
	// The batch is full: it goes out without waiting for the (hour-long) interval or Close.
	deadline := time.Now().Add(10 * time.Second)
	for len(fs.sent()) < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	msgs := fs.sent()
	var shape []string
	for _, m := range msgs {
		ds, err := decodeJavaLike(string(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Body) > size*5/2 {
			t.Errorf("trace message of %d bytes, bound %d", len(m.Body), size*5/2)
		}
		s := ""
		for _, d := range ds {
			s += d.topic
		}
		shape = append(shape, s)
	}
	if got := strings.Join(shape, ","); got != "AA,AA,AA,BB,B" {
		t.Errorf("trace messages by topic %q, want AA,AA,AA,BB,B (one message per topic, split at the size bound)", got)
	}
	closeTracer(t, tr)
	if s := tr.Stats(); s.Sent != 9 || s.Messages != 5 {
		t.Errorf("stats %+v", s)
	}
}

func TestFlushIntervalSendsAPartialBatch(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := &fakeSender{}
	tr := newTracer(t, fs, WithBatchSize(100), WithFlushInterval(20*time.Millisecond))
	tr.SendMessageAfter(attempt("T", "ID1"))
	deadline := time.Now().Add(10 * time.Second)
	for len(fs.sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(fs.sent()) != 1 {
		t.Fatal("a lone record was not sent by the flush interval")
	}
	closeTracer(t, tr)
}

// A stalled trace topic never stalls a send: the buffer fills, records are dropped and counted,
// and every record offered is accounted for once the Tracer is closed.
func TestFullBufferDropsAndCounts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := &fakeSender{gate: make(chan struct{})}
	tr := newTracer(t, fs, WithBufferSize(4), WithBatchSize(1), WithMaxInFlight(1), WithFlushInterval(time.Hour))
	const offered = 200
	done := make(chan struct{})
	go func() {
		for i := 0; i < offered; i++ {
			tr.SendMessageAfter(attempt("T", "ID"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("SendMessageAfter blocked while the trace sender was stalled")
	}
	s := tr.Stats()
	// At most: 4 buffered, 1 in flight, 1 waiting for a slot in the background goroutine.
	if s.Dropped < offered-6 || s.Recorded+s.Dropped != offered {
		t.Errorf("stats while stalled %+v", s)
	}
	close(fs.gate)
	closeTracer(t, tr)
	s = tr.Stats()
	if s.Recorded+s.Dropped != offered || s.Sent+s.Failed != s.Recorded || s.Failed != 0 {
		t.Errorf("stats after close %+v: every record must end sent, failed or dropped", s)
	}
	tr.SendMessageAfter(attempt("T", "late"))
	if s2 := tr.Stats(); s2.Dropped != s.Dropped+1 {
		t.Errorf("a record after Close: %+v", s2)
	}
	fs.wg.Wait()
}

func TestFailedTraceSendsAreCounted(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, fs := range []*fakeSender{{fail: errors.New("not running")}, {cbErr: errors.New("broker down")}} {
		tr := newTracer(t, fs, WithBatchSize(2))
		for i := 0; i < 3; i++ {
			tr.SendMessageAfter(attempt("T", "ID"))
		}
		closeTracer(t, tr)
		if s := tr.Stats(); s.Recorded != 3 || s.Failed != 3 || s.Sent != 0 || s.Messages != 0 {
			t.Errorf("stats %+v", s)
		}
		fs.wg.Wait()
	}
}

func TestCloseGivesUpWithItsContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := &fakeSender{gate: make(chan struct{})}
	tr := newTracer(t, fs, WithBatchSize(1))
	tr.SendMessageAfter(attempt("T", "ID"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tr.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a stalled sender: %v", err)
	}
	close(fs.gate)
	closeTracer(t, tr) // a second Close waits again, now successfully
	fs.wg.Wait()
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Error("nil sender accepted")
	}
	_, err := New(&fakeSender{}, WithTopic(""), WithBufferSize(0), WithBatchSize(-1), WithFlushInterval(0),
		WithMaxMessageSize(0), WithMaxInFlight(0), WithSendTimeout(0), WithLogger(nil))
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, want := range []string{"topic", "buffer size", "batch size", "flush interval", "max message size", "max in flight", "send timeout", "logger"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
