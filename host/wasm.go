package host

// This file is the wasm (wazero) back end of ABI v1 (docs/abi.md): loading and checking a module,
// a bounded pool of instances, the producer_hook host imports, per-call deadlines and failure
// accounting.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// DefaultMemoryLimitPages is the default memory cap of one instance: 1024 pages of 64 KiB (64 MiB).
const DefaultMemoryLimitPages = 1024

// DefaultMaxModuleBytes caps the size of a module file (a Go guest is 2-7 MB): a wrong path to a
// huge file fails with a clear error instead of being read and compiled.
const DefaultMaxModuleBytes = 64 << 20

const (
	initialScratch = 4096
	maxLogLen      = 1024
	logsPerSecond  = 100
)

type wasmConfig struct {
	shared // the options of every plugin (options.go)

	cacheDir     string
	maxModule    int64
	noCache      bool
	poolSize     int
	memPages     uint32
	loadTimeout  time.Duration
	compileCache wazero.CompilationCache
	grants       grant
}

// WithCacheDir sets the directory of the on-disk compilation cache (native code: protect it).
// The default is os.UserCacheDir()/rocketsend/wasm; "" disables the disk cache.
func WithCacheDir(dir string) WasmOpt {
	return wasmOpt{"WithCacheDir", func(c *wasmConfig) { c.cacheDir = dir; c.noCache = dir == "" }}
}

// WithCompilationCache shares an existing wazero compilation cache (the caller closes it); it
// overrides WithCacheDir.
func WithCompilationCache(cc wazero.CompilationCache) WasmOpt {
	return wasmOpt{"WithCompilationCache", func(c *wasmConfig) { c.compileCache = cc }}
}

// WithMaxModuleBytes caps the size of the module file (default DefaultMaxModuleBytes).
func WithMaxModuleBytes(n int64) WasmOpt {
	return wasmOpt{"WithMaxModuleBytes", func(c *wasmConfig) { c.maxModule = n }}
}

// WithPoolSize caps the number of instances of the plugin (default GOMAXPROCS). Instances are
// created lazily up to the cap; callers beyond it wait for a free instance.
func WithPoolSize(n int) WasmOpt {
	return wasmOpt{"WithPoolSize", func(c *wasmConfig) { c.poolSize = n }}
}

// WithMemoryLimitPages caps each instance's linear memory, in 64 KiB pages.
func WithMemoryLimitPages(n uint32) WasmOpt {
	return wasmOpt{"WithMemoryLimitPages", func(c *wasmConfig) { c.memPages = n }}
}

// WithLoadTimeout bounds instantiation, hook_describe and hook_init of each instance when a call
// timeout is set (default 30s).
func WithLoadTimeout(d time.Duration) WasmOpt {
	return wasmOpt{"WithLoadTimeout", func(c *wasmConfig) { c.loadTimeout = d }}
}

// WasmPlugin is one loaded wasm plugin: a compiled module, its runtime and a bounded pool of
// instances. It is safe for concurrent use.
type WasmPlugin struct {
	pluginCore // name, info, logger, policies, failure counters; the shared adapters (plugin.go)

	path     string
	cfg      wasmConfig
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	ownCache wazero.CompilationCache
	fsys     *grantFS // the directory grants, open while the plugin is
	cfgBytes []byte
	needProp bool
	needQ    bool

	hot     atomic.Pointer[instance] // the last released instance: taken without touching the channels
	waiters atomic.Int32             // callers about to block in acquire
	idle    chan *instance
	tokens  chan struct{}
	closed  atomic.Bool

	discarded, created atomic.Uint64
	live               atomic.Int64

	closeOnce sync.Once
	watch     *watchdog // nil without a call timeout

	// respawn.go: background replacement of discarded instances and the creation breaker
	bg           sync.WaitGroup
	respawning   atomic.Bool
	spawnMu      sync.Mutex
	spawnErr     error
	spawnRetry   time.Time
	spawnBackoff time.Duration
}

// callState is the per-instance state the host imports read; it is set for the duration of one
// hook_call and reached through the instance's context (no allocation per call).
type callState struct {
	active bool
	msg    *message.Message
}

type stateKey struct{}

