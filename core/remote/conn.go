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
	"sync/atomic"
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

	// The write side (see write). Senders push encoded frames onto tail, a lock-free stack; whoever
	// holds the socket's write side (wstate wBusy: the writer goroutine, or a sync caller writing
	// its own frame) takes the stack whole and writes it in push order.
	tail    atomic.Pointer[frame]
	wstate  atomic.Int32  // wIdle, wBusy or wDead
	qframes atomic.Int64  // frames on tail
	qbytes  atomic.Int64  // bytes on tail
	kick    chan struct{} // hands the write side to writeLoop
	wbuf    []byte        // writeLoop's coalescing buffer (TLS)
	wvec    net.Buffers   // writeLoop's writev list (TCP)
	tls     bool          // a timed-out TLS write cannot be resumed (writeOwn)

	roomMu      sync.Mutex
	room        chan struct{} // closed when the writer takes the queue; senders over the bounds wait
	roomWaiters atomic.Int32

	done chan struct{} // closed when the reader has exited
}

// The states of a connection's write side.
const (
	wIdle int32 = iota // nobody writes: the next sender to push takes the write side
	wBusy              // someone writes, and writes what is pushed before giving the side up
	wDead              // the connection closed: frames are not written
)

// frame is one encoded frame waiting on a connection's write queue.
type frame struct {
	b    []byte
	next *frame
}

// framePool holds frame buffers: a sender encodes into one outside any lock, and the writer
// returns it once copied to the socket.
var framePool = sync.Pool{New: func() any { return &frame{b: make([]byte, 0, 2048)} }}

// maxPooledFrame bounds the frame buffers kept for reuse; larger frames are left to the GC.
const maxPooledFrame = 64 << 10

func putFrame(f *frame) {
	if cap(f.b) > maxPooledFrame {
		return
	}
	f.b, f.next = f.b[:0], nil
	framePool.Put(f)
}

func newConn(c *Client, addr string, nc net.Conn) *conn {
	cn := &conn{client: c, addr: addr, nc: nc, pending: make(map[int32]*pending), done: make(chan struct{}),
		kick: make(chan struct{}, 1)}
	_, cn.tls = nc.(*tls.Conn)
	c.wg.Add(2)
	go cn.readLoop()
	go cn.writeLoop()
	return cn
}

// register adds p to the pending map and its deadline to the wheel; it fails when the connection
// is already closed. Both under cn.mu: a close that fails p finds it in the wheel too, so a
// completed p is never left there (it may be reused at once).
func (cn *conn) register(p *pending) error {
	cn.mu.Lock()
	if cn.closed {
		err := cn.closeErr
		cn.mu.Unlock()
		return err
	}
	cn.pending[p.opaque] = p
	cn.client.wheel.add(p)
	cn.mu.Unlock()
	return nil
}

