package integration

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// sleepAfter is an After hook that takes 1 ms, a plugin that writes to a slow sink.
type sleepAfter struct{}

func (sleepAfter) SendMessageAfter(*send.SendContext) { time.Sleep(time.Millisecond) }

// BenchmarkProducerAsyncSlowAfterHook is BenchmarkProducerAsync1KiB with an After hook that
// takes 1 ms, run by 4 (the default) and 32 callback workers, beside no hook: After hooks run on
// the callback workers, not on the connection's reader, so the workers bound the throughput and
// the transport never waits. Run with -benchtime=5000x.
func BenchmarkProducerAsyncSlowAfterHook(b *testing.B) {
	cl := rmqtest.Start(b)
	for _, tc := range []struct {
		hook    bool
		workers int
	}{{false, 4}, {true, 4}, {true, 32}} {
		name := "none"
		var opts []send.Option
		if tc.hook {
			name = "after1ms"
			opts = append(opts, send.WithHooks(sleepAfter{}))
		}
		opts = append(opts, send.WithCallbackWorkers(tc.workers))
		b.Run(name+"/workers="+strconv.Itoa(tc.workers), func(b *testing.B) {
			p := newProducer(b, cl.NameServer(), opts...)
			benchAsync1KiB(b, p, uniqueTopic("rs_bench_slowhook"))
			b.StopTimer()
			_ = p.Shutdown(context.Background())
		})
	}
}
