package remote

import (
	"bufio"
	"context"
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
	rw     io.ReadWriter // nc's raw calls where it has them (rawio_linux.go), else nc

	mu       sync.Mutex
	pending  map[int32]*pending
	closed   bool
	closeErr error

	wmu       sync.Mutex
	wbuf      []byte        // the chunk being filled
	chunks    [][]byte      // full chunks queued before wbuf
	queued    int           // bytes in chunks and wbuf
	frames    int           // frames in chunks and wbuf
	free      [][]byte      // written chunks kept for reuse
	spareList [][]byte      // the chunk list of the last write, for the next takeQueued
	flushing  bool          // a goroutine holds the flusher's place: it writes what is queued
	room      chan struct{} // closed when the writer takes the queue; callers over the bounds wait
	kick      chan struct{} // wakes writeLoop
	tls       bool          // a timed-out TLS write cannot be resumed (flush)

	done chan struct{} // closed when the reader has exited
}

func newConn(c *Client, addr string, nc net.Conn) *conn {
	cn := &conn{client: c, addr: addr, nc: nc, pending: make(map[int32]*pending), done: make(chan struct{}),
		kick: make(chan struct{}, 1)}
	_, cn.tls = nc.(*tls.Conn)
	cn.rw = nc
	if r := newRawIO(nc); r != nil {
		cn.rw = r
	}
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

// write queues c's frame in the shared write buffer. Frames queued while a write is under way
// go out together in the next one, so concurrent requests share syscalls.
//
// direct (sync requests) asks the caller to write the frame itself when nobody is writing, which
// saves a goroutine wake-up on a quiet connection; the caller then writes what is queued once and
// leaves the rest to the connection's writer. Otherwise (async and oneway requests, answers to the
// broker) the writer goroutine writes it: the caller returns at once and goes on encoding while
// the writer is in the syscall, so even a single sending goroutine gets its frames coalesced,
// as Netty's event loop does for the Java client. At most maxQueuedFrames frames and
// maxQueuedBytes bytes wait for the writer: a caller over a bound waits for room until its
// deadline (zero: none) or until ctx ends, so a peer that reads slower than the senders write
// bounds the memory, as Java's oneway and async permits do.
// The queue is a list of chunks of about chunkSize bytes: it grows without copying what it holds.
//
// p, when not nil, is registered once its frame is in the queue, under the write lock, so the
// frame cannot be written (and answered) before it is registered. Once registered, p may complete
// at any moment (its deadline, a dying connection) and its caller go on with the message and the
// request, reuse the body, edit the properties the header was encoded from: so nothing of c is
// read after. A frame whose registration fails (the connection closed) is taken out of the queue.
// registered tells the caller whether an error came after the registration, when p may have been
// completed by someone else.
func (cn *conn) write(ctx context.Context, c *codec.Command, deadline time.Time, direct bool, p *pending) (registered bool, err error) {
	// The header is encoded before taking the lock: concurrent senders encode in parallel, and
	// the lock covers two copies (under it, 4 oneway senders spent most of their time waiting).
	hp := headerBufs.Get().(*[]byte)
	hdr, err := codec.AppendFrameHeader((*hp)[:0], c, cn.client.opts.serialize)
	if cap(hdr) <= 64<<10 { // a header grown by huge properties is not kept
		*hp = hdr[:0]
		defer headerBufs.Put(hp)
	}
	if err != nil {
		return false, err
	}
	body := c.Body
	n := len(hdr) + len(body)
	cn.wmu.Lock()
	for {
		if cn.flushing && (cn.queued >= maxQueuedBytes || cn.frames >= maxQueuedFrames) {
			if cn.room == nil {
				cn.room = make(chan struct{})
			}
			room := cn.room
			cn.wmu.Unlock()
			if err := cn.waitRoom(ctx, room, deadline); err != nil {
				return false, err
			}
			cn.wmu.Lock()
			continue
		}
		if len(cn.wbuf) > 0 && len(cn.wbuf)+n > chunkSize {
			if len(cn.free) == 0 {
				// A new chunk is made (1 MiB zeroed) outside the lock, then the state is looked
				// at again: the writer may have taken the queue meanwhile.
				cn.wmu.Unlock()
				chunk := make([]byte, 0, chunkSize)
				cn.wmu.Lock()
				cn.free = append(cn.free, chunk)
				continue
			}
			cn.chunks = append(cn.chunks, cn.wbuf)
			cn.wbuf = cn.freeChunk()
		}
		break
	}
	at := len(cn.wbuf)
	cn.wbuf = append(append(cn.wbuf, hdr...), body...)
	if p != nil {
		if err := cn.register(p); err != nil {
			cn.wbuf = cn.wbuf[:at]
			cn.wmu.Unlock()
			return false, err
		}
		registered = true
	}
	cn.queued += n
	cn.frames++
	if cn.flushing {
		cn.wmu.Unlock()
		return registered, nil
	}
	cn.flushing = true
	if !direct {
		cn.wmu.Unlock()
		cn.kickWriter()
		return registered, nil
	}
	bufs := cn.takeQueued() // only this frame: the queue is empty while nobody flushes
	cn.wmu.Unlock()
	return registered, cn.flush(bufs, deadline, false)
}

// headerBufs holds buffers for encoding frame headers outside the write lock.
var headerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// The bounds of the frames queued for the writer beyond the write in progress: Java's 65 535
// oneway (and async) permits, and at most 64 MiB. The queue is made of chunks of chunkSize bytes
// (a larger frame gets a chunk of its own); the writer keeps maxFreeChunks of them for reuse.
const (
	maxQueuedFrames = 65535
	maxQueuedBytes  = 64 << 20
	chunkSize       = 1 << 20
	maxFreeChunks   = 2
)

// freeChunk returns a kept empty chunk, or nil.
func (cn *conn) freeChunk() []byte {
	if k := len(cn.free); k > 0 {
		b := cn.free[k-1]
		cn.free = cn.free[:k-1]
		return b[:0]
	}
	return nil
}

// waitRoom waits until the writer takes the queue (room closes), the connection dies, ctx ends or
// deadline passes.
func (cn *conn) waitRoom(ctx context.Context, room chan struct{}, deadline time.Time) error {
	var expired <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-room:
		return nil
	case <-cn.done:
		cn.mu.Lock()
		err := cn.closeErr
		cn.mu.Unlock()
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-expired:
		return timeoutError(cn.addr, 0, "waiting for room in the write queue")
	}
}

