// Package remote is rocketsend's RocketMQ transport: one TCP (or TLS) connection per broker
// address, one reader goroutine per connection, and requests pipelined on it and matched to their
// responses by opaque.
//
// A request costs no goroutine and no timer of its own: deadlines live in one timing wheel per
// Client, asynchronous callbacks run on the reader goroutine, and concurrent writers share
// syscalls. When a connection dies every request in flight on it fails at once with an error
// matching ErrConnClosed, instead of waiting for its timeout.
package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

// Client holds the connections to every broker and NameServer a producer talks to. It is safe for
// concurrent use; create one per producer and Close it when done.
type Client struct {
	opts   options
	wheel  *wheel
	opaque atomic.Int32

	mu     sync.Mutex
	conns  map[string]*dialEntry
	closed bool

	ctx     context.Context // cancelled on Close; handlers see it
	cancel  context.CancelFunc
	inbound chan struct{}
	wg      sync.WaitGroup
}

type dialEntry struct {
	ready chan struct{}
	conn  *conn
	err   error
}

// NewClient returns a Client. It dials nothing until the first request to an address.
func NewClient(opts ...Option) *Client {
	o := defaultOptions()
	for _, f := range opts {
		f(&o)
	}
	c := &Client{opts: o, conns: map[string]*dialEntry{}, inbound: make(chan struct{}, max(1, o.maxInbound))}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wheel = newWheel(o.tick, c.expire)
	return c
}

func (c *Client) expire(e expiry) {
	if e.conn.claim(e.p, e.opaque) {
		p := e.p
		p.conn.complete(p, nil, timeoutError(p.conn.addr, p.req.Code, time.Since(p.start).Round(time.Millisecond).String()))
	}
}

// Invoke sends req to addr and waits for the response until deadline or until ctx ends, whichever
// is first; a zero deadline means ctx's deadline, and a request with neither fails with
// ErrNoDeadline. A deadline already past fails at once with ErrTimeout: a caller's spent budget is
// never stretched. The deadline bounds the wait for a connection being dialled too. A response with
// a non-success code is returned as a response, not an error: the caller knows what each code
// means for its request.
func (c *Client) Invoke(ctx context.Context, addr string, req *codec.Command, deadline time.Time) (*codec.Command, error) {
	rec := syncPendings.Get().(*pending)
	ch := rec.ch
	defer func() { // the one outcome, if any, was received: nothing refers to rec any more
		*rec = pending{ch: ch}
		syncPendings.Put(rec)
	}()
	cn, p, err := c.prepare(ctx, addr, req, deadline, rec)
	if err != nil {
		return nil, err
	}
	p.ch = ch
	if err := c.send(ctx, cn, p); err != nil {
		return nil, err
	}
	var r result
	select {
	case r = <-p.ch:
	case <-ctx.Done():
		if cn.claim(p, p.opaque) {
			err := context.Cause(ctx)
			cn.complete(p, nil, err)
			<-p.ch
			return nil, err
		}
		r = <-p.ch // completed concurrently; take that outcome
	}
	return r.resp, r.err
}

// syncPendings holds the records of finished sync requests with their result channels, which
// are empty: a sync caller receives the one outcome of its request before it gives the record
// back, and whatever may still name the record (the deadline wheel, a late failure) names it by
// the old opaque, which no longer maps to it (see Pending).
var syncPendings = sync.Pool{New: func() any { return &pending{ch: make(chan result, 1)} }}

// InvokeAsync sends req to addr and returns once it is written (or queued behind a write in
// progress). If it returns an error, cb is never called; otherwise cb is called exactly once, with
// the response or an error (timeout, cancelled ctx, lost connection). cb runs on the connection's
// reader goroutine: it must not block, and should hand long work elsewhere. deadline is as for
// Invoke.
func (c *Client) InvokeAsync(ctx context.Context, addr string, req *codec.Command, deadline time.Time,
	cb func(resp *codec.Command, err error)) error {
	return c.InvokeAsyncTo(ctx, addr, req, deadline, CallbackFunc(cb), nil)
}

