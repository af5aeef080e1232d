package send

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// Auto-batching (Java 5.x's DefaultMQProducer.setAutoBatch and its ProduceAccumulator): async
// sends to the same queue within a short window travel as one SEND_BATCH_MESSAGE request, and
// each message still gets its own id, SendResult, hooks, callback and error. See docs/producer.md,
// "Auto-batching", for the rules and where they differ from Java's.

// Java's ProduceAccumulator defaults and bounds.
const (
	DefaultBatchMaxDelay      = 10 * time.Millisecond // Java's batchMaxDelayMs
	DefaultBatchMaxBytes      = 32 << 10              // Java's batchMaxBytes
	DefaultTotalBatchMaxBytes = 32 << 20              // Java's totalBatchMaxBytes
	maxBatchMaxDelay          = 30 * time.Second
	maxBatchMaxBytes          = 2 << 20
)

// autoBatchConfig holds the auto-batching options; it is embedded in config.
type autoBatchConfig struct {
	autoBatch          bool
	batchMaxDelay      time.Duration
	batchMaxBytes      int
	totalBatchMaxBytes int64
}

func defaultAutoBatchConfig() autoBatchConfig {
	return autoBatchConfig{batchMaxDelay: DefaultBatchMaxDelay, batchMaxBytes: DefaultBatchMaxBytes,
		totalBatchMaxBytes: DefaultTotalBatchMaxBytes}
}

// WithAutoBatch turns auto-batching of async sends on or off (Java's setAutoBatch; default off).
// With it on, SendAsync holds a message for up to WithBatchMaxDelay, and sends the messages held
// for one queue as one batch request once they reach WithBatchMaxBytes or the delay ends: the
// brokers store many messages per request, which costs them far less CPU per message. Sync and
// oneway sends are never held (a sync send waiting out the delay is what makes Java's sync sends
// 9x slower with autoBatch on), nor are delayed, transactional, reply and retry-topic messages.
func WithAutoBatch(on bool) Option { return func(c *config) { c.autoBatch = on } }

// WithBatchMaxDelay sets how long auto-batching holds the first message of a batch before the
// batch is sent (Java's batchMaxDelayMs): 1 ms to 30 s, default 10 ms.
func WithBatchMaxDelay(d time.Duration) Option { return func(c *config) { c.batchMaxDelay = d } }

// WithBatchMaxBytes sets the body bytes at which an auto-batch is sent without waiting out the
// delay (Java's batchMaxBytes): 1 B to 2 MiB, default 32 KiB. A batch never exceeds the maximum
// message size whatever this is.
func WithBatchMaxBytes(n int) Option { return func(c *config) { c.batchMaxBytes = n } }

// WithTotalBatchMaxBytes bounds the body bytes all auto-batches hold at once (Java's
// totalBatchMaxBytes), default 32 MiB: while the bound is reached, new async sends go out
// unbatched, as in Java, rather than wait.
func WithTotalBatchMaxBytes(n int64) Option { return func(c *config) { c.totalBatchMaxBytes = n } }

func (c *autoBatchConfig) validateAutoBatch() []error {
	var errs []error
	if c.batchMaxDelay < time.Millisecond || c.batchMaxDelay > maxBatchMaxDelay {
		errs = append(errs, fmt.Errorf("batch max delay %v must be between 1ms and 30s", c.batchMaxDelay))
	}
	if c.batchMaxBytes <= 0 || c.batchMaxBytes > maxBatchMaxBytes {
		errs = append(errs, fmt.Errorf("batch max bytes %d must be between 1 and %d", c.batchMaxBytes, maxBatchMaxBytes))
	}
	if c.totalBatchMaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("total batch max bytes %d must be positive", c.totalBatchMaxBytes))
	}
	return errs
}

