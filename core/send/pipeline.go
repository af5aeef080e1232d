package send

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/remote"
	"github.com/rocketsend/rocketsend/core/route"
)

// call is one send (all its attempts): the state the sync loop and the async callbacks share.
type call struct {
	p        *Producer
	ctx      context.Context
	msg      *message.Message
	topic    string // msg's topic on the wire: with the namespace (msg.Topic is without it)
	mode     Mode
	deadline time.Time
	start    time.Time

	// queue choice: an explicit queue, a selector with its argument, or the default
	queue    *message.MessageQueue
	selector QueueSelector
	arg      any

	hooks *hookSet // pinned by newCall for every attempt; unpinned by done

	attempt     int
	maxAttempts int
	lastBroker  string
	lastErr     error

	// batch: the wrapper is msg; ids are the inner UNIQ_KEYs
	batch    bool
	batchIDs string

	// async
	cb   func(*message.SendResult, error)
	size int64

	// per-attempt, reused
	beforeRan bool // the attempt's Before hooks started: its After hooks must run
	sc        SendContext
	sentAt    time.Time
	brokerQ   message.MessageQueue
	addr      string

	// compression cache: the body the hooks left and its compressed form
	plainBody []byte
	wireBody  []byte
	wireFlag  int32

	skipStoredCheck bool // tests only: let the broker judge the properties' size
}

// CallOption chooses how one send picks its queue.
type CallOption func(*call)

// ToQueue sends to exactly this queue; retries stay on it.
func ToQueue(q message.MessageQueue) CallOption {
	return func(c *call) { c.queue = &q }
}

// WithSelector picks the queue with sel, passing arg (a sharding key, an order id) to it.
func WithSelector(sel QueueSelector, arg any) CallOption {
	return func(c *call) { c.selector, c.arg = sel, arg }
}

// OrderedBy sends all messages with the same key to the same queue, in order when sent
// synchronously: Java's SelectMessageQueueByHash, so Go and Java producers agree.
func OrderedBy(key string) CallOption {
	return WithSelector(HashJava(), key)
}

func (p *Producer) newCall(ctx context.Context, msg *message.Message, mode Mode, opts []CallOption) (*call, error) {
	if err := p.running(); err != nil {
		return nil, err
	}
	if msg == nil {
		return nil, fmt.Errorf("%w: nil message", codec.ErrValidation)
	}
	if err := codec.ValidateMessage(msg, p.cfg.maxMessageSize); err != nil {
		return nil, err
	}
	now := time.Now()
	c := &call{p: p, ctx: ctx, msg: msg, mode: mode, start: now, deadline: now.Add(p.cfg.sendTimeout)}
	if d, ok := ctx.Deadline(); ok && d.Before(c.deadline) {
		c.deadline = d
	}
	for _, o := range opts {
		o(c)
	}
	switch mode {
	case ModeSync:
		c.maxAttempts = 1 + p.cfg.retryTimes
	case ModeAsync:
		c.maxAttempts = 1 + p.cfg.retryTimesAsync
	default:
		c.maxAttempts = 1
	}
	// The namespace is applied here, once, and only on the wire (routes, request headers): the
	// message, and so every hook and selector, keeps the topic as the user named it.
	msg.Topic = p.withoutNamespace(msg.Topic)
	c.topic = p.withNamespace(msg.Topic)
	if msg.UniqID() == "" && !c.batch { // a batch wrapper must carry none (see SendBatch)
		msg.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, codec.NextUniqID())
	}
	if _, ok := msg.Properties[message.PropertyWaitStoreMsgOK]; !ok {
		msg.SetSystemProperty(message.PropertyWaitStoreMsgOK, "true") // as every Java Message carries it
	}
	c.hooks = p.pinHooks()
	if c.selector == nil && c.queue == nil && c.hooks.factory != nil {
		c.selector = c.hooks.selectorFor(msg.Topic)
	}
	c.sc = SendContext{Context: ctx, Group: p.cfg.group, Namespace: p.cfg.namespace, Message: msg, Mode: mode,
		MessageType: messageType(msg, c.selector), Batch: c.batch}
	return c, nil
}

// done ends the call's use of its hook set; every call that newCall returned ends with it once.
func (c *call) done() { c.hooks.unpin() }

func messageType(m *message.Message, sel QueueSelector) MessageType {
	switch {
	case m.Property(message.PropertyTransactionPrepared) == "true":
		return TransMsgHalf
	case m.Property(message.PropertyDelayTimeLevel) != "" || m.Property(message.PropertyStartDeliverTime) != "" ||
		m.Property(message.PropertyTimerDeliverMS) != "" || m.Property(message.PropertyTimerDelaySec) != "" ||
		m.Property(message.PropertyTimerDelayMS) != "":
		return DelayMsg
	case sel != nil && isConsistent(sel):
		return OrderMsg
	}
	return NormalMsg
}

