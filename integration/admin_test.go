package integration

import (
	"context"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// TestAdminQueries checks every admin query of the producer against the real broker.
func TestAdminQueries(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer())
	topic := uniqueTopic("rs_admin")
	newTopic(t, p, topic, 4) // CreateTopic
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	q := message.MessageQueue{Topic: topic, BrokerName: rmqtest.BrokerA, QueueID: 1}

	before := time.Now()
	time.Sleep(10 * time.Millisecond) // store times are in milliseconds
	var results []*message.SendResult
	for i := 0; i < 3; i++ {
		m := message.New(topic, []byte("admin"))
		m.SetKeys("admin-key-" + topic)
		res, err := p.Send(ctx, m, send.ToQueue(q))
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	if min, err := p.MinOffset(ctx, q); err != nil || min != 0 {
		t.Fatalf("MinOffset = %d, %v", min, err)
	}
	// Consume queues are built asynchronously: the max offset catches up with the sends.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		max, err := p.MaxOffset(ctx, q)
		if err == nil && max == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MaxOffset = %d, %v; want 3", max, err)
		}
	}
	if off, err := p.SearchOffset(ctx, q, before); err != nil || off != 0 {
		t.Fatalf("SearchOffset(before the sends) = %d, %v", off, err)
	}
	if at, err := p.EarliestMsgStoreTime(ctx, q); err != nil || at.Before(before.Add(-time.Second)) || at.After(time.Now()) {
		t.Fatalf("EarliestMsgStoreTime = %v, %v (sent after %v)", at, err, before)
	}
	m, err := p.ViewMessage(ctx, results[1].OffsetMsgID)
	if err != nil || m.MsgID != results[1].MsgID || m.Topic != topic || m.QueueOffset != 1 {
		t.Fatalf("ViewMessage = %+v, %v", m, err)
	}
	// The broker builds its key index asynchronously: poll, bounded.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		found, err := p.QueryMessage(ctx, topic, "admin-key-"+topic, 32, before.Add(-time.Minute), time.Now().Add(time.Minute))
		if err == nil && len(found) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("QueryMessage found %d of 3 (%v)", len(found), err)
		}
	}
}

// TestCreateTopicWithNamespace: a namespaced producer creates ns%topic from the (never namespaced)
// key topic, as Java's createTopic does; 7 queues, more than auto-creation would give.
func TestCreateTopicWithNamespace(t *testing.T) {
	cl := rmqtest.Start(t)
	p := newProducer(t, cl.NameServer(), send.WithNamespace("rsns"))
	topic := uniqueTopic("rs_nsadmin")
	newTopic(t, p, topic, 7)
	res, err := p.Send(context.Background(), message.New(topic, []byte("ns")),
		send.ToQueue(message.MessageQueue{Topic: topic, BrokerName: rmqtest.BrokerA, QueueID: 6}))
	if err != nil || res.Queue.Topic != topic || res.Queue.QueueID != 6 {
		t.Fatalf("send to queue 6 of the created topic: %+v, %v", res, err)
	}
}