// batchKey is what messages must share to travel in one batch: the topic, the queue when a
// selector or ToQueue chose it at send time (none: the batch's queue is chosen when it is sent,
// as for any send), WAIT, which the batch request carries for all of them, and whether the body
// would be compressed if sent alone (the compression flag is the request's, so a batch mixing the
// two would store some bodies otherwise than an unbatched send).
type batchKey struct {
	topic    string
	queue    message.MessageQueue
	wait     bool
	compress bool
}

// heldBatch is the batch being filled for one key, then the request that carries it. Once the
// request's outcome reached every member, the batch is reused (accumulator.spare) with its timer,
// slices, request message and body buffer: a batch of 33 messages allocates almost nothing.
type heldBatch struct {
	key      batchKey
	members  []*call
	body     int       // body bytes: the batchMaxBytes measure, as in Java
	encoded  int       // batch record bytes: kept within the maximum message size
	maxProps int       // the most property bytes of a member
	due      time.Time // when the delay ends
	timer    *time.Timer

	// the request, filled by send
	records []*message.Message
	wrapper message.Message // the request's message; its Properties hold WAIT alone
	buf     []byte          // the request's body
}

// accumulator holds auto-batches. Batches leave in the order they closed, through one flusher
// goroutine, so the batches of one key (one queue, for ordered sends) are written in order.
type accumulator struct {
	p    *Producer
	mu   sync.Mutex
	open map[batchKey]*heldBatch
	held int64 // body bytes of messages accepted and not yet sent
	// ready holds closed batches for the flusher, oldest first; wake has a token when it is not empty.
	ready   []*heldBatch
	wake    chan struct{}
	stopped bool
	done    chan struct{}

	spare sync.Pool // *heldBatch, sent and done with
	// keepBodies says a sent batch's body buffer may be reused: no RPC hook of the user's was
	// shown the request (such a hook might keep it; the transport copies the frame as it writes).
	keepBodies bool
}

func newAccumulator(p *Producer) *accumulator {
	a := &accumulator{p: p, open: map[batchKey]*heldBatch{}, wake: make(chan struct{}, 1), done: make(chan struct{}),
		keepBodies: len(p.cfg.rpcHooks) == 0}
	go a.flushLoop()
	return a
}

// batchable reports whether an async send may be held for a batch: what Java's canBatch allows,
// and no reply (a batch request cannot carry one).
func (c *call) batchable() bool {
	m := c.msg
	if c.batch || (c.sc.MessageType != NormalMsg && c.sc.MessageType != OrderMsg) || strings.HasPrefix(m.Topic, "%RETRY%") {
		return false
	}
	if !c.props.Special {
		return true // neither a producer group nor a reply
	}
	if _, ok := m.Properties[message.PropertyProducerGroup]; ok {
		return false
	}
	return m.Property(message.PropertyMessageType) != message.ReplyMessageFlag
}

// hold runs the message's own checks and Before hooks, then adds it to its batch. It reports false
// when the message must go out on its own (the bound on held bytes is reached), with nothing done.
func (a *accumulator) hold(c *call, onWorker bool) bool {
	size := int64(len(c.msg.Body))
	a.mu.Lock()
	if a.stopped || a.held >= a.p.cfg.totalBatchMaxBytes {
		a.mu.Unlock()
		return false
	}
	a.held += size
	a.mu.Unlock()

	q, err := c.prepareHeld()
	if err != nil {
		a.release(size)
		c.sentAt = time.Now()
		c.failHeld(err, onWorker)
		return true
	}
	t := a.p.cfg.compressThreshold
	key := batchKey{topic: c.topic, queue: q, wait: c.msg.WaitStoreMsgOK(), compress: t > 0 && len(c.msg.Body) >= t}
	rec := codec.BatchRecordSizeOf(len(c.msg.Body), c.props.Len) // the properties as the hooks left them
	a.mu.Lock()
	b := a.open[key]
	if b != nil && b.encoded+rec > a.p.cfg.maxMessageSize {
		a.closeLocked(b) // the message would not fit: the held ones go first
		b = nil
	}
	if b == nil {
		b = a.openLocked(key)
	}
	b.members = append(b.members, c)
	b.body += len(c.msg.Body)
	b.encoded += rec
	b.maxProps = max(b.maxProps, c.props.Len)
	if b.body > a.p.cfg.batchMaxBytes || a.stopped { // stopped: Shutdown flushed while we held it
		a.closeLocked(b)
	}
	a.mu.Unlock()
	return true
}

