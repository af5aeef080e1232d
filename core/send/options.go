package send

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
)

// Defaults, Java's DefaultMQProducer values unless noted.
const (
	DefaultSendTimeout          = 3 * time.Second
	DefaultRetryTimes           = 2 // sync: 1 + 2 attempts
	DefaultRetryTimesAsync      = 2
	DefaultHeartbeatInterval    = 30 * time.Second
	DefaultPollNameServer       = 30 * time.Second
	DefaultTopicQueueNums       = 4
	DefaultMaxInFlightMessages  = 10000     // Java's backpressure default
	DefaultMaxInFlightBytes     = 100 << 20 // Java's backpressure default
	DefaultShutdownDrainTimeout = 3 * time.Second
	DefaultGroup                = "DEFAULT_PRODUCER" // Java's default group name; New refuses it: set WithGroup
	// DefaultTopicKey is the topic brokers that auto-create topics publish; CreateTopic takes it
	// as the key that says which brokers get a new topic.
	DefaultTopicKey = "TBW102"
)

type config struct {
	group                 string
	nameServers           []string
	instanceName          string
	unitName              string
	namespace             string
	sendTimeout           time.Duration
	retryTimes            int
	retryTimesAsync       int
	retryAnotherBroker    bool
	compressThreshold     int
	compressType          codec.CompressionType
	compressLevel         int
	maxMessageSize        int
	defaultTopicQueueNums int
	heartbeatInterval     time.Duration
	pollNameServer        time.Duration
	vipChannel            bool
	faultTolerance        bool
	maxInFlightMessages   int
	maxInFlightBytes      int64
	blockWhenFull         bool
	callbackWorkers       int
	hooks                 []Hook
	selectorFactory       SelectorFactory
	rpcHooks              []remote.RPCHook
	tlsConfig             *tls.Config
	serialize             codec.SerializeType
	logger                *slog.Logger
	credentials           *Credentials
	checker               TransactionChecker
	remoteOptions         []remote.Option
	javaConfig
	autoBatchConfig
	optErrs []error // options given a nil they cannot use
}

func defaultConfig() config {
	return config{
		group:                 DefaultGroup,
		sendTimeout:           DefaultSendTimeout,
		retryTimes:            DefaultRetryTimes,
		retryTimesAsync:       DefaultRetryTimesAsync,
		compressThreshold:     codec.DefaultCompressThreshold,
		compressType:          codec.DefaultCompressionType,
		compressLevel:         codec.DefaultCompressLevel,
		maxMessageSize:        codec.DefaultMaxMessageSize,
		defaultTopicQueueNums: DefaultTopicQueueNums,
		heartbeatInterval:     DefaultHeartbeatInterval,
		pollNameServer:        DefaultPollNameServer,
		maxInFlightMessages:   DefaultMaxInFlightMessages,
		maxInFlightBytes:      DefaultMaxInFlightBytes,
		blockWhenFull:         true,
		callbackWorkers:       4,
		serialize:             codec.SerializeRocketMQ,
		logger:                slog.New(slog.DiscardHandler),
		javaConfig:            javaConfig{createTopicKey: DefaultTopicKey},
		autoBatchConfig:       defaultAutoBatchConfig(),
	}
}

// Option configures a Producer. Options are checked by New, which reports every bad one.
type Option func(*config)

// WithGroup sets the producer group; it is required. Transaction check-backs are routed by group,
// so producers of one application share it. New refuses DefaultGroup ("DEFAULT_PRODUCER", what
// the producer has without this option), as Java's producer refuses to start with it.
func WithGroup(g string) Option { return func(c *config) { c.group = g } }

// WithNameServers sets the NameServer addresses ("host:port"); each argument may also be a
// ";"-separated list, the form of Java's namesrvAddr and of NAMESRV_ADDR. At least one is
// required; when none is given, the NAMESRV_ADDR environment variable is used.
func WithNameServers(addrs ...string) Option {
	return func(c *config) {
		for _, a := range addrs {
			c.nameServers = append(c.nameServers, splitNameServers(a)...)
		}
	}
}

func splitNameServers(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ";") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// WithInstanceName sets the instance part of the client id (ip@instance). Default: the process
// id and a start time, unique per producer, so two producers in one process never share an id
// (the collision behind rocketmq-client-go #381/#521/#699).
func WithInstanceName(n string) Option { return func(c *config) { c.instanceName = n } }

// WithUnitName adds a unit name to the client id, as Java's unitName does.
func WithUnitName(n string) Option { return func(c *config) { c.unitName = n } }

