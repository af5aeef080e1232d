package host

import "time"

// Defaults of the process back end.
const (
	DefaultProcessCallTimeout = 5 * time.Second
	DefaultStartTimeout       = 30 * time.Second
	DefaultHealthInterval     = 2 * time.Second
	DefaultRestartBackoffMin  = 100 * time.Millisecond
	DefaultRestartBackoffMax  = 10 * time.Second
	DefaultMaxBatch           = 256
)

type processConfig struct {
	shared // the options of every plugin (options.go)

	args         []string
	inheritEnv   bool
	autoMTLS     bool
	startTimeout time.Duration
	health       time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	maxBatch     int
	unary        bool
}

func defaultProcessConfig() processConfig {
	return processConfig{
		shared:   shared{callTimeout: DefaultProcessCallTimeout},
		autoMTLS: true, startTimeout: DefaultStartTimeout,
		health: DefaultHealthInterval, backoffMin: DefaultRestartBackoffMin, backoffMax: DefaultRestartBackoffMax,
		maxBatch: DefaultMaxBatch,
	}
}

// WithArgs sets the plugin command's arguments (after the program path).
func WithArgs(args ...string) ProcessOpt {
	return processOpt{"WithArgs", func(c *processConfig) { c.args = append([]string(nil), args...) }}
}

// WithInheritEnv makes the plugin inherit the host's whole environment (off by default: the
// process sees only what WithEnv gives it and what go-plugin itself needs).
func WithInheritEnv() ProcessOpt {
	return processOpt{"WithInheritEnv", func(c *processConfig) { c.inheritEnv = true }}
}

// WithoutAutoMTLS turns off go-plugin's AutoMTLS (on by default: one-time certificates, mutual TLS
// on the plugin's socket). Off saves a TLS handshake per start and some CPU per call, for hosts that
// trust every local user.
func WithoutAutoMTLS() ProcessOpt {
	return processOpt{"WithoutAutoMTLS", func(c *processConfig) { c.autoMTLS = false }}
}

// WithStartTimeout bounds a start: launching the process, the handshake, Describe and Init.
func WithStartTimeout(d time.Duration) ProcessOpt {
	return processOpt{"WithStartTimeout", func(c *processConfig) { c.startTimeout = d }}
}

// WithHealthInterval sets how often an idle plugin is health-checked (gRPC health service); a
// failed check restarts it. Zero or negative disables the checks (crashes are still seen by calls).
func WithHealthInterval(d time.Duration) ProcessOpt {
	return processOpt{"WithHealthInterval", func(c *processConfig) { c.health = d }}
}

// WithRestartBackoff sets the delay before a restart after a crash: min at first, doubling after
// each failed start or early crash, up to max.
func WithRestartBackoff(min, max time.Duration) ProcessOpt {
	return processOpt{"WithRestartBackoff", func(c *processConfig) { c.backoffMin, c.backoffMax = min, max }}
}

// WithMaxBatch caps the calls sent in one batch on the plugin's stream (default DefaultMaxBatch);
// 1 sends every call alone.
func WithMaxBatch(n int) ProcessOpt {
	return processOpt{"WithMaxBatch", func(c *processConfig) { c.maxBatch = n }}
}

// WithUnaryCalls makes the host call the plugin with one unary Call RPC per hook call instead of
// batches on CallStream: for plugins that implement only Call (in a language whose gRPC lacks
// bidirectional streams), and to compare the two forms. Unary calls cost a full round trip each
// (see docs/performance.md).
func WithUnaryCalls() ProcessOpt {
	return processOpt{"WithUnaryCalls", func(c *processConfig) { c.unary = true }}
}