type instance struct {
	p          *WasmPlugin
	mod        api.Module
	mem        api.Memory
	gm         guestMemory // the memory, when the host allocated it (linearmem.go)
	fnScratch  api.Function
	fnCall     api.Function
	stack      []uint64
	ctx        context.Context
	cancel     context.CancelFunc // with a call timeout: the watchdog's way to stop a runaway call
	started    atomic.Int64       // with a call timeout: when the current call began (0: idle, -1: stopped)
	doomed     bool               // discard on release
	st         callState
	scratchPtr uint32
	scratchCap uint32

	// per-call buffers, reused
	viewBuf []byte
	props   []hookv1.Property
	queues  []hookv1.QueueRef
	view    hookv1.MessageView
	dec     hookv1.Decision
}

// LoadWasm compiles the module at path, checks its ABI marker, creates one instance (calling
// _initialize, hook_describe and hook_init) and returns the plugin. It takes the options of every
// plugin and WasmOpts; a ProcessOpt fails the load.
func LoadWasm(ctx context.Context, path string, opts ...Opt) (_ *WasmPlugin, err error) {
	cfg := wasmConfig{poolSize: runtime.GOMAXPROCS(0), memPages: DefaultMemoryLimitPages, loadTimeout: 30 * time.Second,
		maxModule: DefaultMaxModuleBytes}
	if d, e := os.UserCacheDir(); e == nil {
		cfg.cacheDir = filepath.Join(d, "rocketsend", "wasm")
	}
	applyOpts(&cfg.shared, &cfg, nil, opts)
	if cfg.err != nil {
		return nil, fmt.Errorf("host: wasm plugin %s: %w", path, cfg.err)
	}
	if cfg.poolSize < 1 {
		cfg.poolSize = 1
	}
	cfg.grants.env = cfg.env
	if err := cfg.grants.check(); err != nil {
		return nil, fmt.Errorf("host: wasm plugin %s: %w", path, err)
	}
	p := &WasmPlugin{path: path, cfg: cfg, pluginCore: newCore(KindWasm, path, &cfg.shared)}
	p.backend = p
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("host: wasm plugin %s: %w", path, err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("host: wasm plugin %s: not a regular file", path)
	} else if st.Size() > cfg.maxModule {
		return nil, fmt.Errorf("host: wasm plugin %s: %d bytes, more than the %d allowed (WithMaxModuleBytes)", path, st.Size(), cfg.maxModule)
	}
	code, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("host: wasm plugin %s: %w", path, err)
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("host: wasm plugin %s: %s", path, fmt.Sprintf(format, a...))
	}
	if cfg.checksum != nil {
		if sum := sha256.Sum256(code); string(sum[:]) != string(cfg.checksum) {
			return nil, fail("checksum mismatch: the module's SHA-256 is %x, the configuration expects %x", sum, cfg.checksum)
		}
	}
	if len(code) < 8 || string(code[:4]) != "\x00asm" {
		return nil, fail("not a WebAssembly module")
	}

	rc := wazero.NewRuntimeConfigCompiler().WithMemoryLimitPages(cfg.memPages).WithCloseOnContextDone(cfg.callTimeout > 0)
	switch {
	case cfg.compileCache != nil:
		rc = rc.WithCompilationCache(cfg.compileCache)
	case !cfg.noCache && cfg.cacheDir != "":
		cc, e := wazero.NewCompilationCacheWithDir(cfg.cacheDir)
		if e != nil {
			p.log.Warn("compilation cache disabled", "dir", cfg.cacheDir, "error", e)
		} else {
			p.ownCache = cc
			rc = rc.WithCompilationCache(cc)
		}
	}
	p.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if cfg.callTimeout > 0 {
		p.watch = newWatchdog(cfg.callTimeout)
	}
	defer func() {
		if err != nil {
			p.closeRuntime(context.Background())
		}
	}()
	if p.fsys, err = openGrantFS(cfg.grants.dirs); err != nil {
		return nil, fail("%v", err)
	}
	p.compiled, err = p.rt.CompileModule(ctx, code)
	if err != nil {
		return nil, fail("compile: %v", err)
	}
	exports := p.compiled.ExportedFunctions()
	if _, ok := exports[hookv1.ExportMarker]; !ok {
		var markers []string
		for n := range exports {
			if strings.HasPrefix(n, "producer_hook_abi_") {
				markers = append(markers, n)
			}
		}
		if len(markers) > 0 {
			return nil, fail("unsupported ABI %v (this host implements %s)", markers, hookv1.ExportMarker)
		}
		return nil, fail("not a rocketsend plugin: no %s export", hookv1.ExportMarker)
	}
	if _, ok := exports["_start"]; ok {
		return nil, fail("exports _start (a command); build a reactor (-buildmode=c-shared)")
	}
	if err = checkExports(exports); err != nil {
		return nil, fail("%v", err)
	}
	if _, ok := p.compiled.ExportedMemories()["memory"]; !ok {
		return nil, fail("does not export its memory as \"memory\"")
	}
	if err = p.instantiateImports(ctx, p.rt); err != nil {
		return nil, fail("%v", err)
	}
	p.cfgBytes = hookv1.AppendHookConfig(nil, &cfg.hookConfig)
	if err = p.trialLoad(ctx, code); err != nil {
		return nil, fail("%v", err)
	}

	p.idle = make(chan *instance, cfg.poolSize)
	p.tokens = make(chan struct{}, cfg.poolSize)
	first, info, err := p.newInstance(ctx)
	if err != nil {
		return nil, fail("%v", err)
	}
	if err = checkInfo(info); err != nil {
		_ = first.mod.Close(context.Background())
		return nil, fail("%v", err)
	}
	if err = p.adopt(info, cfg.logger); err != nil {
		_ = first.mod.Close(context.Background())
		return nil, fail("%v", err)
	}
	p.needProp = info.Need(hookv1.NeedProperties)
	p.needQ = info.Need(hookv1.NeedQueues)
	for i := 1; i < cfg.poolSize; i++ {
		p.tokens <- struct{}{}
	}
	p.idle <- first
	if hint := time.Duration(info.TimeoutUs) * time.Microsecond; hint > 0 && cfg.callTimeout == 0 {
		p.log.Info("the plugin suggests a call timeout that is not enforced; set one in the configuration to enforce it",
			"suggested", hint)
	}
	p.log.Debug("loaded", "path", path, "version", p.info.Version, "points", p.info.Points, "pool", cfg.poolSize, "timeout", cfg.callTimeout)
	return p, nil
}

