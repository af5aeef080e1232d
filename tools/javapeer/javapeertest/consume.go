package javapeertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Message is one message as the Java push consumer hands it to its
// listener (org.apache.rocketmq.common.message.MessageExt, decoded by the
// client: body decompressed, UNIQ_KEY as MsgID).
//
// Properties holds every property the listener sees. Besides what the
// producer set, that includes what the broker adds on store (CLUSTER,
// MSG_REGION, TRACE_ON) and what the Java consumer itself adds after
// pulling (MIN_OFFSET, MAX_OFFSET, CONSUME_START_TIME); compare with that
// in mind.
type Message struct {
	Topic      string            `json:"topic"`
	Tags       string            `json:"tags"`
	Keys       string            `json:"keys"`
	Properties map[string]string `json:"properties"`
	Body       []byte            `json:"bodyBase64"`
	// MsgID is the client message id (UNIQ_KEY), or OffsetMsgID when absent.
	MsgID                     string `json:"msgId"`
	OffsetMsgID               string `json:"offsetMsgId"`
	QueueID                   int    `json:"queueId"`
	BrokerName                string `json:"brokerName"`
	QueueOffset               int64  `json:"queueOffset"`
	SysFlag                   int32  `json:"sysFlag"`
	Flag                      int32  `json:"flag"`
	BornTimestamp             int64  `json:"bornTimestamp"`
	StoreTimestamp            int64  `json:"storeTimestamp"`
	BornHost                  string `json:"bornHost"` // "ip:port"
	StoreHost                 string `json:"storeHost"`
	ReconsumeTimes            int32  `json:"reconsumeTimes"`
	CommitLogOffset           int64  `json:"commitLogOffset"`
	PreparedTransactionOffset int64  `json:"preparedTransactionOffset"`
	StoreSize                 int32  `json:"storeSize"`
	BodyCRC                   int32  `json:"bodyCRC"`
	TransactionID             string `json:"transactionId"`
}

func (m Message) String() string {
	body := m.Body
	if len(body) > 32 {
		body = body[:32]
	}
	return fmt.Sprintf("%s/%s/%d@%d id=%s tags=%q keys=%q body=%q(%d B)",
		m.Topic, m.BrokerName, m.QueueID, m.QueueOffset, m.MsgID, m.Tags, m.Keys, body, len(m.Body))
}

// ConsumeOption configures Consume and Reply.
type ConsumeOption func(*consumeConfig)

type consumeConfig struct {
	group        string
	expr         string
	count        int
	orderly      bool
	timeout      time.Duration
	readyTimeout time.Duration
}

// WithGroup sets the consumer group (default: a fresh one per JVM, so the
// consumer reads the topic from its first message).
func WithGroup(group string) ConsumeOption { return func(c *consumeConfig) { c.group = group } }

// WithExpr sets the subscription's tag expression (default "*").
func WithExpr(expr string) ConsumeOption { return func(c *consumeConfig) { c.expr = expr } }

// WithCount makes the JVM report exactly n messages and exit (default:
// report everything until Close or the timeout).
func WithCount(n int) ConsumeOption { return func(c *consumeConfig) { c.count = n } }

// Orderly uses MessageListenerOrderly (queue locks, one queue at a time)
// instead of MessageListenerConcurrently.
func Orderly() ConsumeOption { return func(c *consumeConfig) { c.orderly = true } }

// WithTimeout bounds the JVM's life (default 10 min); it then reports a
// timeout and exits by itself.
func WithTimeout(d time.Duration) ConsumeOption { return func(c *consumeConfig) { c.timeout = d } }

// WithReadyTimeout bounds the wait for "ready" (default 90 s).
func WithReadyTimeout(d time.Duration) ConsumeOption {
	return func(c *consumeConfig) { c.readyTimeout = d }
}

// ReadyInfo is what the JVM reported when it became ready.
type ReadyInfo struct {
	Group           string `json:"group"`
	ClientID        string `json:"clientId"`
	Queues          int    `json:"queues"`          // queues of the topic owned by the consumer
	ReadyMs         int64  `json:"readyMs"`         // consumer.start() -> ready, in the JVM
	SinceJVMStartMs int64  `json:"sinceJvmStartMs"` // JVM start -> ready, in the JVM
	ClientVersion   string `json:"clientVersion"`   // e.g. "V5_3_3"
	// Elapsed is process start -> ready line, measured by this package.
	Elapsed time.Duration `json:"-"`
}

// Consumer is a running Java push consumer (javapeer consume).
type Consumer struct {
	events
	got int
}