func (a *accumulator) release(size int64) {
	a.mu.Lock()
	a.held -= size
	a.mu.Unlock()
}

// openLocked starts a batch for key, reusing a done one when there is one.
func (a *accumulator) openLocked(key batchKey) *heldBatch {
	d := a.p.cfg.batchMaxDelay
	b, _ := a.spare.Get().(*heldBatch)
	if b == nil {
		b = &heldBatch{key: key, due: time.Now().Add(d)}
		b.timer = time.AfterFunc(d, func() { a.expire(b) })
	} else {
		b.key, b.due = key, time.Now().Add(d)
		b.timer.Reset(d)
	}
	a.open[key] = b
	return b
}

// expire closes b when its delay ends, unless it closed already. A firing left over from b's
// earlier use (it fired as that use's batch closed, and waited for the lock) comes before b's
// delay ends: it sets the timer for the rest of the delay again.
func (a *accumulator) expire(b *heldBatch) {
	a.mu.Lock()
	if a.open[b.key] == b {
		if wait := time.Until(b.due); wait > 0 {
			b.timer.Reset(wait)
		} else {
			a.closeLocked(b)
		}
	}
	a.mu.Unlock()
}

// recycle keeps a batch whose request's outcome reached every member, for openLocked.
func (a *accumulator) recycle(b *heldBatch) {
	clear(b.members)
	clear(b.records)
	b.members, b.records, b.body, b.encoded, b.maxProps = b.members[:0], b.records[:0], 0, 0, 0
	b.wrapper.Body = nil
	if !a.keepBodies {
		b.buf = nil
	}
	a.spare.Put(b)
}

// closeLocked moves b from the open batches to the flusher's queue.
func (a *accumulator) closeLocked(b *heldBatch) {
	delete(a.open, b.key)
	b.timer.Stop()
	a.ready = append(a.ready, b)
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// flushAll closes every open batch now (Shutdown) and stops holding new messages.
func (a *accumulator) flushAll() {
	a.mu.Lock()
	a.stopped = true
	for _, b := range a.open {
		a.closeLocked(b)
	}
	a.mu.Unlock()
}

// stop ends the flusher once every closed batch is sent; call it after flushAll.
func (a *accumulator) stop() {
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	<-a.done
}

func (a *accumulator) flushLoop() {
	defer close(a.done)
	for range a.wake {
		for {
			a.mu.Lock()
			if len(a.ready) == 0 {
				stopped := a.stopped && len(a.open) == 0
				a.mu.Unlock()
				if stopped {
					return
				}
				break
			}
			b := a.ready[0]
			a.ready[0] = nil
			a.ready = a.ready[1:]
			a.mu.Unlock()
			a.send(b)
		}
	}
}

// send sends one closed batch: members whose context ended or whose budget ran out while held fail
// on their own; the others go as one batch request, whose outcome each of them receives.
func (a *accumulator) send(b *heldBatch) {
	p := a.p
	now := time.Now()
	members := b.members[:0]
	deadline := time.Time{}
	var size int64
	for _, m := range b.members {
		size += int64(len(m.msg.Body))
		m.sentAt = now
		err := m.ctx.Err()
		if err == nil && !now.Before(m.deadline) {
			err = m.timeoutErr()
		}
		if err != nil {
			m.failOnWorker(err)
			continue
		}
		if deadline.IsZero() || m.deadline.Before(deadline) {
			deadline = m.deadline
		}
		members = append(members, m)
	}
	a.release(size)
	b.members = members
	if len(members) == 0 {
		a.recycle(b)
		return
	}
	fail := func(err error) {
		for _, m := range members {
			m.failOnWorker(err)
		}
		a.recycle(b)
	}
	for _, m := range members {
		b.records = append(b.records, m.msg)
	}
	enc, sysFlag := b.records, int32(0)
	if b.key.compress {
		var err error
		if enc, sysFlag, err = p.compressRecords(b.records); err != nil {
			fail(err)
			return
		}
	}
	// EncodeBatch without its sizing pass: the records' sizes are known (compressed ones are smaller).
	buf := slices.Grow(b.buf[:0], b.encoded)
	for _, r := range enc {
		buf = codec.AppendBatchRecord(buf, r)
	}
	b.buf = buf
	b.wrapper.Topic, b.wrapper.Body = members[0].msg.Topic, b.buf
	b.wrapper.SetWaitStoreMsgOK(b.key.wait)
	// The request runs no hooks of its own (each member ran its own and gets its own After hooks)
	// and takes no in-flight room (each member holds its own). Its context carries no member's
	// cancellation (each member's was checked above, and a request cannot be taken back from the
	// others); its budget is the earliest member's. Its SendResult's MsgID is never seen (each
	// member gets its own id), so the request carries no list of ids.
	w := &call{p: p, ctx: context.Background(), msg: &b.wrapper, mode: ModeAsync, timeout: p.cfg.sendTimeout,
		batch: true, batchRecords: enc, wireFlag: sysFlag, held: b}
	if b.key.queue.BrokerName != "" {
		w.queue = &b.key.queue // as ToQueue does
	}
	if err := p.initCall(w); err != nil {
		fail(err)
		return
	}
	w.deadline = deadline
	for _, m := range members {
		m.inBatch = true
	}
	p.asyncWG.Add(1)
	w.runAsync(false) // false: a failure before the request went out is delivered by a callback worker
}

// checkRecords is checkBatchRecords for the batch's records, whose property sizes are known: it
// walks them only to name the one over the limit.
func (b *heldBatch) checkRecords(records []*message.Message, wrapper map[string]string, t codec.StoreTarget) error {
	if b.maxProps+codec.StoredPropertiesSize(wrapper, codec.BrokerAddedProperties(map[string]string{}, t)) <= codec.MaxPropertiesLength {
		return nil
	}
	return checkBatchRecords(records, wrapper, t)
}

// prepareHeld is the part of an attempt a held message makes alone: route, forbidden checks,
// Before hooks, the queue when a selector or ToQueue chooses it, and the limits after the hooks.
// The zero queue means the batch's queue is chosen when it is sent.
func (c *call) prepareHeld() (message.MessageQueue, error) {
	c.beforeRan = false
	tp, err := c.prepareHooks()
	if err != nil {
		return message.MessageQueue{}, err
	}
	if c.queue == nil && c.selector == nil {
		// The batch's queue is chosen when it is sent; the limits depend on the cluster, not the
		// queue, so any queue of the route serves for them.
		var anyQ message.MessageQueue
		if len(tp.Queues) > 0 {
			anyQ = tp.Queues[0]
		}
		return message.MessageQueue{}, c.checkAfterHooks(tp, anyQ)
	}
	q, err := c.chooseQueue(tp)
	if err != nil {
		return q, err
	}
	c.brokerQ = q
	if err := c.checkAfterHooks(tp, q); err != nil {
		return message.MessageQueue{}, err
	}
	return q, nil
}

// failHeld ends a held message that never went out: its After hooks (when its Before hooks ran),
// then its callback.
func (c *call) failHeld(err error, onWorker bool) {
	c.finishHeld(nil, err, false)
	c.complete(nil, c.finalErr(err), onWorker)
}

// failOnWorker hands failHeld to a callback worker: the flusher runs neither After hooks nor
// callbacks, so a slow one never holds up the batches behind it.
func (c *call) failOnWorker(err error) {
	c.p.callbacks <- task{c: c, kind: taskFailHeld, err: err}
}

// finishHeld runs a held message's After hooks with its outcome: always once its batch's request
// went out (sent), as an unbatched send's run for every attempt sent; otherwise when its Before
// hooks ran, so that what they opened is closed, as prepareAttempt does.
func (c *call) finishHeld(res *message.SendResult, err error, sent bool) {
	if len(c.hooks.after) == 0 || (!sent && !c.beforeRan) {
		return
	}
	sc := &c.sc
	sc.Latency, sc.Result, sc.Err = time.Since(c.sentAt), res, err
	for _, h := range c.hooks.after {
		h.SendMessageAfter(sc)
	}
}

// fanOut is an auto-batch request's callback (on a callback worker): it gives each member its own
// result (its id, its offset id, the batch's offset plus its index) or the batch's error.
func (w *call) fanOut(res *message.SendResult, err error) {
	// The members' room and drain count are freed together after their callbacks: one wake-up of
	// a sender waiting for room per batch, not one per message.
	members := w.held.members
	var size int64
	for _, m := range members {
		size += m.size
	}
	defer w.p.asyncWG.Add(-len(members))
	defer w.p.inflight.release(len(members), size)
	var offIDs []string
	var results []message.SendResult // one allocation for the batch: each member gets its own element
	if res != nil {
		offIDs = codec.SplitMsgIDs(res.OffsetMsgID)
		results = make([]message.SendResult, len(members))
	}
	sent := !w.sentAt.IsZero() // an attempt of the request went out (runAsync)
	for i, m := range members {
		m.attempt, m.brokerQ, m.addr = w.attempt, w.brokerQ, w.addr
		m.sc.Attempt, m.sc.Queue, m.sc.BrokerAddr = w.attempt, w.sc.Queue, w.addr
		if err != nil {
			m.finishHeld(nil, err, sent)
			m.complete(nil, err, true)
			continue
		}
		r := &results[i]
		*r = *res
		r.MsgID, r.QueueOffset, r.Queue.Topic = m.msg.UniqID(), res.QueueOffset+int64(i), m.msg.Topic
		if len(offIDs) == len(members) {
			r.OffsetMsgID = offIDs[i]
		}
		m.finishHeld(r, nil, sent)
		m.complete(r, nil, true)
	}
	a := w.p.acc
	for _, m := range members {
		w.p.reuseCall(m)
	}
	a.recycle(w.held)
}

// allocCall returns a zeroed call, one a finished send gave back when there is one.
func (p *Producer) allocCall() *call {
	if c, _ := p.calls.Get().(*call); c != nil {
		return c
	}
	return new(call)
}

// reuseCall keeps the call of a finished send for the next one, unless something outside the
// send may still hold a part of it: a send hook was shown its SendContext, a selector its queue
// list, or an RPC hook its request (all of which they may keep). Nothing else refers to a finished
// call: a held message never reaches the transport, and the transport copies a request's frame
// into the connection's queue before it registers the request, so it reads nothing of the call
// once the request can complete; what may still fire for a completed request (its deadline, a
// cancelled context) names the call's remote.Pending by an opaque that no longer maps to it. The
// callers make sure the send's outcome was delivered and its hook set unpinned: Send and
// SendOneway once the transport returned, an async send once its callback returned, a held
// message once its batch's fan-out called it back.
func (p *Producer) reuseCall(c *call) {
	if hs := c.hooks; len(hs.forbidden) > 0 || len(hs.before) > 0 || len(hs.after) > 0 ||
		c.selector != nil || len(p.cfg.rpcHooks) > 0 {
		return
	}
	*c = call{}
	p.calls.Put(c)
}
