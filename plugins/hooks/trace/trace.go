// Package trace is RocketMQ's own message trace for rocketsend producers: a native hook that
// records every acknowledged send attempt (and every END_TRANSACTION) as a trace record in exactly
// the format the Java client's TraceDataEncoder writes, and publishes the records in batches to
// the broker's trace topic (RMQ_SYS_TRACE_TOPIC, or one you choose), where the RocketMQ dashboard,
// mqadmin queryMsgTraceById and any Java trace reader find them.
//
// Recording never blocks a send: the hook copies a small record into a bounded buffer and
// returns; a background goroutine batches the buffer into trace messages and sends them through a
// Sender, normally a second *send.Producer dedicated to traces (Java also uses a separate trace
// producer). When the buffer is full, records are dropped and counted (Stats.Dropped).
//
//	tp, _ := send.New(send.WithNameServers(ns), send.WithGroup("_INNER_TRACE_PRODUCER-app"))
//	_ = tp.Start(ctx)
//	tr, _ := trace.New(tp)
//	p, _ := send.New(send.WithNameServers(ns), send.WithGroup("app"), send.WithHooks(tr))
//	_ = p.Start(ctx)
//	...
//	_ = p.Shutdown(ctx)
//	_ = tr.Close(ctx) // flushes what is buffered
//	_ = tp.Shutdown(ctx)
//
// What is recorded follows Java's SendMessageTraceHookImpl: one Pub record per attempt that got
// a broker answer and whose broker has tracing on (the TRACE_ON field of the answer); attempts
// that failed, and oneway sends (no answer), are not traced. The record's timestamp is the start
// of the attempt, its cost the attempt's latency in milliseconds, its body length the length of
// the body the hooks left (before compression; Java records the compressed length).
package trace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// Sender sends the trace messages; *send.Producer implements it. SendAsync must not call cb when
// it returns an error, and must call it exactly once otherwise.
type Sender interface {
	SendAsync(ctx context.Context, msg *message.Message, cb func(*message.SendResult, error), opts ...send.CallOption) error
}

// Stats counts what a Tracer did with the records it was given. Every record offered ends in
// exactly one of Dropped, Sent or Failed once Close has returned.
type Stats struct {
	// Recorded counts records accepted into the buffer.
	Recorded uint64
	// Dropped counts records thrown away because the buffer was full or the Tracer closed.
	Dropped uint64
	// Sent counts records in trace messages the broker acknowledged.
	Sent uint64
	// Failed counts records in trace messages that could not be sent.
	Failed uint64
	// Messages counts trace messages acknowledged by the broker.
	Messages uint64
}

// Tracer is the trace hook: a send.SendMessageAfterHook and send.EndTransactionHook. Create it
// with New, register it with send.WithHooks, and Close it after the producer it traces has shut
// down. Its methods are safe for concurrent use.
type Tracer struct {
	cfg    config
	sender Sender

	buf      chan record
	quit     chan struct{}
	done     chan struct{}
	closed   atomic.Bool
	offering atomic.Int64
	once     sync.Once

	slots    chan struct{} // one per trace message in flight
	inflight sync.WaitGroup

	recorded, dropped, sent, failed, messages atomic.Uint64
}

