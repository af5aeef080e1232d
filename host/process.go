package host

// This file is the process back end: a plugin is a separate program speaking the Hook service of
// sdk/hookgrpc over hashicorp/go-plugin. It is crash-isolated (a plugin that dies or hangs never
// takes the producer down), restarted with backoff, and called through one pipelined stream of
// batches per process so that it keeps up with high rates.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/rocketsend/rocketsend/sdk/hookgrpc"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// errDown is the error of calls made while the plugin is being restarted.
var errDown = errors.New("plugin process is down (restarting)")

// asyncMaxBytes bounds the memory held by AFTER_SEND calls waiting for a plugin that does not keep
// up: views and bodies, queued or on the stream. Past it, such calls are dropped as failures
// (FailUnavailable) instead of being kept.
const asyncMaxBytes = 32 << 20

// batchWindow is the number of batches in flight on a stream. While they are, new calls queue up and
// leave together in the next batch: one call alone when the load is light, large batches when it is
// heavy, without a timer.
const batchWindow = 2

// ProcessPlugin is one process plugin: at most one live process at a time, supervised and restarted.
// It is safe for concurrent use.
type ProcessPlugin struct {
	pluginCore // name, info, logger, policies, failure counters; the shared adapters (plugin.go)

	path     string
	cfg      processConfig
	cfgBytes []byte

	mu     sync.Mutex
	cur    *generation // nil while down
	closed bool

	stop    chan struct{}
	done    chan struct{} // closed when the supervisor has returned
	stopped sync.Once

	starts, crashes, batches, batched atomic.Uint64
}

// LoadProcess starts the plugin program at path, negotiates the protocol, checks what the plugin
// says about itself (Describe), configures it (Init) and returns the plugin, supervised until
// Close. Errors name the plugin and say what is wrong: a missing or non-executable binary, a
// checksum mismatch, a program that is not a rocketsend plugin or speaks another protocol version,
// a rejected configuration. ctx bounds Describe and Init; launching the program and the handshake
// are bounded by WithStartTimeout.
//
// It takes the options of every plugin and ProcessOpts; a WasmOpt fails the load.
func LoadProcess(ctx context.Context, path string, opts ...Opt) (*ProcessPlugin, error) {
	cfg := defaultProcessConfig()
	applyOpts(&cfg.shared, nil, &cfg, opts)
	fail := func(format string, a ...any) error {
		return fmt.Errorf("host: process plugin %s: %s", path, fmt.Sprintf(format, a...))
	}
	if cfg.err != nil {
		return nil, fail("%v", cfg.err)
	}
	cfg.maxBatch = max(cfg.maxBatch, 1)
	cfg.backoffMin = max(cfg.backoffMin, time.Millisecond)
	cfg.backoffMax = max(cfg.backoffMax, cfg.backoffMin)
	if cfg.callTimeout <= 0 {
		cfg.callTimeout = DefaultProcessCallTimeout
	}
	if cfg.startTimeout <= 0 {
		cfg.startTimeout = DefaultStartTimeout
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fail("%v", err)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fail("no such file")
	case err != nil:
		return nil, fail("%v", err)
	case st.IsDir():
		return nil, fail("is a directory, not a program")
	case st.Mode()&0o111 == 0:
		return nil, fail("is not executable (mode %v)", st.Mode().Perm())
	}
	p := &ProcessPlugin{
		pluginCore: newCore(KindProcess, path, &cfg.shared),
		path:       abs, cfg: cfg,
		cfgBytes: hookv1.AppendHookConfig(nil, &cfg.hookConfig),
		stop:     make(chan struct{}), done: make(chan struct{}),
	}
	p.backend = p
	p.failLogLimit = failLogsPerSecond
	g, info, err := p.start(ctx)
	if err != nil {
		return nil, fmt.Errorf("host: process plugin %s: %w", path, err)
	}
	if err := p.adopt(info, cfg.logger); err != nil {
		g.fail(ErrClosed, false)
		g.shutdown()
		return nil, fail("%v", err)
	}
	p.cur = g
	go p.supervise(g)
	p.log.Debug("loaded", "path", abs, "version", p.info.Version, "points", p.info.Points, "pid", g.pid)
	return p, nil
}

