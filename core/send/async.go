package send

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// SendAsync sends msg without waiting: cb receives the result or the error once the broker
// answered, every retry failed, the timeout budget ran out or the producer shut down. The budget
// is the send timeout or ctx's deadline, whichever is sooner, and cancelling ctx fails the send, as
// with Send.
//
// If SendAsync returns an error (invalid message, producer not running, in-flight bound reached
// with fail-fast backpressure, ctx done or the send's budget spent while waiting for room), cb is
// never called. Otherwise cb is called exactly once, on one of the producer's callback goroutines,
// never on the caller's.
//
// With WithAutoBatch(true), the message may be held briefly and sent in one request with others
// for the same queue; its callback, result, hooks and error stay its own (docs/producer.md,
// "Auto-batching").
//
// Waiting for room is part of the send's budget, as in Java (tryAcquire with the send timeout):
// when the budget runs out first, SendAsync returns an error matching ErrTimeout and
// ErrBackpressure. So a callback that itself calls SendAsync while backpressure blocks waits at
// most its budget, even if every callback goroutine is waiting for room.
func (p *Producer) SendAsync(ctx context.Context, msg *message.Message, cb func(*message.SendResult, error), opts ...CallOption) error {
	if cb == nil {
		return errNil("SendAsync's callback")
	}
	c, err := p.newCall(ctx, msg, ModeAsync, opts)
	if err != nil {
		return err
	}
	c.cb = cb
	c.size = int64(len(msg.Body))
	err = p.inflight.acquire(ctx, c.deadline, c.size, p.cfg.blockWhenFull)
	if err != nil {
		c.done()
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w: no room within the send's budget", ErrTimeout, err)
		}
		return err
	}
	p.asyncWG.Add(1)
	if err := p.running(); err != nil { // Shutdown may have begun while we waited for room
		p.inflight.release(1, c.size)
		p.asyncWG.Done()
		c.done()
		return err
	}
	c.startAsync()
	return nil
}

// startAsync starts an accepted async send. A send with forbidden checks or Before hooks starts on
// a callback worker, so the hooks of concurrent sends run concurrently (over a plugin's instance
// pool) even when one goroutine makes every send; Java likewise runs its async sends on an
// executor. A send without hooks, and an ordered one (ToQueue, or a consistent selector such as
// OrderedBy), starts on the caller's goroutine, which keeps the sends of one goroutine in the order
// they were made. With auto-batching on, a message that may be batched is held for its batch
// (autobatch.go).
func (c *call) startAsync() {
	if (len(c.hooks.before) == 0 && len(c.hooks.forbidden) == 0) || c.ordered() {
		c.startAsyncOn(false)
		return
	}
	c.p.callbacks <- task{c: c, kind: taskStart}
}

// ordered reports whether the send's queue is fixed by the caller: its order among the caller's
// sends matters.
func (c *call) ordered() bool {
	return c.queue != nil || c.sc.MessageType == OrderMsg
}

func (c *call) startAsyncOn(onWorker bool) {
	if a := c.p.acc; a != nil && c.batchable() && a.hold(c, onWorker) {
		return
	}
	c.runAsync(onWorker)
}

// runAsync starts the next attempt. It runs on the caller's goroutine for the first attempt and
// on a callback worker for retries, never on a connection's reader (a retry may fetch a route).
// onWorker says where it runs: a final failure is delivered at once on a worker, and handed to one
// from the caller's goroutine (the callback never runs on the caller's goroutine).
func (c *call) runAsync(onWorker bool) {
	for {
		req, err := c.prepareAttempt()
		if err != nil {
			if c.retryUnsent(err) {
				continue
			}
			c.complete(nil, c.finalErr(err), onWorker)
			return
		}
		c.sentAt = time.Now()
		err = c.p.rc.InvokeAsyncTo(c.ctx, c.addr, req, c.attemptDl, c, &c.pend)
		if err == nil {
			return
		}
		if !c.finishAttempt(nil, fromTransport(err)) {
			c.complete(nil, c.finalErr(err), onWorker)
			return
		}
	}
}

// OnResponse (remote.Callback) runs on the connection's reader goroutine, so it only hands the outcome to a callback
// worker: the After hooks, a retry and the user's callback run there, and a slow hook or callback
// never holds up the responses of other sends on the connection. The channel has room for one
// item per async send in flight (the in-flight bound), and a send has at most one item queued at
// a time, so the reader never waits here.
func (c *call) OnResponse(resp *codec.Command, err error) {
	c.p.callbacks <- task{c: c, resp: resp, err: err}
}

// task is one piece of work for a callback worker: a response to handle, an outcome to deliver
// (kept in the call) or a send to start. A value rather than a closure, so handing a send's work
// to a worker allocates nothing.
type task struct {
	c    *call
	kind uint8
	resp *codec.Command
	err  error
}