// New returns a Tracer that sends its records through s, and starts its background sender. It
// reports every invalid option at once.
func New(s Sender, opts ...Option) (*Tracer, error) {
	if s == nil {
		return nil, errors.New("trace: nil Sender")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Tracer{
		cfg: cfg, sender: s,
		buf:   make(chan record, cfg.bufferSize),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		slots: make(chan struct{}, cfg.maxInFlight),
	}
	go t.run()
	return t, nil
}

// Topic returns the topic the records go to.
func (t *Tracer) Topic() string { return t.cfg.topic }

// SendMessageAfter records an acknowledged send attempt. It never blocks: it runs on the
// connection's reader goroutine for async sends.
func (t *Tracer) SendMessageAfter(sc *send.SendContext) {
	res := sc.Result
	if res == nil || !res.TraceOn || sc.Message == nil {
		return // failed attempts and oneway sends have no result; the broker may turn tracing off
	}
	topic := sc.Queue.Topic // without the namespace, as Java records it
	if topic == "" {
		topic = sc.Message.Topic
	}
	if strings.HasPrefix(topic, t.cfg.topic) {
		return
	}
	now := time.Now()
	msgType := sc.MessageType
	if msgType == send.OrderMsg {
		// Java's producer never records Order_Msg (its sendKernelImpl sets only Trans_Msg_Half and
		// Delay_Msg), and the 4.x trace decoders have no such type: they fail on the whole trace
		// message. An ordered send is traced as a normal one, as Java traces it.
		msgType = send.NormalMsg
	}
	t.offer(record{
		kind:        kindPub,
		timestampMs: now.Add(-sc.Latency).UnixMilli(),
		costMs:      sc.Latency.Milliseconds(),
		bodyLen:     len(sc.Message.Body),
		msgType:     msgType,
		success:     res.Status == message.SendOK,
		region:      res.RegionID,
		group:       sc.Group,
		topic:       topic,
		msgID:       res.MsgID,
		offsetMsgID: res.OffsetMsgID,
		tags:        sc.Message.Tags(),
		keys:        sc.Message.Property(message.PropertyKeys),
		storeHost:   sc.BrokerAddr,
	})
}

// EndTransaction records an END_TRANSACTION (commit, rollback or unknown, decided by the producer
// or in answer to a broker check-back), as Java's EndTransactionTraceHookImpl does.
func (t *Tracer) EndTransaction(ec *send.EndTransactionContext) {
	if ec == nil || ec.Message == nil || strings.HasPrefix(ec.Message.Topic, t.cfg.topic) {
		return
	}
	topic := ec.Message.Topic // without the namespace, as Java records it: the producer strips it
	region := ec.Message.Property(message.PropertyMsgRegion)
	if region == "" {
		region = "DefaultRegion" // Java: MixAll.DEFAULT_TRACE_REGION_ID
	}
	t.offer(record{
		kind:        kindEndTransaction,
		timestampMs: time.Now().UnixMilli(),
		region:      region,
		group:       ec.Group,
		topic:       topic,
		msgID:       ec.MsgID,
		tags:        ec.Message.Tags(),
		keys:        ec.Message.Property(message.PropertyKeys),
		storeHost:   ec.BrokerAddr,
		txID:        ec.TransactionID,
		txState:     ec.State,
		fromCheck:   ec.FromCheck,
	})
}

// offer puts r in the buffer or drops it. offering counts the offers under way, so that Close
// can wait for them before the last drain and no record is left behind uncounted.
func (t *Tracer) offer(r record) {
	t.offering.Add(1)
	defer t.offering.Add(-1)
	if t.closed.Load() {
		t.dropped.Add(1)
		return
	}
	select {
	case t.buf <- r:
		t.recorded.Add(1)
	default:
		t.dropped.Add(1)
	}
}

// Stats returns the counters so far.
func (t *Tracer) Stats() Stats {
	return Stats{Recorded: t.recorded.Load(), Dropped: t.dropped.Load(), Sent: t.sent.Load(),
		Failed: t.failed.Load(), Messages: t.messages.Load()}
}

// Close stops recording, sends what is buffered and waits for the trace messages in flight, or
// until ctx is done. Records offered after Close began are dropped (and counted). Close the
// Tracer after the producer it traces has shut down, and before the Sender does. Calling Close
// again waits again.
func (t *Tracer) Close(ctx context.Context) error {
	t.once.Do(func() {
		t.closed.Store(true)
		// Offers never block, so the ones that passed the closed check end within microseconds.
		for t.offering.Load() != 0 {
			time.Sleep(10 * time.Microsecond)
		}
		close(t.quit)
	})
	select {
	case <-t.done:
	case <-ctx.Done():
		return fmt.Errorf("trace: close: %w (buffered records still being sent)", ctx.Err())
	}
	idle := make(chan struct{})
	go func() { t.inflight.Wait(); close(idle) }()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("trace: close: %w (trace messages still in flight)", ctx.Err())
	}
}

// run is the background sender: it batches buffered records and sends them.
func (t *Tracer) run() {
	defer close(t.done)
	batch := make([]record, 0, t.cfg.batchSize)
	enc := &encoder{}
	tick := time.NewTicker(t.cfg.flushInterval)
	defer tick.Stop()
	for {
		select {
		case r := <-t.buf:
			batch = append(batch, r)
			if len(batch) >= t.cfg.batchSize {
				t.flush(enc, batch)
				batch = batch[:0]
			}
		case <-tick.C:
			if len(batch) > 0 {
				t.flush(enc, batch)
				batch = batch[:0]
			}
		case <-t.quit:
			for {
				select {
				case r := <-t.buf:
					batch = append(batch, r)
					if len(batch) >= t.cfg.batchSize {
						t.flush(enc, batch)
						batch = batch[:0]
					}
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				t.flush(enc, batch)
			}
			return
		}
	}
}
