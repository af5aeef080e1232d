// Package send is rocketsend's producer: Java DefaultMQProducer semantics (sync, async and oneway
// sends, retries within one timeout budget, queue selectors, batches, delays, compression,
// namespaces, latency fault tolerance, transactions, admin queries) with Go idiom: a context on
// every call, errors usable with errors.Is and errors.As, functional options, bounded async
// in-flight work instead of unbounded queues.
//
// It also defines the extension points of the send pipeline: hooks (SendMessageBeforeHook,
// SendMessageAfterHook, CheckForbiddenHook, EndTransactionHook) and QueueSelector. Native Go
// values plug in directly; the plugin host implements the same interfaces.
package send

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/fault"
	"github.com/rocketsend/rocketsend/core/remote"
	"github.com/rocketsend/rocketsend/core/route"
)

// innerProducerGroup is the group every Java client also heartbeats; brokers expect it.
const innerProducerGroup = "CLIENT_INNER_PRODUCER"

const (
	stateCreated int32 = iota
	stateRunning
	stateShutdown
)

// Producer sends messages to a RocketMQ cluster. Create it with New, call Start, send from any
// number of goroutines, and Shutdown when done.
type Producer struct {
	cfg      config
	rc       *remote.Client
	routes   *route.Client
	fault    *fault.Strategy
	clientID string
	bornHost string
	group    string // with namespace

	state atomic.Int32

	hooks atomic.Pointer[hookSet] // replaced whole by ReplaceHooks

	inflight  *limiter
	acc       *accumulator // auto-batches; nil unless WithAutoBatch(true)
	callbacks chan task
	workers   sync.WaitGroup
	asyncWG   *drain // async sends not yet completed

	hbMu      sync.Mutex
	hbKnown   map[string]bool // broker addresses heartbeated at least once
	hbPending map[string]bool // first heartbeats sent by announce, not answered yet
	versions  brokerVersions  // each broker's release, for feature checks (features.go)
	loopsDone chan struct{}
	stopLoops chan struct{}

	replies replyTable

	calls sync.Pool // *call, zeroed: calls of finished sends that nothing else can have kept (reuseCall)

	brokerFacts sync.Map // broker name -> brokerFacts, see limits.go
}