// Stats returns the plugin's counters: its instances are its processes.
func (p *ProcessPlugin) Stats() Stats {
	s := Stats{
		Calls: p.calls.Load(), Failures: p.failures.Load(), Created: p.starts.Load(),
		Discarded: p.crashes.Load(), Batches: p.batches.Load(), Batched: p.batched.Load(),
	}
	for i := range s.ByKind {
		s.ByKind[i] = p.byKind[i].Load()
	}
	if g := p.current(); g != nil {
		s.Live, s.Pid = 1, g.pid
	}
	return s
}

// Close stops the plugin: calls in flight fail (ErrClosed, then their failure policy), the
// process is asked to exit and killed if it has not within two seconds, and Close returns once it is
// gone. ctx bounds the wait for the supervisor (a restart in progress is abandoned).
func (p *ProcessPlugin) Close(ctx context.Context) error {
	p.stopped.Do(func() {
		p.mu.Lock()
		p.closed = true
		g := p.cur
		p.cur = nil
		p.mu.Unlock()
		close(p.stop)
		if g != nil {
			g.fail(ErrClosed, false)
			g.shutdown()
		}
	})
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("host: process plugin %s: close: %w", p.name, ctx.Err())
	}
}

func (p *ProcessPlugin) current() *generation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// generation is one plugin process: its go-plugin client, its stream and the calls in flight on it.
type generation struct {
	p      *ProcessPlugin
	client *plugin.Client
	cmd    *exec.Cmd
	conn   *grpc.ClientConn
	hook   hookgrpc.HookClient
	stream hookgrpc.Hook_CallStreamClient
	cancel context.CancelFunc
	pid    int

	procCancel context.CancelFunc // kills the process (exec.CommandContext): the last resort of shutdown
	started    time.Time

	queue  chan *pcall
	window chan struct{}

	mu         sync.Mutex
	pending    map[uint64]*pcall
	nextID     uint64
	sent       []sentBatch // batches on the stream, oldest first: answered in this order
	asyncBytes int         // view and body bytes of the AFTER_SEND calls pending (asyncMaxBytes)

	dead     chan struct{}
	deadOnce sync.Once
	deadErr  error
	crashed  bool // died on its own (not closed by the host)
	loops    sync.WaitGroup
}

// pcall is one call in flight.
type pcall struct {
	id    uint64
	point hookv1.HookPoint
	view  []byte
	body  []byte
	res   chan pres // capacity 1; nil for an async call
	gone  atomic.Bool
}

type pres struct {
	decision []byte
	errText  string
	missing  bool // the plugin answered the call's batch without a result for it
}

// sentBatch is a batch on the stream: when it left, and its calls.
type sentBatch struct {
	at    time.Time
	calls []*pcall
}