// prepareAttempt runs everything up to the request of one attempt: route, forbidden checks,
// Before hooks, queue choice, encoding. It returns the request and the broker address.
//
// When the attempt fails after its Before hooks started (a Before hook refused, no queue, no broker
// address, encoding), the After hooks run with the error, as the Java client's sendKernelImpl runs
// its after hook on failure: what a Before hook opened (a span, a timer) is always closed.
func (c *call) prepareAttempt() (*codec.Command, error) {
	c.beforeRan = false
	req, err := c.prepare()
	if err != nil && c.beforeRan {
		sc := &c.sc
		sc.Latency, sc.Result, sc.Err = 0, nil, err
		for _, h := range c.hooks.after {
			h.SendMessageAfter(sc)
		}
	}
	return req, err
}

func (c *call) prepare() (*codec.Command, error) {
	p := c.p
	c.attempt++
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	remaining := time.Until(c.deadline)
	if remaining <= 0 {
		return nil, c.timeoutErr()
	}
	if err := p.running(); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithDeadline(c.ctx, c.deadline)
	tp, err := p.routes.PublishInfo(rctx, c.topic)
	cancel()
	if err != nil {
		return nil, err
	}
	sc := &c.sc
	sc.Attempt, sc.Queue, sc.BrokerAddr, sc.BornHost = c.attempt, message.MessageQueue{}, "", p.bornHost
	sc.Latency, sc.Result, sc.Err, sc.Props = 0, nil, nil, nil
	for _, h := range c.hooks.forbidden {
		if err := h.CheckForbidden(sc); err != nil {
			return nil, &ForbiddenError{Hook: hookName(h), Err: err}
		}
	}
	c.beforeRan = len(c.hooks.before) > 0
	for _, h := range c.hooks.before {
		if err := h.SendMessageBefore(sc); err != nil {
			return nil, &HookError{Hook: hookName(h), Err: err}
		}
	}
	q, err := c.chooseQueue(tp)
	if err != nil {
		return nil, err
	}
	if err := c.checkAfterHooks(tp, q); err != nil {
		return nil, err
	}
	c.brokerQ = q
	c.addr = p.brokerAddr(q.BrokerName)
	if c.addr == "" {
		p.refreshSoon(c.topic)
		return nil, fmt.Errorf("%w: %s", errNoBrokerAddr, q.BrokerName)
	}
	sc.Queue, sc.BrokerAddr = q, c.addr
	sc.Queue.Topic = p.withoutNamespace(q.Topic)
	p.ensureHeartbeat(c.ctx, c.addr)
	if err := c.checkFeatures(); err != nil {
		return nil, err
	}
	return c.request(q)
}

func (c *call) chooseQueue(tp *route.TopicPublishInfo) (message.MessageQueue, error) {
	queues := tp.Queues
	if len(queues) == 0 {
		return message.MessageQueue{}, fmt.Errorf("send: topic %s has no writable queue", c.msg.Topic)
	}
	switch {
	case c.queue != nil:
		q := *c.queue
		q.Topic = c.topic
		return q, nil
	case c.selector != nil:
		if c.brokerQ.BrokerName != "" && isConsistent(c.selector) {
			return c.brokerQ, nil // a retry keeps the queue the selector chose
		}
		offered := queues
		if c.lastBroker != "" {
			// A failed broker's queues are offered only when no other broker has one.
			var others []message.MessageQueue
			for _, q := range queues {
				if q.BrokerName != c.lastBroker {
					others = append(others, q)
				}
			}
			if len(others) > 0 {
				offered = others
			}
		}
		q, err := c.selector.Select(c.msg, offered, c.arg)
		if err != nil {
			return q, fmt.Errorf("send: queue selector %s: %w", hookName(c.selector), err)
		}
		if q.BrokerName == "" {
			return q, fmt.Errorf("send: queue selector %s chose a queue without a broker", hookName(c.selector))
		}
		q.Topic = c.topic
		return q, nil
	default:
		return c.p.fault.SelectOneMessageQueue(queues, tp.Counter(), c.lastBroker), nil
	}
}

