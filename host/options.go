package host

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Options follow franz-go's kgo: one Opt type that Load, LoadWasm and LoadProcess all accept, and
// back-end-specific options (WasmOpt, ProcessOpt) that are Opts too, so one list can carry both.
// An option of the other back end is an error naming it, not silently ignored.

// Opt configures a plugin of either back end. The options every plugin understands (logger,
// configuration, failure policies, call timeout, environment, checksum, the topic and point
// filter) are plain Opts; WasmOpt and ProcessOpt are the options of one back end.
type Opt interface{ apply(*options) }

// WasmOpt is an option of wasm plugins only (pool, memory, compilation cache, directories).
// Giving one to LoadProcess fails the load.
type WasmOpt interface {
	Opt
	wasmOnly()
}

// ProcessOpt is an option of process plugins only (arguments, restarts, batching, TLS). Giving
// one to LoadWasm fails the load.
type ProcessOpt interface {
	Opt
	processOnly()
}

// shared is the configuration both back ends read.
type shared struct {
	logger      hclog.Logger
	hookConfig  hookv1.HookConfig
	policies    map[hookv1.HookPoint]hookv1.FailurePolicy
	callTimeout time.Duration // 0: the back end's default (wasm: none; process: DefaultProcessCallTimeout)
	env         [][2]string   // name, value
	checksum    []byte        // SHA-256 of the file, nil: not checked
	filter      filter        // filter.go
	err         error         // the first invalid option, reported by the load
}

func (s *shared) invalid(err error) {
	if s.err == nil {
		s.err = err
	}
}

// options is what an Opt applies to: the shared part, and the configuration of the back end
// being loaded (the other is nil).
type options struct {
	sh   *shared
	wasm *wasmConfig
	proc *processConfig
}

type sharedOpt func(*shared)

func (f sharedOpt) apply(o *options) { f(o.sh) }

type wasmOpt struct {
	name string
	fn   func(*wasmConfig)
}

func (w wasmOpt) apply(o *options) {
	if o.wasm == nil {
		o.sh.invalid(fmt.Errorf("%s is an option of wasm plugins, not of process plugins", w.name))
		return
	}
	w.fn(o.wasm)
}

func (wasmOpt) wasmOnly() {}

type processOpt struct {
	name string
	fn   func(*processConfig)
}

func (p processOpt) apply(o *options) {
	if o.proc == nil {
		o.sh.invalid(fmt.Errorf("%s is an option of process plugins, not of wasm plugins", p.name))
		return
	}
	p.fn(o.proc)
}

func (processOpt) processOnly() {}

func applyOpts(sh *shared, w *wasmConfig, p *processConfig, opts []Opt) {
	o := options{sh: sh, wasm: w, proc: p}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if sh.logger == nil {
		sh.logger = hclog.NewNullLogger()
	}
}

// WithLogger sets the parent logger: the plugin logs through logger.Named(plugin name), its own
// records (a guest's log calls, a process's log lines, stdout and stderr) and the host's records
// about it alike. Default: discard.
func WithLogger(l hclog.Logger) Opt { return sharedOpt(func(s *shared) { s.logger = l }) }

// WithHookConfig sets the configuration passed to the plugin's init (hook_init, or Init at every
// start of a process): opaque text and settings.
func WithHookConfig(config []byte, settings ...hookv1.KV) Opt {
	return sharedOpt(func(s *shared) { s.hookConfig = hookv1.HookConfig{Config: config, Settings: settings} })
}

// WithFailurePolicy sets the failure policy of one hook point, overriding the plugin's hint and
// the defaults (forbidden and before: closed; select: fall back; after: open; docs/abi.md §6).
func WithFailurePolicy(point hookv1.HookPoint, fp hookv1.FailurePolicy) Opt {
	return sharedOpt(func(s *shared) {
		if s.policies == nil {
			s.policies = map[hookv1.HookPoint]hookv1.FailurePolicy{}
		}
		s.policies[point] = fp
	})
}

// WithCallTimeout sets the per-call deadline.
//
// A wasm call past it is interrupted and its instance discarded: the runtime is then built with
// WithCloseOnContextDone, which has a price (wazero starts a goroutine per call and every guest
// loop back-edge checks for interruption; docs/performance.md has the figures), so it is a choice
// per plugin. Zero, the wasm default, means no interruption: the guest is trusted.
//
// A process call past it fails (FailTimeout, then the failure policy) and the process is
// considered hung: it is killed and restarted, and the other calls in flight fail the same way.
// Zero means DefaultProcessCallTimeout.
func WithCallTimeout(d time.Duration) Opt { return sharedOpt(func(s *shared) { s.callTimeout = d }) }

// WithEnv makes an environment variable visible to the plugin, with value as its value: a wasm
// guest sees it through WASI environ, a process in its environment. Nothing of the host's
// environment is inherited otherwise (but see WithInheritEnv), so secrets in the host's
// environment do not leak into plugins.
func WithEnv(name, value string) Opt {
	return sharedOpt(func(s *shared) { s.env = append(s.env, [2]string{name, value}) })
}

// WithChecksum makes the host verify the plugin file's SHA-256 (hex). A wasm module is checked in
// memory, as the bytes it compiles; a process binary before every start, restarts included: that
// check reads the file before it is executed, so keep the binary where only trusted users can
// write (go-plugin's SecureConfig has the same window).
func WithChecksum(sha256Hex string) Opt {
	return sharedOpt(func(s *shared) {
		b, err := hex.DecodeString(sha256Hex)
		if err != nil || len(b) != 32 {
			s.invalid(fmt.Errorf("WithChecksum: %q is not a hex SHA-256 (64 hex digits)", sha256Hex))
			return
		}
		s.checksum = b
	})
}

// WithTopics limits the plugin to these topics (names without the producer's namespace), on top
// of the topics the plugin declares itself: it is called only for a topic both allow. For any
// other topic its hooks do nothing and its selector falls back. No topics: every topic.
func WithTopics(topics ...string) Opt {
	return sharedOpt(func(s *shared) { s.filter.topics = append([]string(nil), topics...) })
}

// WithPoints limits the hook points the plugin is used for to these (a plugin that declares
// before and after, used as an after hook only, say). The load fails if the plugin does not
// declare one of them. Without it, every point the plugin declares is used.
func WithPoints(points ...hookv1.HookPoint) Opt {
	return sharedOpt(func(s *shared) {
		s.filter.points = append([]hookv1.HookPoint{}, points...)
	})
}
