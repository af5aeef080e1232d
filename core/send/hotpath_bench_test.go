package send

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// The send hot path with the in-process fake broker (docs/performance.md, "The send hot path"):
//
//	go test -run='^$' -bench='Send(Async|Sync|Oneway)1KiB' -benchmem ./core/send/
//
// The fake brokers answer sends without allocating (leanBroker), so allocs/op is the client's
// own: one message.New per send, as an application makes, included.

// leanBroker serves one connection like fakeServer.serve, but answers binary-header send
// requests from reused buffers, coalescing its answers as a Netty broker does. Oneway requests
// are counted in oneway. Other requests (heartbeats, JSON headers) take the decoding path.
func leanBroker(s *fakeServer, oneway *atomic.Int64) func(net.Conn) {
	return func(nc net.Conn) {
		br := bufio.NewReaderSize(nc, 64<<10)
		bw := bufio.NewWriterSize(nc, 64<<10)
		var (
			prefix [4]byte
			frame  []byte
			out    []byte
			n      int64
		)
		rh := &codec.SendMessageResponseHeader{MsgID: "7F00000100002A9F0000000000000000", RegionID: "DefaultRegion", TraceOn: true}
		resp := &codec.Command{Code: codec.Success, Language: codec.LanguageJava, Version: codec.DefaultVersion,
			Flag: codec.FlagResponse, Header: rh}
		for {
			if _, err := io.ReadFull(br, prefix[:]); err != nil {
				return
			}
			size, err := codec.FrameLength(prefix, codec.MaxFrameSize)
			if err != nil {
				return
			}
			if cap(frame) < size {
				frame = make([]byte, size)
			}
			frame = frame[:size]
			if _, err := io.ReadFull(br, frame); err != nil {
				return
			}
			var answer *codec.Command
			if codec.SerializeType(frame[0]) == codec.SerializeRocketMQ && len(frame) >= 4+17 {
				h := frame[4:]
				code := int32(int16(binary.BigEndian.Uint16(h)))
				flag := int32(binary.BigEndian.Uint32(h[9:]))
				if flag&codec.FlagOneway != 0 {
					oneway.Add(1)
					continue
				}
				if code == codec.SendMessageV2 || code == codec.SendBatchMessage {
					n++
					resp.Opaque = int32(binary.BigEndian.Uint32(h[5:]))
					rh.QueueOffset = n
					answer = resp
				}
			}
			if answer == nil {
				req, err := codec.DecodeFrame(frame)
				if err != nil {
					return
				}
				if req.IsOneway() {
					oneway.Add(1)
					continue
				}
				answer = fakeBrokerAnswer(s, req, codec.Success)
			}
			out, err = codec.AppendFrame(out[:0], answer, codec.SerializeJSON)
			if err != nil {
				return
			}
			if _, err := bw.Write(out); err != nil {
				return
			}
			if br.Buffered() == 0 {
				if err := bw.Flush(); err != nil {
					return
				}
			}
		}
	}
}

// startLean starts two lean fake brokers and a producer on them; oneway counts the oneway
// requests they received.
func startLean(b *testing.B, opts ...Option) (*Producer, *atomic.Int64) {
	fc := newFakeCluster(b, "broker-a", "broker-b")
	oneway := new(atomic.Int64)
	for _, s := range fc.brokers {
		s.mu.Lock()
		s.serveConn = leanBroker(s, oneway)
		s.mu.Unlock()
	}
	p := startFake(b, fc, append([]Option{WithSendTimeout(10 * time.Second)}, opts...)...)
	// Warm up: route, connections and first heartbeats are not part of the hot path.
	for i := 0; i < 8; i++ {
		if _, err := p.Send(context.Background(), message.New("FakeTopic", []byte("warm"))); err != nil {
			b.Fatal(err)
		}
	}
	return p, oneway
}

func BenchmarkSendAsync1KiB(b *testing.B) { benchAsync(b, context.Background()) }

// BenchmarkSendAsyncAutoBatch1KiB is the async send with auto-batching (WithAutoBatch): per
// message, its share of the batch request included.
func BenchmarkSendAsyncAutoBatch1KiB(b *testing.B) {
	benchAsync(b, context.Background(), WithAutoBatch(true), WithAsyncBackpressure(512, 1<<30, true))
}

// BenchmarkSendAsync1KiBCancelCtx is the async send with a context that can be cancelled, as a
// service passes: the transport registers a context.AfterFunc per attempt (cancelling it fails
// the send at once), which costs allocations of its own.
func BenchmarkSendAsync1KiBCancelCtx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchAsync(b, ctx)
}

func benchAsync(b *testing.B, ctx context.Context, opts ...Option) {
	p, _ := startLean(b, opts...)
	body := make([]byte, 1024)
	var wg sync.WaitGroup
	cb := func(_ *message.SendResult, err error) {
		if err != nil {
			b.Error(err)
		}
		wg.Done()
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		if err := p.SendAsync(ctx, message.New("FakeTopic", body), cb); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
}

func BenchmarkSendSync1KiB(b *testing.B) {
	p, _ := startLean(b)
	body := make([]byte, 1024)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Send(ctx, message.New("FakeTopic", body)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSendOneway1KiB(b *testing.B) {
	p, received := startLean(b)
	body := make([]byte, 1024)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.SendOneway(ctx, message.New("FakeTopic", body)); err != nil {
			b.Fatal(err)
		}
	}
	waitReceived(b, received)
}

// waitReceived waits until the brokers have read b.N oneway requests: the time per op includes
// the whole write.
func waitReceived(b *testing.B, received *atomic.Int64) {
	for deadline := time.Now().Add(10 * time.Second); received.Load() < int64(b.N); {
		if time.Now().After(deadline) {
			b.Fatalf("brokers received %d of %d oneway sends", received.Load(), b.N)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkSendOneway1KiB4Senders is the oneway load of make bench-java: 4 goroutines sending.
func BenchmarkSendOneway1KiB4Senders(b *testing.B) {
	p, received := startLean(b)
	body := make([]byte, 1024)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((4 + procs - 1) / procs) // RunParallel starts parallelism x GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.SendOneway(ctx, message.New("FakeTopic", body)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	waitReceived(b, received)
}