// Pending is the transport's record of one request in flight. A caller that makes one request
// at a time for a task (the attempts of one send) keeps a Pending in its own state and passes it
// to InvokeAsyncTo, so a request allocates no record of its own. It may be passed again once the
// previous request made with it completed (its callback was called, or InvokeAsyncTo returned an
// error), never before.
type Pending struct{ p pending }

// Callback receives the outcome of an asynchronous request. A caller that keeps per-request state
// in a struct implements it there, so a request needs no closure of its own.
type Callback interface {
	OnResponse(resp *codec.Command, err error)
}

// CallbackFunc adapts a function to Callback.
type CallbackFunc func(resp *codec.Command, err error)

// OnResponse calls f.
func (f CallbackFunc) OnResponse(resp *codec.Command, err error) { f(resp, err) }

// InvokeAsyncTo is InvokeAsync with the outcome delivered to cb.OnResponse, with the same
// guarantees: if it returns an error cb is never called, otherwise exactly once, on the
// connection's reader goroutine. slot, if not nil, holds the request's record (see Pending).
func (c *Client) InvokeAsyncTo(ctx context.Context, addr string, req *codec.Command, deadline time.Time, cb Callback,
	slot *Pending) error {
	var into *pending
	if slot != nil {
		into = &slot.p
	}
	cn, p, err := c.prepare(ctx, addr, req, deadline, into)
	if err != nil {
		return err
	}
	p.cb = cb
	if ctx.Done() != nil {
		op := p.opaque
		p.stopCtx = context.AfterFunc(ctx, func() { cn.fail(p, op, context.Cause(ctx)) })
	}
	if err := c.send(ctx, cn, p); err != nil {
		if p.stopCtx != nil {
			p.stopCtx()
		}
		return err
	}
	return nil
}

// InvokeOneway writes req to addr flagged oneway; the broker sends no response. It returns once the
// frame is handed to the connection. A connection being dialled is waited for until ctx ends or
// deadline (if not zero) passes.
func (c *Client) InvokeOneway(ctx context.Context, addr string, req *codec.Command, deadline time.Time) error {
	cn, err := c.conn(ctx, addr, deadline)
	if err != nil {
		return err
	}
	req.Flag |= codec.FlagOneway
	req.Opaque = c.opaque.Add(1)
	for _, h := range c.opts.hooks {
		if err := h.BeforeRequest(addr, req); err != nil {
			return err
		}
	}
	// A frame queued on a closed connection would never be written (its writer has ended).
	if err = cn.closeError(); err == nil {
		_, err = cn.write(ctx, req, deadline, false, nil)
	}
	for _, h := range c.opts.hooks {
		h.AfterResponse(addr, req, nil, err)
	}
	return err
}

// prepare connects, runs the before-hooks and builds the pending entry of a request, in into
// when it is not nil (a pooled or caller-held record), else in a new one.
func (c *Client) prepare(ctx context.Context, addr string, req *codec.Command, deadline time.Time, into *pending) (*conn, *pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	if deadline.IsZero() {
		return nil, nil, ErrNoDeadline
	}
	start := time.Now()
	if !start.Before(deadline) {
		return nil, nil, timeoutError(addr, req.Code, "0s (deadline already past)")
	}
	cn, err := c.conn(ctx, addr, deadline)
	if err != nil {
		return nil, nil, err
	}
	req.Flag &^= codec.FlagOneway | codec.FlagResponse
	req.Opaque = c.opaque.Add(1)
	for _, h := range c.opts.hooks {
		if err := h.BeforeRequest(addr, req); err != nil {
			return nil, nil, err
		}
	}
	if into == nil {
		into = new(pending)
	}
	*into = pending{opaque: req.Opaque, conn: cn, req: req, start: start, deadline: deadline}
	return cn, into, nil
}

func (c *Client) send(ctx context.Context, cn *conn, p *pending) error {
	// Once registered (in write), p may complete (a dying connection) and be reused at any
	// moment: what the write needs is read before.
	req, deadline, direct, op := p.req, p.deadline, p.ch != nil, p.opaque
	registered, err := cn.write(ctx, req, deadline, direct, p)
	if err != nil && (!registered || cn.claim(p, op)) {
		// Nothing completed p (an encoding error): the caller gets the error and no completion.
		// Otherwise the dying connection completed it, and the outcome arrives the usual way.
		return err
	}
	return nil
}

