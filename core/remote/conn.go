package remote

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

// result is what a synchronous caller waits for.
type result struct {
	resp *codec.Command
	err  error
}

// pending is one request awaiting its response. Whoever removes it from its connection's map
// (the reader, the wheel, a cancelled context, a dying connection) owns its completion, so it
// completes exactly once.
type pending struct {
	opaque   int32
	conn     *conn
	req      *codec.Command
	start    time.Time
	deadline time.Time
	ch       chan result // sync callers
	cb       Callback    // async callers
	stopCtx  func() bool // context.AfterFunc registration, async only

	// wheel links, guarded by the wheel's mutex
	prev, next *pending
	tick       int64
	inWheel    bool
}

type conn struct {
	client *Client
	addr   string
	nc     net.Conn

	mu       sync.Mutex
	pending  map[int32]*pending
	closed   bool
	closeErr error

	wmu      sync.Mutex
	wbuf     []byte
	spare    []byte
	flushing bool
	tls      bool // a timed-out TLS write cannot be resumed (flush)

	done chan struct{} // closed when the reader has exited
}

func newConn(c *Client, addr string, nc net.Conn) *conn {
	cn := &conn{client: c, addr: addr, nc: nc, pending: make(map[int32]*pending), done: make(chan struct{})}
	_, cn.tls = nc.(*tls.Conn)
	c.wg.Add(1)
	go cn.readLoop()
	return cn
}

// register adds p to the pending map; it fails when the connection is already closed.
func (cn *conn) register(p *pending) error {
	cn.mu.Lock()
	if cn.closed {
		err := cn.closeErr
		cn.mu.Unlock()
		return err
	}
	cn.pending[p.opaque] = p
	cn.mu.Unlock()
	return nil
}

// claim removes p from the map and reports whether the caller now owns its completion.
func (cn *conn) claim(p *pending) bool {
	cn.mu.Lock()
	owned := cn.pending[p.opaque] == p
	if owned {
		delete(cn.pending, p.opaque)
	}
	cn.mu.Unlock()
	if owned {
		cn.client.wheel.remove(p)
	}
	return owned
}

// complete delivers the outcome of a claimed request.
func (cn *conn) complete(p *pending, resp *codec.Command, err error) {
	if p.stopCtx != nil {
		p.stopCtx()
	}
	for _, h := range cn.client.opts.hooks {
		h.AfterResponse(cn.addr, p.req, resp, err)
	}
	if p.ch != nil {
		p.ch <- result{resp, err}
	} else {
		p.cb.OnResponse(resp, err)
	}
}

// fail completes p with err if nobody else has.
func (cn *conn) fail(p *pending, err error) {
	if cn.claim(p) {
		cn.complete(p, nil, err)
	}
}

// write encodes c into the shared write buffer. If no other goroutine is flushing, the caller
// becomes the flusher and writes everything queued, so concurrent requests share syscalls.
// deadline (zero: none) is the caller's: a flusher whose deadline passes before the socket took
// the bytes leaves, and the rest is written in the background (see flush).
func (cn *conn) write(c *codec.Command, deadline time.Time) error {
	cn.wmu.Lock()
	n := len(cn.wbuf)
	var err error
	cn.wbuf, err = codec.AppendFrame(cn.wbuf, c, cn.client.opts.serialize)
	if err != nil {
		cn.wbuf = cn.wbuf[:n]
		cn.wmu.Unlock()
		return err
	}
	if cn.flushing {
		cn.wmu.Unlock()
		return nil
	}
	cn.flushing = true
	buf := cn.wbuf
	cn.wbuf = cn.spare[:0]
	cn.wmu.Unlock()
	return cn.flush(buf, deadline)
}