// WithNamespace prefixes topics and the group with "namespace%", Java's namespace (v1). Results
// and hooks report topics without it.
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithSendTimeout sets the budget of one send across all its attempts. Default 3 s.
func WithSendTimeout(d time.Duration) Option { return func(c *config) { c.sendTimeout = d } }

// WithRetries sets how many times a failed sync send is retried (default 2: 3 attempts).
func WithRetries(n int) Option { return func(c *config) { c.retryTimes = n } }

// WithAsyncRetries sets how many times a failed async send is retried (default 2).
func WithAsyncRetries(n int) Option { return func(c *config) { c.retryTimesAsync = n } }

// WithRetryAnotherBrokerWhenNotStoreOK retries a sync send on another broker when the broker
// stored the message but reported a flush or replica timeout (Java's
// retryAnotherBrokerWhenNotStoreOK; default off, since the message is stored).
func WithRetryAnotherBrokerWhenNotStoreOK(on bool) Option {
	return func(c *config) { c.retryAnotherBroker = on }
}

// WithCompression sets the body size from which single messages are compressed (default 4096),
// the algorithm (default zlib, which every consumer version reads) and the level (default 5).
// threshold <= 0 disables compression.
func WithCompression(threshold int, typ CompressionType, level int) Option {
	return func(c *config) { c.compressThreshold, c.compressType, c.compressLevel = threshold, typ, level }
}

// WithMaxMessageSize sets the largest body (before compression) and the largest batch request
// accepted. Default 4 MiB, the broker's default.
func WithMaxMessageSize(n int) Option { return func(c *config) { c.maxMessageSize = n } }

// WithDefaultTopicQueueNums sets how many queues per broker a topic auto-created on first send
// gets. Default 4.
func WithDefaultTopicQueueNums(n int) Option { return func(c *config) { c.defaultTopicQueueNums = n } }

// WithHeartbeatInterval sets how often the producer heartbeats every broker. Default 30 s.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(c *config) { c.heartbeatInterval = d }
}

// WithRoutePollInterval sets how often cached routes are refreshed. Default 30 s.
func WithRoutePollInterval(d time.Duration) Option { return func(c *config) { c.pollNameServer = d } }

// WithVIPChannel sends to the broker's VIP port (listen port - 2), Java's vipChannelEnabled.
func WithVIPChannel(on bool) Option { return func(c *config) { c.vipChannel = on } }

// WithFaultTolerance turns on latency fault tolerance: brokers that answer slowly or fail are
// avoided for a while. Off by default, as in Java.
func WithFaultTolerance(on bool) Option { return func(c *config) { c.faultTolerance = on } }

// WithAsyncBackpressure bounds async sends in flight by count and body bytes (defaults 10 000
// and 100 MiB). When full, SendAsync waits (block true, the default) or fails with
// ErrBackpressure.
func WithAsyncBackpressure(maxMessages int, maxBytes int64, block bool) Option {
	return func(c *config) {
		c.maxInFlightMessages, c.maxInFlightBytes, c.blockWhenFull = maxMessages, maxBytes, block
	}
}

// WithCallbackWorkers sets how many goroutines run async send callbacks (default 4), so a slow
// callback never stalls a connection's reader.
func WithCallbackWorkers(n int) Option { return func(c *config) { c.callbackWorkers = n } }

// WithHooks registers send hooks, run in the order given (see Hook).
func WithHooks(h ...Hook) Option {
	return func(c *config) {
		for i, x := range h {
			if isNil(x) {
				c.optErrs = append(c.optErrs, errNil(fmt.Sprintf("WithHooks: hook %d", i)))
			}
		}
		c.hooks = append(c.hooks, h...)
	}
}

// WithQueueSelector sets the selector used when a send names neither a queue nor a selector;
// by default (and with nil) the producer round-robins over queues, avoiding the broker of a failed
// attempt.
func WithQueueSelector(f SelectorFactory) Option { return func(c *config) { c.selectorFactory = f } }

// WithRPCHooks adds hooks that see every request on the wire (see RPCHook).
func WithRPCHooks(h ...RPCHook) Option {
	return func(c *config) {
		for i, x := range h {
			if isNil(x) {
				c.optErrs = append(c.optErrs, errNil(fmt.Sprintf("WithRPCHooks: hook %d", i)))
			}
		}
		c.rpcHooks = append(c.rpcHooks, h...)
	}
}

// WithCredentials signs every request for ACL-enabled brokers (AccessKey/SecretKey, HMAC-SHA1).
func WithCredentials(cr Credentials) Option { return func(c *config) { c.credentials = &cr } }