// start launches a process and runs the handshake, Describe and Init.
func (p *ProcessPlugin) start(ctx context.Context) (_ *generation, _ hookv1.HookInfo, err error) {
	var info hookv1.HookInfo
	cfg := &p.cfg
	if cfg.checksum != nil {
		// Checked here, before go-plugin's SecureConfig does the same, to give a clear error that
		// names both sums.
		sum, err := fileSHA256(p.path)
		if err != nil {
			return nil, info, err
		}
		if string(sum) != string(cfg.checksum) {
			return nil, info, fmt.Errorf("checksum mismatch: the binary's SHA-256 is %x, the configuration expects %x", sum, cfg.checksum)
		}
	}
	// The program is killed if ctx ends before it has completed its handshake (go-plugin's own
	// wait is bounded only by the start timeout); afterwards it lives until the generation ends.
	procCtx, procCancel := context.WithCancel(context.Background())
	stopKill := context.AfterFunc(ctx, procCancel)
	defer func() {
		stopKill()
		if err != nil {
			procCancel()
		}
	}()
	cmd := exec.CommandContext(procCtx, p.path, cfg.args...)
	for _, kv := range cfg.env {
		cmd.Env = append(cmd.Env, kv[0]+"="+kv[1])
	}
	cmd.Env = append(cmd.Env, hookgrpc.LogLevelEnv+"="+levelName(p.log))
	cc := &plugin.ClientConfig{
		HandshakeConfig:  hookgrpc.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{hookgrpc.ProtocolVersion: {hookgrpc.PluginName: &hookgrpc.Plugin{}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		// go-plugin names the plugin's stderr logger after the program file: parent logger, so a
		// plugin built under its own name logs as <parent>.<name>, like the host's records about it.
		Logger:       guardedLogger{cfg.logger, &p.logLimit},
		AutoMTLS:     cfg.autoMTLS,
		SkipHostEnv:  !cfg.inheritEnv,
		StartTimeout: cfg.startTimeout,
		// After the handshake go-plugin forwards what the plugin writes to os.Stdout and os.Stderr
		// (other than its logger's JSON lines) here; plain text is logged, like a wasm guest's.
		SyncStdout: &lineLogger{log: p.log, lim: &p.logLimit, level: hclog.Info, stream: "stdout"},
		SyncStderr: &lineLogger{log: p.log, lim: &p.logLimit, level: hclog.Warn, stream: "stderr"},
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(hookgrpc.MaxMessageSize), grpc.MaxCallSendMsgSize(hookgrpc.MaxMessageSize))},
	}
	if cfg.checksum != nil {
		cc.SecureConfig = &plugin.SecureConfig{Checksum: cfg.checksum, Hash: sha256.New()}
	}
	client := plugin.NewClient(cc)
	defer func() {
		if err != nil {
			client.Kill()
		}
	}()
	rpc, err := client.Client()
	if err != nil && ctx.Err() != nil {
		return nil, info, fmt.Errorf("start: %w", ctx.Err())
	}
	if err != nil {
		// go-plugin's start errors quote what the program wrote on stdout: guest text.
		return nil, info, startError(err)
	}
	raw, err := rpc.Dispense(hookgrpc.PluginName)
	if err != nil {
		return nil, info, fmt.Errorf("dispense: %w", err)
	}
	hook, ok := raw.(hookgrpc.HookClient)
	if !ok {
		return nil, info, fmt.Errorf("dispense: unexpected client %T", raw)
	}
	gc, _ := rpc.(*plugin.GRPCClient)
	sctx, cancel := context.WithTimeout(ctx, cfg.startTimeout)
	defer cancel()
	dr, err := hook.Describe(sctx, &hookgrpc.DescribeRequest{})
	if err != nil {
		return nil, info, fmt.Errorf("Describe: %w", err)
	}
	if dr.Error != "" {
		return nil, info, fmt.Errorf("Describe: plugin error: %s", sanitize(dr.Error))
	}
	if info, err = hookv1.DecodeHookInfo(dr.Info); err != nil {
		return nil, info, fmt.Errorf("Describe: %w", err)
	}
	if err = checkInfo(info); err != nil {
		return nil, info, fmt.Errorf("Describe: %w", err)
	}
	ir, err := hook.Init(sctx, &hookgrpc.InitRequest{Config: p.cfgBytes})
	if err != nil {
		return nil, info, fmt.Errorf("Init: %w", err)
	}
	if ir.Error != "" {
		return nil, info, fmt.Errorf("Init rejected the configuration: %s", sanitize(ir.Error))
	}
	streamCtx, streamCancel := context.WithCancel(context.Background())
	var stream hookgrpc.Hook_CallStreamClient
	if !cfg.unary {
		if stream, err = hook.CallStream(streamCtx); err != nil {
			streamCancel()
			return nil, info, fmt.Errorf("CallStream: %w", err)
		}
	}
	g := &generation{
		p: p, client: client, cmd: cmd, hook: hook, stream: stream, cancel: streamCancel, started: time.Now(),
		procCancel: procCancel,
		queue:      make(chan *pcall, 4*cfg.maxBatch), window: make(chan struct{}, batchWindow),
		pending: map[uint64]*pcall{}, dead: make(chan struct{}),
	}
	if gc != nil {
		g.conn = gc.Conn
	}
	if cmd.Process != nil {
		g.pid = cmd.Process.Pid
	}
	if stream != nil {
		g.loops.Add(2)
		go g.sendLoop()
		go g.recvLoop()
	}
	p.starts.Add(1)
	return g, info, nil
}

