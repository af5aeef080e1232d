package integration

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// countSends counts the send requests on the wire, by code.
type countSends struct{ single, batch atomic.Int64 }

func (c *countSends) BeforeRequest(_ string, req *codec.Command) error {
	switch req.Code {
	case codec.SendMessageV2:
		c.single.Add(1)
	case codec.SendBatchMessage:
		c.batch.Add(1)
	}
	return nil
}

func (c *countSends) AfterResponse(string, *codec.Command, *codec.Command, error) {}

// TestConformanceAutoBatch: async sends auto-batched by the producer are stored, and read back by
// the Java consumer, with every field an unbatched send gives them: each its own id, tags, keys,
// properties and flag, at the queue and offset its own SendResult names. Ordered sends (OrderedBy)
// land in their queue in the order they were made.
func TestConformanceAutoBatch(t *testing.T) {
	cl := rmqtest.Start(t)
	var wire countSends
	p := newProducer(t, cl.NameServer(), send.WithAutoBatch(true), send.WithBatchMaxDelay(50*time.Millisecond),
		send.WithBatchMaxBytes(1024), send.WithRPCHooks(&wire)) // small batches: several, over several queues
	zp := newProducer(t, cl.NameServer(), send.WithAutoBatch(true), send.WithBatchMaxDelay(50*time.Millisecond),
		send.WithCompression(4096, codec.Zlib, 5))
	topic := uniqueTopic("rs_conf_autobatch")
	newTopic(t, p, topic, 4)
	const plain, ordered, zipped = 120, 40, 40
	w := witness(t, cl.NameServer(), topic, plain+ordered+zipped)
	ctx := context.Background()
	start := time.Now()

	var mu sync.Mutex
	var exps []expectation
	var wg sync.WaitGroup
	sendOne := func(p *send.Producer, m *message.Message, how string, opts ...send.CallOption) {
		wg.Add(1)
		if err := p.SendAsync(ctx, m, func(res *message.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("%s: %v", how, err)
				return
			}
			mu.Lock()
			exps = append(exps, expectation{how, m, res, 0, m.Body})
			mu.Unlock()
		}, opts...); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < plain; i++ {
		how := fmt.Sprintf("%c-auto-%d", 'a'+i%3, i) // three tags
		sendOne(p, confMessage(topic, how, []byte("auto-batched body "+how)), how)
	}
	var orderedMsgs []*message.Message
	for i := 0; i < ordered; i++ {
		m := confMessage(topic, fmt.Sprintf("ordered-%d", i), []byte(fmt.Sprintf("ordered body %03d", i)))
		orderedMsgs = append(orderedMsgs, m)
		sendOne(p, m, fmt.Sprintf("ordered %d", i), send.OrderedBy("order-7"))
	}
	for i := 0; i < zipped; i++ {
		body := bytes.Repeat([]byte(fmt.Sprintf("compressible record %d; ", i)), 200) // over the 4096 B threshold
		sendOne(zp, confMessage(topic, fmt.Sprintf("zipped-%d", i), body), fmt.Sprintf("zipped %d", i))
	}
	wg.Wait()
	if wire.batch.Load() == 0 || wire.batch.Load()+wire.single.Load() >= plain+ordered {
		t.Errorf("%d batch and %d single requests for %d messages: the producer did not batch", wire.batch.Load(), wire.single.Load(), plain+ordered)
	}
	t.Logf("%d messages in %d batch requests and %d single ones", plain+ordered, wire.batch.Load(), wire.single.Load())

	seen := byID(w.Collect(plain+ordered+zipped, witnessWait))
	for _, e := range exps {
		got, ok := seen[e.msg.UniqID()]
		if !ok {
			t.Errorf("%s: Java never saw message %s", e.how, e.msg.UniqID())
			continue
		}
		// A message over the compression threshold is stored compressed, batched or not; one under
		// it is not, even when its batch adds up to more.
		if strings.HasPrefix(e.how, "zipped") {
			e.sysFlag = javaSysFlag(cl, codec.Zlib)
		}
		checkSeen(t, e, got, start)
	}
	// The ordered messages hold consecutive offsets of one queue, in send order.
	var prev *javapeerMsg
	for i, m := range orderedMsgs {
		got, ok := seen[m.UniqID()]
		if !ok {
			continue
		}
		cur := &javapeerMsg{queue: got.QueueID, offset: got.QueueOffset, broker: got.BrokerName}
		if prev != nil && (cur.queue != prev.queue || cur.broker != prev.broker || cur.offset <= prev.offset) {
			t.Fatalf("ordered message %d at %s/%d@%d, after %s/%d@%d: order broken", i, cur.broker, cur.queue, cur.offset,
				prev.broker, prev.queue, prev.offset)
		}
		prev = cur
	}
}

type javapeerMsg struct {
	broker string
	queue  int
	offset int64
}