// takeQueued returns the queued chunks and starts an empty queue; wmu is held.
func (cn *conn) takeQueued() [][]byte {
	bufs := append(cn.chunks, cn.wbuf)
	cn.chunks = cn.spareList[:0]
	cn.spareList = nil
	cn.wbuf = cn.freeChunk()
	cn.queued, cn.frames = 0, 0
	if cn.room != nil {
		close(cn.room) // callers waiting for room may queue again
		cn.room = nil
	}
	return bufs
}

func (cn *conn) kickWriter() {
	select {
	case cn.kick <- struct{}{}:
	default: // already kicked
	}
}

// writeLoop is the connection's writer: it writes whatever is queued when kicked, holding the
// flusher's place the kicker gave it, until the queue is empty. It ends when the reader does
// (the connection closed).
func (cn *conn) writeLoop() {
	defer cn.client.wg.Done()
	for {
		select {
		case <-cn.kick:
		case <-cn.done:
			return
		}
		cn.wmu.Lock()
		bufs := cn.takeQueued()
		cn.wmu.Unlock()
		_ = cn.flush(bufs, time.Time{}, true)
	}
}

// flush writes buf. The caller holds the flusher's place (cn.flushing). The writer goroutine
// (writer) goes on with whatever was queued meanwhile until the queue is empty; a direct caller
// hands that to the writer instead, so a sync request never writes for others for long.
//
// A direct caller passes the flusher's place on to a background goroutine when its deadline
// ends a write half done: the frames must go out whole and in order, and a send's budget must not
// wait out a peer that stopped reading (SIGSTOP, a stuck broker) for the connection's whole write
// timeout. The caller's own request then times out at its deadline like any unanswered one. A TLS
// connection cannot resume a timed-out write, so there the caller waits for the write timeout.
func (cn *conn) flush(bufs [][]byte, deadline time.Time, writer bool) error {
	for {
		var werr error
		for _, buf := range bufs {
			wd := time.Time{}
			if d := cn.client.opts.writeTimeout; d > 0 {
				wd = time.Now().Add(d)
			}
			handoff := false
			if !deadline.IsZero() && (wd.IsZero() || deadline.Before(wd)) && !cn.tls {
				wd, handoff = deadline, true
			}
			_ = cn.nc.SetWriteDeadline(wd)
			var n int
			n, werr = cn.rw.Write(buf)
			if werr != nil && handoff && errors.Is(werr, os.ErrDeadlineExceeded) {
				// Only a direct caller has a deadline, and it writes one chunk (its frame).
				// Not on the Client's WaitGroup: Close may already be waiting on it. The goroutine
				// ends with the write: done, past the write timeout, or failed by Close's close.
				go cn.flushRest(buf[n:]) // an argument, not a captured variable: buf stays on the stack
				return nil
			}
			if werr != nil {
				break
			}
		}

		cn.wmu.Lock()
		for i, buf := range bufs {
			if len(cn.free) < maxFreeChunks && cap(buf) <= max(cn.client.opts.writeBufLimit, chunkSize) {
				cn.free = append(cn.free, buf[:0])
			}
			bufs[i] = nil
		}
		cn.spareList = bufs[:0]
		if werr != nil {
			cn.flushing = false
			cn.wbuf, cn.chunks, cn.queued, cn.frames = cn.wbuf[:0], cn.chunks[:0], 0, 0
			if cn.room != nil {
				close(cn.room)
				cn.room = nil
			}
			cn.wmu.Unlock()
			cerr := &ConnError{Addr: cn.addr, Op: "write", Err: werr}
			cn.close(cerr)
			return cerr
		}
		if cn.queued == 0 {
			cn.flushing = false
			cn.wmu.Unlock()
			return nil
		}
		if !writer {
			cn.wmu.Unlock()
			cn.kickWriter() // the writer takes the flusher's place and the queue
			return nil
		}
		bufs = cn.takeQueued()
		cn.wmu.Unlock()
	}
}

func (cn *conn) flushRest(buf []byte) { _ = cn.flush([][]byte{buf}, time.Time{}, false) }

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
	br := bufio.NewReaderSize(cn.rw, cn.client.opts.readBufSize)
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
			_, _ = cn.write(context.Background(), resp, time.Time{}, false, nil)
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
			if _, err := cn.write(context.Background(), resp, time.Time{}, false, nil); err != nil {
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