// Stats returns the plugin's counters.
func (p *WasmPlugin) Stats() Stats {
	s := Stats{Calls: p.calls.Load(), Failures: p.failures.Load(), Discarded: p.discarded.Load(), Created: p.created.Load(), Live: p.live.Load()}
	for i := range s.ByKind {
		s.ByKind[i] = p.byKind[i].Load()
	}
	return s
}

// Close closes every instance, the runtime and the compilation cache it owns. Calls in flight fail.
func (p *WasmPlugin) Close(ctx context.Context) error {
	var err error
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.bg.Wait() // a replacement being created
		err = p.closeRuntime(ctx)
	})
	return err
}

func (p *WasmPlugin) closeRuntime(ctx context.Context) error {
	if p.watch != nil {
		p.watch.close()
	}
	err := p.rt.Close(ctx)
	if e := p.fsys.close(); err == nil {
		err = e
	}
	if p.ownCache != nil {
		if e := p.ownCache.Close(ctx); err == nil {
			err = e
		}
	}
	return err
}

// instantiateImports instantiates WASI and the producer_hook host module in rt.
func (p *WasmPlugin) instantiateImports(ctx context.Context, rt wazero.Runtime) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fmt.Errorf("wasi: %w", err)
	}
	if err := p.instantiateHostModule(ctx, rt); err != nil {
		return fmt.Errorf("host module: %w", err)
	}
	return nil
}

// newInstance makes an instance of the plugin's module for its pool.
func (p *WasmPlugin) newInstance(ctx context.Context) (_ *instance, info hookv1.HookInfo, err error) {
	if p.cfg.callTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.loadTimeout)
		defer cancel()
	}
	in, info, err := p.instantiate(ctx, p.rt, p.compiled, false)
	if err != nil {
		return nil, info, err
	}
	if p.watch != nil {
		p.watch.add(in, in.ctx)
	}
	p.created.Add(1)
	p.live.Add(1)
	return in, info, nil
}