// startError makes go-plugin's start errors say what is wrong in rocketsend's terms. It reads the
// raw text (its lines tell the cases apart) and reports it sanitized: it quotes what the program
// wrote.
func startError(raw error) error {
	s := raw.Error()
	err := safeError{sanitize(s), raw}
	switch {
	case strings.Contains(s, "incompatible API version"):
		return fmt.Errorf("protocol version mismatch: this host speaks hook protocol version %d (ABI v1); rebuild the plugin with this SDK (%v)", hookgrpc.ProtocolVersion, err)
	case strings.Contains(s, "Unrecognized remote plugin message") && strings.TrimSpace(firstLine(s)) != "Unrecognized remote plugin message:":
		return fmt.Errorf("not a rocketsend plugin: the program wrote something other than the go-plugin handshake on stdout (%v)", sanitize(firstLine(s)))
	case strings.Contains(s, "exited before we could connect"), strings.Contains(s, "Unrecognized remote plugin message"):
		// A program that exits without a word reaches go-plugin either way: as an exit, or as an
		// empty line when its stdout closes first.
		return fmt.Errorf("the program exited before the handshake: not a rocketsend plugin (a plugin run without the host's magic cookie exits at once), or it failed at start; its stderr is in the log (%v)", err)
	case strings.Contains(s, "timeout while waiting for plugin to start"):
		return fmt.Errorf("no handshake within the start timeout (%v)", err)
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fmt.Errorf("checksum mismatch (%v)", err)
	}
	return fmt.Errorf("start: %w", err)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// levelName is the lowest level l logs, "off" when it logs nothing (a null logger): the plugin then
// formats and sends no log lines at all.
func levelName(l hclog.Logger) string {
	for _, c := range []struct {
		on   bool
		name string
	}{{l.IsTrace(), "trace"}, {l.IsDebug(), "debug"}, {l.IsInfo(), "info"}, {l.IsWarn(), "warn"}, {l.IsError(), "error"}} {
		if c.on {
			return c.name
		}
	}
	return "off"
}

// sendLoop takes queued calls and sends them in batches, at most batchWindow batches in flight.
func (g *generation) sendLoop() {
	defer g.loops.Done()
	maxCalls := g.p.cfg.maxBatch
	for {
		var first *pcall
		select {
		case first = <-g.queue:
		case <-g.dead:
			return
		}
		select {
		case g.window <- struct{}{}:
		case <-g.dead:
			return
		}
		calls := make([]*hookgrpc.CallRequest, 0, 1)
		var sent []*pcall
		size := 0
		add := func(c *pcall) {
			if c.gone.Load() {
				return
			}
			sent = append(sent, c)
			req := &hookgrpc.CallRequest{Id: c.id, Point: int32(c.point), View: c.view}
			if c.body != nil {
				req.Body = c.body
			}
			calls = append(calls, req)
			size += len(c.view) + len(c.body)
		}
		add(first)
	drain:
		for len(calls) < maxCalls && size < hookgrpc.MaxBatchBytes {
			select {
			case c := <-g.queue:
				add(c)
			default:
				break drain
			}
		}
		if len(calls) == 0 {
			<-g.window
			continue
		}
		g.p.batches.Add(1)
		g.p.batched.Add(uint64(len(calls)))
		g.mu.Lock()
		g.sent = append(g.sent, sentBatch{at: time.Now(), calls: sent})
		g.mu.Unlock()
		if err := g.stream.Send(&hookgrpc.CallBatch{Calls: calls}); err != nil {
			g.fail(fmt.Errorf("send to the plugin process: %w", err), true)
			return
		}
	}
}

// recvLoop delivers results to their callers.
func (g *generation) recvLoop() {
	defer g.loops.Done()
	for {
		rb, err := g.stream.Recv()
		if err != nil {
			g.fail(fmt.Errorf("plugin process stream ended: %w", err), true)
			return
		}
		select {
		case <-g.window:
		default:
			g.fail(errors.New("plugin process answered a batch it was not sent"), true)
			return
		}
		var async []asyncResult
		g.mu.Lock()
		var batch sentBatch
		if len(g.sent) > 0 {
			batch = g.sent[0]
			g.sent[0] = sentBatch{}
			g.sent = g.sent[1:]
		}
		deliver := func(c *pcall, r pres) {
			delete(g.pending, c.id)
			if c.res == nil {
				g.asyncBytes -= len(c.view) + len(c.body)
				async = append(async, asyncResult{c.point, r})
				return
			}
			c.res <- r
		}
		for _, r := range rb.Results {
			if c, ok := g.pending[r.Id]; ok {
				deliver(c, pres{decision: r.Decision, errText: r.Error})
			}
		}
		// A call of this batch still pending was left out of its answer: it will never have one.
		for _, c := range batch.calls {
			if g.pending[c.id] == c {
				deliver(c, pres{missing: true})
			}
		}
		g.mu.Unlock()
		for _, a := range async {
			if _, kind, err := decodeResult(a.res); err != nil {
				g.p.fail(a.point, kind, err)
			}
		}
	}
}

type asyncResult struct {
	point hookv1.HookPoint
	res   pres
}

// fail ends the generation once: callers in flight see dead, async calls in flight are counted as
// failed (FailTrap), the supervisor restarts a crashed process.
func (g *generation) fail(err error, crashed bool) { g.failWith(err, crashed, FailTrap) }

// failWith is fail, the async calls in flight counted as failures of kind (FailTimeout for a hung
// process).
func (g *generation) failWith(err error, crashed bool, kind FailureKind) {
	g.deadOnce.Do(func() {
		g.mu.Lock()
		g.deadErr, g.crashed = err, crashed
		var lost []hookv1.HookPoint
		for id, c := range g.pending {
			if c.res == nil {
				lost = append(lost, c.point)
				delete(g.pending, id)
			}
		}
		g.asyncBytes = 0
		g.sent = nil
		g.mu.Unlock()
		close(g.dead)
		g.cancel()
		for _, pt := range lost {
			g.p.fail(pt, kind, fmt.Errorf("plugin process failed with the call in flight: %w", err))
		}
	})
}

// checkDeadline fails the generation as hung when the oldest batch on its stream has waited for its
// answer longer than the call timeout. Calls whose caller waits have their own timer; this is what
// bounds the calls nobody waits for (AFTER_SEND), which would otherwise stay pending, views and
// bodies included, for as long as the plugin does not answer.
func (g *generation) checkDeadline(now time.Time) {
	g.mu.Lock()
	late := len(g.sent) > 0 && now.Sub(g.sent[0].at) > g.p.cfg.callTimeout
	g.mu.Unlock()
	if late {
		g.failWith(fmt.Errorf("no answer within %v: the plugin process is hung; killing and restarting it", g.p.cfg.callTimeout), true, FailTimeout)
	}
}

func (g *generation) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.deadErr
}