// request encodes the attempt. The body is compressed once and reused across attempts unless a
// hook replaced it.
func (c *call) request(q message.MessageQueue) (*codec.Command, error) {
	p, m := c.p, c.msg
	if !c.batch && (c.plainBody == nil || !sameSlice(c.plainBody, m.Body)) {
		c.plainBody, c.wireBody, c.wireFlag = m.Body, m.Body, 0
		if t := p.cfg.compressThreshold; t > 0 && len(m.Body) >= t {
			z, err := codec.Compress(nil, m.Body, p.cfg.compressType, p.cfg.compressLevel)
			if err != nil {
				return nil, err
			}
			if len(z) < len(m.Body) {
				c.wireBody, c.wireFlag = z, p.cfg.compressType.SysFlag()
			}
		}
	}
	if c.batch {
		c.wireBody = m.Body // records already compressed by SendBatch; c.wireFlag says how
	}
	sysFlag := c.wireFlag
	if m.Property(message.PropertyTransactionPrepared) == "true" {
		sysFlag |= codec.SysFlagTransactionPrepared
	}
	h := &codec.SendMessageRequestHeader{
		ProducerGroup: p.group, Topic: c.topic, DefaultTopic: p.cfg.createTopicKey, UnitMode: p.cfg.unitMode,
		DefaultTopicQueueNums: int32(p.cfg.defaultTopicQueueNums), QueueID: int32(q.QueueID), SysFlag: sysFlag,
		BornTimestamp: time.Now().UnixMilli(), Flag: m.Flag, Properties: codec.EncodeProperties(m.Properties),
		Batch: c.batch, BrokerName: q.BrokerName,
	}
	code := int32(codec.SendMessageV2)
	switch {
	case c.batch:
		code = codec.SendBatchMessage
	case m.Property(message.PropertyMessageType) == message.ReplyMessageFlag:
		code = codec.SendReplyMessageV2
	}
	return codec.NewRequest(code, (*codec.SendMessageRequestHeaderV2)(h), c.wireBody), nil
}

func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// result turns a send response into a SendResult or a *BrokerError.
func (c *call) result(resp *codec.Command) (*message.SendResult, error) {
	c.p.versions.note(c.addr, resp.Version)
	var status message.SendStatus
	switch resp.Code {
	case codec.Success:
		status = message.SendOK
	case codec.FlushDiskTimeoutCode:
		status = message.FlushDiskTimeout
	case codec.FlushSlaveTimeoutCode:
		status = message.FlushSlaveTimeout
	case codec.SlaveNotAvailableCode:
		status = message.SlaveNotAvailable
	default:
		return nil, &BrokerError{Code: resp.Code, Remark: resp.Remark, Broker: c.brokerQ.BrokerName, Addr: c.addr}
	}
	h, err := codec.DecodeSendMessageResponseHeader(resp)
	if err != nil {
		return nil, err
	}
	c.p.noteBrokerFacts(c.brokerQ.BrokerName, h.RegionID, h.TraceOn)
	id := c.msg.UniqID()
	if c.batch {
		id = c.batchIDs
	}
	return &message.SendResult{Status: status, MsgID: id, OffsetMsgID: h.MsgID,
		Queue:       message.MessageQueue{Topic: c.msg.Topic, BrokerName: c.brokerQ.BrokerName, QueueID: int(h.QueueID)},
		QueueOffset: h.QueueOffset, TransactionID: h.TransactionID, RegionID: h.RegionID, TraceOn: h.TraceOn,
		RecallHandle: h.RecallHandle}, nil
}

// finishAttempt runs the After hooks and the fault bookkeeping, and says whether to retry.
func (c *call) finishAttempt(res *message.SendResult, err error) (retry bool) {
	p := c.p
	latency := time.Since(c.sentAt)
	sc := &c.sc
	sc.Latency, sc.Result, sc.Err = latency, res, err
	for _, h := range c.hooks.after {
		h.SendMessageAfter(sc)
	}
	if c.brokerQ.BrokerName != "" {
		isolate := err != nil && !errors.Is(err, context.Canceled)
		p.fault.UpdateFaultItem(c.brokerQ.BrokerName, latency, isolate, !errors.Is(err, remote.ErrConnClosed))
	}
	if err == nil {
		if res != nil && res.Status != message.SendOK && c.mode == ModeSync && p.cfg.retryAnotherBroker && c.attempt < c.maxAttempts {
			c.lastBroker = c.brokerQ.BrokerName
			return true
		}
		return false
	}
	c.lastErr = err
	c.lastBroker = c.brokerQ.BrokerName
	if !retryable(err) || c.attempt >= c.maxAttempts || time.Until(c.deadline) <= 0 || c.ctx.Err() != nil {
		return false
	}
	if errors.Is(err, remote.ErrConnClosed) || errors.Is(err, remote.ErrTimeout) || isBrokerError(err) {
		p.refreshSoon(c.topic) // see a dead or changed broker now, not at the next poll (#730)
	}
	return true
}

// retryUnsent decides about an attempt that failed before its request was sent (no route, no
// broker address yet): it is retried only after an earlier attempt failed too, while attempts
// remain, so a first lookup failure is reported at once.
func (c *call) retryUnsent(err error) bool {
	if c.lastErr == nil || !retryable(err) || c.attempt >= c.maxAttempts {
		return false
	}
	c.lastErr = err
	return true
}

// retryable is Java's rule: transport failures and the broker codes in retryResponseCodes.
func retryable(err error) bool {
	var be *BrokerError
	if errors.As(err, &be) {
		switch be.Code {
		case codec.TopicNotExist, codec.ServiceNotAvailable, codec.SystemError, codec.SystemBusy,
			codec.NoPermission, codec.NoBuyerID, codec.NotInCurrentUnit, codec.GoAway:
			return true
		}
		return false
	}
	return errors.Is(err, remote.ErrConnClosed) || errors.Is(err, remote.ErrTimeout) || errors.Is(err, errNoBrokerAddr)
}

func isBrokerError(err error) bool {
	var be *BrokerError
	return errors.As(err, &be)
}

func (c *call) timeoutErr() error {
	if c.lastErr != nil {
		return fmt.Errorf("%w after %d attempt(s) in %v; last error: %w", ErrTimeout, c.attempt-1,
			time.Since(c.start).Round(time.Millisecond), c.lastErr)
	}
	return fmt.Errorf("%w: no attempt fit in the %v budget", ErrTimeout, c.p.cfg.sendTimeout)
}

// finalErr decorates the last error with the attempts made.
func (c *call) finalErr(err error) error {
	if c.attempt > 1 && !errors.Is(err, ErrTimeout) {
		return fmt.Errorf("send: %d attempts failed, last: %w", c.attempt, err)
	}
	return err
}

// refreshSoon refreshes a topic's route in the background; the route client rate-limits it.
func (p *Producer) refreshSoon(topic string) {
	if p.running() != nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.sendTimeout)
		defer cancel()
		if _, err := p.routes.Refresh(ctx, topic); err != nil {
			p.cfg.logger.Debug("route refresh failed", "topic", topic, "err", err)
		}
	}()
}

// Send sends msg and waits for the broker's answer, retrying on another broker within the send
// timeout or ctx's deadline, whichever is sooner. The message is the caller's: the producer sets
// its UNIQ_KEY and namespace; Before hooks may edit it.
//
// For a delayed or timer message, the result's QueueOffset is the offset in the broker's internal
// schedule topic, where the message waits; it reaches its own queue when due.
func (p *Producer) Send(ctx context.Context, msg *message.Message, opts ...CallOption) (*message.SendResult, error) {
	c, err := p.newCall(ctx, msg, ModeSync, opts)
	if err != nil {
		return nil, err
	}
	return c.runSync()
}

func (c *call) runSync() (*message.SendResult, error) {
	defer c.done()
	for {
		req, err := c.prepareAttempt()
		if err != nil {
			if c.retryUnsent(err) {
				continue
			}
			return nil, c.finalErr(err)
		}
		c.sentAt = time.Now()
		resp, err := c.p.rc.Invoke(c.ctx, c.addr, req, time.Until(c.deadline))
		var res *message.SendResult
		if err == nil {
			res, err = c.result(resp)
		}
		if c.finishAttempt(res, err) {
			continue
		}
		if err != nil {
			return nil, c.finalErr(err)
		}
		return res, nil
	}
}

// SendOneway writes msg without waiting for, or receiving, an answer; it is never retried. It
// returns once the request is handed to the connection. The message's id is msg.UniqID(), stamped
// before the write.
func (p *Producer) SendOneway(ctx context.Context, msg *message.Message, opts ...CallOption) error {
	c, err := p.newCall(ctx, msg, ModeOneway, opts)
	if err != nil {
		return err
	}
	defer c.done()
	req, err := c.prepareAttempt()
	if err != nil {
		return err
	}
	c.sentAt = time.Now()
	err = c.p.rc.InvokeOneway(ctx, c.addr, req)
	c.finishAttempt(nil, err)
	return err
}

// topicOf returns the topic of msgs, or an error if they differ (batches are one topic).
func topicOf(msgs []*message.Message) (string, error) {
	if len(msgs) == 0 {
		return "", fmt.Errorf("%w: empty batch", codec.ErrValidation)
	}
	t := msgs[0].Topic
	for i, m := range msgs {
		if m == nil {
			return "", fmt.Errorf("%w: batch message %d is nil", codec.ErrValidation, i)
		}
		if m.Topic != t {
			return "", fmt.Errorf("%w: batch mixes topics %q and %q", codec.ErrValidation, t, m.Topic)
		}
	}
	if strings.HasPrefix(t, "%RETRY%") {
		return "", fmt.Errorf("%w: batches cannot go to retry topic %q", codec.ErrValidation, t)
	}
	return t, nil
}