// conn returns the live connection to addr, dialing it if needed. Concurrent callers share one
// dial; a dial to one address never waits for another. A caller waits for the dial until ctx ends
// or its deadline (if not zero) passes; the dial itself goes on for the callers after it.
func (c *Client) conn(ctx context.Context, addr string, deadline time.Time) (*conn, error) {
	for attempt := 0; attempt < 2; attempt++ {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		e := c.conns[addr]
		if e == nil {
			e = &dialEntry{ready: make(chan struct{})}
			c.conns[addr] = e
			c.wg.Add(1)
			go c.dial(addr, e)
		}
		c.mu.Unlock()
		select {
		case <-e.ready:
		default:
			if err := c.waitDial(ctx, e, addr, deadline); err != nil {
				return nil, err
			}
		}
		if e.err != nil {
			return nil, e.err
		}
		if !e.conn.isClosed() {
			return e.conn, nil
		}
		c.forget(e.conn) // died between dial and use: dial again once
	}
	return nil, &ConnError{Addr: addr, Op: "dial", Err: errors.New("connection died before its first request")}
}

// waitDial waits for a dial in progress, at most until ctx ends or deadline passes.
func (c *Client) waitDial(ctx context.Context, e *dialEntry, addr string, deadline time.Time) error {
	var expired <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	start := time.Now()
	select {
	case <-e.ready:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-expired:
		return fmt.Errorf("%w: connecting to %s, not connected after %v", ErrTimeout, addr, time.Since(start).Round(time.Millisecond))
	}
}

func (c *Client) dial(addr string, e *dialEntry) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.dialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err == nil && c.opts.tls != nil {
		cfg := c.opts.tls.Clone()
		if cfg.ServerName == "" {
			if host, _, herr := net.SplitHostPort(addr); herr == nil {
				cfg.ServerName = host
			}
		}
		tc := tls.Client(nc, cfg)
		if err = tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
		} else {
			nc = tc
		}
	}
	if tcp, ok := nc.(*net.TCPConn); ok && err == nil {
		_ = tcp.SetNoDelay(true)
	}
	c.mu.Lock()
	if err == nil && c.closed {
		err = ErrClosed
		_ = nc.Close()
	}
	if err != nil {
		e.err = &ConnError{Addr: addr, Op: "dial", Err: err}
		if c.conns[addr] == e {
			delete(c.conns, addr) // the next request dials again
		}
	} else {
		e.conn = newConn(c, addr, nc)
	}
	c.mu.Unlock()
	close(e.ready)
}

// forget removes a dead connection from the table so the next request dials a new one.
func (c *Client) forget(cn *conn) {
	c.mu.Lock()
	if e := c.conns[cn.addr]; e != nil && e.conn == cn {
		delete(c.conns, cn.addr)
	}
	c.mu.Unlock()
}

// CloseConn closes the connection to addr, failing its in-flight requests; the next request to
// addr dials again. Route changes and broker errors use it.
func (c *Client) CloseConn(addr string) {
	c.mu.Lock()
	e := c.conns[addr]
	c.mu.Unlock()
	if e == nil {
		return
	}
	<-e.ready
	if e.conn != nil {
		e.conn.close(&ConnError{Addr: addr, Op: "close", Err: ErrConnClosed})
	}
}

// Close closes every connection, fails every request in flight with ErrClosed and waits until the
// Client's goroutines (readers, handlers, dialers, the deadline wheel) have exited.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	entries := make([]*dialEntry, 0, len(c.conns))
	for _, e := range c.conns {
		entries = append(entries, e)
	}
	c.mu.Unlock()
	c.cancel()
	for _, e := range entries {
		<-e.ready
		if e.conn != nil {
			e.conn.close(ErrClosed)
		}
	}
	c.wg.Wait()
	c.wheel.close()
	return nil
}
