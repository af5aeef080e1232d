package send

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// setHook records which hook set an attempt ran on, and fails the test if it is called after its
// set reported drained (its owner would have closed it by then).
type setHook struct {
	t      *testing.T
	name   string
	closed atomic.Bool
	mu     sync.Mutex
	seen   map[string][]string // message body -> "before"/"after"
}

func newSetHook(t *testing.T, name string) *setHook {
	return &setHook{t: t, name: name, seen: map[string][]string{}}
}

func (h *setHook) record(sc *SendContext, what string) {
	if h.closed.Load() {
		h.t.Errorf("hook set %s used (%s) after it reported drained", h.name, what)
	}
	h.mu.Lock()
	h.seen[string(sc.Message.Body)] = append(h.seen[string(sc.Message.Body)], what)
	h.mu.Unlock()
}

func (h *setHook) SendMessageBefore(sc *SendContext) error { h.record(sc, "before"); return nil }
func (h *setHook) SendMessageAfter(sc *SendContext)        { h.record(sc, "after") }

func (h *setHook) saw(body string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[body]
}

func TestReplaceHooksInFlightFinishesOnOldSet(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	a := fc.brokers["broker-a"]
	release := make(chan struct{})
	a.setHandler(func(req *codec.Command) *codec.Command {
		if req.Code == codec.SendMessageV2 && string(req.Body) == "slow" {
			<-release
		}
		return fakeBrokerAnswer(a, req, codec.Success)
	})
	old, next := newSetHook(t, "old"), newSetHook(t, "new")
	p := startFake(t, fc, WithHooks(old))
	ctx := context.Background()
	qa := message.MessageQueue{Topic: "FakeTopic", BrokerName: "broker-a", QueueID: 0}
	qb := message.MessageQueue{Topic: "FakeTopic", BrokerName: "broker-b", QueueID: 0}

	done := make(chan error, 1)
	if err := p.SendAsync(ctx, msg("slow"), func(_ *message.SendResult, err error) { done <- err }, ToQueue(qa)); err != nil {
		t.Fatal(err)
	}
	var picked atomic.Int64
	factory := SelectorFactoryFunc(func(string) QueueSelector {
		return QueueSelectorFunc(func(_ *message.Message, qs []message.MessageQueue, _ any) (message.MessageQueue, error) {
			picked.Add(1)
			for _, q := range qs {
				if q.BrokerName == "broker-b" {
					return q, nil
				}
			}
			return qs[0], nil
		})
	})
	drained, err := p.ReplaceHooks(factory, next)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-drained:
		t.Fatal("old set reported drained while a send that started on it is in flight")
	default:
	}
	res, err := p.Send(ctx, msg("fast"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Queue.BrokerName != "broker-b" || picked.Load() != 1 {
		t.Errorf("new selector factory not used: queue %v, %d picks", res.Queue, picked.Load())
	}
	if _, err := p.Send(ctx, msg("fast2"), ToQueue(qb)); err != nil {
		t.Fatal(err)
	}
	if got := old.saw("fast"); len(got) != 0 {
		t.Errorf("old set saw a send started after the swap: %v", got)
	}
	if got := next.saw("fast"); fmt.Sprint(got) != "[before after]" {
		t.Errorf("new set saw %v of a send started after the swap", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-drained:
	case <-time.After(10 * time.Second):
		t.Fatal("old set never reported drained")
	}
	old.closed.Store(true)
	if got := old.saw("slow"); fmt.Sprint(got) != "[before after]" {
		t.Errorf("in-flight send: old set saw %v, want its before and after", got)
	}
	if got := next.saw("slow"); len(got) != 0 {
		t.Errorf("in-flight send ran hooks of the new set: %v", got)
	}
	if _, err := p.ReplaceHooks(nil, struct{}{}); err == nil {
		t.Error("a hook with no hook method accepted")
	}
	if _, err := p.Send(ctx, msg("after-bad-replace")); err != nil {
		t.Fatal(err)
	}
	if got := next.saw("after-bad-replace"); len(got) != 2 {
		t.Errorf("a refused replacement changed the set: new set saw %v", got)
	}
}

// TestReplaceHooksUnderLoad swaps sets while sync, async and oneway sends run: every retired set
// reports drained, and none is used after it did.
func TestReplaceHooksUnderLoad(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	first := newSetHook(t, "set-0")
	p := startFake(t, fc, WithHooks(first))
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch i % 3 {
				case 0:
					_, err = p.Send(ctx, msg("s"))
				case 1:
					ch := make(chan error, 1)
					if err = p.SendAsync(ctx, msg("a"), func(_ *message.SendResult, e error) { ch <- e }); err == nil {
						err = <-ch
					}
				case 2:
					err = p.SendOneway(ctx, msg("o"))
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	cur := first
	for i := 1; i <= 30; i++ {
		next := newSetHook(t, fmt.Sprintf("set-%d", i))
		drained, err := p.ReplaceHooks(nil, next)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-drained:
			cur.closed.Store(true)
		case <-time.After(10 * time.Second):
			t.Fatalf("set %s never reported drained", cur.name)
		}
		cur = next
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
}
