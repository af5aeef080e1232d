package send

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

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

// TestFinishedCallsReusedSafely: a finished sync or oneway send gives its call to the next send
// unless something outside it may have kept a part of it. Concurrent sends each get their own
// result; and with an RPC hook that keeps every request, each kept request still encodes to what
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
						if i%3 == 2 {
							if err := p.SendOneway(context.Background(), m); err != nil {
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
