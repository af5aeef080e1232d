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
	retry    SelectorRetry // of the selector or explicit queue; unused for the default choice
	timeout  time.Duration // WithTimeout's, replacing the producer's send timeout

	hooks *hookSet // pinned by newCall for every attempt; unpinned by done

	attempt     int
	maxAttempts int
	lastBroker  string
	lastErr     error

	// batch: the wrapper is msg; ids are the inner UNIQ_KEYs
	batch        bool
	batchIDs     string
	batchRecords []*message.Message // the request's messages, for the properties check
	// what the attempt's Before hooks set on the wrapper, written into copies of the records
	// (see spreadBatchProperties); nil when they set nothing
	spreadRecords []*message.Message
	spreadBody    []byte
	spreadProps   map[string]string // the request's properties then: WAIT alone

	// async
	cb     func(*message.SendResult, error)
	size   int64
	res    *message.SendResult // the outcome complete hands to a worker
	resErr error

	// auto-batch request: the batch of held messages it carries (see autobatch.go); nil for any
	// other call
	held    *heldBatch
	inBatch bool // a held message sent in an auto-batch: the batch's fan-out frees its room

	// per-attempt, reused
	beforeRan bool // the attempt's Before hooks started: its After hooks must run
	sc        SendContext
	sentAt    time.Time
	brokerQ   message.MessageQueue
	addr      string
	attemptDl time.Time // the attempt's deadline: c.deadline or a share of it (see attemptDeadline)

	// what the message's properties are (codec.PropertiesInfo), as the send path last saw them: from
	// newCall on, and again after hooks that may have edited them; a batch's are not described
	props codec.PropertiesInfo

	wire wireRequest    // the first attempt's request (see request)
	pend remote.Pending // the transport's record of the attempt in flight, reused by the next

	// compression cache: the body the hooks left and its compressed form
	plainBody []byte
	wireBody  []byte
	wireFlag  int32

	skipStoredCheck bool // tests only: let the broker judge the properties' size
	nilSelector     bool // WithSelector(nil, ...): refused by newCall
}

// CallOption adjusts one send: how it picks its queue, its time budget.
type CallOption func(*call)

// ToQueue sends to exactly this queue, once, as Java's send(msg, mq) does: a sync send is not
// retried; an async send retries a connection failure or timeout on the same queue.
func ToQueue(q message.MessageQueue) CallOption {
	return func(c *call) { c.queue = &q }
}

// WithSelector picks the queue with sel, passing arg (a sharding key, an order id) to it. The send
// is made once unless sel opts in to retries (RetryingSelector, WithRetry).
func WithSelector(sel QueueSelector, arg any) CallOption {
	return func(c *call) { c.selector, c.arg, c.nilSelector = sel, arg, isNil(sel) }
}

// OrderedBy sends all messages with the same key to the same queue, in order when sent
// synchronously: Java's SelectMessageQueueByHash, so Go and Java producers agree. Like Java's
// sendSelectImpl it sends once: a retry could store the message twice out of order.
func OrderedBy(key string) CallOption {
	return WithSelector(HashJava(), key)
}

// WithTimeout replaces the producer's send timeout for this send, as Java's send(msg, timeout)
// does: d is the budget of all attempts. A deadline of ctx still shortens it. d must be positive.
func WithTimeout(d time.Duration) CallOption {
	return func(c *call) { c.timeout = d }
}

func (p *Producer) newCall(ctx context.Context, msg *message.Message, mode Mode, opts []CallOption) (*call, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	return p.newCallReady(ctx, msg, mode, opts)
}

// newCallReady is newCall without the running check: an auto-batch request made while Shutdown
// drains still goes out (its messages were accepted before).
func (p *Producer) newCallReady(ctx context.Context, msg *message.Message, mode Mode, opts []CallOption) (*call, error) {
	if msg == nil {
		return nil, errNil("message")
	}
	if err := callOptionsOK(opts); err != nil {
		return nil, err
	}
	c := p.allocCall()
	c.p, c.ctx, c.msg, c.mode, c.timeout = p, ctx, msg, mode, p.cfg.sendTimeout
	for _, o := range opts {
		o(c)
	}
	if err := p.initCall(c); err != nil {
		return nil, err
	}
	return c, nil
}