// killGrace bounds a graceful stop: go-plugin asks the plugin to exit and kills it after two
// seconds, but its request has no deadline of its own, so a plugin that cannot answer at all (stopped,
// deadlocked) would hold it forever.
const killGrace = 5 * time.Second

// shutdown stops the process and waits for it and for the loops. A process that failed (died, hung,
// failed a health check) is killed at once; a healthy one (Close) is asked to exit first.
func (g *generation) shutdown() {
	g.cancel()
	g.mu.Lock()
	crashed := g.crashed
	g.mu.Unlock()
	if crashed && g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
	done := make(chan struct{})
	go func() {
		g.client.Kill()
		close(done)
	}()
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		g.p.log.Warn("plugin process does not exit; killing it", "pid", g.pid)
		if g.cmd.Process != nil {
			_ = g.cmd.Process.Kill()
		}
		<-done
	}
	g.procCancel()
	g.loops.Wait()
}

// ping runs one gRPC health check, bounded by the call timeout.
func (g *generation) ping() error {
	if g.client.Exited() {
		return errors.New("plugin process exited")
	}
	if g.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.p.cfg.callTimeout)
	defer cancel()
	_, err := grpc_health_v1.NewHealthClient(g.conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	return nil
}

// supervise watches the live generation (its death, health checks) and restarts the process with
// backoff until Close.
func (p *ProcessPlugin) supervise(g *generation) {
	defer close(p.done)
	backoff := p.cfg.backoffMin
	var tick <-chan time.Time
	if p.cfg.health > 0 {
		t := time.NewTicker(p.cfg.health)
		defer t.Stop()
		tick = t.C
	}
	// The deadline of the calls on the stream is enforced within a quarter of the call timeout.
	deadlines := time.NewTicker(max(p.cfg.callTimeout/4, time.Millisecond))
	defer deadlines.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-deadlines.C:
			g.checkDeadline(now)
			continue
		case <-tick:
			if err := g.ping(); err != nil {
				g.fail(err, true)
			}
			continue
		case <-g.dead:
		}
		p.mu.Lock()
		if p.cur == g {
			p.cur = nil
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		p.crashes.Add(1)
		if time.Since(g.started) > 10*p.cfg.backoffMax {
			backoff = p.cfg.backoffMin // it ran well for a while: not a crash loop
		}
		p.log.Error("plugin process failed; restarting", "error", g.err(), "pid", g.pid, "backoff", backoff)
		g.shutdown()
		for {
			t := time.NewTimer(backoff)
			select {
			case <-p.stop:
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, p.cfg.backoffMax)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-p.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			ng, info, err := p.start(ctx)
			cancel()
			if err != nil {
				p.log.Error("plugin restart failed", "error", err, "next_try_in", backoff)
				continue
			}
			if sanitizeName(info.Name) != p.info.Name || !samePoints(info, p.info) {
				p.log.Warn("restarted plugin describes itself differently; keeping the first description",
					"name", sanitizeName(info.Name), "points", info.Points)
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				ng.fail(ErrClosed, false)
				ng.shutdown()
				return
			}
			p.circuitReset() // the failures were the old process's
			// Logged before the new process is published: whoever sees it can see the record.
			p.log.Info("plugin process restarted", "pid", ng.pid)
			p.cur = ng
			p.mu.Unlock()
			g = ng
			break
		}
	}
}

