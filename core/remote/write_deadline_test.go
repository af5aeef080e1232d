package remote

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

// A peer that accepts and never reads (a SIGSTOPped broker) fills the socket buffers; a send
// whose write blocks there still returns at its own deadline, not after the connection's write
// timeout, and the next send on the connection does too.
func TestWriteBlockedEndsAtDeadline(t *testing.T) {
	addr := silentPeer(t)
	c := NewClient(WithWriteTimeout(time.Minute))
	t.Cleanup(func() { _ = c.Close() }) // before the peer's: ends the background write
	body := make([]byte, 15<<20)        // more than the socket buffers take from a peer that never reads; under the 16 MiB frame limit
	for i := 0; i < 2; i++ {
		t0 := time.Now()
		_, err := c.Invoke(context.Background(), addr, req("x", body), time.Now().Add(300*time.Millisecond))
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("send %d: err = %v, want ErrTimeout", i, err)
		}
		// Generous: the bound under test is the 1 min write timeout, which the old code waited out.
		if d := time.Since(t0); d > 10*time.Second {
			t.Fatalf("send %d returned after %v; its deadline was 300ms", i, d)
		}
	}
}

// silentPeer accepts connections and never reads from or writes to them: a broker that is
// stopped (SIGSTOP) or stuck, as the kernel still completes the handshake. Its connections close
// at the end of the test.
func silentPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, nc)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, nc := range held {
			nc.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// Oneway frames to a peer that never reads are queued for the connection's writer up to its
// bound (maxQueuedBytes); past it a send waits for room until its deadline and fails with
// ErrTimeout, instead of queueing without limit.
func TestOnewayQueueIsBounded(t *testing.T) {
	addr := silentPeer(t)
	c := NewClient(WithWriteTimeout(time.Minute))
	t.Cleanup(func() { _ = c.Close() })
	body := make([]byte, 1<<20)
	limit := maxQueuedBytes/len(body) + 64 // the bound, plus what the socket buffers may take
	for i := 0; ; i++ {
		if i > limit {
			t.Fatalf("%d oneway frames of 1 MiB queued to a peer that never reads: no bound", i)
		}
		t0 := time.Now()
		err := c.InvokeOneway(context.Background(), addr, req("x", body), time.Now().Add(200*time.Millisecond))
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("frame %d: err = %v, want ErrTimeout", i, err)
		}
		if d := time.Since(t0); d > 10*time.Second { // generous: the deadline was 200 ms
			t.Fatalf("frame %d waited %v for room; its deadline was 200ms", i, d)
		}
		break
	}
	// The queue is full: a request waiting for room ends with its context, long before its
	// deadline, with the context's cause, whatever its kind.
	cause := errors.New("the caller gave up")
	for _, kind := range []string{"oneway", "sync", "async"} {
		deadline := time.Now().Add(20 * time.Second) // far from the 100 ms of the context
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(100*time.Millisecond, func() { cancel(cause) })
		var err error
		switch kind {
		case "oneway":
			err = c.InvokeOneway(ctx, addr, req("x", body), deadline)
		case "sync":
			_, err = c.Invoke(ctx, addr, req("x", body), deadline)
		case "async":
			err = c.InvokeAsync(ctx, addr, req("x", body), deadline, func(*codec.Command, error) {
				t.Error("async: callback called though InvokeAsync returned an error")
			})
		}
		if !errors.Is(err, cause) {
			t.Fatalf("%s request waiting for room, its context cancelled: err = %v, want the cause", kind, err)
		}
	}
}
