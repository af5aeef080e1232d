package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/javapeer/javapeertest"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// Conformance: rocketsend's Producer sends, the official Java consumer (tools/javapeer, the
// rocketmq-client of the broker's release) reports what it sees, and the test compares field by
// field. The Java client is the witness: if it reads what we meant, so will every consumer.

const witnessWait = 90 * time.Second

func newProducer(t testing.TB, ns string, opts ...send.Option) *send.Producer {
	t.Helper()
	opts = append([]send.Option{send.WithNameServers(ns), send.WithGroup(fmt.Sprintf("rs_conf_%d", time.Now().UnixNano())),
		send.WithSendTimeout(10 * time.Second)}, opts...)
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

// newTopic creates topic on every broker through the producer's own admin call and waits until
// both brokers serve it. (Until the NameServer routes it, sends use the TBW102 fallback, which
// lists the same brokers and queues.)
func newTopic(t *testing.T, p *send.Producer, topic string, queues int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A loaded machine can keep a broker from answering within the send timeout each request
	// gets; creating a topic again is harmless.
	for {
		err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, queues, "")
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
		t.Logf("create %s: %v; again", topic, err)
		time.Sleep(time.Second)
	}
	for {
		if _, err := p.MaxOffset(ctx, message.MessageQueue{Topic: topic, BrokerName: rmqtest.BrokerB, QueueID: queues - 1}); err == nil {
			if _, err := p.MaxOffset(ctx, message.MessageQueue{Topic: topic, BrokerName: rmqtest.BrokerA, QueueID: queues - 1}); err == nil {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("topic %s never became usable", topic)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// uniqueTopic names a topic for one test run: the shared cluster outlives runs, and a witness
// reads from the first offset.
func uniqueTopic(prefix string) string {
	return prefix + "_" + strconv.FormatInt(time.Now().UnixNano()%1e10, 36)
}

// witness starts a Java consumer on topic expecting n messages.
func witness(t *testing.T, ns, topic string, n int, opts ...javapeertest.ConsumeOption) *javapeertest.Consumer {
	t.Helper()
	opts = append([]javapeertest.ConsumeOption{javapeertest.WithCount(n), javapeertest.WithTimeout(witnessWait + 30*time.Second)}, opts...)
	return javapeertest.Consume(t, ns, topic, opts...)
}

func byID(ms []javapeertest.Message) map[string]javapeertest.Message {
	out := map[string]javapeertest.Message{}
	for _, m := range ms {
		out[m.MsgID] = m
	}
	return out
}

// expectation is what one sent message must look like to the Java consumer.
type expectation struct {
	how     string
	msg     *message.Message
	res     *message.SendResult // nil for oneway
	sysFlag int32
	body    []byte
}

func checkSeen(t *testing.T, e expectation, got javapeertest.Message, sentAfter time.Time) {
	t.Helper()
	var errs []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: Java saw %v, sent %v", field, g, w))
		}
	}
	m := e.msg
	check("topic", got.Topic == m.Topic, got.Topic, m.Topic)
	check("tags", got.Tags == m.Tags(), got.Tags, m.Tags())
	check("keys", got.Keys == strings.Join(m.Keys(), " "), got.Keys, m.Keys())
	check("flag", got.Flag == m.Flag, got.Flag, m.Flag)
	check("sysFlag", got.SysFlag == e.sysFlag, got.SysFlag, e.sysFlag)
	check("body", bytes.Equal(got.Body, e.body), len(got.Body), len(e.body))
	check("born timestamp", got.BornTimestamp >= sentAfter.UnixMilli()-1000 && got.BornTimestamp <= time.Now().UnixMilli(),
		got.BornTimestamp, "the send's time")
	for k, v := range m.Properties {
		if k == message.PropertyWaitStoreMsgOK && got.Properties[k] == "" && waitMayBeDropped() {
			continue
		}
		check("property "+k, got.Properties[k] == v, got.Properties[k], v)
	}
	if e.res != nil {
		check("msgId", got.MsgID == e.res.MsgID, got.MsgID, e.res.MsgID)
		check("offsetMsgId", got.OffsetMsgID == e.res.OffsetMsgID, got.OffsetMsgID, e.res.OffsetMsgID)
		check("broker", got.BrokerName == e.res.Queue.BrokerName, got.BrokerName, e.res.Queue.BrokerName)
		check("queueId", got.QueueID == e.res.Queue.QueueID, got.QueueID, e.res.Queue.QueueID)
		check("queueOffset", got.QueueOffset == e.res.QueueOffset, got.QueueOffset, e.res.QueueOffset)
	}
	if len(errs) > 0 {
		t.Errorf("%s (%s):\n  %s", e.how, m.UniqID(), strings.Join(errs, "\n  "))
	}
}

// javaSysFlag is the sysFlag the Java consumer of the cluster's line reports for a body compressed
// with typ: 5.x's decoder inflates the body and clears the compressed bit, keeping the type bits;
// 4.9.x's (which reads LZ4 and zstd too) inflates it and keeps the bit.
func javaSysFlag(cl *rmqtest.Cluster, typ codec.CompressionType) int32 {
	if !cl.AtLeast("5.0.0") {
		return typ.SysFlag()
	}
	return typ.SysFlag() &^ codec.SysFlagCompressed
}

func confMessage(topic, how string, body []byte) *message.Message {
	m := message.New(topic, body)
	m.Flag = 7
	m.SetTags("Tag" + strings.ToUpper(how[:1]))
	m.SetKeys("key-"+how, "second key")
	m.SetProperty("how", how)
	m.SetProperty("unicode", "naïve café ✓ 日本語 🚀")
	return m
}

func TestConformanceSendModes(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	topic := uniqueTopic("rs_conf_modes")
	newTopic(t, p, topic, 4)
	const total = 9
	w := witness(t, cl.NameServer(), topic, total)
	ctx := context.Background()
	start := time.Now()
	var mu sync.Mutex
	var exps []expectation
	add := func(e expectation) { mu.Lock(); exps = append(exps, e); mu.Unlock() }

	m := confMessage(topic, "sync", []byte("sync body"))
	res, err := p.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	add(expectation{"sync", m, res, 0, m.Body})

	m = confMessage(topic, "async", []byte("async body"))
	done := make(chan struct{})
	if err := p.SendAsync(ctx, m, func(res *message.SendResult, err error) {
		if err != nil {
			t.Error(err)
		} else {
			add(expectation{"async", m, res, 0, m.Body})
		}
		close(done)
	}); err != nil {
		t.Fatal(err)
	}
	<-done

	m = confMessage(topic, "oneway", []byte("oneway body"))
	if err := p.SendOneway(ctx, m); err != nil {
		t.Fatal(err)
	}
	add(expectation{"oneway", m, nil, 0, m.Body})

	big := bytes.Repeat([]byte("compressible payload for the Java witness; "), 500)
	for _, typ := range []codec.CompressionType{codec.Zlib, codec.LZ4, codec.Zstd} {
		cp := newProducer(t, cl.NameServer(), send.WithCompression(4096, typ, 5))
		m := confMessage(topic, "compressed-"+typ.String(), big)
		res, err := cp.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		add(expectation{"compressed " + typ.String(), m, res, javaSysFlag(cl, typ), big})
	}

	var batch []*message.Message
	for i := 0; i < 3; i++ {
		batch = append(batch, confMessage(topic, fmt.Sprintf("batch-%d", i), []byte(fmt.Sprintf("batch body %d", i))))
	}
	br, err := p.SendBatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(br.MsgIDs) != 3 || len(br.Results) != 1 {
		t.Fatalf("batch result %+v", br)
	}
	for i, bm := range batch {
		add(expectation{fmt.Sprintf("batch %d", i), bm, &br.Messages[i], 0, bm.Body})
	}

	seen := byID(w.Collect(total, witnessWait))
	for _, e := range exps {
		got, ok := seen[e.msg.UniqID()]
		if !ok {
			t.Errorf("%s: Java never saw message %s", e.how, e.msg.UniqID())
			continue
		}
		checkSeen(t, e, got, start)
	}
}

func TestConformanceOrderedMatchesJavaHash(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	topic := uniqueTopic("rs_conf_ordered")
	newTopic(t, p, topic, 4) // 8 queues: broker-a 0..3, broker-b 0..3
	const n = 30
	key := "order-订单-42"
	w := witness(t, cl.NameServer(), topic, n, javapeertest.Orderly())
	var first *message.SendResult
	for i := 0; i < n; i++ {
		m := message.New(topic, []byte(fmt.Sprintf("%03d", i)))
		res, err := p.Send(context.Background(), m, send.OrderedBy(key))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = res
		} else if res.Queue != first.Queue {
			t.Fatalf("message %d went to %v, the first to %v", i, res.Queue, first.Queue)
		}
	}
	got := w.Collect(n, witnessWait)
	for i, m := range got {
		if string(m.Body) != fmt.Sprintf("%03d", i) || m.QueueID != first.Queue.QueueID || m.BrokerName != first.Queue.BrokerName {
			t.Fatalf("message %d: Java saw %q on %s:%d; want %03d on %v", i, m.Body, m.BrokerName, m.QueueID, i, first.Queue)
		}
	}
	// The queue is the one Java's SelectMessageQueueByHash picks over the same queue list.
	idx := javapeertest.HashQueue(t, key, 8)
	want := message.MessageQueue{Topic: topic, BrokerName: rmqtest.BrokerA, QueueID: idx}
	if idx >= 4 {
		want.BrokerName, want.QueueID = rmqtest.BrokerB, idx-4
	}
	if first.Queue != want {
		t.Fatalf("rocketsend put key %q on %v, Java's hash picks %v", key, first.Queue, want)
	}
	// And the real Java producer, sending with the same key to the same topic, lands there too.
	jp := javapeertest.Produce(t, cl.NameServer(), topic, javapeertest.ProduceOptions{Count: 1, HashKey: key})
	if len(jp.Messages) != 1 {
		t.Fatalf("Java producer reported %d sends", len(jp.Messages))
	}
	if jm := jp.Messages[0]; jm.BrokerName != first.Queue.BrokerName || jm.QueueID != first.Queue.QueueID {
		t.Fatalf("Java producer put key %q on %s:%d, rocketsend on %v", key, jm.BrokerName, jm.QueueID, first.Queue)
	}
}

func TestConformanceDelayAndTimer(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	topic := uniqueTopic("rs_conf_delay")
	newTopic(t, p, topic, 4)
	// A 4.x broker has delay levels but no timer wheel: it would store a timer message as a normal
	// one and deliver it at once (witnessed on 4.9.7: visible 10 ms after the send), so rocketsend
	// refuses the send, naming the feature and the broker's release.
	timers := cl.AtLeast("5.0.0")
	n := 1
	if timers {
		n = 2
	}
	w := witness(t, cl.NameServer(), topic, n)
	sent := time.Now()
	d := message.New(topic, []byte("delay level 2 (5 s)"))
	d.SetDelayLevel(2)
	if _, err := p.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	tm := message.New(topic, []byte("timer 3 s"))
	tm.SetDeliverAfter(3 * time.Second)
	_, err := p.Send(context.Background(), tm)
	cases := []struct {
		m   *message.Message
		min time.Duration
	}{{d, 4 * time.Second}}
	switch {
	case timers && err != nil:
		t.Fatal(err)
	case timers:
		cases = append(cases, struct {
			m   *message.Message
			min time.Duration
		}{tm, 2 * time.Second})
	case !errors.Is(err, send.ErrFeatureUnsupported):
		t.Fatalf("timer send to RocketMQ %s: %v, want ErrFeatureUnsupported", cl.Version(), err)
	case !strings.Contains(err.Error(), "TIMER_DELAY_SEC") || !strings.Contains(err.Error(), cl.Version()):
		t.Fatalf("timer send to RocketMQ %s: %q names neither the feature nor the release", cl.Version(), err)
	default:
		t.Logf("RocketMQ %s: %v", cl.Version(), err)
	}
	got := byID(w.Collect(n, witnessWait))
	if _, ok := got[tm.UniqID()]; ok && !timers {
		t.Fatalf("the refused timer message reached the Java consumer")
	}
	for _, c := range cases {
		g, ok := got[c.m.UniqID()]
		if !ok {
			t.Fatalf("Java never saw %q", c.m.Body)
		}
		// The delayed copy is stored again when due: its store time says when it became visible.
		if at := time.UnixMilli(g.StoreTimestamp); at.Sub(sent) < c.min {
			t.Errorf("%q visible %v after the send, want at least %v", c.m.Body, at.Sub(sent), c.min)
		}
	}
}

func TestConformanceTransactions(t *testing.T) {
	cl := rmqtest.Start(t)
	var checked sync.Map
	checker := send.TransactionCheckerFunc(func(_ context.Context, m *message.MessageExt) send.LocalTransactionState {
		checked.Store(m.UniqID(), true)
		if m.Property("decide") == "commit-on-check" {
			return send.CommitMessage
		}
		return send.RollbackMessage
	})
	p := newProducer(t, cl.NameServer(), send.WithTransactionChecker(checker))
	topic := uniqueTopic("rs_conf_tx")
	newTopic(t, p, topic, 4)
	w := witness(t, cl.NameServer(), topic, 2)
	ctx := context.Background()
	decide := func(state send.LocalTransactionState, err error) send.LocalTransaction {
		return func(context.Context, *message.Message, *message.SendResult) (send.LocalTransactionState, error) {
			return state, err
		}
	}
	commit := message.New(topic, []byte("committed"))
	if r, err := p.SendInTransaction(ctx, commit, decide(send.CommitMessage, nil)); err != nil || r.State != send.CommitMessage {
		t.Fatalf("commit: %v %+v", err, r)
	}
	rollback := message.New(topic, []byte("rolled back"))
	if _, err := p.SendInTransaction(ctx, rollback, decide(send.RollbackMessage, nil)); err != nil {
		t.Fatal(err)
	}
	unknown := message.New(topic, []byte("resolved by check-back"))
	unknown.SetProperty("decide", "commit-on-check")
	if r, err := p.SendInTransaction(ctx, unknown, decide(send.Unknown, fmt.Errorf("local store unreachable"))); err != nil || r.State != send.Unknown {
		t.Fatalf("unknown: %v %+v", err, r)
	}
	got := byID(w.Collect(2, witnessWait))
	for _, m := range []*message.Message{commit, unknown} {
		g, ok := got[m.UniqID()]
		if !ok {
			t.Fatalf("Java never saw %q", m.Body)
		}
		if g.SysFlag&codec.SysFlagTransactionRollback != codec.SysFlagTransactionCommit {
			t.Errorf("%q: sysFlag %#x lacks the commit bits", m.Body, g.SysFlag)
		}
	}
	if _, ok := checked.Load(unknown.UniqID()); !ok {
		t.Error("the unknown transaction was resolved without a check-back")
	}
	// The rolled-back message must never be delivered: wait past another check interval.
	if extra, ok := w.Next(5 * time.Second); ok {
		t.Fatalf("Java received %q after the expected messages", extra.Body)
	}
}

func TestConformanceRequestReply(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	topic := uniqueTopic("rs_conf_request")
	newTopic(t, p, topic, 4)
	const n = 3
	r := javapeertest.Reply(t, cl.NameServer(), topic, javapeertest.WithCount(n), javapeertest.WithTimeout(witnessWait))
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		body := fmt.Sprintf("question %d ✓", i)
		req := message.New(topic, []byte(body))
		reply, err := p.Request(ctx, req)
		cancel()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(reply.Body) != "reply:"+body {
			t.Fatalf("request %d: reply body %q", i, reply.Body)
		}
		if reply.Property(message.PropertyCorrelationID) != req.Property(message.PropertyCorrelationID) ||
			reply.Property(message.PropertyMessageType) != message.ReplyMessageFlag {
			t.Fatalf("request %d: reply properties %v", i, reply.Properties)
		}
	}
	// What the Java responder saw of our requests: the correlation id and our client id to reply to.
	for _, ev := range r.Collect(n, witnessWait) {
		if ev.ReplyToClient != p.ClientID() || ev.CorrelationID == "" || ev.Request.Properties[message.PropertyMessageTTL] == "" {
			t.Errorf("responder saw %+v", ev)
		}
	}
}