// New returns a producer configured by opts; it reports every invalid option at once. It connects
// to nothing until Start.
func New(opts ...Option) (*Producer, error) {
	cfg := defaultConfig()
	for i, o := range opts {
		if o == nil {
			cfg.optErrs = append(cfg.optErrs, errNil(fmt.Sprintf("option %d", i)))
			continue
		}
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Producer{cfg: cfg, hbKnown: map[string]bool{}, hbPending: map[string]bool{}}
	hs, err := newHookSet(cfg.hooks, cfg.selectorFactory)
	if err != nil {
		return nil, err
	}
	p.hooks.Store(hs)
	p.group = p.withNamespace(cfg.group)
	instance := cfg.instanceName
	if instance == "" {
		instance = strconv.Itoa(os.Getpid()) + "#" + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	p.bornHost = cfg.clientIP
	if p.bornHost == "" {
		p.bornHost = codec.LocalIPv4().String()
	}
	p.clientID = p.bornHost + "@" + instance
	if cfg.unitName != "" {
		p.clientID += "@" + cfg.unitName
	}

	ropts := []remote.Option{remote.WithSerializeType(cfg.serialize), remote.WithLogger(cfg.logger),
		remote.WithHandler(codec.CheckTransactionState, remote.HandlerFunc(p.serveCheckTransaction)),
		remote.WithHandler(codec.PushReplyMessageToClient, remote.HandlerFunc(p.serveReply))}
	if cfg.tlsConfig != nil {
		ropts = append(ropts, remote.WithTLS(cfg.tlsConfig))
	}
	hooks := cfg.rpcHooks
	if cfg.credentials != nil {
		hooks = append(hooks, NewACLHook(*cfg.credentials)) // last: it signs the final field set
	}
	ropts = append(ropts, remote.WithRPCHooks(hooks...))
	ropts = append(ropts, cfg.remoteOptions...)
	p.rc = remote.NewClient(ropts...)

	p.routes, err = route.New(p.rc, route.WithNameServers(cfg.nameServers...),
		route.WithPollInterval(cfg.pollNameServer), route.WithDefaultTopicQueueNums(cfg.defaultTopicQueueNums),
		route.WithLogger(cfg.logger), route.WithTimeout(cfg.sendTimeout), route.WithDefaultTopic(cfg.createTopicKey))
	if err != nil {
		_ = p.rc.Close()
		return nil, err
	}
	fopts := []fault.Option{fault.WithEnabled(cfg.faultTolerance)}
	if cfg.latencyMax != nil {
		fopts = append(fopts, fault.WithLatencyTable(cfg.latencyMax, cfg.notAvailableDuration))
	}
	p.fault = fault.NewStrategy(fopts...)
	p.inflight = newLimiter(cfg.maxInFlightMessages, cfg.maxInFlightBytes)
	p.asyncWG = newDrain()
	p.replies.init()
	return p, nil
}

// ClientID returns the id the producer announces to brokers (ip@instance): brokers route
// transaction check-backs and replies to it.
func (p *Producer) ClientID() string { return p.clientID }

// Group returns the producer group, with the namespace if one is set.
func (p *Producer) Group() string { return p.group }

// Start starts the producer: route polling, heartbeats and the async callback workers. A second
// Start fails with ErrAlreadyStarted, and a producer that was shut down cannot start again.
func (p *Producer) Start(ctx context.Context) error {
	if ctx == nil {
		return errNil("context")
	}
	if !p.state.CompareAndSwap(stateCreated, stateRunning) {
		if p.state.Load() == stateRunning {
			return ErrAlreadyStarted
		}
		return fmt.Errorf("%w: a producer cannot start again after Shutdown", ErrShutdown)
	}
	if err := p.routes.Start(); err != nil {
		p.state.Store(stateShutdown)
		return err
	}
	p.callbacks = make(chan task, p.cfg.maxInFlightMessages)
	for i := 0; i < p.cfg.callbackWorkers; i++ {
		p.workers.Add(1)
		go func() {
			defer p.workers.Done()
			for t := range p.callbacks {
				t.run()
			}
		}()
	}
	if p.cfg.autoBatch {
		p.acc = newAccumulator(p)
	}
	p.stopLoops = make(chan struct{})
	p.loopsDone = make(chan struct{})
	go p.heartbeatLoop()
	return nil
}

// Shutdown stops the producer. New sends fail with ErrShutdown at once; async sends in flight
// get until ctx's deadline (3 s when ctx has none) to complete, then fail with ErrShutdown; every
// async callback runs exactly once before Shutdown returns. The producer then unregisters from
// every broker and closes its connections.
func (p *Producer) Shutdown(ctx context.Context) error {
	if ctx == nil {
		return errNil("context")
	}
	if !p.state.CompareAndSwap(stateRunning, stateShutdown) {
		if p.state.CompareAndSwap(stateCreated, stateShutdown) {
			_ = p.routes.Close()
			return p.rc.Close()
		}
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultShutdownDrainTimeout)
		defer cancel()
	}
	if p.acc != nil {
		p.acc.flushAll() // held messages go out now, within the drain
	}
	select {
	case <-p.asyncWG.Zero():
	case <-ctx.Done():
	}
	close(p.stopLoops)
	<-p.loopsDone
	p.unregister()
	_ = p.routes.Close()
	err := p.rc.Close() // fails what is still in flight; their callbacks run on the workers
	<-p.asyncWG.Zero()
	if p.acc != nil {
		p.acc.stop()
	}
	close(p.callbacks)
	p.workers.Wait()
	p.replies.failAll(ErrShutdown)
	return err
}

func (p *Producer) running() error {
	switch p.state.Load() {
	case stateRunning:
		return nil
	case stateCreated:
		return ErrNotStarted
	}
	return ErrShutdown
}

func (p *Producer) heartbeatLoop() {
	defer close(p.loopsDone)
	t := time.NewTicker(p.cfg.heartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stopLoops:
			return
		case <-t.C:
			brokers := p.routes.Brokers() // brokers no route lists any more are gone (cleanOfflineBroker)
			for _, addr := range brokers {
				if err := p.heartbeat(context.Background(), addr, time.Now().Add(p.cfg.sendTimeout)); err != nil {
					p.cfg.logger.Warn("heartbeat failed", "broker", addr, "err", err)
				}
			}
			p.forgetHeartbeats(brokers)
		}
	}
}

