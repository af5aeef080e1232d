package send

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// Request sends msg as a request and waits for the reply a responder sends back (RocketMQ's
// request-reply): the broker pushes the reply to this producer by its client id. It waits until
// ctx's deadline, or the send timeout when ctx has none.
func (p *Producer) Request(ctx context.Context, msg *message.Message, opts ...CallOption) (*message.Message, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.sendTimeout)
		defer cancel()
	}
	id, err := p.prepareRequest(ctx, msg)
	if err != nil {
		return nil, err
	}
	ch := p.replies.register(id)
	defer p.replies.remove(id)
	if _, err := p.Send(ctx, msg, opts...); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.msg, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: no reply to request %s: %w", ErrTimeout, id, context.Cause(ctx))
	}
}

// RequestAsync sends msg as a request without waiting: cb receives the reply, or the error when
// the send failed, no reply came before ctx's deadline (the send timeout when ctx has none), or the
// producer shut down. If RequestAsync returns an error, cb is never called; otherwise cb is called
// exactly once, never on the caller's goroutine.
func (p *Producer) RequestAsync(ctx context.Context, msg *message.Message, cb func(*message.Message, error), opts ...CallOption) error {
	if cb == nil {
		return errNil("RequestAsync's callback")
	}
	if err := p.ready(ctx); err != nil {
		return err
	}
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, p.cfg.sendTimeout)
	}
	id, err := p.prepareRequest(ctx, msg)
	if err != nil {
		cancel()
		return err
	}
	// Whoever takes the waiter (the reply, the deadline, a failed send, Shutdown) settles it; one
	// goroutine per outstanding request waits for that (request-reply is not a bulk path).
	ch := p.replies.register(id)
	settle := func(r replyResult) {
		if !r.silent {
			cb(r.msg, r.err)
		}
	}
	go func() {
		defer cancel()
		select {
		case r := <-ch:
			settle(r)
		case <-ctx.Done():
			if p.replies.take(id) {
				cb(nil, fmt.Errorf("%w: no reply to request %s: %w", ErrTimeout, id, context.Cause(ctx)))
			} else {
				settle(<-ch) // delivered concurrently
			}
		}
	}()
	err = p.SendAsync(ctx, msg, func(_ *message.SendResult, err error) {
		if err != nil {
			p.replies.deliver(id, replyResult{err: err})
		}
	}, opts...)
	if err != nil && p.replies.take(id) {
		// Not sent: release the waiter without a callback, as promised.
		ch <- replyResult{silent: true}
		return err
	}
	return nil
}

// prepareRequest stamps the request properties and makes sure every broker knows our client id.
func (p *Producer) prepareRequest(ctx context.Context, msg *message.Message) (string, error) {
	if err := p.running(); err != nil {
		return "", err
	}
	if msg == nil {
		return "", errNil("message")
	}
	deadline, _ := ctx.Deadline()
	id := correlationID()
	msg.SetSystemProperty(message.PropertyCorrelationID, id)
	msg.SetSystemProperty(message.PropertyMessageReplyToClient, p.clientID)
	msg.SetSystemProperty(message.PropertyMessageTTL, strconv.FormatInt(time.Until(deadline).Milliseconds(), 10))
	// Every broker may carry the reply: each must know our client id first (Java heartbeats all).
	for _, addr := range p.routes.Brokers() {
		p.ensureHeartbeat(ctx, addr)
	}
	return id, nil
}

// serveReply receives a PUSH_REPLY_MESSAGE_TO_CLIENT and completes the matching Request.
func (p *Producer) serveReply(_ context.Context, addr string, req *codec.Command) *codec.Command {
	h, err := codec.DecodeReplyMessageRequestHeader(req)
	if err != nil {
		return codec.NewResponse(req, codec.SystemError, "process reply message fail: "+err.Error())
	}
	m := &message.Message{Topic: h.Topic, Flag: h.Flag, Body: req.Body, Properties: codec.DecodeProperties(h.Properties)}
	if codec.IsCompressed(h.SysFlag) {
		body, err := codec.Decompress(req.Body, codec.CompressionOf(h.SysFlag), p.cfg.maxMessageSize*4)
		if err != nil {
			return codec.NewResponse(req, codec.SystemError, "process reply message fail: "+err.Error())
		}
		m.Body = body
	}
	m.SetSystemProperty(message.PropertyReplyMessageArriveTime, strconv.FormatInt(time.Now().UnixMilli(), 10))
	id := m.Property(message.PropertyCorrelationID)
	if !p.replies.deliver(id, replyResult{msg: m}) {
		p.cfg.logger.Debug("reply for an unknown or expired request", "correlationId", id, "broker", addr)
	}
	return codec.NewResponse(req, codec.Success, "")
}

type replyResult struct {
	msg    *message.Message
	err    error
	silent bool // release the waiter without calling back
}

// replyTable holds the requests waiting for a reply, by correlation id.
type replyTable struct {
	mu      sync.Mutex
	waiting map[string]chan replyResult
}

func (t *replyTable) init() { t.waiting = map[string]chan replyResult{} }

func (t *replyTable) register(id string) chan replyResult {
	ch := make(chan replyResult, 1)
	t.mu.Lock()
	t.waiting[id] = ch
	t.mu.Unlock()
	return ch
}

func (t *replyTable) remove(id string) { t.take(id) }

// take removes the waiter of id and reports whether it was still there: the caller now owns its
// outcome.
func (t *replyTable) take(id string) bool {
	t.mu.Lock()
	_, ok := t.waiting[id]
	delete(t.waiting, id)
	t.mu.Unlock()
	return ok
}

func (t *replyTable) deliver(id string, r replyResult) bool {
	t.mu.Lock()
	ch, ok := t.waiting[id]
	delete(t.waiting, id)
	t.mu.Unlock()
	if ok {
		ch <- r
	}
	return ok
}

func (t *replyTable) failAll(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, ch := range t.waiting {
		ch <- replyResult{err: err}
		delete(t.waiting, id)
	}
}

// correlationID returns a random UUID (version 4), the form Java's CorrelationIdUtil uses.
func correlationID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(errors.New("send: no randomness for a correlation id: " + err.Error()))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