// flush writes buf, then whatever was queued meanwhile, until the queue is empty. The caller holds
// the flusher's place (cn.flushing) and passes it on to a background goroutine when its deadline
// ends a write half done: the frames must go out whole and in order, and a send's budget must not
// wait out a peer that stopped reading (SIGSTOP, a stuck broker) for the connection's whole write
// timeout. The caller's own request then times out at its deadline like any unanswered one. A TLS
// connection cannot resume a timed-out write, so there the caller waits for the write timeout.
func (cn *conn) flush(buf []byte, deadline time.Time) error {
	for {
		wd := time.Time{}
		if d := cn.client.opts.writeTimeout; d > 0 {
			wd = time.Now().Add(d)
		}
		handoff := false
		if !deadline.IsZero() && (wd.IsZero() || deadline.Before(wd)) && !cn.tls {
			wd, handoff = deadline, true
		}
		_ = cn.nc.SetWriteDeadline(wd)
		n, werr := cn.nc.Write(buf)
		if werr != nil && handoff && errors.Is(werr, os.ErrDeadlineExceeded) {
			// Not on the Client's WaitGroup: Close may already be waiting on it. The goroutine
			// ends with the write: done, past the write timeout, or failed by Close's close.
			go cn.flushRest(buf[n:]) // an argument, not a captured variable: buf stays on the stack
			return nil
		}

		cn.wmu.Lock()
		if cap(buf) <= cn.client.opts.writeBufLimit {
			cn.spare = buf[:0]
		} else {
			cn.spare = nil // drop a buffer grown by a burst
		}
		if werr != nil {
			cn.flushing = false
			cn.wbuf = cn.wbuf[:0]
			cn.wmu.Unlock()
			cerr := &ConnError{Addr: cn.addr, Op: "write", Err: werr}
			cn.close(cerr)
			return cerr
		}
		if len(cn.wbuf) == 0 {
			cn.flushing = false
			cn.wmu.Unlock()
			return nil
		}
		buf = cn.wbuf
		cn.wbuf = cn.spare[:0]
		cn.wmu.Unlock()
	}
}

func (cn *conn) flushRest(buf []byte) { _ = cn.flush(buf, time.Time{}) }

// close shuts the connection and fails every pending request with err.
func (cn *conn) close(err error) {
	cn.mu.Lock()
	if cn.closed {
		cn.mu.Unlock()
		return
	}
	cn.closed = true
	cn.closeErr = err
	ps := cn.pending
	cn.pending = make(map[int32]*pending)
	cn.mu.Unlock()

	_ = cn.nc.Close()
	cn.client.forget(cn)
	if !errors.Is(err, ErrClosed) {
		cn.client.opts.logger.Warn("connection closed", "addr", cn.addr, "err", err, "inflight", len(ps))
	}
	for _, p := range ps {
		cn.client.wheel.remove(p)
		cn.complete(p, nil, err)
	}
}

func (cn *conn) isClosed() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.closed
}

func (cn *conn) readLoop() {
	defer cn.client.wg.Done()
	defer close(cn.done)
	br := bufio.NewReaderSize(cn.nc, cn.client.opts.readBufSize)
	for {
		cmd, err := ReadFrame(br, cn.client.opts.maxFrame)
		if err != nil {
			cn.close(&ConnError{Addr: cn.addr, Op: "read", Err: err})
			return
		}
		if cmd.IsResponse() {
			cn.deliver(cmd)
		} else {
			cn.serve(cmd)
		}
	}
}

func (cn *conn) deliver(resp *codec.Command) {
	cn.mu.Lock()
	p := cn.pending[resp.Opaque]
	if p != nil {
		delete(cn.pending, resp.Opaque)
	}
	cn.mu.Unlock()
	if p == nil {
		cn.client.opts.logger.Debug("response without request (late or unknown)", "addr", cn.addr,
			"opaque", resp.Opaque, "code", resp.Code)
		return
	}
	cn.client.wheel.remove(p)
	cn.complete(p, resp, nil)
}

// serve dispatches a broker-initiated request to its handler on a goroutine of its own, bounded
// by maxInbound: the reader waits for a free slot rather than queueing without limit.
func (cn *conn) serve(req *codec.Command) {
	c := cn.client
	h := c.opts.handlers[req.Code]
	if h == nil {
		c.opts.logger.Warn("broker request with no handler", "addr", cn.addr, "code", req.Code)
		if !req.IsOneway() {
			resp := codec.NewResponse(req, codec.RequestCodeNotSupported,
				" request type "+strconv.Itoa(int(req.Code))+" not supported")
			_ = cn.write(resp, time.Time{})
		}
		return
	}
	select {
	case c.inbound <- struct{}{}:
	case <-c.ctx.Done():
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() { <-c.inbound }()
		resp := h.ServeRemoting(c.ctx, cn.addr, req)
		if resp != nil && !req.IsOneway() {
			resp.Opaque = req.Opaque
			resp.Flag |= codec.FlagResponse
			if err := cn.write(resp, time.Time{}); err != nil {
				c.opts.logger.Warn("cannot answer broker request", "addr", cn.addr, "code", req.Code, "err", err)
			}
		}
	}()
}

// ReadFrame reads and decodes one frame from r, checking its length prefix against max before
// allocating. The transport's reader uses it, and so can a test peer or a fault-injection broker.
func ReadFrame(r io.Reader, max int) (*codec.Command, error) {
	var prefix [4]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, err
	}
	n, err := codec.FrameLength(prefix, max)
	if err != nil {
		return nil, err
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	return codec.DecodeFrame(frame)
}