// forgetHeartbeats drops the first-heartbeat mark of every address not in live, so a broker that
// left the routes and comes back is heartbeated again before its first request.
func (p *Producer) forgetHeartbeats(live map[string]string) {
	keep := make(map[string]bool, len(live))
	for _, a := range live {
		keep[a] = true
	}
	p.hbMu.Lock()
	for a := range p.hbKnown {
		if !keep[a] {
			delete(p.hbKnown, a)
		}
	}
	p.hbMu.Unlock()
}

func (p *Producer) heartbeatRequest() *codec.Command {
	return codec.NewRequest(codec.HeartBeat, nil, codec.EncodeHeartbeatData(&codec.HeartbeatData{
		ClientID: p.clientID, ProducerGroups: []string{p.group, innerProducerGroup}}))
}

// heartbeat announces the client id and groups to one broker and waits for the answer, until
// deadline; check-backs and replies depend on it.
func (p *Producer) heartbeat(ctx context.Context, addr string, deadline time.Time) error {
	resp, err := p.rc.Invoke(ctx, addr, p.heartbeatRequest(), deadline)
	return p.heartbeatDone(addr, resp, err)
}

func (p *Producer) heartbeatDone(addr string, resp *codec.Command, err error) error {
	if resp != nil {
		p.versions.note(addr, resp.Version)
	}
	if err == nil && resp.Code != codec.Success {
		err = &BrokerError{Code: resp.Code, Remark: resp.Remark, Addr: addr}
	}
	p.hbMu.Lock()
	if err == nil {
		p.hbKnown[addr] = true
	}
	delete(p.hbPending, addr)
	p.hbMu.Unlock()
	return err
}

// announce heartbeats addr before the first send to it, so the broker knows the group before a
// transaction check-back or a reply push needs it. The send does not wait for the answer: the
// heartbeat is written ahead of the send on the same connection, and its answer (or its timeout,
// at the send's deadline) is handled when it comes, so a broker that never answers costs the send
// nothing more than its own attempt.
func (p *Producer) announce(addr string, deadline time.Time) {
	p.hbMu.Lock()
	skip := p.hbKnown[addr] || p.hbPending[addr]
	if !skip {
		p.hbPending[addr] = true
	}
	p.hbMu.Unlock()
	if skip {
		return
	}
	err := p.rc.InvokeAsync(context.Background(), addr, p.heartbeatRequest(), deadline, func(resp *codec.Command, err error) {
		if err := p.heartbeatDone(addr, resp, err); err != nil {
			p.cfg.logger.Debug("first heartbeat failed", "broker", addr, "err", err)
		}
	})
	if err != nil {
		_ = p.heartbeatDone(addr, nil, err)
	}
}

// ensureHeartbeat heartbeats addr and waits for it, within ctx, unless the broker knows us already.
func (p *Producer) ensureHeartbeat(ctx context.Context, addr string) {
	p.hbMu.Lock()
	known := p.hbKnown[addr]
	p.hbMu.Unlock()
	if known {
		return
	}
	if err := p.heartbeat(ctx, addr, time.Now().Add(p.cfg.sendTimeout)); err != nil {
		p.cfg.logger.Debug("first heartbeat failed", "broker", addr, "err", err)
	}
}

func (p *Producer) unregister() {
	for _, addr := range p.routes.Brokers() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := p.rc.Invoke(ctx, addr, codec.NewRequest(codec.UnregisterClient,
			&codec.UnregisterClientRequestHeader{ClientID: p.clientID, ProducerGroup: p.group}, nil), time.Time{})
		cancel()
		if err != nil {
			p.cfg.logger.Debug("unregister failed", "broker", addr, "err", err)
		}
	}
}

// withNamespace applies Java's namespace (v1): "ns%name".
func (p *Producer) withNamespace(name string) string {
	ns := p.cfg.namespace
	if ns == "" || strings.HasPrefix(name, ns+"%") {
		return name
	}
	return ns + "%" + name
}

// withoutNamespace strips the namespace from a topic for results and hooks.
func (p *Producer) withoutNamespace(name string) string {
	if ns := p.cfg.namespace; ns != "" {
		return strings.TrimPrefix(name, ns+"%")
	}
	return name
}

// brokerAddr returns the address to send to for a broker name, the VIP port when configured.
func (p *Producer) brokerAddr(brokerName string) string {
	addr := p.routes.BrokerAddr(brokerName)
	if addr == "" || !p.cfg.vipChannel {
		return addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(host, strconv.Itoa(n-2))
}

var errNoBrokerAddr = errors.New("send: broker has no master address in the route")