// instantiate instantiates compiled in rt and runs _initialize (and any start function),
// hook_scratch, hook_describe and hook_init, all under ctx: a runtime that closes on context done
// stops a guest looping in any of them when ctx ends.
// A trial instance (loadtrial.go) logs nothing: the instance made after it says the same.
func (p *WasmPlugin) instantiate(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule, trial bool) (_ *instance, info hookv1.HookInfo, err error) {
	// Until hook_init has answered, stderr is also kept: it is the only channel through which a
	// guest can say why it rejects its configuration (docs/abi.md), and the error must say it.
	stderr := &logWriter{p: p, level: hclog.Warn, stream: "stderr", keep: new(strings.Builder), mute: trial}
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize").
		WithStdout(&logWriter{p: p, level: hclog.Info, stream: "stdout", mute: trial}).
		WithStderr(stderr)
	mc = p.cfg.grants.apply(mc, p.fsys)
	alloc, allocated := memoryAllocator()
	mod, err := rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, alloc), compiled, mc)
	gm := allocated()
	if gm != nil {
		defer gm.letGo() // the instantiation's hold (linearmem.go)
	}
	if err != nil {
		return nil, info, fmt.Errorf("instantiate: %w", err)
	}
	in := &instance{p: p, mod: mod, mem: mod.Memory(), stack: make([]uint64, 2), gm: gm,
		fnScratch: mod.ExportedFunction(hookv1.ExportScratch), fnCall: mod.ExportedFunction(hookv1.ExportCall)}
	in.ctx = context.WithValue(context.Background(), stateKey{}, &in.st)
	defer func() {
		if err != nil {
			_ = mod.Close(context.Background())
		}
	}()
	if in.mem == nil {
		return nil, info, errors.New("no exported memory")
	}
	callCtx := func() context.Context { // keeps the load deadline, adds the instance state
		return context.WithValue(ctx, stateKey{}, &in.st)
	}
	if err = in.ensureScratch(callCtx(), max(initialScratch, uint32(len(p.cfgBytes)))); err != nil {
		return nil, info, err
	}
	stack := in.stack
	if err = mod.ExportedFunction(hookv1.ExportDescribe).CallWithStack(callCtx(), stack); err != nil {
		return nil, info, fmt.Errorf("hook_describe: %w", err)
	}
	b, err := in.result(stack[0])
	if err != nil {
		return nil, info, fmt.Errorf("hook_describe: %w", err)
	}
	if info, err = hookv1.DecodeHookInfo(b); err != nil {
		return nil, info, fmt.Errorf("hook_describe: %w", err)
	}
	if !in.mem.Write(in.scratchPtr, p.cfgBytes) {
		return nil, info, errors.New("hook_init: scratch buffer outside memory")
	}
	stack[0] = uint64(len(p.cfgBytes))
	if err = mod.ExportedFunction(hookv1.ExportInit).CallWithStack(callCtx(), stack); err != nil {
		return nil, info, fmt.Errorf("hook_init: %w", err)
	}
	if rc := int32(uint32(stack[0])); rc != 0 {
		if why := strings.TrimSpace(stderr.kept()); why != "" {
			return nil, info, fmt.Errorf("hook_init rejected the configuration (returned %d): %s", rc, why)
		}
		return nil, info, fmt.Errorf("hook_init rejected the configuration (returned %d)", rc)
	}
	stderr.kept() // stop keeping
	return in, info, nil
}

// ensureScratch makes the guest's scratch buffer at least n bytes.
func (in *instance) ensureScratch(ctx context.Context, n uint32) error {
	if n <= in.scratchCap && in.scratchPtr != 0 {
		return nil
	}
	in.stack[0] = uint64(n)
	if err := in.fnScratch.CallWithStack(ctx, in.stack); err != nil {
		return fmt.Errorf("hook_scratch: %w", err)
	}
	ptr := uint32(in.stack[0])
	if ptr == 0 {
		return errors.New("hook_scratch returned 0 (cannot allocate)")
	}
	if uint64(ptr)+uint64(n) > uint64(in.mem.Size()) {
		return fmt.Errorf("hook_scratch returned %#x..+%d, outside memory", ptr, n)
	}
	in.scratchPtr, in.scratchCap = ptr, n
	return nil
}

// result reads a packed result (not noop) as bytes aliasing guest memory, or its error text.
func (in *instance) result(r uint64) ([]byte, error) {
	ptr, n, isErr, _ := hookv1.UnpackResult(r)
	b, ok := in.mem.Read(ptr, n)
	if !ok {
		return nil, errBadResult{fmt.Sprintf("result %#x..+%d outside memory (%d bytes)", ptr, n, in.mem.Size())}
	}
	if isErr {
		return nil, errGuest{sanitize(string(b))}
	}
	return b, nil
}

type errBadResult struct{ s string }

func (e errBadResult) Error() string { return e.s }

type errGuest struct{ s string }

func (e errGuest) Error() string { return "guest error: " + e.s }