// WithTLS connects to brokers and NameServers over TLS with cfg; &tls.Config{} is TLS with the
// system's roots. nil is refused: leave the option out for plain TCP.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) {
		if cfg == nil {
			c.optErrs = append(c.optErrs, errNil("WithTLS's config (leave the option out for plain TCP)"))
		}
		c.tlsConfig = cfg
	}
}

// WithSerializeType chooses the header format of requests. Default ROCKETMQ (binary).
func WithSerializeType(st SerializeType) Option { return func(c *config) { c.serialize = st } }

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.optErrs = append(c.optErrs, errNil("WithLogger's logger (leave the option out to discard)"))
			return
		}
		c.logger = l
	}
}

// WithTransactionChecker answers the broker's check-backs of transactions whose outcome it did
// not learn. Required for SendInTransaction.
func WithTransactionChecker(tc TransactionChecker) Option {
	return func(c *config) {
		if isNil(tc) {
			c.optErrs = append(c.optErrs, errNil("WithTransactionChecker's checker"))
		}
		c.checker = tc
	}
}

// WithDialTimeout bounds the set-up of one connection to a broker or NameServer (TCP and TLS
// handshake). Default 3 s. A send waits for a connection at most until its own deadline.
func WithDialTimeout(d time.Duration) Option {
	return func(c *config) { c.remoteOptions = append(c.remoteOptions, remote.WithDialTimeout(d)) }
}

// WithTimerResolution sets how precisely request deadlines fire. Default 10 ms: a deadline fires
// up to that late, in exchange for one timer for every request in flight instead of one each.
func WithTimerResolution(d time.Duration) Option {
	return func(c *config) { c.remoteOptions = append(c.remoteOptions, remote.WithTimerResolution(d)) }
}

// validate reports every invalid setting at once.
func (c *config) validate() error {
	var errs []error
	if len(c.nameServers) == 0 {
		c.nameServers = splitNameServers(os.Getenv("NAMESRV_ADDR"))
	}
	if len(c.nameServers) == 0 {
		errs = append(errs, errors.New("no NameServer: use WithNameServers or set NAMESRV_ADDR"))
	}
	if c.group == DefaultGroup {
		// Java's DefaultMQProducerImpl.checkConfig refuses to start with it: every application
		// that forgot to name its group would share one, and with it transaction check-backs.
		errs = append(errs, fmt.Errorf("no producer group: set one with WithGroup (%s is refused, as Java's producer refuses to start with it)", DefaultGroup))
	} else if err := codec.ValidateGroup(c.group); err != nil {
		errs = append(errs, err)
	}
	if c.sendTimeout <= 0 {
		errs = append(errs, fmt.Errorf("send timeout %v must be positive", c.sendTimeout))
	}
	if c.retryTimes < 0 || c.retryTimesAsync < 0 {
		errs = append(errs, errors.New("retry counts must not be negative"))
	}
	if c.compressThreshold > 0 && !c.compressType.Valid() {
		errs = append(errs, fmt.Errorf("unknown compression type %d", c.compressType))
	}
	if c.maxMessageSize <= 0 {
		errs = append(errs, fmt.Errorf("max message size %d must be positive", c.maxMessageSize))
	}
	if c.defaultTopicQueueNums <= 0 {
		errs = append(errs, fmt.Errorf("default topic queue count %d must be positive", c.defaultTopicQueueNums))
	}
	if c.heartbeatInterval <= 0 || c.pollNameServer <= 0 {
		errs = append(errs, errors.New("heartbeat and route poll intervals must be positive"))
	}
	if c.maxInFlightMessages <= 0 || c.maxInFlightBytes <= 0 {
		errs = append(errs, errors.New("async in-flight bounds must be positive"))
	}
	if c.callbackWorkers <= 0 {
		errs = append(errs, errors.New("callback workers must be positive"))
	}
	if c.namespace != "" && strings.ContainsAny(c.namespace, "% ") {
		errs = append(errs, fmt.Errorf("namespace %q must not contain %% or spaces", c.namespace))
	}
	if c.credentials != nil && (c.credentials.AccessKey == "" || c.credentials.SecretKey == "") {
		errs = append(errs, errors.New("credentials need both AccessKey and SecretKey"))
	}
	errs = append(errs, c.validateJava()...)
	errs = append(errs, c.validateAutoBatch()...)
	errs = append(errs, c.optErrs...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("send: invalid producer options: %w", err)
	}
	return nil
}