// events is what every Java-side process of this package shares: its output, read as JSON event
// lines, and the ready report it started with.
type events struct {
	t     testing.TB
	p     *proc
	ready ReadyInfo
	ended bool // a timeout event or EOF was seen
}

// nextEvent reads event lines until take accepts one, the Java side reports its timeout or ends,
// or timeout passes; it reports whether a line was taken.
func (e *events) nextEvent(timeout time.Duration, take func(event string, line []byte) bool) bool {
	deadline := time.Now().Add(timeout)
	for !e.ended {
		line, ok := e.p.next(deadline)
		if !ok {
			if e.p.ended() {
				e.ended = true
			}
			return false
		}
		if ev := eventOf(line); ev == "timeout" {
			e.ended = true
		} else if take(ev, line) {
			return true
		}
	}
	return false
}

// Consume starts a Java DefaultMQPushConsumer on topic in a fresh group
// (CONSUME_FROM_FIRST_OFFSET) and returns once it is ready: started, and its
// rebalance owns every readable queue of the topic (for Orderly: and holds
// their broker locks), so pulls are under way on all of them. Messages sent
// before that are delivered too (the group starts at the first offset).
// The JVM is stopped by Close or the test's cleanup.
func Consume(t testing.TB, namesrv, topic string, opts ...ConsumeOption) *Consumer {
	t.Helper()
	p, ready := startConsumer(t, "consume", namesrv, topic, opts)
	return &Consumer{events: events{t: t, p: p, ready: ready}}
}

func startConsumer(t testing.TB, cmd, namesrv, topic string, opts []ConsumeOption) (*proc, ReadyInfo) {
	t.Helper()
	cfg := consumeConfig{expr: "*", timeout: defaultLife, readyTimeout: defaultReady}
	for _, o := range opts {
		o(&cfg)
	}
	args := []string{cmd, "--namesrv", namesrv}
	args = append(args, strArg("topic", topic)...)
	args = append(args, strArg("expr", cfg.expr)...)
	if cfg.group != "" {
		args = append(args, strArg("group", cfg.group)...)
	}
	if cfg.count > 0 {
		args = append(args, "--count", strconv.Itoa(cfg.count))
	}
	if cfg.orderly {
		args = append(args, "--orderly")
	}
	args = append(args, "--timeout-ms", ms(cfg.timeout))
	p := launch(t, args...)
	deadline := time.Now().Add(cfg.readyTimeout)
	for {
		line, ok := p.next(deadline)
		if !ok {
			if !p.ended() {
				p.close()
			}
			t.Fatalf("javapeertest: %s on %s: no ready line within %v (%s); stderr:\n%s",
				cmd, topic, cfg.readyTimeout, p.describe(), p.stderr.String())
		}
		ev := eventOf(line)
		switch ev {
		case "ready":
			var r ReadyInfo
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("javapeertest: bad ready line %q: %v", line, err)
			}
			r.Elapsed = time.Since(p.started)
			return p, r
		case "timeout":
			p.close()
			t.Fatalf("javapeertest: %s on %s: the consumer never became ready within its timeout (%s): %s; stderr:\n%s",
				cmd, topic, p.describe(), line, p.stderr.String())
		default:
			t.Fatalf("javapeertest: %s on %s: unexpected line before ready: %.300s", cmd, topic, line)
		}
	}
}

// eventOf returns the "event" of a line ("" for a message line): javapeer
// always writes "event" first.
func eventOf(line []byte) string {
	const prefix = `{"event":"`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return ""
	}
	rest := line[len(prefix):]
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		return string(rest[:i])
	}
	return ""
}

// Ready returns what the consumer reported when it became ready.
func (c *Consumer) Ready() ReadyInfo { return c.ready }

// Group returns the consumer group the JVM uses.
func (c *Consumer) Group() string { return c.ready.Group }

// Next returns the next message, waiting at most timeout; ok is false on
// timeout or when the JVM has ended (WithCount reached, its own timeout, or
// Close). It must be called from one goroutine at a time.
func (c *Consumer) Next(timeout time.Duration) (m Message, ok bool) {
	c.t.Helper()
	ok = c.nextEvent(timeout, func(ev string, line []byte) bool {
		if ev != "" {
			return false
		}
		if err := json.Unmarshal(line, &m); err != nil {
			c.t.Fatalf("javapeertest: bad message line %.300q: %v", line, err)
		}
		c.got++
		return true
	})
	return m, ok
}