// acquire takes an idle instance, or creates one when under the cap, or waits.
func (p *WasmPlugin) acquire(ctx context.Context) (*instance, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if in := p.hot.Swap(nil); in != nil {
		return in, nil
	}
	select {
	case in := <-p.idle:
		return in, nil
	default:
	}
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	// A waiter announces itself before looking at the hot slot once more, so that release, which
	// looks for waiters after filling the slot, never leaves an instance there while it blocks.
	p.waiters.Add(1)
	defer p.waiters.Add(-1)
	if in := p.hot.Swap(nil); in != nil {
		return in, nil
	}
	select {
	case in := <-p.idle:
		return in, nil
	case <-p.tokens:
		return p.create()
	case <-done:
		return nil, ctx.Err()
	}
}

func (p *WasmPlugin) release(in *instance) {
	in.st = callState{}
	if p.closed.Load() || in.doomed || in.mod.IsClosed() {
		p.discard(in)
		return
	}
	// Sequential callers (the common case: one send at a time per producer goroutine) reuse the hot
	// instance through one atomic swap; a channel operation costs a lock.
	if p.hot.CompareAndSwap(nil, in) {
		if p.waiters.Load() == 0 {
			return
		}
		if in = p.hot.Swap(nil); in == nil {
			return // a waiter took it
		}
	}
	p.idle <- in
}

func (p *WasmPlugin) discard(in *instance) {
	if p.watch != nil {
		p.watch.remove(in)
	}
	_ = in.mod.Close(context.Background())
	p.discarded.Add(1)
	p.live.Add(-1)
	p.tokens <- struct{}{}
	p.respawn()
}

// call writes view into in's scratch buffer and calls hook_call. It returns the decoded decision
// (nil for "allow, no change"). On error the caller must discard the instance.
func (in *instance) call(point hookv1.HookPoint, view []byte, msg *message.Message) (*hookv1.Decision, FailureKind, error) {
	p := in.p
	ctx := in.ctx
	if p.watch != nil {
		start := p.watch.now()
		in.started.Store(start)
		defer func() {
			if !in.started.CompareAndSwap(start, 0) {
				in.doomed = true // the watchdog fired as the call ended: its context is cancelled
			}
		}()
	}
	if err := in.ensureScratch(ctx, uint32(len(view))); err != nil {
		return nil, classify(err, FailBadResult), err
	}
	if !in.mem.Write(in.scratchPtr, view) {
		return nil, FailBadResult, errors.New("scratch buffer outside memory")
	}
	in.st = callState{active: true, msg: msg}
	in.stack[0], in.stack[1] = uint64(point), uint64(len(view))
	err := in.fnCall.CallWithStack(ctx, in.stack)
	in.st = callState{}
	if err != nil {
		return nil, classify(err, FailTrap), err
	}
	r := in.stack[0]
	if _, _, _, noop := hookv1.UnpackResult(r); noop {
		return nil, 0, nil
	}
	b, err := in.result(r)
	if err != nil {
		var ge errGuest
		if errors.As(err, &ge) {
			return nil, FailGuestError, err
		}
		return nil, FailBadResult, err
	}
	if err := hookv1.DecodeDecisionInto(&in.dec, b); err != nil {
		return nil, FailInvalidDecision, err
	}
	return &in.dec, 0, nil
}

func classify(err error, def FailureKind) FailureKind {
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		switch ee.ExitCode() {
		case sys.ExitCodeDeadlineExceeded, sys.ExitCodeContextCanceled:
			return FailTimeout
		}
	}
	return def
}

// logWriter routes a guest's stdout/stderr to the plugin logger, one record per write, capped and
// rate limited.
type logWriter struct {
	p      *WasmPlugin
	level  hclog.Level
	stream string
	mute   bool // keep, but do not log

	mu   sync.Mutex
	keep *strings.Builder // while not nil, the first maxLogLen bytes written are kept
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	if w.keep != nil && w.keep.Len() < maxLogLen {
		w.keep.Write(b[:min(len(b), maxLogLen-w.keep.Len())])
	}
	w.mu.Unlock()
	if s := strings.TrimRight(string(b), "\n"); s != "" && !w.mute {
		guestLog(w.p.log, &w.p.logLimit, w.level, s, "stream", w.stream)
	}
	return len(b), nil
}

// kept returns what was kept, sanitized, and stops keeping.
func (w *logWriter) kept() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.keep == nil {
		return ""
	}
	s := strings.TrimSpace(w.keep.String())
	w.keep = nil
	// Line by line, so a reason ending in a newline reads as text, not "...\x0a".
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = sanitize(strings.TrimRight(l, "\r"))
	}
	return strings.Join(lines, "; ")
}