// claim removes p, registered under opaque, from the map and reports whether the caller now
// owns its completion. Callers that are not p's owner pass the opaque they saw when p was
// registered: a Pending may be reused, under a new opaque, once its request completed.
func (cn *conn) claim(p *pending, opaque int32) bool {
	cn.mu.Lock()
	owned := cn.pending[opaque] == p
	if owned {
		delete(cn.pending, opaque)
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

// fail completes p, registered under opaque, with err if nobody else has.
func (cn *conn) fail(p *pending, opaque int32, err error) {
	if cn.claim(p, opaque) {
		cn.complete(p, nil, err)
	}
}

// write encodes c's frame into a buffer of its own, outside any lock, and pushes it onto the
// connection's write queue; frames pushed while a write is under way go out together in the
// next one, so concurrent requests share syscalls.
//
// The queue is a lock-free stack, as Netty's event loop takes the Java client's writes from a
// lock-free task queue: a sender never waits for another to finish copying (under a mutex, four
// oneway senders parked on it for a third of their time, and all of them whenever the OS took
// the holder's core for a broker). The sender whose push finds the write side idle takes it and
// hands it to the connection's writer goroutine, which takes the whole stack, restores push order
// and writes it, until it finds the stack empty; the caller returns at once and goes on encoding
// while the writer is in the syscall, so even a single sending goroutine gets its frames
// coalesced.
//
// direct (sync requests) asks the caller to write its own frame when the write side is idle and
// nothing is queued, which saves a goroutine wake-up on a quiet connection.
//
// At most maxQueuedFrames frames and maxQueuedBytes bytes wait for the writer: a caller over a
// bound waits for room until its deadline (zero: none), so a peer that reads slower than the
// senders write bounds the memory, as Java's oneway and async permits do. On a closed connection
// write fails with the connection's error.
func (cn *conn) write(c *codec.Command, deadline time.Time, direct bool) error {
	f := framePool.Get().(*frame)
	b, err := codec.AppendFrameHeader(f.b[:0], c, cn.client.opts.serialize)
	if err != nil {
		f.b = b
		putFrame(f)
		return err
	}
	f.b = append(b, c.Body...)
	if cn.wstate.Load() == wDead {
		putFrame(f)
		return cn.closeError()
	}
	if cn.full() {
		if err := cn.waitRoom(deadline); err != nil {
			putFrame(f)
			return err
		}
	}
	if direct && cn.tail.Load() == nil && cn.wstate.CompareAndSwap(wIdle, wBusy) {
		return cn.writeOwn(f, deadline)
	}
	cn.qframes.Add(1)
	cn.qbytes.Add(int64(len(f.b)))
	for {
		old := cn.tail.Load()
		f.next = old
		if cn.tail.CompareAndSwap(old, f) {
			break
		}
	}
	if cn.wstate.CompareAndSwap(wIdle, wBusy) {
		cn.kickWriter()
	}
	return nil
}

// The bounds of the frames queued for the writer beyond the write in progress: Java's 65 535
// oneway (and async) permits, and at most 64 MiB. The writer copies what it takes into writes of
// up to chunkSize bytes (a frame over half of it is written from its own buffer).
const (
	maxQueuedFrames = 65535
	maxQueuedBytes  = 64 << 20
	chunkSize       = 1 << 20
)

func (cn *conn) full() bool {
	return cn.qframes.Load() >= maxQueuedFrames || cn.qbytes.Load() >= maxQueuedBytes
}

// waitRoom waits until the queue is under its bounds, the connection dies or deadline passes.
// A waiter counts itself before it looks at the bounds, and the writer lowers them before it looks
// for waiters, so a waiter either sees the room or is woken.
func (cn *conn) waitRoom(deadline time.Time) error {
	var expired <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	for {
		cn.roomMu.Lock()
		cn.roomWaiters.Add(1)
		if !cn.full() {
			cn.roomWaiters.Add(-1)
			cn.roomMu.Unlock()
			return nil
		}
		if cn.room == nil {
			cn.room = make(chan struct{})
		}
		room := cn.room
		cn.roomMu.Unlock()
		var err error
		select {
		case <-room:
		case <-cn.done:
			err = cn.closeError()
		case <-expired:
			err = timeoutError(cn.addr, 0, "waiting for room in the write queue")
		}
		cn.roomWaiters.Add(-1)
		if err != nil {
			return err
		}
	}
}

// signalRoom wakes the callers waiting for room; the bounds were lowered before.
func (cn *conn) signalRoom() {
	if cn.roomWaiters.Load() == 0 {
		return
	}
	cn.roomMu.Lock()
	if cn.room != nil {
		close(cn.room)
		cn.room = nil
	}
	cn.roomMu.Unlock()
}

func (cn *conn) kickWriter() {
	select {
	case cn.kick <- struct{}{}:
	default: // already kicked
	}
}

// release gives up the write side; frames pushed meanwhile go to the writer goroutine. A pusher
// that found the side busy left its frame to the holder, so the holder looks again after giving
// it up.
func (cn *conn) release() {
	if cn.wstate.CompareAndSwap(wBusy, wIdle) && cn.tail.Load() != nil && cn.wstate.CompareAndSwap(wIdle, wBusy) {
		cn.kickWriter()
	}
}

// writeLoop is the connection's writer: each kick hands it the write side, and it writes whatever
// is queued until the queue is empty. It ends when the reader does (the connection closed).
func (cn *conn) writeLoop() {
	defer cn.client.wg.Done()
	for {
		select {
		case <-cn.kick:
		case <-cn.done:
			return
		}
		cn.drain()
	}
}

// drain writes the queue until it is empty and gives up the write side, which the caller holds.
func (cn *conn) drain() {
	for {
		top := cn.tail.Swap(nil)
		if cn.wstate.Load() == wDead {
			return // close discards what is queued
		}
		if top == nil {
			if !cn.wstate.CompareAndSwap(wBusy, wIdle) {
				return
			}
			if cn.tail.Load() == nil || !cn.wstate.CompareAndSwap(wIdle, wBusy) {
				return
			}
			continue
		}
		var first *frame // the stack reversed: push order
		var frames, bytes int64
		for f := top; f != nil; {
			next := f.next
			f.next = first
			first = f
			frames++
			bytes += int64(len(f.b))
			f = next
		}
		cn.qframes.Add(-frames)
		cn.qbytes.Add(-bytes)
		cn.signalRoom()
		if err := cn.writeFrames(first); err != nil {
			cn.close(&ConnError{Addr: cn.addr, Op: "write", Err: err})
			return
		}
	}
}

// writeFrames writes the frames from first on and returns their buffers to the pool. On TCP
// the frames go out from their own buffers, up to maxVec of them or chunkSize bytes per writev;
// TLS has no writev (a Write per frame would be a record and a syscall each), so there they are
// copied into writes of up to chunkSize bytes.
func (cn *conn) writeFrames(first *frame) error {
	if cn.tls {
		return cn.writeCopied(first)
	}
	var err error
	for f := first; f != nil; {
		vec, done := cn.wvec[:0], f
		size := 0
		for ; f != nil && len(vec) < maxVec && (size == 0 || size+len(f.b) <= chunkSize); f = f.next {
			vec = append(vec, f.b)
			size += len(f.b)
		}
		if err == nil {
			err = cn.writeVec(vec)
		}
		for g := done; g != f; {
			next := g.next
			putFrame(g)
			g = next
		}
		clear(vec)
		cn.wvec = vec[:0]
	}
	return err
}

// maxVec is the most buffers one writev takes (Linux's IOV_MAX, which net.Buffers also uses).
const maxVec = 1024

// writeVec writes vec with one writev within the connection's write timeout.
func (cn *conn) writeVec(vec net.Buffers) error {
	wd := time.Time{}
	if d := cn.client.opts.writeTimeout; d > 0 {
		wd = time.Now().Add(d)
	}
	_ = cn.nc.SetWriteDeadline(wd)
	_, err := vec.WriteTo(cn.nc)
	return err
}

// writeCopied is writeFrames copying the frames into writes of up to chunkSize bytes (a frame
// over half of it is written from its own buffer).
func (cn *conn) writeCopied(first *frame) error {
	buf := cn.wbuf[:0]
	var err error
	for f := first; f != nil; {
		next := f.next
		switch {
		case err != nil: // the connection is lost: the rest is dropped
		case len(f.b) > chunkSize/2:
			if len(buf) > 0 {
				err = cn.writeTimed(buf)
				buf = buf[:0]
			}
			if err == nil {
				err = cn.writeTimed(f.b)
			}
		default:
			if len(buf)+len(f.b) > chunkSize {
				err = cn.writeTimed(buf)
				buf = buf[:0]
			}
			buf = append(buf, f.b...)
		}
		putFrame(f)
		f = next
	}
	if err == nil && len(buf) > 0 {
		err = cn.writeTimed(buf)
	}
	if cap(buf) <= max(cn.client.opts.writeBufLimit, chunkSize) {
		cn.wbuf = buf[:0]
	} else {
		cn.wbuf = nil
	}
	return err
}

// writeTimed writes b within the connection's write timeout.
func (cn *conn) writeTimed(b []byte) error {
	wd := time.Time{}
	if d := cn.client.opts.writeTimeout; d > 0 {
		wd = time.Now().Add(d)
	}
	_ = cn.nc.SetWriteDeadline(wd)
	_, err := cn.nc.Write(b)
	return err
}

// writeOwn writes f, a sync caller's frame, from the caller's goroutine; the caller holds the
// write side and gives it up after.
//
// When the caller's deadline ends the write half done, a background goroutine finishes it and
// then gives the write side up: the frames must go out whole and in order, and a send's budget
// must not wait out a peer that stopped reading (SIGSTOP, a stuck broker) for the connection's
// whole write timeout. The caller's own request then times out at its deadline like any
// unanswered one. A TLS connection cannot resume a timed-out write, so there the caller waits
// for the write timeout.
func (cn *conn) writeOwn(f *frame, deadline time.Time) error {
	wd := time.Time{}
	if d := cn.client.opts.writeTimeout; d > 0 {
		wd = time.Now().Add(d)
	}
	handoff := false
	if !deadline.IsZero() && (wd.IsZero() || deadline.Before(wd)) && !cn.tls {
		wd, handoff = deadline, true
	}
	_ = cn.nc.SetWriteDeadline(wd)
	n, err := cn.nc.Write(f.b)
	if err != nil && handoff && errors.Is(err, os.ErrDeadlineExceeded) {
		// Not on the Client's WaitGroup: Close may already be waiting on it. The goroutine ends
		// with the write: done, past the write timeout, or failed by Close's close.
		go cn.finishOwn(f, n)
		return nil
	}
	putFrame(f)
	if err != nil {
		cerr := &ConnError{Addr: cn.addr, Op: "write", Err: err}
		cn.close(cerr)
		return cerr
	}
	cn.release()
	return nil
}

// finishOwn writes what writeOwn left of f, from byte n, and gives the write side up.
func (cn *conn) finishOwn(f *frame, n int) {
	err := cn.writeTimed(f.b[n:])
	putFrame(f)
	if err != nil {
		cn.close(&ConnError{Addr: cn.addr, Op: "write", Err: err})
		return
	}
	cn.release()
}

// close shuts the connection and fails every pending request with err.
func (cn *conn) close(err error) {
	cn.mu.Lock()
	if cn.closed {
		cn.mu.Unlock()
		return
	}
	cn.closed = true
	cn.closeErr = err
	cn.wstate.Store(wDead) // frames pushed from now on are never written: write fails instead
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

// closeError returns why the connection closed, nil while it is open.
func (cn *conn) closeError() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if !cn.closed {
		return nil
	}
	return cn.closeErr
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
	var frame []byte
	for {
		cmd, err := readFrameInto(br, &frame, cn.client.opts.maxFrame)
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
			_ = cn.write(resp, time.Time{}, false)
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
			if err := cn.write(resp, time.Time{}, false); err != nil {
				c.opts.logger.Warn("cannot answer broker request", "addr", cn.addr, "code", req.Code, "err", err)
			}
		}
	}()
}

// readFrameInto is ReadFrame reusing *buf for frames up to reuseFrameMax bytes. The decoded
// header owns its strings, and a body (rare in responses) is copied out, so nothing returned
// aliases *buf.
func readFrameInto(br *bufio.Reader, buf *[]byte, maxFrame int) (*codec.Command, error) {
	p, err := br.Peek(4)
	if err != nil {
		if err == io.EOF && len(p) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n, err := codec.FrameLength([4]byte(p), maxFrame)
	if err != nil {
		return nil, err
	}
	_, _ = br.Discard(4)
	reuse := n <= reuseFrameMax
	var frame []byte
	if reuse {
		if cap(*buf) < n {
			*buf = make([]byte, max(n, 4<<10))
		}
		frame = (*buf)[:n]
	} else {
		frame = make([]byte, n)
	}
	if _, err := io.ReadFull(br, frame); err != nil {
		return nil, err
	}
	cmd, err := codec.DecodeFrame(frame)
	if err == nil && reuse && len(cmd.Body) > 0 {
		cmd.Body = append([]byte(nil), cmd.Body...)
	}
	return cmd, err
}

// reuseFrameMax bounds the frame buffer a reader keeps; larger frames get their own.
const reuseFrameMax = 64 << 10

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
