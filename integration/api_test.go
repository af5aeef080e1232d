package integration

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// The producer API Java's DefaultMQProducer has (issue 11 §3), against the real broker.

// TestQueryMessageDropsHashCollisions: the broker's key index compares hashes only. "Aa" and "BB"
// have the same Java hash, and so do "<t>Aa#k" and "<t>BB#k": the broker answers a query for one
// with the messages of the other (checked here with a raw QUERY_MESSAGE), and QueryMessage drops
// them as Java's MQAdminImpl does, by key and by topic.
func TestQueryMessageDropsHashCollisions(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	base := uniqueTopic("rs_q")
	topicAa, topicBB := base+"Aa", base+"BB"
	newTopic(t, p, topicAa, 1)
	newTopic(t, p, topicBB, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	q := message.MessageQueue{Topic: topicAa, BrokerName: rmqtest.BrokerA, QueueID: 0}
	begin := time.Now().Add(-time.Minute)
	send1 := func(topic string, keys ...string) *message.SendResult {
		m := message.New(topic, []byte("q"))
		m.SetKeys(keys...)
		q := q
		q.Topic = topic
		res, err := p.Send(ctx, m, send.ToQueue(q))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	aa := send1(topicAa, "Aa")
	bb := send1(topicAa, "BB")
	both := send1(topicAa, "x", "Aa")
	otherAa := send1(topicBB, "Aa")    // index key "<base>BB#Aa" collides with "<base>Aa#Aa"
	otherTopic := send1(topicBB, "kk") // "<base>BB#kk" collides with "<base>Aa#kk"
	mine := send1(topicAa, "kk")

	w := newWire(t)
	raw := func(topic, key string) int {
		resp := w.invoke(w.brokers[rmqtest.BrokerA], codec.NewRequest(codec.QueryMessage, &codec.QueryMessageRequestHeader{
			Topic: topic, Key: key, MaxNum: 32, BeginTimestamp: begin.UnixMilli(), EndTimestamp: time.Now().Add(time.Minute).UnixMilli()}, nil))
		if resp.Code != codec.Success {
			return 0
		}
		ms, err := codec.DecodeMessageExts(resp.Body, true)
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	ids := func(ms []*message.MessageExt) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.MsgID)
		}
		slices.Sort(out)
		return out
	}
	want := func(rs ...*message.SendResult) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.MsgID)
		}
		slices.Sort(out)
		return out
	}
	// The index is built asynchronously: poll, bounded, until the broker answers with the
	// collisions, which proves the filter below has something to drop.
	for deadline := time.Now().Add(30 * time.Second); raw(topicAa, "Aa") < 4 || raw(topicAa, "kk") < 2; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the broker never indexed the colliding keys: Aa %d, kk %d", raw(topicAa, "Aa"), raw(topicAa, "kk"))
		}
	}
	end := time.Now().Add(time.Minute)
	got, err := p.QueryMessage(ctx, topicAa, "Aa", 32, begin, end)
	if err != nil || !slices.Equal(ids(got), want(aa, both)) {
		t.Fatalf("QueryMessage(Aa) = %v, %v; want %v (not BB's %s nor the other topic's %s)", ids(got), err, want(aa, both), bb.MsgID, otherAa.MsgID)
	}
	got, err = p.QueryMessage(ctx, topicAa, "kk", 32, begin, end)
	if err != nil || !slices.Equal(ids(got), want(mine)) {
		t.Fatalf("QueryMessage(kk) = %v, %v; want %v (not the other topic's %s)", ids(got), err, want(mine), otherTopic.MsgID)
	}
	for _, m := range got {
		if m.Topic != topicAa {
			t.Fatalf("topic %s", m.Topic)
		}
	}
}