// Collect returns the next n messages, waiting at most timeout in total; if
// fewer arrive it fails the test (t.Fatalf: call it from the test goroutine)
// listing what did arrive.
func (c *Consumer) Collect(n int, timeout time.Duration) []Message {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	out := make([]Message, 0, n)
	for len(out) < n {
		m, ok := c.Next(time.Until(deadline))
		if !ok {
			c.t.Fatalf("javapeertest: Collect(%d, %v): only %d message(s) arrived (%s):\n%s\nstderr (tail):\n%s",
				n, timeout, len(out), c.p.describe(), listMessages(out), c.p.stderr.String())
		}
		out = append(out, m)
	}
	return out
}

func listMessages(ms []Message) string {
	var b strings.Builder
	for i, m := range ms {
		if i == 30 {
			fmt.Fprintf(&b, "  ... %d more\n", len(ms)-i)
			break
		}
		fmt.Fprintf(&b, "  %s\n", m)
	}
	if len(ms) == 0 {
		b.WriteString("  (none)\n")
	}
	return b.String()
}

// PeakRSSKiB returns the JVM's peak resident set size so far (Linux; 0
// elsewhere or once it has exited).
func (c *Consumer) PeakRSSKiB() int64 { return c.p.peakRSSKiB() }

// Stderr returns (the head and tail of) the JVM's stderr so far.
func (c *Consumer) Stderr() string { return c.p.stderr.String() }

// Close stops the JVM (SIGTERM, so the client unregisters; SIGKILL after
// 10 s). The test's cleanup calls it too.
func (c *Consumer) Close() { c.p.close() }

// ReplyEvent is one request handled by the Java responder (javapeer reply).
type ReplyEvent struct {
	// Replied is true when the reply was sent; false when creating or
	// sending it failed (Error says why).
	Replied bool `json:"-"`
	// Request is the request message as the responder's listener saw it.
	Request            Message           `json:"request"`
	ReplyTopic         string            `json:"replyTopic"` // <CLUSTER>_REPLY_TOPIC
	CorrelationID      string            `json:"correlationId"`
	ReplyToClient      string            `json:"replyToClient"`
	MsgType            string            `json:"msgType"` // "reply"
	ReplyProperties    map[string]string `json:"replyProperties"`
	ReplyBody          []byte            `json:"replyBodyBase64"` // "reply:" + request body
	Status             string            `json:"status"`          // SendStatus of the reply
	ReplyMsgID         string            `json:"replyMsgId"`
	SendMs             float64           `json:"sendMs"`
	Error              string            `json:"error"`
	ExpectedReplyTopic string            `json:"expectedReplyTopic"` // on failure
}

// Responder is a running Java request-reply responder (javapeer reply): a
// push consumer on the request topic that answers each request with
// MessageUtil.createReplyMessage(request, "reply:"+body), sent by a
// DefaultMQProducer.
type Responder struct{ events }

// Reply starts the Java responder on topic and returns once its consumer is
// ready (see Consume for what that means and for the options).
func Reply(t testing.TB, namesrv, topic string, opts ...ConsumeOption) *Responder {
	t.Helper()
	p, ready := startConsumer(t, "reply", namesrv, topic, opts)
	return &Responder{events{t: t, p: p, ready: ready}}
}

// Ready returns what the responder's consumer reported when it became ready.
func (r *Responder) Ready() ReadyInfo { return r.ready }

// Next returns the next handled request, waiting at most timeout.
func (r *Responder) Next(timeout time.Duration) (ev ReplyEvent, ok bool) {
	r.t.Helper()
	ok = r.nextEvent(timeout, func(e string, line []byte) bool {
		if e != "replied" && e != "replyFailed" {
			return false
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			r.t.Fatalf("javapeertest: bad reply line %.300q: %v", line, err)
		}
		ev.Replied = e == "replied"
		return true
	})
	return ev, ok
}

// Collect returns the next n handled requests within timeout, failing the
// test when fewer arrive.
func (r *Responder) Collect(n int, timeout time.Duration) []ReplyEvent {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	out := make([]ReplyEvent, 0, n)
	for len(out) < n {
		ev, ok := r.Next(time.Until(deadline))
		if !ok {
			var reqs []Message
			for _, e := range out {
				reqs = append(reqs, e.Request)
			}
			r.t.Fatalf("javapeertest: Responder.Collect(%d, %v): only %d request(s) handled (%s):\n%s\nstderr (tail):\n%s",
				n, timeout, len(out), r.p.describe(), listMessages(reqs), r.p.stderr.String())
		}
		out = append(out, ev)
	}
	return out
}

// Stderr returns (the head and tail of) the JVM's stderr so far.
func (r *Responder) Stderr() string { return r.p.stderr.String() }

// Close stops the responder's JVM; the test's cleanup calls it too.
func (r *Responder) Close() { r.p.close() }