func TestConformanceACL(t *testing.T) {
	cl := rmqtest.Start(t, rmqtest.Auth())
	ctx := context.Background()
	topic := uniqueTopic("rs_conf_acl")
	// ACL 2.0 (5.x) refuses with NO_PERMISSION, ACL 1.0 (4.9.x) with SYSTEM_ERROR and an AclException.
	var refusal error = send.ErrNoPermission
	if cl.ACL1() {
		refusal = send.ErrSystemError
	}
	unsigned := newProducer(t, cl.NameServer(), send.WithSendTimeout(3*time.Second), send.WithRetries(0))
	_, err := unsigned.Send(ctx, message.New(topic, []byte("no credentials")))
	if !errors.Is(err, refusal) {
		t.Fatalf("unsigned send to RocketMQ %s: %v, want %v", cl.Version(), err, refusal)
	}
	wrong := newProducer(t, cl.NameServer(), send.WithRetries(0),
		send.WithCredentials(send.Credentials{AccessKey: cl.AccessKey(), SecretKey: "wrong-secret"}))
	if _, err := wrong.Send(ctx, message.New(topic, []byte("wrong secret"))); !errors.Is(err, refusal) {
		t.Fatalf("wrong secret to RocketMQ %s: %v, want %v", cl.Version(), err, refusal)
	}
	for _, st := range []codec.SerializeType{codec.SerializeRocketMQ, codec.SerializeJSON} {
		signed := newProducer(t, cl.NameServer(), send.WithSerializeType(st),
			send.WithCredentials(send.Credentials{AccessKey: cl.AccessKey(), SecretKey: cl.SecretKey()}))
		m := message.New(topic, []byte("signed "+st.String()))
		res, err := signed.Send(ctx, m)
		if err != nil {
			t.Fatalf("signed send (%s): %v", st, err)
		}
		got, err := signed.ViewMessage(ctx, res.OffsetMsgID)
		if err != nil || !bytes.Equal(got.Body, m.Body) {
			t.Fatalf("signed read back (%s): %v %+v", st, err, got)
		}
	}
}

