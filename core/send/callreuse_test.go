package send

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// requestSnapshots is an RPC hook that keeps every send request it is shown, with the frame it
// encoded to at the time.
type requestSnapshots struct {
	mu    sync.Mutex
	reqs  []*codec.Command
	frame [][]byte
}

func (k *requestSnapshots) BeforeRequest(_ string, req *codec.Command) error {
	if req.Code != codec.SendMessageV2 {
		return nil
	}
	b, err := codec.AppendFrame(nil, req, codec.SerializeJSON)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.reqs, k.frame = append(k.reqs, req), append(k.frame, b)
	k.mu.Unlock()
	return nil
}

func (*requestSnapshots) AfterResponse(string, *codec.Command, *codec.Command, error) {}

// TestFinishedCallsReusedSafely: a finished sync, async or oneway send gives its call to the next
// send unless something outside it may have kept a part of it. Concurrent sends each get their
// own result; and with an RPC hook that keeps every request, each kept request still encodes to what
// it did when it was sent, after all the sends that followed.
func TestFinishedCallsReusedSafely(t *testing.T) {
	for _, hooked := range []bool{false, true} {
		t.Run(fmt.Sprintf("rpc_hook=%v", hooked), func(t *testing.T) {
			kept := &requestSnapshots{}
			var opts []Option
			if hooked {
				opts = append(opts, WithRPCHooks(kept))
			}
			p := startFake(t, newFakeCluster(t, "broker-a", "broker-b"), opts...)
			const senders, each = 4, 150
			var wg sync.WaitGroup
			errs := make(chan error, senders*each)
			for s := 0; s < senders; s++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						m := message.New("FakeTopic", []byte(fmt.Sprintf("sender %d send %d", s, i)))
						switch i % 3 {
						case 2:
							if err := p.SendOneway(context.Background(), m); err != nil {
								errs <- err
							}
							continue
						case 1:
							wg.Add(1)
							err := p.SendAsync(context.Background(), m, func(res *message.SendResult, err error) {
								defer wg.Done()
								switch {
								case err != nil:
									errs <- err
								case res.MsgID != m.UniqID() || res.Queue.Topic != "FakeTopic":
									errs <- fmt.Errorf("sender %d async send %d: result %+v is not its own (id %s)", s, i, res, m.UniqID())
								}
							})
							if err != nil {
								wg.Done()
								errs <- err
							}
							continue
						}
						res, err := p.Send(context.Background(), m)
						switch {
						case err != nil:
							errs <- err
						case res.MsgID != m.UniqID() || res.Queue.Topic != "FakeTopic" || res.Queue.BrokerName == "":
							errs <- fmt.Errorf("sender %d send %d: result %+v is not its own (id %s)", s, i, res, m.UniqID())
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if !hooked {
				return
			}
			kept.mu.Lock()
			defer kept.mu.Unlock()
			if len(kept.reqs) != senders*each {
				t.Fatalf("the RPC hook kept %d send requests, want %d", len(kept.reqs), senders*each)
			}
			for i, req := range kept.reqs {
				now, err := codec.AppendFrame(nil, req, codec.SerializeJSON)
				if err != nil || !bytes.Equal(now, kept.frame[i]) {
					t.Fatalf("kept request %d changed after later sends (err %v):\nthen %q\nnow  %q", i, err, kept.frame[i], now)
				}
			}
		})
	}
}

// TestAsyncCallsReusedAfterTimeouts: async sends that time out (brokers answer every other send)
// give their calls back as well, and a reused call never carries another send's outcome: each
// callback gets its own message's result or a timeout, once.
func TestAsyncCallsReusedAfterTimeouts(t *testing.T) {
	fc := newFakeCluster(t, "broker-a", "broker-b")
	var seen atomic.Int64
	for _, b := range fc.brokers {
		b.setHandler(func(req *codec.Command) *codec.Command {
			if req.Code == codec.SendMessageV2 && seen.Add(1)%2 == 0 {
				return nil // no answer: the attempt times out
			}
			return fakeBrokerAnswer(b, req, codec.Success)
		})
	}
	p := startFake(t, fc, WithSendTimeout(150*time.Millisecond))
	const senders, each = 4, 40
	var wg sync.WaitGroup
	var ok, timedOut atomic.Int64
	errs := make(chan error, senders*each)
	for s := 0; s < senders; s++ {
		for i := 0; i < each; i++ {
			m := message.New("FakeTopic", []byte(fmt.Sprintf("sender %d send %d", s, i)))
			wg.Add(1)
			var calls atomic.Int32
			err := p.SendAsync(context.Background(), m, func(res *message.SendResult, err error) {
				defer wg.Done()
				switch {
				case calls.Add(1) != 1:
					errs <- fmt.Errorf("sender %d send %d: callback called again", s, i)
				case errors.Is(err, ErrTimeout):
					timedOut.Add(1)
				case err != nil:
					errs <- err
				case res.MsgID != m.UniqID():
					errs <- fmt.Errorf("sender %d send %d: result %+v is not its own (id %s)", s, i, res, m.UniqID())
				default:
					ok.Add(1)
				}
			})
			if err != nil {
				wg.Done()
				errs <- err
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ok.Load() == 0 || timedOut.Load() == 0 {
		t.Fatalf("%d sent, %d timed out: the test wants both", ok.Load(), timedOut.Load())
	}
}