// TestViewMessageByEitherID reads a message by its offset id and by its client id, as Java's
// viewMessage(topic, msgId) does; an unknown id is ErrMessageNotFound.
func TestViewMessageByEitherID(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer(), send.WithNamespace("rsview"))
	topic := uniqueTopic("rs_view")
	newTopic(t, p, topic, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := p.Send(ctx, message.New(topic, []byte("view me")))
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.ViewMessageByID(ctx, topic, res.OffsetMsgID)
	if err != nil || m.MsgID != res.MsgID || string(m.Body) != "view me" || m.Topic != topic {
		t.Fatalf("by offset id: %+v, %v", m, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		m, err = p.ViewMessageByID(ctx, topic, res.MsgID)
		if err == nil {
			break
		}
		if !errors.Is(err, send.ErrMessageNotFound) || time.Now().After(deadline) {
			t.Fatalf("by client id: %v", err)
		}
	}
	if m.MsgID != res.MsgID || m.OffsetMsgID != res.OffsetMsgID || m.Topic != topic {
		t.Fatalf("by client id: %+v", m)
	}
	if _, err := p.ViewMessageByID(ctx, topic, codec.NextUniqID()); !errors.Is(err, send.ErrMessageNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

// TestFetchPublishMessageQueues lists the write queues of both brokers, fresh from the NameServer.
func TestFetchPublishMessageQueues(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer(), send.WithNamespace("rsfetch"))
	topic := uniqueTopic("rs_fetch")
	newTopic(t, p, topic, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var qs []message.MessageQueue
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		qs, err = p.FetchPublishMessageQueues(ctx, topic)
		if err == nil && len(qs) == 6 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(qs) != 6 {
		t.Fatalf("queues %v, %v", qs, err)
	}
	for i, q := range qs {
		wantBroker := rmqtest.BrokerA
		if i >= 3 {
			wantBroker = rmqtest.BrokerB
		}
		if q.Topic != topic || q.BrokerName != wantBroker || q.QueueID != i%3 {
			t.Fatalf("queue %d: %v", i, q)
		}
	}
	if _, err := p.FetchPublishMessageQueues(ctx, uniqueTopic("rs_nosuch")); !errors.Is(err, send.ErrNoRoute) {
		t.Fatalf("unknown topic: %v", err)
	}
}

// TestCreateTopicSysFlag: the flag reaches the broker, whose route reports it.
func TestCreateTopicSysFlag(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	topic := uniqueTopic("rs_sysflag")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.CreateTopic(ctx, "", topic, 2, "", send.WithTopicSysFlag(send.TopicSysFlagUnitSub)); err != nil {
		t.Fatal(err)
	}
	w := newWire(t)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp := w.invoke(w.ns, codec.NewRequest(codec.GetRouteInfoByTopic,
			&codec.GetRouteInfoRequestHeader{Topic: topic, AcceptStandardJSONOnly: true}, nil))
		if resp.Code == codec.Success {
			rd, err := codec.DecodeTopicRouteData(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if len(rd.QueueDatas) == 2 {
				for _, qd := range rd.QueueDatas {
					if qd.TopicSysFlag != send.TopicSysFlagUnitSub {
						t.Fatalf("%s: topicSysFlag %d", qd.BrokerName, qd.TopicSysFlag)
					}
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s never routed to both brokers", topic)
		}
	}
}

// TestRecallTimerMessage: a timer message's send result carries a recall handle; RecallMessage
// cancels it, so only the control message sent alongside reaches the queue.
func TestRecallTimerMessage(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	if !cl.AtLeast(send.FeatureRecall.Since) {
		recallRefused(t, cl, p) // what an older broker gets instead (versions_test.go)
		return
	}
	topic := uniqueTopic("rs_recall")
	newTopic(t, p, topic, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	q := message.MessageQueue{Topic: topic, BrokerName: rmqtest.BrokerA, QueueID: 0}
	timer := func(body string) *message.SendResult {
		m := message.New(topic, []byte(body))
		m.SetDeliverAfter(3 * time.Second)
		res, err := p.Send(ctx, m, send.ToQueue(q))
		if err != nil {
			t.Fatal(err)
		}
		if res.RecallHandle == "" {
			t.Fatalf("timer message %s: no recall handle", body)
		}
		return res
	}
	recalled := timer("recalled")
	control := timer("control")
	id, err := p.RecallMessage(ctx, topic, recalled.RecallHandle)
	if err != nil {
		t.Fatalf("RecallMessage: %v (the broker needs recallMessageEnable=true: restart a cluster started by an older rmq.sh)", err)
	}
	if id != recalled.MsgID {
		t.Fatalf("recalled %s, want %s", id, recalled.MsgID)
	}
	if _, err := p.RecallMessage(ctx, topic+"x", control.RecallHandle); err == nil {
		t.Fatal("a handle recalled a message of another topic")
	}
	if _, err := p.RecallMessage(ctx, topic, "not a handle"); !errors.Is(err, send.ErrValidation) {
		t.Fatalf("bad handle: %v", err)
	}
	// The control message arrives; the recalled one never does.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		max, err := p.MaxOffset(ctx, q)
		if err == nil && max >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control timer message never arrived: %d, %v", max, err)
		}
	}
	time.Sleep(3 * time.Second) // the recalled one was due at the same second
	if max, err := p.MaxOffset(ctx, q); err != nil || max != 1 {
		t.Fatalf("queue holds %d messages (%v), want only the control", max, err)
	}
	w := newWire(t)
	got := w.pull(rmqtest.BrokerA, w.brokers[rmqtest.BrokerA], topic, 0, 0, 1)
	if got[0].MsgID != control.MsgID {
		t.Fatalf("delivered %s, want the control %s", got[0].MsgID, control.MsgID)
	}
}

// TestBatchSplitStaysOnOneQueue: 12 x 400 KiB (incompressible) is over the 4 MiB maximum, which
// Java refuses; rocketsend splits it, and every part goes to the first part's queue, so the batch
// is stored together and in order (it used to spread over both brokers).
func TestBatchSplitStaysOnOneQueue(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	topic := uniqueTopic("rs_bigbatch")
	newTopic(t, p, topic, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var msgs []*message.Message
	for i := 0; i < 12; i++ {
		body := make([]byte, 400<<10)
		_, _ = rand.Read(body)
		msgs = append(msgs, message.New(topic, body))
	}
	res, err := p.SendBatch(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) < 2 || len(res.Messages) != 12 {
		t.Fatalf("%d requests, %d results", len(res.Results), len(res.Messages))
	}
	q := res.Messages[0].Queue
	for i, m := range res.Messages {
		if m.Queue != q || m.QueueOffset != res.Messages[0].QueueOffset+int64(i) {
			t.Fatalf("message %d stored at %v@%d; the first at %v@%d", i, m.Queue, m.QueueOffset, q, res.Messages[0].QueueOffset)
		}
		got, err := p.ViewMessage(ctx, m.OffsetMsgID)
		if err != nil || got.MsgID != msgs[i].UniqID() || int(got.QueueID) != q.QueueID || got.QueueOffset != m.QueueOffset {
			t.Fatalf("message %d read back: %v, %v", i, got, err)
		}
	}
}
