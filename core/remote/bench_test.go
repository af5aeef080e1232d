package remote

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

// The peer answers from its own goroutine per connection, so these measure the client's cost per
// request (encode, write coalescing, pending map, wheel, decode) plus loopback I/O.

func benchPeer(b *testing.B) *peer {
	return newPeer(b, codec.SerializeRocketMQ, func(pc *peerConn, r *codec.Command) {
		pc.reply(r, codec.Success, "", nil, codec.Field{Key: "queueOffset", Value: "1"})
	})
}

func BenchmarkInvokeSync(b *testing.B) {
	p := benchPeer(b)
	c := NewClient()
	defer c.Close()
	body := make([]byte, 1024)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Invoke(ctx, p.addr(), codec.NewRequest(codec.SendMessageV2, nil, body), time.Now().Add(time.Second)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkInvokeAsync(b *testing.B) {
	p := benchPeer(b)
	c := NewClient()
	defer c.Close()
	body := make([]byte, 1024)
	ctx := context.Background()
	window := make(chan struct{}, 1024) // bounded in flight
	var wg sync.WaitGroup
	cb := func(_ *codec.Command, err error) {
		if err != nil {
			b.Error(err)
		}
		<-window
		wg.Done()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		window <- struct{}{}
		wg.Add(1)
		if err := c.InvokeAsync(ctx, p.addr(), codec.NewRequest(codec.SendMessageV2, nil, body), time.Now().Add(time.Second), cb); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
}
