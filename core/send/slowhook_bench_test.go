package send

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
)

type sleepAfterHook struct{}

func (sleepAfterHook) SendMessageAfter(*SendContext) { time.Sleep(time.Millisecond) }

// BenchmarkAsyncSlowAfterHook measures async sends to the in-process fake broker with an After
// hook that takes 1 ms, by callback workers, beside no hook: the hooks run on the workers, so the
// workers, not the connection, bound the rate. (The fake broker answers at once; against the real
// cluster see integration BenchmarkProducerAsyncSlowAfterHook.)
func BenchmarkAsyncSlowAfterHook(b *testing.B) {
	for _, tc := range []struct {
		hook    bool
		workers int
	}{{false, 4}, {true, 4}, {true, 32}} {
		name := "none"
		opts := []Option{WithCallbackWorkers(tc.workers)}
		if tc.hook {
			name = "after1ms"
			opts = append(opts, WithHooks(sleepAfterHook{}))
		}
		b.Run(name+"/workers="+strconv.Itoa(tc.workers), func(b *testing.B) {
			fc := newFakeCluster(b, "broker-a", "broker-b")
			p := startFake(b, fc, append(opts, WithSendTimeout(10*time.Second))...)
			body := make([]byte, 1024)
			var wg sync.WaitGroup
			cb := func(_ *message.SendResult, err error) {
				if err != nil {
					b.Error(err)
				}
				wg.Done()
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				wg.Add(1)
				if err := p.SendAsync(context.Background(), message.New("FakeTopic", body), cb); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