// initCall checks a call whose options are applied and readies it for its first attempt. The
// auto-batch request's call is made here with its fields set directly, without options.
func (p *Producer) initCall(c *call) error {
	msg, ctx := c.msg, c.ctx
	var err error
	if c.props, err = codec.CheckMessage(msg, p.cfg.maxMessageSize); err != nil {
		return err
	}
	if c.nilSelector {
		return errNil("WithSelector's selector")
	}
	if c.timeout <= 0 {
		return fmt.Errorf("%w: send timeout %v must be positive", codec.ErrValidation, c.timeout)
	}
	now := time.Now()
	c.start = now
	c.deadline = now.Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(c.deadline) {
		c.deadline = d
	}
	// The namespace is applied here, once, and only on the wire (routes, request headers): the
	// message, and so every hook and selector, keeps the topic as the user named it.
	msg.Topic = p.withoutNamespace(msg.Topic)
	c.topic = p.withNamespace(msg.Topic)
	if msg.UniqID() == "" && !c.batch { // a batch wrapper must carry none (see SendBatch)
		id := codec.NextUniqIDAt(now)
		msg.SetSystemProperty(message.PropertyUniqClientMessageIDKeyIdx, id)
		c.props.Added(message.PropertyUniqClientMessageIDKeyIdx, id)
	}
	if _, ok := msg.Properties[message.PropertyWaitStoreMsgOK]; !ok {
		msg.SetSystemProperty(message.PropertyWaitStoreMsgOK, "true") // as every Java Message carries it
		c.props.Added(message.PropertyWaitStoreMsgOK, "true")
	}
	c.hooks = p.pinHooks()
	if c.selector == nil && c.queue == nil && c.hooks.factory != nil && c.held == nil {
		c.selector = c.hooks.selectorFor(msg.Topic)
	}
	if c.selector != nil && c.queue == nil {
		c.retry = selectorRetry(c.selector)
	}
	c.maxAttempts = c.attempts()
	c.sc = SendContext{Context: ctx, Group: p.cfg.group, Namespace: p.cfg.namespace, Message: msg, Mode: c.mode,
		MessageType: messageType(msg, c.props, c.selector), Batch: c.batch}
	return nil
}

// attempts is how many attempts the send may make (docs/producer.md, "Retry rules"): Java's
// sendDefaultImpl for the default queue choice (1 + retries when sync); one for a selector or an
// explicit queue when sync (sendSelectImpl, send(msg, mq)) unless the selector opts in; 1 + async
// retries when async (onExceptionImpl, whatever chose the queue); one for oneway.
func (c *call) attempts() int {
	p := c.p
	switch {
	case c.mode == ModeOneway:
		return 1
	case c.mode == ModeAsync:
		return 1 + p.cfg.retryTimesAsync
	case c.queue != nil || (c.selector != nil && c.retry == RetryNever):
		return 1
	}
	return 1 + p.cfg.retryTimes
}

// failsOver reports whether a retry of this send goes to another broker when it can.
func (c *call) failsOver() bool {
	return c.queue == nil && (c.selector == nil || c.retry == RetryReselect)
}

// done ends the call's use of its hook set; every call that newCall returned ends with it once.
func (c *call) done() { c.hooks.unpin() }

