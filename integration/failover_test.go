package integration

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// TestFailoverBrokerKilledMidRun kills broker-b (SIGKILL, no goodbye) while sync and async sends
// run. Sends must keep succeeding on broker-a within the retry budget, every async callback must
// fire exactly once, and every acknowledged message must be stored: after broker-b comes back,
// each one is read back by its offset id.
func TestFailoverBrokerKilledMidRun(t *testing.T) {
	cl := rmqtest.Start(t, rmqtest.Own(25876)) // private: this test kills a broker. Ports below Linux's ephemeral range (32768+).
	p := newProducer(t, cl.NameServer(), send.WithSendTimeout(15*time.Second))
	topic := uniqueTopic("rs_failover")
	newTopic(t, p, topic, 4)
	ctx := context.Background()

	const rounds = 200
	var mu sync.Mutex
	var acked []*message.SendResult
	var syncFailed, asyncFailed, callbacks atomic.Int64
	var wg sync.WaitGroup
	record := func(r *message.SendResult) { mu.Lock(); acked = append(acked, r); mu.Unlock() }

	for i := 0; i < rounds; i++ {
		if i == rounds/3 {
			cl.KillBroker(t, rmqtest.BrokerB)
		}
		res, err := p.Send(ctx, message.New(topic, []byte(fmt.Sprintf("sync %d", i))))
		if err != nil {
			syncFailed.Add(1)
			t.Errorf("sync send %d failed: %v", i, err)
		} else {
			record(res)
		}
		wg.Add(1)
		var once atomic.Bool
		err = p.SendAsync(ctx, message.New(topic, []byte(fmt.Sprintf("async %d", i))), func(res *message.SendResult, err error) {
			if !once.CompareAndSwap(false, true) {
				t.Errorf("async send %d: callback called twice", i)
				return
			}
			callbacks.Add(1)
			if err != nil {
				asyncFailed.Add(1)
				t.Errorf("async send %d failed: %v", i, err)
			} else {
				record(res)
			}
			wg.Done()
		})
		if err != nil {
			t.Fatalf("async send %d refused: %v", i, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("only %d of %d async callbacks after 2 minutes", callbacks.Load(), rounds)
	}
	if callbacks.Load() != rounds {
		t.Fatalf("%d callbacks for %d async sends", callbacks.Load(), rounds)
	}
	t.Logf("acked %d of %d; failed sync %d, async %d", len(acked), 2*rounds, syncFailed.Load(), asyncFailed.Load())

	// Nothing acknowledged is lost: bring broker-b back and read every message back.
	cl.RestartBroker(t, rmqtest.BrokerB)
	perBroker := map[string]int{}
	for _, r := range acked {
		perBroker[r.Queue.BrokerName]++
		var m *message.MessageExt
		var err error
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			m, err = p.ViewMessage(vctx, r.OffsetMsgID)
			cancel()
			if err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatalf("acked message %s (%s on %s) not readable: %v", r.MsgID, r.OffsetMsgID, r.Queue.BrokerName, err)
		}
		if m.MsgID != r.MsgID {
			t.Fatalf("offset id %s holds %s, acked as %s", r.OffsetMsgID, m.MsgID, r.MsgID)
		}
	}
	if perBroker[rmqtest.BrokerA] == 0 || perBroker[rmqtest.BrokerB] == 0 {
		t.Fatalf("acks per broker %v: the run did not use both brokers", perBroker)
	}
}