func samePoints(a, b hookv1.HookInfo) bool {
	if len(a.Points) != len(b.Points) {
		return false
	}
	for _, pt := range a.Points {
		if !b.Has(pt) {
			return false
		}
	}
	return true
}

// call runs one hook point: it queues the call on the live process's stream and waits for its
// result, the call deadline, ctx, or the process's death. It returns the Decision (nil for "allow,
// no change") or the failure kind and error.
func (p *ProcessPlugin) call(ctx context.Context, point hookv1.HookPoint, view, body []byte) (*hookv1.Decision, FailureKind, error) {
	g := p.current()
	if g == nil {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return nil, FailUnavailable, ErrClosed
		}
		return nil, FailUnavailable, errDown
	}
	if p.cfg.unary {
		return p.callUnary(ctx, g, point, view, body)
	}
	if point == hookv1.PointAfterSend {
		return p.callAsync(g, point, view, body)
	}
	c := &pcall{point: point, view: view, body: body, res: make(chan pres, 1)}
	g.mu.Lock()
	g.nextID++
	c.id = g.nextID
	g.pending[c.id] = c
	g.mu.Unlock()
	abandon := func() {
		c.gone.Store(true)
		g.mu.Lock()
		delete(g.pending, c.id)
		g.mu.Unlock()
	}
	timer := time.NewTimer(p.cfg.callTimeout)
	defer timer.Stop()
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	select {
	case g.queue <- c:
	case <-g.dead:
		abandon()
		return nil, FailTrap, fmt.Errorf("plugin process failed: %w", g.err())
	case <-timer.C:
		abandon()
		return nil, FailTimeout, fmt.Errorf("call not sent within %v: the plugin is overloaded", p.cfg.callTimeout)
	case <-done:
		abandon()
		return nil, FailTimeout, ctx.Err()
	}
	select {
	case r := <-c.res:
		return decodeResult(r)
	case <-g.dead:
		abandon()
		return nil, FailTrap, fmt.Errorf("plugin process failed with the call in flight: %w", g.err())
	case <-timer.C:
		abandon()
		err := fmt.Errorf("no answer within %v: the plugin process is hung; killing and restarting it", p.cfg.callTimeout)
		g.failWith(err, true, FailTimeout)
		return nil, FailTimeout, err
	case <-done:
		abandon()
		return nil, FailTimeout, ctx.Err()
	}
}

