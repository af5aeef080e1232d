package host

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

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
	args         []string
	env          []string
	inheritEnv   bool
	checksum     []byte
	autoMTLS     bool
	startTimeout time.Duration
	callTimeout  time.Duration
	health       time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	maxBatch     int
	unary        bool
	hookConfig   hookv1.HookConfig
	logger       hclog.Logger
	policies     map[hookv1.HookPoint]hookv1.FailurePolicy
	err          error // an invalid option, reported by LoadProcess
}

func defaultProcessConfig() processConfig {
	return processConfig{
		autoMTLS: true, startTimeout: DefaultStartTimeout, callTimeout: DefaultProcessCallTimeout,
		health: DefaultHealthInterval, backoffMin: DefaultRestartBackoffMin, backoffMax: DefaultRestartBackoffMax,
		maxBatch: DefaultMaxBatch,
	}
}

// ProcessOption configures LoadProcess.
type ProcessOption func(*processConfig)

// WithArgs sets the plugin command's arguments (after the program path).
func WithArgs(args ...string) ProcessOption {
	return func(c *processConfig) { c.args = append([]string(nil), args...) }
}

// WithProcessEnv sets an environment variable of the plugin process. Without WithInheritEnv these,
// and the variables go-plugin itself needs, are the whole environment: secrets in the host's
// environment do not leak into plugins (the process counterpart of WithEnv for wasm plugins).
func WithProcessEnv(name, value string) ProcessOption {
	return func(c *processConfig) { c.env = append(c.env, name+"="+value) }
}

// WithInheritEnv makes the plugin inherit the host's whole environment (off by default).
func WithInheritEnv() ProcessOption { return func(c *processConfig) { c.inheritEnv = true } }

// WithChecksum makes the host verify the plugin binary's SHA-256 (hex) before every start,
// including restarts; a mismatch fails the start. The check reads the file before it is executed:
// keep the binary where only trusted users can write (go-plugin's SecureConfig has the same TOCTOU
// window).
func WithChecksum(sha256Hex string) ProcessOption {
	return func(c *processConfig) {
		b, err := hex.DecodeString(sha256Hex)
		if err != nil || len(b) != 32 {
			c.err = fmt.Errorf("WithChecksum: %q is not a hex SHA-256 (64 hex digits)", sha256Hex)
			return
		}
		c.checksum = b
	}
}

// WithoutAutoMTLS turns off go-plugin's AutoMTLS (on by default: one-time certificates, mutual TLS
// on the plugin's socket). Off saves a TLS handshake per start and some CPU per call, for hosts that
// trust every local user.
func WithoutAutoMTLS() ProcessOption { return func(c *processConfig) { c.autoMTLS = false } }

// WithStartTimeout bounds a start: launching the process, the handshake, Describe and Init.
func WithStartTimeout(d time.Duration) ProcessOption {
	return func(c *processConfig) { c.startTimeout = d }
}

// WithProcessCallTimeout sets the per-call deadline (default DefaultProcessCallTimeout). A call
// past it fails (FailTimeout, then the failure policy), and the plugin process is considered hung:
// it is killed and restarted, and the other calls in flight fail the same way.
func WithProcessCallTimeout(d time.Duration) ProcessOption {
	return func(c *processConfig) { c.callTimeout = d }
}

// WithHealthInterval sets how often an idle plugin is health-checked (gRPC health service); a
// failed check restarts it. Zero or negative disables the checks (crashes are still seen by calls).
func WithHealthInterval(d time.Duration) ProcessOption {
	return func(c *processConfig) { c.health = d }
}

// WithRestartBackoff sets the delay before a restart after a crash: min at first, doubling after
// each failed start or early crash, up to max.
func WithRestartBackoff(min, max time.Duration) ProcessOption {
	return func(c *processConfig) { c.backoffMin, c.backoffMax = min, max }
}

// WithMaxBatch caps the calls sent in one batch on the plugin's stream (default DefaultMaxBatch);
// 1 sends every call alone.
func WithMaxBatch(n int) ProcessOption { return func(c *processConfig) { c.maxBatch = n } }

// WithUnaryCalls makes the host call the plugin with one unary Call RPC per hook call instead of
// batches on CallStream: for plugins that implement only Call (in a language whose gRPC lacks
// bidirectional streams), and to compare the two forms. Unary calls cost a full round trip each
// (see docs/performance.md).
func WithUnaryCalls() ProcessOption { return func(c *processConfig) { c.unary = true } }

// WithProcessHookConfig sets the configuration passed to the plugin's Init at every start.
func WithProcessHookConfig(config []byte, settings ...hookv1.KV) ProcessOption {
	return func(c *processConfig) { c.hookConfig = hookv1.HookConfig{Config: config, Settings: settings} }
}

// WithProcessLogger sets the parent logger: the plugin's own logs (its JSON stderr), its stdout and
// the host's records about it go to logger.Named(plugin name).
func WithProcessLogger(l hclog.Logger) ProcessOption { return func(c *processConfig) { c.logger = l } }

// WithProcessFailurePolicy overrides the failure policy of one hook point (docs/abi.md §6).
func WithProcessFailurePolicy(point hookv1.HookPoint, fp hookv1.FailurePolicy) ProcessOption {
	return func(c *processConfig) { setPolicy(&c.policies, point, fp) }
}