const (
	taskResponse uint8 = iota
	taskDeliver
	taskStart
	taskFailHeld // an auto-batched message that failed at the flush (resErr): After hooks, callback
)

func (t task) run() {
	switch t.kind {
	case taskResponse:
		t.c.handleResponse(t.resp, t.err)
	case taskDeliver:
		t.c.deliver(t.c.res, t.c.resErr)
	case taskStart:
		t.c.startAsyncOn(true)
	case taskFailHeld:
		t.c.failHeld(t.err, true)
	}
}

// handleResponse runs on a callback worker: decode, After hooks, fault bookkeeping, then a retry
// or the user's callback.
func (c *call) handleResponse(resp *codec.Command, err error) {
	var res *message.SendResult
	err = fromTransport(err)
	if err == nil {
		res, err = c.result(resp)
	}
	if c.finishAttempt(res, err) {
		c.runAsync(true)
		return
	}
	if err != nil {
		err = c.finalErr(err)
	}
	c.complete(res, err, true)
}

// complete delivers the outcome to the user's callback, then frees the in-flight room: at once
// when already on a callback worker, else through the callbacks channel.
func (c *call) complete(res *message.SendResult, err error, onWorker bool) {
	c.done() // every attempt and its After hooks are over
	if onWorker {
		c.deliver(res, err)
		return
	}
	c.res, c.resErr = res, err // the call's only task in the channel: nothing else writes these
	c.p.callbacks <- task{c: c, kind: taskDeliver}
}

func (c *call) deliver(res *message.SendResult, err error) {
	p := c.p
	if !c.inBatch { // an auto-batch's fan-out frees its messages' room and count at once
		defer p.asyncWG.Done()
	}
	if c.held == nil && !c.inBatch { // an auto-batch request holds no room: its messages hold their own
		defer p.inflight.release(1, c.size)
	}
	defer func() {
		if r := recover(); r != nil {
			p.cfg.logger.Error("async send callback panicked", "topic", c.msg.Topic, "panic", fmt.Sprint(r))
		}
	}()
	if c.held != nil {
		c.fanOut(res, err) // an auto-batch request: every member's outcome comes through it
		return
	}
	c.cb(res, err)
	if !c.inBatch { // a held message's call is given back by its batch's fan-out
		p.reuseCall(c) // not reached when the callback panicked: the call is then dropped
	}
}

// limiter bounds async sends in flight by count and bytes. A single message larger than the byte
// bound is admitted when nothing else is in flight, so it can never wait forever.
type limiter struct {
	mu       sync.Mutex
	n, max   int
	b, maxB  int64
	waiters  int
	released chan struct{}
}

func newLimiter(max int, maxBytes int64) *limiter {
	return &limiter{max: max, maxB: maxBytes, released: make(chan struct{})}
}

// acquire takes room for one message of size bytes. When block is set it waits for room until ctx
// ends or deadline passes; only a send that has to wait pays for the deadline's timer.
func (l *limiter) acquire(ctx context.Context, deadline time.Time, size int64, block bool) error {
	timed := false
	l.mu.Lock()
	for {
		if l.n < l.max && (l.b+size <= l.maxB || l.n == 0) {
			l.n++
			l.b += size
			l.mu.Unlock()
			return nil
		}
		if !block {
			l.mu.Unlock()
			return fmt.Errorf("%w (%d messages, %d bytes; bounds %d, %d)", ErrBackpressure, l.n, l.b, l.max, l.maxB)
		}
		if !timed {
			l.mu.Unlock()
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
			timed = true
			l.mu.Lock()
			continue // room may have been freed meanwhile
		}
		ch := l.released
		l.waiters++
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			l.mu.Lock()
			l.waiters--
			l.mu.Unlock()
			return fmt.Errorf("%w: waiting for room: %w", ErrBackpressure, context.Cause(ctx))
		}
		l.mu.Lock()
		l.waiters--
	}
}

// release frees the room of n messages of size bytes in all, waking every waiter once.
func (l *limiter) release(n int, size int64) {
	l.mu.Lock()
	l.n -= n
	l.b -= size
	if l.waiters > 0 {
		close(l.released)
		l.released = make(chan struct{})
	}
	l.mu.Unlock()
}

// drain counts async sends not yet completed. Unlike sync.WaitGroup it allows new sends to be
// counted while Shutdown waits (they are refused right after and uncounted).
type drain struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed while n == 0
}

func newDrain() *drain {
	d := &drain{zero: make(chan struct{})}
	close(d.zero)
	return d
}

func (d *drain) Add(delta int) {
	d.mu.Lock()
	if d.n == 0 && delta > 0 {
		d.zero = make(chan struct{})
	}
	d.n += delta
	if d.n == 0 {
		close(d.zero)
	}
	d.mu.Unlock()
}

func (d *drain) Done() { d.Add(-1) }

// Zero returns a channel closed when nothing is in flight.
func (d *drain) Zero() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.zero
}