// messageType is the message's type for the hooks; props describes m's properties: without
// special ones, none marks a transaction or a delay.
func messageType(m *message.Message, props codec.PropertiesInfo, sel QueueSelector) MessageType {
	switch {
	case props.Special && m.Property(message.PropertyTransactionPrepared) == "true":
		return TransMsgHalf
	case props.Special && (m.Property(message.PropertyDelayTimeLevel) != "" || m.Property(message.PropertyStartDeliverTime) != "" ||
		m.Property(message.PropertyTimerDeliverMS) != "" || m.Property(message.PropertyTimerDelaySec) != "" ||
		m.Property(message.PropertyTimerDelayMS) != ""):
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
	tp, err := c.prepareHooks()
	if err != nil {
		return nil, err
	}
	q, err := c.chooseQueue(tp)
	if err != nil {
		return nil, err
	}
	if c.batch && c.held == nil && c.mayBeEdited() {
		if err := c.spreadBatchProperties(); err != nil {
			return nil, err
		}
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
	sc := &c.sc
	sc.Queue, sc.BrokerAddr = q, c.addr
	sc.Queue.Topic = p.withoutNamespace(q.Topic)
	c.attemptDl = c.attemptDeadline(tp)
	p.announce(c.addr, c.attemptDl)
	if err := c.checkFeatures(); err != nil {
		return nil, err
	}
	return c.request(q)
}

// prepareHooks starts an attempt: budget, route, forbidden checks and Before hooks. An auto-batch
// request runs no hooks: its messages ran theirs when they were held.
func (c *call) prepareHooks() (*route.TopicPublishInfo, error) {
	p := c.p
	c.attempt++
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	remaining := time.Until(c.deadline)
	if remaining <= 0 {
		return nil, c.timeoutErr()
	}
	if err := p.running(); err != nil && c.held == nil {
		return nil, err
	}
	tp, err := c.publishInfo()
	if err != nil {
		return nil, err
	}
	if c.held != nil {
		return tp, nil
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
	return tp, nil
}

// publishInfo returns the topic's route: from the cache, or fetched within the send's budget.
func (c *call) publishInfo() (*route.TopicPublishInfo, error) {
	if tp := c.p.routes.Cached(c.topic); tp != nil {
		return tp, nil
	}
	rctx, cancel := context.WithDeadline(c.ctx, c.deadline)
	defer cancel()
	tp, err := c.p.routes.PublishInfo(rctx, c.topic)
	if err != nil {
		return nil, fromTransport(err)
	}
	return tp, nil
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
		if c.brokerQ.BrokerName != "" && c.retry != RetryReselect {
			return c.brokerQ, nil // RetrySameQueue, or an async transport retry: the queue chosen first
		}
		offered := queues
		if c.lastBroker != "" {
			// A failed broker's queues are dropped; offered only when no other broker has one.
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

// attemptDeadline is the deadline of the attempt about to be sent. An attempt that a retry on
// another broker may follow gets half of what is left of the budget, so that a broker that takes
// the connection and never answers (a stopped process, a full disk) costs the send half its
// budget, not all of it: the retry on the healthy broker still fits. The last attempt, an attempt
// that would be retried on the same queue, and a topic on one broker get all that is left, as in
// Java (where only sendMsgMaxTimeoutPerRequest, off by default, caps an attempt).
func (c *call) attemptDeadline(tp *route.TopicPublishInfo) time.Time {
	if c.attempt >= c.maxAttempts || !c.failsOver() || len(tp.Queues) == 0 ||
		tp.Queues[0].BrokerName == tp.Queues[len(tp.Queues)-1].BrokerName {
		return c.deadline
	}
	now := time.Now()
	return now.Add(c.deadline.Sub(now) / 2)
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
	props := m.Properties
	if c.batch {
		c.wireBody = m.Body // records already compressed by SendBatch; c.wireFlag says how
		if c.spreadBody != nil {
			c.wireBody, props = c.spreadBody, c.spreadProps
		}
	}
	sysFlag := c.wireFlag
	special := c.batch || c.props.Special // a batch's properties are the request's, not described
	if special && m.Property(message.PropertyTransactionPrepared) == "true" {
		sysFlag |= codec.SysFlagTransactionPrepared
	}
	// The first attempt's request lives in the call; a retry gets a fresh one, so a request an RPC
	// hook was shown is never rewritten under it.
	w := &c.wire
	if c.attempt > 1 {
		w = new(wireRequest)
	}
	// The properties are encoded straight into the frame (PropertiesMap): the request is written
	// before the attempt returns to the pipeline, while the hooks leave the message alone.
	w.header = codec.SendMessageRequestHeaderV2{
		ProducerGroup: p.group, Topic: c.topic, DefaultTopic: p.cfg.createTopicKey, UnitMode: p.cfg.unitMode,
		DefaultTopicQueueNums: int32(p.cfg.defaultTopicQueueNums), QueueID: int32(q.QueueID), SysFlag: sysFlag,
		BornTimestamp: time.Now().UnixMilli(), Flag: m.Flag, PropertiesMap: props,
		Batch: c.batch, BrokerName: q.BrokerName,
	}
	code := int32(codec.SendMessageV2)
	switch {
	case c.batch:
		code = codec.SendBatchMessage
	case special && m.Property(message.PropertyMessageType) == message.ReplyMessageFlag:
		code = codec.SendReplyMessageV2
	}
	w.cmd = codec.Command{Code: code, Language: codec.LanguageGo, Version: codec.DefaultVersion, Header: &w.header, Body: c.wireBody}
	return &w.cmd, nil
}

// wireRequest is one attempt's request and its header.
type wireRequest struct {
	cmd    codec.Command
	header codec.SendMessageRequestHeaderV2
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
	if c.held == nil { // an auto-batch's messages get their After hooks with the final outcome
		for _, h := range c.hooks.after {
			h.SendMessageAfter(sc)
		}
	}
	if c.brokerQ.BrokerName != "" {
		// Java's updateFaultItem: a failure isolates the broker (a timeout included, so that the
		// following sends avoid a hung broker); a connection never made marks it unreachable.
		isolate := err != nil && !errors.Is(err, context.Canceled)
		p.fault.UpdateFaultItem(c.brokerQ.BrokerName, latency, isolate, !errors.Is(err, ErrConnClosed) && !errors.Is(err, ErrConnect))
	}
	if err == nil {
		if res != nil && res.Status != message.SendOK && c.mode == ModeSync && p.cfg.retryAnotherBroker &&
			c.attempt < c.maxAttempts && c.failsOver() {
			c.lastBroker = c.brokerQ.BrokerName
			return true
		}
		return false
	}
	c.lastErr = err
	c.lastBroker = c.brokerQ.BrokerName
	if !c.retriable(err) || c.attempt >= c.maxAttempts || time.Until(c.deadline) <= 0 || c.ctx.Err() != nil {
		return false
	}
	if errors.Is(err, ErrConnClosed) || errors.Is(err, ErrConnect) || errors.Is(err, remote.ErrTimeout) || isBrokerError(err) {
		p.refreshSoon(c.topic) // see a dead or changed broker now, not at the next poll (#730)
	}
	return true
}

// retryUnsent decides about an attempt that failed before its request was sent (no route, no
// broker address yet): it is retried only after an earlier attempt failed too, while attempts
// remain, so a first lookup failure is reported at once.
func (c *call) retryUnsent(err error) bool {
	if c.lastErr == nil || !c.retriable(err) || c.attempt >= c.maxAttempts {
		return false
	}
	c.lastErr = err
	return true
}

// retriable is Java's rule for a failed attempt: a sync send retries transport failures and the
// broker codes of DefaultMQProducer.retryResponseCodes (sendDefaultImpl); an async send retries
// transport failures only and hands a broker's answer to the callback at once (sendMessageAsync,
// onExceptionImpl).
func (c *call) retriable(err error) bool {
	if isTransport(err) {
		return true
	}
	var be *BrokerError
	if c.mode != ModeSync || !errors.As(err, &be) {
		return false
	}
	ce := ErrorForCode(be.Code)
	return ce != nil && ce.Retriable
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
	if cerr := c.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", err, cerr) // the context ended the send: say so to errors.Is
	}
	err = fromTransport(err)
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
	res, err := c.runSync()
	p.reuseCall(c)
	return res, err
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
		resp, err := c.p.rc.Invoke(c.ctx, c.addr, req, c.attemptDl)
		err = fromTransport(err)
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
	req, err := c.prepareAttempt()
	if err != nil {
		err = c.finalErr(err)
		c.done()
		return err
	}
	c.sentAt = time.Now()
	err = fromTransport(c.p.rc.InvokeOneway(ctx, c.addr, req, c.deadline))
	c.finishAttempt(nil, err)
	c.done()
	p.reuseCall(c)
	return err
}

// topicOf returns the topic of msgs, or an error if they differ (batches are one topic).
func topicOf(msgs []*message.Message) (string, error) {
	if len(msgs) == 0 {
		return "", fmt.Errorf("%w: empty batch", codec.ErrValidation)
	}
	for i, m := range msgs {
		if m == nil {
			return "", fmt.Errorf("%w: batch message %d is nil", codec.ErrValidation, i)
		}
	}
	t := msgs[0].Topic
	for _, m := range msgs {
		if m.Topic != t {
			return "", fmt.Errorf("%w: batch mixes topics %q and %q", codec.ErrValidation, t, m.Topic)
		}
	}
	if strings.HasPrefix(t, "%RETRY%") {
		return "", fmt.Errorf("%w: batches cannot go to retry topic %q", codec.ErrValidation, t)
	}
	return t, nil
}
