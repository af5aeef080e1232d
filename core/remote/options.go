package remote

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
)

type options struct {
	dialTimeout   time.Duration
	writeTimeout  time.Duration
	tls           *tls.Config
	hooks         []RPCHook
	handlers      map[int32]Handler
	serialize     codec.SerializeType
	maxFrame      int
	tick          time.Duration
	maxInbound    int
	logger        *slog.Logger
	readBufSize   int
	writeBufLimit int
}

func defaultOptions() options {
	return options{
		dialTimeout:   3 * time.Second,
		writeTimeout:  10 * time.Second,
		handlers:      map[int32]Handler{},
		serialize:     codec.SerializeRocketMQ,
		maxFrame:      codec.MaxFrameSize,
		tick:          10 * time.Millisecond,
		maxInbound:    64,
		logger:        slog.New(slog.DiscardHandler),
		readBufSize:   64 << 10,
		writeBufLimit: 1 << 20,
	}
}

// Option configures a Client.
type Option func(*options)

// WithDialTimeout bounds connection set-up (TCP and TLS handshake). Default 3 s.
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithWriteTimeout bounds one socket write; a peer that stops reading for that long has its
// connection closed and its requests failed. Default 10 s. A request's own deadline, when earlier,
// ends the caller's wait (the write goes on in the background), except over TLS.
func WithWriteTimeout(d time.Duration) Option { return func(o *options) { o.writeTimeout = d } }

// WithTLS makes every connection use TLS with cfg (cloned; ServerName defaults to the host of the
// address). Certificates are verified unless cfg says otherwise.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithRPCHooks adds hooks that see every outbound request, in the order given.
func WithRPCHooks(h ...RPCHook) Option { return func(o *options) { o.hooks = append(o.hooks, h...) } }

// WithHandler serves broker-initiated requests with the given code.
func WithHandler(code int32, h Handler) Option {
	return func(o *options) { o.handlers[code] = h }
}

// WithSerializeType chooses the header format of outbound frames. Default ROCKETMQ (binary);
// responses are decoded whatever their format.
func WithSerializeType(st codec.SerializeType) Option { return func(o *options) { o.serialize = st } }

// WithMaxFrameSize caps inbound frames; a larger one closes the connection. Default 16 MiB.
func WithMaxFrameSize(n int) Option { return func(o *options) { o.maxFrame = n } }

// WithTimerResolution sets the granularity of request deadlines. Default 10 ms: deadlines fire up
// to that late, in exchange for one timer for all requests instead of one each.
func WithTimerResolution(d time.Duration) Option { return func(o *options) { o.tick = d } }

// WithMaxInboundRequests bounds how many broker-initiated requests are served at once; the reader
// waits when the bound is reached. Default 64.
func WithMaxInboundRequests(n int) Option { return func(o *options) { o.maxInbound = n } }

// WithLogger sets where the transport reports dropped responses and lost connections. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }
