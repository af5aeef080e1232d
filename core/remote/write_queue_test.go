package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

// Async and oneway frames wait in the connection's write queue while a sync caller may write its
// own frame on an idle connection; the peer must still see every sender's frames in the order
// that sender wrote them, whatever the mix of oneway, async and sync requests, over TCP and TLS.
func TestWriteKeepsEachSendersOrder(t *testing.T) {
	t.Run("tcp", func(t *testing.T) { testWriteOrder(t, false) })
	t.Run("tls", func(t *testing.T) { testWriteOrder(t, true) })
}

func testWriteOrder(t *testing.T, useTLS bool) {
	const senders, each = 4, 1500
	var mu sync.Mutex
	last := map[string]int{}
	var disorder []string
	seen := 0
	p := newPeer(t, codec.SerializeJSON, func(pc *peerConn, r *codec.Command) {
		s, _ := r.ExtValue("s")
		i, _ := strconv.Atoi(func() string { v, _ := r.ExtValue("i"); return v }())
		mu.Lock()
		if prev, ok := last[s]; ok && i <= prev {
			disorder = append(disorder, s+": "+strconv.Itoa(i)+" after "+strconv.Itoa(prev))
		}
		last[s] = i
		seen++
		mu.Unlock()
		if !r.IsOneway() {
			pc.reply(r, codec.Success, "", nil)
		}
	})
	c := newClient(t)
	if useTLS {
		cert, pool := selfSigned(t)
		raw, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
		if err != nil {
			t.Fatal(err)
		}
		p = &peer{t: t, ln: raw, st: codec.SerializeJSON, handle: p.handle}
		p.wg.Add(1)
		go p.accept()
		t.Cleanup(p.close)
		c = newClient(t, WithTLS(&tls.Config{RootCAs: pool}))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := make([]byte, 100+s*300)
			for i := 0; i < each; i++ {
				r := codec.NewRequest(codec.GetMaxOffset, codec.Fields{{Key: "s", Value: strconv.Itoa(s)}, {Key: "i", Value: strconv.Itoa(i)}}, body)
				deadline := time.Now().Add(30 * time.Second)
				var err error
				switch i % 3 {
				case 0:
					err = c.InvokeOneway(ctx, p.addr(), r, deadline)
				case 1:
					err = c.InvokeAsync(ctx, p.addr(), r, deadline, func(_ *codec.Command, err error) {
						if err != nil {
							errs <- err
						}
					})
				default:
					_, err = c.Invoke(ctx, p.addr(), r, deadline)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	// Every frame ends with a sync send whose answer came after the peer read them all, except the
	// oneway and async frames after a sender's last sync one: wait for those.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := seen
		mu.Unlock()
		if n == senders*each || time.Now().After(end) {
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(disorder) > 0 {
		t.Fatalf("%d frames out of their sender's order, first: %s", len(disorder), disorder[0])
	}
	if seen != senders*each {
		t.Fatalf("peer read %d frames, want %d", seen, senders*each)
	}
}

// A sender waiting for room in a full write queue goes on as soon as the writer takes the queue:
// the peer stops reading until the queue is past its bound and a send waits, then reads again.
func TestWriteWaitingForRoomGoesOn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	read := make(chan struct{})
	peerDone := make(chan struct{})
	go func() {
		defer close(peerDone)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		<-read
		_, _ = io.Copy(io.Discard, nc) // until the client closes
	}()
	c := NewClient(WithWriteTimeout(time.Minute))
	cn, err := c.conn(context.Background(), ln.Addr().String(), time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1<<20)
	limit := maxQueuedBytes/len(body) + 64 // the bound, plus what the socket buffers may take
	finished := make(chan error, 1)        // the sender's outcome: nil once all its frames are queued
	go func() {
		for i := 0; i <= limit; i++ {
			if _, err := cn.write(context.Background(), req("x", body), time.Now().Add(time.Minute), false, nil); err != nil {
				finished <- err
				return
			}
		}
		finished <- nil
	}()
	waiting := func() bool { cn.wmu.Lock(); defer cn.wmu.Unlock(); return cn.room != nil }
	for end := time.Now().Add(30 * time.Second); !waiting(); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-finished:
			t.Fatalf("the sender finished (err %v) and never waited for room: the queue has no bound", err)
		default:
		}
		if time.Now().After(end) {
			t.Fatal("no send waited for room within 30 s")
		}
	}
	close(read) // the peer reads: the writer takes the queue, the waiting send goes on
	if err := <-finished; err != nil {
		t.Fatalf("the send waiting for room did not go on: %v", err)
	}
	_ = c.Close()
	<-peerDone
}

// A request whose connection closed before it could be registered is neither registered nor
// left in the write queue, and its caller gets the connection's error: nobody else completes it.
func TestWriteOnClosedConnQueuesNothing(t *testing.T) {
	p := newPeer(t, codec.SerializeRocketMQ, echo)
	c := newClient(t)
	cn, err := c.conn(context.Background(), p.addr(), time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cn.close(ErrConnClosed)
	r := req("x", []byte("body"))
	pe := &pending{opaque: 7, conn: cn, req: r, start: time.Now(), deadline: time.Now().Add(time.Minute), ch: make(chan result, 1)}
	registered, err := cn.write(context.Background(), r, pe.deadline, true, pe)
	if registered || !errors.Is(err, ErrConnClosed) {
		t.Fatalf("write on a closed connection: registered %v, err %v; want false, ErrConnClosed", registered, err)
	}
	cn.wmu.Lock()
	queued, frames, buffered := cn.queued, cn.frames, len(cn.wbuf)
	cn.wmu.Unlock()
	if queued != 0 || frames != 0 || buffered != 0 {
		t.Fatalf("the refused frame stayed queued: %d bytes, %d frames, %d buffered", queued, frames, buffered)
	}
	select {
	case r := <-pe.ch:
		t.Fatalf("the refused request was completed too: %v", r.err)
	default:
	}
}
