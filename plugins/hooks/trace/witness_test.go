package trace_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/plugins/hooks/trace"
	"github.com/rocketsend/rocketsend/tools/javapeer/javapeertest"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestMain(m *testing.M) { rmqtest.Main(m) }

const witnessWait = 90 * time.Second

func uniqueName(prefix string) string {
	return prefix + "_" + strconv.FormatInt(time.Now().UnixNano()%1e10, 36)
}

func startProducer(t *testing.T, ns string, opts ...send.Option) *send.Producer {
	t.Helper()
	opts = append([]send.Option{send.WithNameServers(ns), send.WithSendTimeout(10 * time.Second)}, opts...)
	p, err := send.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// sent is what the test knows of one traced send, to compare with what Java decodes.
type sent struct {
	res        *message.SendResult
	tags, keys string
	bodyLen    int
	msgType    string
	before     int64 // ms, just before the send
	after      int64 // ms, once the result was in
}

// TestJavaDecodesTheTraceRecords sends through a producer with the trace hook (sync, async, no
// tags or keys, a transaction) and has the Java client's own TraceDataEncoder decode the trace
// topic: every field must be what the send produced.
func TestJavaDecodesTheTraceRecords(t *testing.T) {
	cl := rmqtest.Start(t)
	ns := cl.NameServer()
	traceTopic := uniqueName("rs_trace_data")
	topic := uniqueName("rs_traced")
	cl.CreateTopic(t, traceTopic, 1)
	cl.CreateTopic(t, topic, 4)
	group := uniqueName("rs_trace_app")

	tp := startProducer(t, ns, send.WithGroup("_INNER_TRACE_PRODUCER-"+group))
	tr, err := trace.New(tp, trace.WithTopic(traceTopic), trace.WithFlushInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	p := startProducer(t, ns, send.WithGroup(group), send.WithHooks(tr),
		send.WithTransactionChecker(send.TransactionCheckerFunc(func(context.Context, *message.MessageExt) send.LocalTransactionState {
			return send.CommitMessage
		})))
	w := javapeertest.ConsumeTrace(t, ns, traceTopic, javapeertest.WithTimeout(witnessWait+60*time.Second))
	ctx := context.Background()

	var mu sync.Mutex
	want := map[string]*sent{}
	record := func(m *message.Message, res *message.SendResult, typ string, before int64) {
		mu.Lock()
		defer mu.Unlock()
		want[res.MsgID] = &sent{res: res, tags: m.Tags(), keys: m.Property(message.PropertyKeys), bodyLen: len(m.Body),
			msgType: typ, before: before, after: time.Now().UnixMilli()}
	}
	for i := 0; i < 3; i++ {
		m := message.New(topic, []byte(fmt.Sprintf("sync %d", i)))
		if i > 0 {
			m.SetTags("TagS")
			m.SetKeys("order-"+strconv.Itoa(i), "customer-7")
		}
		before := time.Now().UnixMilli()
		res, err := p.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		record(m, res, "Normal_Msg", before)
	}
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		m := message.New(topic, []byte(strings.Repeat("a", 100*i+1)))
		m.SetTags("TagA")
		before := time.Now().UnixMilli()
		wg.Add(1)
		if err := p.SendAsync(ctx, m, func(res *message.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("async send: %v", err)
				return
			}
			record(m, res, "Normal_Msg", before)
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	ordered := message.New(topic, []byte("ordered"))
	before := time.Now().UnixMilli()
	res, err := p.Send(ctx, ordered, send.OrderedBy("order-9"))
	if err != nil {
		t.Fatal(err)
	}
	record(ordered, res, "Normal_Msg", before) // as Java's producer traces an ordered send
	txMsg := message.New(topic, []byte("in a transaction"))
	txMsg.SetKeys("tx-1")
	before = time.Now().UnixMilli()
	txRes, err := p.SendInTransaction(ctx, txMsg, func(context.Context, *message.Message, *message.SendResult) (send.LocalTransactionState, error) {
		return send.CommitMessage, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	record(txMsg, txRes.SendResult, "Trans_Msg_Half", before)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := tr.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	if s := tr.Stats(); s.Recorded != uint64(len(want)+1) || s.Sent != s.Recorded || s.Dropped != 0 || s.Failed != 0 {
		t.Fatalf("tracer stats %+v, want %d records all sent", s, len(want)+1)
	}

	got := w.CollectWhere(len(want)+1, witnessWait, func(r javapeertest.TraceRecord) bool { return want[r.MsgID] != nil })
	pubs := 0
	for _, r := range got {
		if r.Decoded != r.RawRecords {
			t.Errorf("the Java decoder skipped records: %d of %d decoded in %s", r.Decoded, r.RawRecords, r.TraceMsgID)
		}
		s := want[r.MsgID]
		if !strings.Contains(" "+r.TraceKeys+" ", " "+r.MsgID+" ") {
			t.Errorf("%s: trace message keys %q lack the message id", r.MsgID, r.TraceKeys)
		}
		for _, k := range strings.Fields(s.keys) {
			if !strings.Contains(" "+r.TraceKeys+" ", " "+k+" ") {
				t.Errorf("%s: trace message keys %q lack the message key %q", r.MsgID, r.TraceKeys, k)
			}
		}
		tags, keys := s.tags, s.keys
		if tags == "" {
			tags = "null" // what Java's encoder writes for a message without tags
		}
		if keys == "" {
			keys = "null"
		}
		if r.RegionID != s.res.RegionID || r.GroupName != group || r.Topic != topic || r.Tags != tags || r.Keys != keys {
			t.Errorf("%s: decoded %v; want region %q group %q topic %q tags %q keys %q", r.MsgID, r, s.res.RegionID, group, topic, tags, keys)
		}
		if r.TimeStamp < s.before-1 || r.TimeStamp > s.after {
			t.Errorf("%s: time stamp %d outside the send [%d, %d]", r.MsgID, r.TimeStamp, s.before, s.after)
		}
		broker := cl.BrokerAddr(s.res.Queue.BrokerName)
		switch r.TraceType {
		case "Pub":
			pubs++
			if r.OffsetMsgID != s.res.OffsetMsgID || r.StoreHost != broker || r.BodyLength != s.bodyLen || !r.Success ||
				r.MsgType != s.msgType || r.CostTime < 0 || int64(r.CostTime) > s.after-s.before+1 {
				t.Errorf("%s: Pub decoded %+v; want offsetMsgId %s storeHost %s bodyLength %d msgType %s, cost within %d ms",
					r.MsgID, r, s.res.OffsetMsgID, broker, s.bodyLen, s.msgType, s.after-s.before)
			}
		case "EndTransaction":
			// Java records the message's UNIQ_KEY as its transaction id (a 4.x broker returns none).
			if r.TransactionState != "COMMIT_MESSAGE" || r.TransactionID != txMsg.UniqID() || r.FromTransactionCheck ||
				r.MsgType != "Trans_msg_Commit" || r.StoreHost != broker {
				t.Errorf("EndTransaction decoded %+v; want COMMIT_MESSAGE of %s at %s", r, txMsg.UniqID(), broker)
			}
		default:
			t.Errorf("unexpected record type %s", r.TraceType)
		}
	}
	if pubs != len(want) {
		t.Errorf("%d Pub records for %d sends", pubs, len(want))
	}
}

// TestDefaultTraceTopic: with no topic configured the records go to RMQ_SYS_TRACE_TOPIC, which
// the broker made itself (traceTopicEnable=true), and Java finds them there.
func TestDefaultTraceTopic(t *testing.T) {
	cl := rmqtest.Start(t)
	ns := cl.NameServer()
	topic := uniqueName("rs_traced_default")
	cl.CreateTopic(t, topic, 2)
	tp := startProducer(t, ns, send.WithGroup(uniqueName("rs_trace_inner")))
	tr, err := trace.New(tp, trace.WithFlushInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	p := startProducer(t, ns, send.WithGroup(uniqueName("rs_trace_app")), send.WithHooks(tr))
	res, err := p.Send(context.Background(), message.New(topic, []byte("traced")))
	if err != nil {
		t.Fatal(err)
	}
	w := javapeertest.ConsumeTrace(t, ns, trace.DefaultTopic, javapeertest.WithTimeout(witnessWait+60*time.Second))
	got := w.CollectWhere(1, witnessWait, func(r javapeertest.TraceRecord) bool { return r.MsgID == res.MsgID })
	if r := got[0]; r.TraceTopic != trace.DefaultTopic || r.TraceType != "Pub" || r.Topic != topic || r.OffsetMsgID != res.OffsetMsgID {
		t.Errorf("decoded %+v", r)
	}
}