// TestConformanceCompressedBatch: Java never compresses batches; rocketsend compresses every record
// of a large batch and marks the request, and the Java consumer must inflate each message alike.
func TestConformanceCompressedBatch(t *testing.T) {
	cl := rmqtest.Start(t)
	for _, typ := range []codec.CompressionType{codec.Zlib, codec.LZ4, codec.Zstd} {
		p := newProducer(t, cl.NameServer(), send.WithCompression(4096, typ, 5))
		topic := uniqueTopic("rs_conf_zbatch")
		newTopic(t, p, topic, 4)
		w := witness(t, cl.NameServer(), topic, 3)
		var batch []*message.Message
		for i := 0; i < 3; i++ {
			body := bytes.Repeat([]byte(fmt.Sprintf("record %d of a compressed batch; ", i)), 200)
			batch = append(batch, confMessage(topic, fmt.Sprintf("zbatch-%d", i), body))
		}
		_, seen, start := sendBatchSeen(t, p, w, batch)
		for i, m := range batch {
			checkSeen(t, expectation{"compressed batch " + typ.String(), m, nil, javaSysFlag(cl, typ), m.Body}, seen[i], start)
		}
	}
}

// sendBatchSeen sends batch with p and returns its result, what the witness w read of each of its
// messages (in the batch's order; a message Java never saw fails the test) and when it was sent.
func sendBatchSeen(t *testing.T, p *send.Producer, w *javapeertest.Consumer, batch []*message.Message) (*send.BatchResult, []javapeertest.Message, time.Time) {
	t.Helper()
	start := time.Now()
	br, err := p.SendBatch(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	byMsgID := byID(w.Collect(len(batch), witnessWait))
	seen := make([]javapeertest.Message, len(batch))
	for i := range batch {
		got, ok := byMsgID[br.MsgIDs[i]]
		if !ok {
			t.Fatalf("Java never saw batch message %d", i)
		}
		seen[i] = got
	}
	return br, seen, start
}

// stampHook is a Before hook that sets one property on every send, a SendBatch wrapper included.
type stampHook struct{ name, value string }

func (h stampHook) SendMessageBefore(sc *send.SendContext) error {
	return sc.Message.SetProperty(h.name, h.value)
}

// TestConformanceBatchHookProperties: a property a Before hook sets on a SendBatch reaches every
// message of the batch, as the Java consumer reads them, on every release. The 5.5 broker drops
// a batch request's own properties (4.9 to 5.3 append them to each message), so rocketsend writes
// what the hooks set into each message (docs/producer.md, the differences table).
func TestConformanceBatchHookProperties(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer(), send.WithHooks(stampHook{"trace_id", "batch-trace-1"}))
	topic := uniqueTopic("rs_conf_batch_hook")
	newTopic(t, p, topic, 4)
	w := witness(t, cl.NameServer(), topic, 3)
	var batch []*message.Message
	for i := 0; i < 3; i++ {
		batch = append(batch, confMessage(topic, fmt.Sprintf("hooked-batch-%d", i), []byte(fmt.Sprintf("hooked batch body %d", i))))
	}
	br, seen, start := sendBatchSeen(t, p, w, batch)
	for i, m := range batch {
		got := seen[i]
		checkSeen(t, expectation{fmt.Sprintf("hooked batch %d", i), m, &br.Messages[i], 0, m.Body}, got, start)
		if v := got.Properties["trace_id"]; v != "batch-trace-1" {
			t.Errorf("batch message %d: Java read trace_id %q, the hook set %q", i, v, "batch-trace-1")
		}
	}
}

func TestConformanceRequestAsync(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	topic := uniqueTopic("rs_conf_request_async")
	newTopic(t, p, topic, 4)
	const n = 3
	javapeertest.Reply(t, cl.NameServer(), topic, javapeertest.WithCount(n), javapeertest.WithTimeout(witnessWait))
	type outcome struct {
		body string
		err  error
	}
	got := make(chan outcome, n)
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := p.RequestAsync(ctx, message.New(topic, []byte(fmt.Sprintf("async question %d", i))),
			func(reply *message.Message, err error) {
				if err != nil {
					got <- outcome{err: err}
					return
				}
				got <- outcome{body: string(reply.Body)}
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		o := <-got
		if o.err != nil {
			t.Fatalf("async request: %v", o.err)
		}
		seen[o.body] = true
	}
	for i := 0; i < n; i++ {
		if want := fmt.Sprintf("reply:async question %d", i); !seen[want] {
			t.Errorf("no reply %q among %v", want, seen)
		}
	}
}
