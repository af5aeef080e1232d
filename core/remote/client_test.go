package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rocketsend/rocketsend/core/codec"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func echo(p *peerConn, req *codec.Command) {
	if req.IsOneway() {
		return
	}
	v, _ := req.ExtValue("k")
	p.reply(req, codec.Success, "", req.Body, codec.Field{Key: "echo", Value: v})
}

func newClient(t *testing.T, opts ...Option) *Client {
	c := NewClient(opts...)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func req(k string, body []byte) *codec.Command {
	return codec.NewRequest(codec.GetMaxOffset, codec.Fields{{Key: "k", Value: k}}, body)
}

func TestInvokeSyncBothHeaderTypes(t *testing.T) {
	for _, st := range []codec.SerializeType{codec.SerializeJSON, codec.SerializeRocketMQ} {
		t.Run(st.String(), func(t *testing.T) {
			p := newPeer(t, st, echo)
			c := newClient(t, WithSerializeType(st))
			resp, err := c.Invoke(context.Background(), p.addr(), req("v1", []byte("body")), time.Now().Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := resp.ExtValue("echo"); v != "v1" || string(resp.Body) != "body" || !resp.IsResponse() {
				t.Fatalf("bad response %+v", resp)
			}
		})
	}
}

func TestPipelinedOutOfOrder(t *testing.T) {
	// The peer holds requests and answers them in reverse order: each response must reach its own
	// caller.
	const n = 50
	var mu sync.Mutex
	var held []*codec.Command
	var hp *peerConn
	p := newPeer(t, codec.SerializeJSON, func(pc *peerConn, r *codec.Command) {
		mu.Lock()
		held = append(held, r)
		hp = pc
		if len(held) == n {
			for i := n - 1; i >= 0; i-- {
				echo(hp, held[i])
			}
		}
		mu.Unlock()
	})
	c := newClient(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := strconv.Itoa(i)
			resp, err := c.Invoke(context.Background(), p.addr(), req(k, nil), time.Now().Add(5*time.Second))
			if err != nil {
				errs <- err
				return
			}
			if v, _ := resp.ExtValue("echo"); v != k {
				errs <- errors.New("response " + v + " delivered to caller " + k)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestAsyncCallbackExactlyOnce(t *testing.T) {
	p := newPeer(t, codec.SerializeRocketMQ, echo)
	c := newClient(t)
	const n = 2000
	var calls atomic.Int64
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		err := c.InvokeAsync(context.Background(), p.addr(), req(strconv.Itoa(i), make([]byte, 100)), time.Now().Add(5*time.Second),
			func(resp *codec.Command, err error) {
				if err != nil {
					t.Error(err)
				}
				calls.Add(1)
				wg.Done()
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if calls.Load() != n {
		t.Fatalf("callbacks = %d, want %d", calls.Load(), n)
	}
}

func TestOneway(t *testing.T) {
	got := make(chan *codec.Command, 1)
	p := newPeer(t, codec.SerializeJSON, func(pc *peerConn, r *codec.Command) { got <- r })
	c := newClient(t)
	if err := c.InvokeOneway(context.Background(), p.addr(), req("x", nil), time.Time{}); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if !r.IsOneway() {
		t.Fatalf("flag %d lacks oneway bit", r.Flag)
	}
}

func TestTimeoutWithoutResponse(t *testing.T) {
	p := newPeer(t, codec.SerializeJSON, func(*peerConn, *codec.Command) {}) // never answers
	c := newClient(t)
	start := time.Now()
	_, err := c.Invoke(context.Background(), p.addr(), req("x", nil), time.Now().Add(100*time.Millisecond))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Fatal("timed out early")
	}
	// async too, and the ctx deadline bounds it when shorter than the timeout
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.InvokeAsync(ctx, p.addr(), req("y", nil), time.Now().Add(time.Hour), func(_ *codec.Command, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("async request without response succeeded")
	}
}

func TestContextCancel(t *testing.T) {
	p := newPeer(t, codec.SerializeJSON, func(*peerConn, *codec.Command) {})
	c := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(30 * time.Millisecond); cancel() }()
	if _, err := c.Invoke(ctx, p.addr(), req("x", nil), time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("sync err = %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if err := c.InvokeAsync(ctx2, p.addr(), req("y", nil), time.Now().Add(time.Hour), func(_ *codec.Command, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	cancel2()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("async err = %v", err)
	}
}

func TestConnectionKilledFailsInFlightAtOnce(t *testing.T) {
	var arrived atomic.Int64
	p := newPeer(t, codec.SerializeRocketMQ, func(*peerConn, *codec.Command) { arrived.Add(1) })
	c := newClient(t)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := c.Invoke(context.Background(), p.addr(), req("s", nil), time.Now().Add(time.Hour))
			errs <- err
		}()
		if err := c.InvokeAsync(context.Background(), p.addr(), req("a", nil), time.Now().Add(time.Hour),
			func(_ *codec.Command, err error) { errs <- err; wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	for arrived.Load() < 2*n {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	p.killConns()
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("in-flight requests took %v to fail", d)
	}
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrConnClosed) {
			t.Fatalf("err = %v, want ErrConnClosed", err)
		}
	}
	// The next request dials a new connection.
	p.handle = echo
	if _, err := c.Invoke(context.Background(), p.addr(), req("again", nil), time.Now().Add(time.Second)); err != nil {
		t.Fatalf("after reconnect: %v", err)
	}
}

func TestDialFailure(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t)
	_, err := c.Invoke(context.Background(), addr, req("x", nil), time.Now().Add(time.Second))
	var ce *ConnError
	// Never connected: the request cannot have reached the broker, so it is not ErrConnClosed.
	if !errors.As(err, &ce) || ce.Op != "dial" || !errors.Is(err, ErrConnect) || errors.Is(err, ErrConnClosed) {
		t.Fatalf("err = %v", err)
	}
	if err := c.InvokeAsync(context.Background(), addr, req("x", nil), time.Now().Add(time.Second), func(*codec.Command, error) {
		t.Error("callback after a returned error")
	}); err == nil {
		t.Fatal("async dial failure not returned")
	}
}

// The deadline is the caller's: one already past fails at once, none at all is refused, and no
// default stretches either into a fresh budget.
func TestDeadlineIsTheCallersOwn(t *testing.T) {
	p := newPeer(t, codec.SerializeJSON, echo)
	c := newClient(t)
	t0 := time.Now()
	_, err := c.Invoke(context.Background(), p.addr(), req("x", nil), time.Now().Add(-time.Millisecond))
	if !errors.Is(err, ErrTimeout) || time.Since(t0) > time.Second {
		t.Fatalf("past deadline: err = %v after %v", err, time.Since(t0))
	}
	err = c.InvokeAsync(context.Background(), p.addr(), req("x", nil), time.Now(), func(*codec.Command, error) {
		t.Error("callback after a returned error")
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("async past deadline: err = %v", err)
	}
	if _, err := c.Invoke(context.Background(), p.addr(), req("x", nil), time.Time{}); !errors.Is(err, ErrNoDeadline) {
		t.Fatalf("no deadline: err = %v", err)
	}
	// A zero deadline takes the context's.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Invoke(ctx, p.addr(), req("x", nil), time.Time{}); err != nil {
		t.Fatalf("context deadline: %v", err)
	}
}

// A connection whose set-up hangs (a TLS peer that accepts and never speaks) costs a request its
// deadline, not the dial timeout.
func TestDialWaitEndsAtDeadline(t *testing.T) {
	addr := silentPeer(t)
	c := newClient(t, WithTLS(&tls.Config{}), WithDialTimeout(5*time.Second))
	t0 := time.Now()
	_, err := c.Invoke(context.Background(), addr, req("x", nil), time.Now().Add(200*time.Millisecond))
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrConnClosed) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("returned after %v, deadline was 200ms", d)
	}
}

func TestBrokerInitiatedRequests(t *testing.T) {
	answers := make(chan *codec.Command, 2)
	var server *peerConn
	ready := make(chan struct{})
	p := newPeer(t, codec.SerializeJSON, func(pc *peerConn, r *codec.Command) {
		if r.IsResponse() {
			answers <- r
			return
		}
		server = pc
		echo(pc, r)
		close(ready)
	})
	handled := make(chan string, 1)
	c := newClient(t,
		WithHandler(codec.PushReplyMessageToClient, HandlerFunc(func(_ context.Context, addr string, r *codec.Command) *codec.Command {
			return codec.NewResponse(r, codec.Success, "")
		})),
		WithHandler(codec.CheckTransactionState, HandlerFunc(func(_ context.Context, addr string, r *codec.Command) *codec.Command {
			v, _ := r.ExtValue("msgId")
			handled <- v
			return nil
		})))
	if _, err := c.Invoke(context.Background(), p.addr(), req("hello", nil), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	<-ready
	push := &codec.Command{Code: codec.PushReplyMessageToClient, Opaque: 77}
	unknown := &codec.Command{Code: 9999, Opaque: 78}
	check := &codec.Command{Code: codec.CheckTransactionState, Opaque: 79, Flag: codec.FlagOneway,
		Ext: []codec.Field{{Key: "msgId", Value: "M1"}}}
	for _, r := range []*codec.Command{push, unknown, check} {
		if err := server.send(r); err != nil {
			t.Fatal(err)
		}
	}
	got := map[int32]int32{}
	for i := 0; i < 2; i++ {
		a := <-answers
		got[a.Opaque] = a.Code
	}
	if got[77] != codec.Success || got[78] != codec.RequestCodeNotSupported {
		t.Fatalf("answers %v", got)
	}
	if v := <-handled; v != "M1" {
		t.Fatalf("check-back handler saw %q", v)
	}
}

type recordHook struct {
	mu     sync.Mutex
	before int
	after  int
	fail   bool
}

func (h *recordHook) BeforeRequest(addr string, r *codec.Command) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.before++
	if h.fail {
		return errors.New("refused by hook")
	}
	r.SetExt("AccessKey", "ak")
	return nil
}

func (h *recordHook) AfterResponse(addr string, r, resp *codec.Command, err error) {
	h.mu.Lock()
	h.after++
	h.mu.Unlock()
}

func TestRPCHooks(t *testing.T) {
	p := newPeer(t, codec.SerializeRocketMQ, func(pc *peerConn, r *codec.Command) {
		v, _ := r.ExtValue("AccessKey")
		pc.reply(r, codec.Success, "", nil, codec.Field{Key: "echo", Value: v})
	})
	h := &recordHook{}
	c := newClient(t, WithRPCHooks(h))
	resp, err := c.Invoke(context.Background(), p.addr(), req("x", nil), time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := resp.ExtValue("echo"); v != "ak" {
		t.Fatalf("hook's field not on the wire: %q", v)
	}
	h.fail = true
	if _, err := c.Invoke(context.Background(), p.addr(), req("x", nil), time.Now().Add(time.Second)); err == nil || err.Error() != "refused by hook" {
		t.Fatalf("err = %v", err)
	}
	if h.before != 2 || h.after != 1 {
		t.Fatalf("before=%d after=%d", h.before, h.after)
	}
}

func TestCloseFailsPendingAndIsIdempotent(t *testing.T) {
	p := newPeer(t, codec.SerializeJSON, func(*peerConn, *codec.Command) {})
	c := NewClient()
	done := make(chan error, 1)
	if err := c.InvokeAsync(context.Background(), p.addr(), req("x", nil), time.Now().Add(time.Hour), func(_ *codec.Command, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v", err)
	}
	_ = c.Close()
	if _, err := c.Invoke(context.Background(), p.addr(), req("x", nil), time.Now().Add(time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestEncodingErrorIsReturned(t *testing.T) {
	p := newPeer(t, codec.SerializeRocketMQ, echo)
	c := newClient(t)
	bad := codec.NewRequest(200050, nil, nil) // does not fit the binary header
	if _, err := c.Invoke(context.Background(), p.addr(), bad, time.Now().Add(time.Second)); err == nil {
		t.Fatal("oversized code accepted")
	}
	if _, err := c.Invoke(context.Background(), p.addr(), req("ok", nil), time.Now().Add(time.Second)); err != nil {
		t.Fatalf("connection unusable after an encoding error: %v", err)
	}
}

func TestGarbageFromPeerClosesConnection(t *testing.T) {
	p := newPeer(t, codec.SerializeJSON, func(pc *peerConn, r *codec.Command) {
		_, _ = pc.nc.Write([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3}) // absurd frame length
	})
	c := newClient(t)
	_, err := c.Invoke(context.Background(), p.addr(), req("x", nil), time.Now().Add(2*time.Second))
	if !errors.Is(err, ErrConnClosed) || !errors.Is(err, codec.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	raw, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, ln: raw, st: codec.SerializeJSON, handle: echo}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)

	c := newClient(t, WithTLS(&tls.Config{RootCAs: pool}))
	resp, err := c.Invoke(context.Background(), p.addr(), req("tls", nil), time.Now().Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := resp.ExtValue("echo"); v != "tls" {
		t.Fatalf("echo %q", v)
	}
	// Verification is on: a client that does not trust the certificate is refused.
	c2 := newClient(t, WithTLS(&tls.Config{}))
	if _, err := c2.Invoke(context.Background(), p.addr(), req("x", nil), time.Now().Add(2*time.Second)); err == nil {
		t.Fatal("untrusted certificate accepted")
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestWheelDeadlinesAtScale(t *testing.T) {
	// Many requests with staggered deadlines and no answers: each fails once, none early.
	p := newPeer(t, codec.SerializeRocketMQ, func(*peerConn, *codec.Command) {})
	c := newClient(t, WithTimerResolution(5*time.Millisecond))
	// Connected first: a request's deadline also bounds its wait for the dial, and these are short.
	if _, err := c.conn(context.Background(), p.addr(), time.Now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	const n = 500
	var wg sync.WaitGroup
	wg.Add(n)
	var early atomic.Int64
	for i := 0; i < n; i++ {
		timeout := time.Duration(10+i%50) * time.Millisecond
		start := time.Now()
		err := c.InvokeAsync(context.Background(), p.addr(), req("x", nil), time.Now().Add(timeout), func(_ *codec.Command, err error) {
			if !errors.Is(err, ErrTimeout) {
				t.Errorf("err = %v", err)
			}
			if time.Since(start) < timeout {
				early.Add(1)
			}
			wg.Done()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if early.Load() > 0 {
		t.Fatalf("%d requests timed out before their deadline", early.Load())
	}
}