// callAsync queues a call whose result nobody waits for: AFTER_SEND, which only observes and
// cannot change the send's outcome. The producer runs After hooks on a connection's reader, which
// must not wait for a round trip to another process. The result's failures are counted and logged
// when it arrives; when the queue is full (the plugin cannot keep up) the call is dropped as a
// failure (FailUnavailable) instead of blocking.
func (p *ProcessPlugin) callAsync(g *generation, point hookv1.HookPoint, view, body []byte) (*hookv1.Decision, FailureKind, error) {
	c := &pcall{point: point, view: view, body: body}
	size := len(view) + len(body)
	g.mu.Lock()
	if g.asyncBytes+size > asyncMaxBytes && g.asyncBytes > 0 {
		g.mu.Unlock()
		return nil, FailUnavailable, fmt.Errorf("call dropped: %d bytes of AFTER_SEND calls are already waiting for the plugin (it does not keep up)", asyncMaxBytes)
	}
	g.asyncBytes += size
	g.nextID++
	c.id = g.nextID
	g.pending[c.id] = c
	g.mu.Unlock()
	select {
	case g.queue <- c:
		return nil, 0, nil
	case <-g.dead:
	default:
	}
	g.mu.Lock()
	_, mine := g.pending[c.id]
	if mine {
		delete(g.pending, c.id)
		g.asyncBytes -= size
	}
	g.mu.Unlock()
	if !mine { // fail already counted it
		return nil, 0, nil
	}
	select {
	case <-g.dead:
		return nil, FailTrap, fmt.Errorf("plugin process failed: %w", g.err())
	default:
		return nil, FailUnavailable, errors.New("call dropped: the plugin's queue is full (it does not keep up)")
	}
}

// decodeResult turns a plugin's answer into a Decision or a guest error.
func decodeResult(r pres) (*hookv1.Decision, FailureKind, error) {
	if r.missing {
		return nil, FailBadResult, errors.New("the plugin answered the call's batch without a result for it")
	}
	if r.errText != "" {
		return nil, FailGuestError, errGuest{sanitize(r.errText)}
	}
	if len(r.decision) == 0 {
		return nil, 0, nil
	}
	d, err := hookv1.DecodeDecision(r.decision)
	if err != nil {
		return nil, FailInvalidDecision, err
	}
	return &d, 0, nil
}

// callUnary is call with one Call RPC (WithUnaryCalls).
func (p *ProcessPlugin) callUnary(ctx context.Context, g *generation, point hookv1.HookPoint, view, body []byte) (*hookv1.Decision, FailureKind, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.callTimeout)
	defer cancel()
	req := &hookgrpc.CallRequest{Point: int32(point), View: view}
	if body != nil {
		req.Body = body
	}
	r, err := g.hook.Call(cctx, req)
	switch {
	case err == nil:
		return decodeResult(pres{decision: r.Decision, errText: r.Error})
	case ctx.Err() != nil:
		return nil, FailTimeout, ctx.Err()
	case cctx.Err() != nil:
		err := fmt.Errorf("no answer within %v: the plugin process is hung; killing and restarting it", p.cfg.callTimeout)
		g.fail(err, true)
		return nil, FailTimeout, err
	}
	select {
	case <-g.dead:
		return nil, FailTrap, fmt.Errorf("plugin process failed with the call in flight: %w", g.err())
	default:
	}
	err = fmt.Errorf("plugin process failed with the call in flight: %w", err)
	g.fail(err, true)
	return nil, FailTrap, err
}

// lineLogger writes a plugin's stdout or stderr (after the handshake) to its logger, one record per
// line, sanitized and rate limited like a wasm guest's output (the plugin's limiter).
type lineLogger struct {
	log    hclog.Logger
	lim    *logLimiter
	level  hclog.Level
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineLogger) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			if len(w.buf) > maxLogLen {
				w.emit(w.buf)
				w.buf = w.buf[:0]
			}
			return len(b), nil
		}
		w.emit(w.buf[:i])
		w.buf = append(w.buf[:0], w.buf[i+1:]...)
	}
}

func (w *lineLogger) emit(line []byte) {
	if s := strings.TrimRight(string(line), "\r"); s != "" {
		guestLog(w.log, w.lim, w.level, s, "stream", w.stream)
	}
}
