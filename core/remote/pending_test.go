package remote

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

// reuser makes requests one after the other through one Pending, each after the previous one
// completed, as the attempts of an async send do, and checks every outcome.
type reuser struct {
	slot Pending
	done chan outcome
}

type outcome struct {
	resp *codec.Command
	err  error
}

func (r *reuser) OnResponse(resp *codec.Command, err error) {
	r.done <- outcome{resp: resp, err: err} // a second outcome for one request would block here
}

// TestPendingReused runs goroutines that each reuse one Pending for requests answered, left
// unanswered until their deadline, cancelled, and failed by a dying connection (the peer drops
// connections as it goes): every request completes exactly once, with its own outcome.
func TestPendingReused(t *testing.T) {
	var seen atomic.Int64
	p := newPeer(t, codec.SerializeRocketMQ, func(pc *peerConn, req *codec.Command) {
		n := seen.Add(1)
		v, _ := req.ExtValue("k")
		switch {
		case v == "silent", v == "cancel":
		case n%97 == 0:
			_ = pc.nc.Close() // a dying connection: everything in flight on it fails
		default:
			echo(pc, req)
		}
	})
	c := newClient(t, WithTimerResolution(time.Millisecond))
	const goroutines, each = 8, 150
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &reuser{done: make(chan outcome, 1)}
			for i := 0; i < each; i++ {
				key := strconv.Itoa(i)
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				deadline := time.Now().Add(5 * time.Second)
				switch i % 10 {
				case 3:
					key = "silent"
					deadline = time.Now().Add(5 * time.Millisecond)
				case 7:
					key = "cancel"
					ctx, cancel = context.WithCancel(ctx)
					time.AfterFunc(2*time.Millisecond, cancel)
				}
				err := c.InvokeAsyncTo(ctx, p.addr(), req(key, nil), deadline, r, &r.slot)
				if err != nil {
					cancel()
					if !errors.Is(err, ErrConnClosed) && !errors.Is(err, ErrConnect) {
						t.Errorf("request %d: %v", i, err)
					}
					continue
				}
				o := <-r.done
				cancel()
				switch {
				case o.err == nil:
					if v, _ := o.resp.ExtValue("echo"); v != key {
						t.Errorf("request %q got the answer of %q", key, v)
					}
				case key == "silent" && !errors.Is(o.err, ErrTimeout) && !errors.Is(o.err, ErrConnClosed):
					t.Errorf("unanswered request: %v", o.err)
				case key == "cancel" && !errors.Is(o.err, context.Canceled) && !errors.Is(o.err, ErrConnClosed):
					t.Errorf("cancelled request: %v", o.err)
				case key != "silent" && key != "cancel" && !errors.Is(o.err, ErrConnClosed):
					t.Errorf("request %q: %v", key, o.err)
				}
			}
			// Whatever was still to fire (a wheel expiry, a context callback) for an earlier
			// request must not complete a later one: no outcome arrives without a request.
			time.Sleep(20 * time.Millisecond)
			select {
			case o := <-r.done:
				t.Errorf("an outcome with no request in flight: %+v", o)
			default:
			}
		}()
	}
	wg.Wait()
}

// TestSyncRecordsReused: sync requests take their record and result channel from a pool and
// give them back once they have their outcome. Goroutines making requests answered, left
// unanswered until their deadline, cancelled and failed by a dying connection each get their own
// outcome: an expiry or a failure left from an earlier request never reaches a later one.
func TestSyncRecordsReused(t *testing.T) {
	var seen atomic.Int64
	p := newPeer(t, codec.SerializeRocketMQ, func(pc *peerConn, req *codec.Command) {
		n := seen.Add(1)
		v, _ := req.ExtValue("k")
		switch {
		case strings.HasPrefix(v, "silent"), strings.HasPrefix(v, "cancel"):
		case n%97 == 0:
			_ = pc.nc.Close() // a dying connection: everything in flight on it fails
		default:
			echo(pc, req)
		}
	})
	c := newClient(t, WithTimerResolution(time.Millisecond))
	const goroutines, each = 8, 150
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				key := strconv.Itoa(g) + "/" + strconv.Itoa(i)
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				deadline := time.Now().Add(5 * time.Second)
				switch i % 10 {
				case 3:
					key = "silent " + key
					deadline = time.Now().Add(5 * time.Millisecond)
				case 7:
					key = "cancel " + key
					ctx, cancel = context.WithCancel(ctx)
					time.AfterFunc(2*time.Millisecond, cancel)
				}
				resp, err := c.Invoke(ctx, p.addr(), req(key, nil), deadline)
				cancel()
				switch {
				case err == nil:
					if v, _ := resp.ExtValue("echo"); v != key {
						t.Errorf("request %q got the answer of %q", key, v)
					}
				case errors.Is(err, ErrConnClosed), errors.Is(err, ErrConnect):
				case strings.HasPrefix(key, "silent") && !errors.Is(err, ErrTimeout):
					t.Errorf("unanswered request %q: %v", key, err)
				case strings.HasPrefix(key, "cancel") && !errors.Is(err, context.Canceled):
					t.Errorf("cancelled request %q: %v", key, err)
				case !strings.HasPrefix(key, "silent") && !strings.HasPrefix(key, "cancel"):
					t.Errorf("request %q: %v", key, err)
				}
			}
		}()
	}
	wg.Wait()
}

// probeHeader calls f while the frame's header is being encoded.
type probeHeader struct{ f func() }

func (h probeHeader) EncodeExt(w *codec.ExtWriter) { h.f(); w.String("k", "probe") }

// TestHeaderEncodedBeforeRegistration: once a request is registered it may complete at any
// moment (its deadline, a dying connection) and its caller go on with the message, for instance
// write its properties map, which a send's header reads. So the header of every kind of request
// is encoded while the request is not yet registered.
func TestHeaderEncodedBeforeRegistration(t *testing.T) {
	p := newPeer(t, codec.SerializeRocketMQ, echo)
	c := newClient(t, WithSerializeType(codec.SerializeRocketMQ))
	ctx := context.Background()
	if _, err := c.Invoke(ctx, p.addr(), req("dial", nil), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	cn := c.conns[p.addr()].conn
	c.mu.Unlock()
	var encoded, registeredWhileEncoding atomic.Int64
	probe := func() *codec.Command {
		return &codec.Command{Code: codec.GetMaxOffset, Language: codec.LanguageGo, Version: codec.DefaultVersion,
			Header: probeHeader{f: func() {
				encoded.Add(1)
				cn.mu.Lock()
				if len(cn.pending) > 0 {
					registeredWhileEncoding.Add(1)
				}
				cn.mu.Unlock()
			}}}
	}
	deadline := time.Now().Add(5 * time.Second)
	if _, err := c.Invoke(ctx, p.addr(), probe(), deadline); err != nil {
		t.Fatal(err)
	}
	var slot Pending
	done := make(chan error, 1)
	if err := c.InvokeAsyncTo(ctx, p.addr(), probe(), deadline, CallbackFunc(func(_ *codec.Command, err error) { done <- err }), &slot); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := encoded.Load(); n != 2 {
		t.Fatalf("the probe header was encoded %d times, want 2", n)
	}
	if n := registeredWhileEncoding.Load(); n != 0 {
		t.Fatalf("%d of 2 requests were registered (could complete) while their header was being encoded", n)
	}
}
