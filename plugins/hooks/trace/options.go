package trace

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults, chosen after the Java client's AsyncTraceDispatcher where it has one.
const (
	// DefaultTopic is the broker's trace topic (TopicValidator.RMQ_SYS_TRACE_TOPIC); a broker
	// creates it when started with traceTopicEnable=true.
	DefaultTopic = "RMQ_SYS_TRACE_TOPIC"
	// DefaultBufferSize is how many records wait for the background sender before new ones are
	// dropped (Java: a 2048-slot ArrayBlockingQueue).
	DefaultBufferSize = 2048
	// DefaultBatchSize is how many records are sent together (Java's traceMsgBatchNum default).
	DefaultBatchSize = 10
	// DefaultFlushInterval bounds how long a record waits for its batch to fill. Java waits 5 s;
	// one second keeps traces close to real time at the cost of smaller batches when idle.
	DefaultFlushInterval = time.Second
	// DefaultMaxMessageSize bounds one trace message's body (Java: 128000 bytes).
	DefaultMaxMessageSize = 128000
	// DefaultMaxInFlight bounds trace messages sent but not yet answered; when it is reached the
	// background sender waits and the buffer absorbs (then drops) new records.
	DefaultMaxInFlight = 16
	// DefaultSendTimeout is the budget of one trace message (Java: 5 s).
	DefaultSendTimeout = 5 * time.Second
)

// Option configures a Tracer.
type Option func(*config)

type config struct {
	topic         string
	bufferSize    int
	batchSize     int
	flushInterval time.Duration
	maxMsgSize    int
	maxInFlight   int
	sendTimeout   time.Duration
	logger        *slog.Logger
}

func defaultConfig() config {
	return config{
		topic: DefaultTopic, bufferSize: DefaultBufferSize, batchSize: DefaultBatchSize,
		flushInterval: DefaultFlushInterval, maxMsgSize: DefaultMaxMessageSize,
		maxInFlight: DefaultMaxInFlight, sendTimeout: DefaultSendTimeout,
		logger: slog.New(slog.DiscardHandler),
	}
}

// WithTopic sends trace records to topic instead of RMQ_SYS_TRACE_TOPIC (Java's
// customizedTraceTopic). Sends to topics that start with it are never traced, as in Java, so the
// trace messages themselves are not traced when they go through a traced producer.
func WithTopic(topic string) Option { return func(c *config) { c.topic = topic } }

// WithBufferSize bounds the records waiting for the background sender; beyond it records are
// dropped and counted (Stats.Dropped), so a slow or unreachable trace topic never slows a send.
func WithBufferSize(n int) Option { return func(c *config) { c.bufferSize = n } }

// WithBatchSize sets how many records one flush sends (grouped into one message per traced topic,
// as Java does).
func WithBatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// WithFlushInterval bounds how long a record waits for its batch to fill.
func WithFlushInterval(d time.Duration) Option { return func(c *config) { c.flushInterval = d } }

// WithMaxMessageSize bounds the body of one trace message; a batch that would exceed it is split.
func WithMaxMessageSize(n int) Option { return func(c *config) { c.maxMsgSize = n } }

// WithMaxInFlight bounds the trace messages sent and not yet answered.
func WithMaxInFlight(n int) Option { return func(c *config) { c.maxInFlight = n } }

// WithSendTimeout sets the budget of one trace message.
func WithSendTimeout(d time.Duration) Option { return func(c *config) { c.sendTimeout = d } }

// WithLogger logs failed trace sends (at Warn, at most one line per flush) to l; the default
// discards them: Stats counts them either way.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

func (c *config) validate() error {
	var errs []error
	if c.topic == "" {
		errs = append(errs, errors.New("trace: empty trace topic"))
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"buffer size", c.bufferSize}, {"batch size", c.batchSize}, {"max message size", c.maxMsgSize}, {"max in flight", c.maxInFlight}} {
		if v.n <= 0 {
			errs = append(errs, fmt.Errorf("trace: %s must be positive, got %d", v.name, v.n))
		}
	}
	if c.flushInterval <= 0 {
		errs = append(errs, fmt.Errorf("trace: flush interval must be positive, got %v", c.flushInterval))
	}
	if c.sendTimeout <= 0 {
		errs = append(errs, fmt.Errorf("trace: send timeout must be positive, got %v", c.sendTimeout))
	}
	if c.logger == nil {
		errs = append(errs, errors.New("trace: nil logger"))
	}
	return errors.Join(errs...)
}
