package host

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Plugin is a loaded plugin, whatever its back end: what a producer needs of it. *WasmPlugin and
// *ProcessPlugin implement it; Load returns one by kind.
type Plugin interface {
	// Name is the name the plugin gives itself (HookInfo.name), else its file name.
	Name() string
	// Kind is the back end the plugin runs on.
	Kind() Kind
	// Info is what the plugin declared: hook points, needs, topics, failure policy hint.
	Info() hookv1.HookInfo
	// Points are the hook points in use: the declared ones, restricted by WithPoints.
	Points() []hookv1.HookPoint
	// Hooks returns a value implementing the send hook interfaces (send.CheckForbiddenHook,
	// send.SendMessageBeforeHook, send.SendMessageAfterHook) of the points in use, and Name; nil
	// when none is. The hooks do nothing for a topic the filter (WithTopics, HookInfo.topics)
	// excludes.
	Hooks() send.Hook
	// Selector returns a send.QueueSelector that asks the plugin (SELECT_QUEUE) and falls back to
	// fallback when the plugin makes no choice, is not used for the topic, or fails under a
	// fail-open policy (the default). Without SELECT_QUEUE in use it returns fallback; if the
	// plugin declares consistent_select, its sends are ordered (send.ConsistentSelector); its
	// select_retry is the selector's send.RetryingSelector policy.
	Selector(fallback send.QueueSelector) send.QueueSelector
	// Stats returns the plugin's counters.
	Stats() Stats
	// Close releases the plugin: its instances, or its process, which is gone when Close returns.
	// Calls in flight fail with ErrClosed (then their failure policy).
	Close(ctx context.Context) error
}

// Kind is a plugin back end.
type Kind string

// The back ends.
const (
	KindWasm    Kind = "wasm"    // a WebAssembly module (ABI v1, docs/abi.md) run on wazero, in process
	KindProcess Kind = "process" // a separate program speaking gRPC through hashicorp/go-plugin
)

// Load loads the plugin at path with the back end kind: LoadWasm or LoadProcess. An option of the
// other back end fails the load.
func Load(ctx context.Context, kind Kind, path string, opts ...Opt) (Plugin, error) {
	switch kind {
	case KindWasm:
		return LoadWasm(ctx, path, opts...)
	case KindProcess:
		return LoadProcess(ctx, path, opts...)
	}
	return nil, fmt.Errorf("host: plugin %s: unknown kind %q (want %q or %q)", path, kind, KindWasm, KindProcess)
}

// ErrClosed is the error of calls on a closed plugin.
var ErrClosed = errors.New("host: plugin closed")

// Stats counts a plugin's activity. The instances of a wasm plugin are its pooled module
// instances; those of a process plugin are its processes (at most one alive).
type Stats struct {
	Calls     uint64
	Failures  uint64
	ByKind    [numFailureKinds]uint64 // indexed by FailureKind
	Created   uint64                  // instances created or processes started, the first included
	Discarded uint64                  // instances thrown away after a failure; processes that died, hung or failed a health check
	Live      int64                   // instances alive now; 1 while a plugin process serves

	// Process plugins only.
	Batches uint64 // batches sent on the streams
	Batched uint64 // calls sent in those batches (Batched/Batches = mean batch size)
	Pid     int    // the serving process's id, 0 when down
}

// FailureKind classifies plugin failures in Stats.
type FailureKind int

const (
	FailTrap            FailureKind = iota // the export trapped (panic, unreachable, OOM, bounds); a plugin process died mid-call
	FailTimeout                            // the call exceeded its deadline
	FailGuestError                         // the guest returned an error result
	FailBadResult                          // result outside memory, scratch allocation failed
	FailInvalidDecision                    // malformed Decision, unknown verdict, bad edit or index
	FailUnavailable                        // no instance could be created, the plugin is closed, or its process is down
	numFailureKinds
)

func (k FailureKind) String() string {
	return [...]string{"trap", "timeout", "guest error", "bad result", "invalid decision", "unavailable"}[k]
}

// PluginError is a failure of a plugin call. Its text names the plugin.
type PluginError struct {
	Plugin string
	Point  hookv1.HookPoint
	Kind   FailureKind
	Err    error
	// Transport is the plugin's back end, for the error text.
	Transport Kind
}

func (e *PluginError) Error() string {
	return fmt.Sprintf("%s %q: %s at %s: %v", transportName(e.Transport), e.Plugin, e.Kind, PointName(e.Point), e.Err)
}

func (e *PluginError) Unwrap() error { return e.Err }

// This file holds what the wasm and the process back ends share, so that the two follow the same
// rules by construction rather than by copy: the failure policies, the topic filter, failure
// accounting, the view built from a message and a send context, the consumption of decisions, the
// send hook adapters and the queue selector. A back end embeds pluginCore and supplies only the call
// itself (pluginBackend).

// pluginBackend is what differs between the back ends: building the view in their own buffers,
// calling the plugin, and consuming the decision (with decideHook or decideQueue) while the
// buffers it points into are still valid. Failures are counted and logged (pluginCore.fail) and
// returned as *PluginError; the caller applies the failure policy.
type pluginBackend interface {
	// callHook calls a send hook point (CHECK_FORBIDDEN, BEFORE_SEND, AFTER_SEND) for sc, whose
	// Message is not nil; forbid is the plugin's FORBID verdict.
	callHook(point hookv1.HookPoint, sc *send.SendContext) (forbid error, perr *PluginError)
	// callSelect calls SELECT_QUEUE for msg (not nil) and queues (not empty); idx is the queue
	// chosen, or -1 when the plugin made no choice.
	callSelect(msg *message.Message, queues []message.MessageQueue, arg any) (idx int32, perr *PluginError)
}

// pluginCore is the state and logic both plugin types embed.
type pluginCore struct {
	name      string
	transport Kind
	info      hookv1.HookInfo
	policies  map[hookv1.HookPoint]hookv1.FailurePolicy // configured per point
	filter    filter                                    // the points and topics in use (filter.go)
	log       hclog.Logger
	needBody  bool
	backend   pluginBackend // the embedding plugin

	logLimit        logLimiter // the guest's log records (sanitize.go)
	calls, failures atomic.Uint64
	byKind          [numFailureKinds]atomic.Uint64
	circuit         circuit // circuit.go

	// failLogLimit caps the failure records logged a second; 0 logs every one.
	failLogLimit                           int64
	failWindow, failLogged, failSuppressed atomic.Int64 // failure log rate limit
}

// failLogsPerSecond caps the failure records a process plugin logs: while a process is down every
// call fails at once, and a producer sending thousands of messages a second must not log each. (A
// wasm plugin logs every failure; for both, the call circuit (circuit.go) stops calling a plugin
// whose calls keep failing, and its refusals are not logged.)
const failLogsPerSecond = 20

// newCore is the shared state of a plugin being loaded from path, named after the file until it
// names itself.
func newCore(kind Kind, path string, sh *shared) pluginCore {
	base := filepath.Base(path)
	return pluginCore{name: base, transport: kind, policies: sh.policies, filter: sh.filter, log: sh.logger.Named(base)}
}

// adopt records what the plugin said about itself when it was loaded: a plugin that names itself
// is known, and logs, by that name. It fails when the configured points are not all declared.
func (c *pluginCore) adopt(info hookv1.HookInfo, logger hclog.Logger) error {
	if err := c.filter.bind(info); err != nil {
		return err
	}
	// The name and version are the guest's text, shown in logs and errors: made safe once here.
	info.Name, info.Version = sanitizeName(info.Name), sanitizeName(info.Version)
	c.info = info
	if info.Name != "" {
		c.name = info.Name
		c.log = logger.Named(info.Name)
	}
	c.needBody = info.Need(hookv1.NeedBodyLazy) || info.Need(hookv1.NeedBodyEager)
	return nil
}

// Name is the plugin's name (HookInfo.name, else the file name).
func (c *pluginCore) Name() string { return c.name }

// Kind is the plugin's back end.
func (c *pluginCore) Kind() Kind { return c.transport }

// Info is what the plugin said about itself when it was loaded.
func (c *pluginCore) Info() hookv1.HookInfo { return c.info }

// Points are the hook points in use: the declared ones, restricted by WithPoints.
func (c *pluginCore) Points() []hookv1.HookPoint { return slices.Clone(c.filter.points) }

// Topics are the topics the plugin is restricted to by WithTopics (nil: every topic the plugin
// itself accepts, see Info().Topics).
func (c *pluginCore) Topics() []string { return slices.Clone(c.filter.topics) }

// policy resolves the failure policy of a point: configuration, then the plugin's hint, then the
// defaults of docs/abi.md §6.
func (c *pluginCore) policy(point hookv1.HookPoint) hookv1.FailurePolicy {
	if fp, ok := c.policies[point]; ok && fp != hookv1.FailureDefault {
		return fp
	}
	if fp := c.info.FailurePolicy; fp == hookv1.FailClosed || fp == hookv1.FailOpen {
		return fp
	}
	switch point {
	case hookv1.PointAfterSend, hookv1.PointSelectQueue:
		return hookv1.FailOpen
	}
	return hookv1.FailClosed
}

func policyName(fp hookv1.FailurePolicy) string {
	if fp == hookv1.FailOpen {
		return "open"
	}
	return "closed"
}

// fail records a failure, logs it (at most failLogLimit a second when set; the next record says how
// many were left out) and returns the error to report.
func (c *pluginCore) fail(point hookv1.HookPoint, kind FailureKind, err error) *PluginError {
	pe := c.failQuietly(point, kind, err)
	if c.failLogLimit > 0 {
		now := time.Now().Unix()
		if w := c.failWindow.Load(); w != now && c.failWindow.CompareAndSwap(w, now) {
			c.failLogged.Store(0)
		}
		if c.failLogged.Add(1) > c.failLogLimit {
			c.failSuppressed.Add(1)
			return pe
		}
	}
	args := []any{"point", PointName(point), "kind", kind.String(), "error", err, "policy", policyName(c.policy(point))}
	if n := c.failSuppressed.Swap(0); n > 0 {
		args = append(args, "not_logged_before", n)
	}
	c.log.Error("plugin call failed", args...)
	return pe
}

// failQuietly records a failure without logging it (the open circuit logged once when it opened).
func (c *pluginCore) failQuietly(point hookv1.HookPoint, kind FailureKind, err error) *PluginError {
	c.failures.Add(1)
	c.byKind[kind].Add(1)
	return &PluginError{Plugin: c.name, Point: point, Kind: kind, Err: err, Transport: c.transport}
}

// fillMessageView fills the message part of v, which it first empties. The properties are sent
// only when withProps; they are appended to props[:0], and v.Queues starts as queues[:0] (for
// fillSelectView): the wasm back end passes its instance's buffers so that a call allocates nothing.
func fillMessageView(v *hookv1.MessageView, msg *message.Message, props []hookv1.Property, queues []hookv1.QueueRef, withProps bool) {
	*v = hookv1.MessageView{Properties: props[:0], Queues: queues[:0]}
	if msg == nil {
		return
	}
	v.Topic = msg.Topic
	v.Tags = msg.Properties[message.PropertyTags]
	v.Keys = msg.Properties[message.PropertyKeys]
	v.BodySize = uint32(len(msg.Body))
	v.Flag = msg.Flag
	if withProps {
		for k, val := range msg.Properties {
			v.Properties = append(v.Properties, hookv1.Property{Name: k, Value: val})
		}
		slices.SortFunc(v.Properties, func(a, b hookv1.Property) int { return strings.Compare(a.Name, b.Name) })
	}
}

// fillContextView fills the send context part of v (after fillMessageView); after adds the
// outcome of the send (AFTER_SEND).
func fillContextView(v *hookv1.MessageView, sc *send.SendContext, after bool) {
	v.Group, v.Namespace = sc.Group, sc.Namespace
	v.Batch = sc.Batch
	v.Mode = hookv1.Mode(sc.Mode + 1)
	v.MessageType = hookv1.MessageType(sc.MessageType + 1)
	v.Attempt = uint32(sc.Attempt)
	if sc.Queue.BrokerName != "" {
		v.HasQueue = true
		v.Queue = hookv1.QueueRef{Broker: sc.Queue.BrokerName, QueueID: int32(sc.Queue.QueueID)}
	}
	v.BrokerAddr, v.BornHost = sc.BrokerAddr, sc.BornHost
	if after {
		if sc.Result != nil && sc.Err == nil {
			v.Status = hookv1.SendStatus(sc.Result.Status + 1)
			v.MsgID, v.OffsetMsgID, v.QueueOffset = sc.Result.MsgID, sc.Result.OffsetMsgID, sc.Result.QueueOffset
		}
		v.LatencyNs = int64(sc.Latency)
		if sc.Err != nil {
			v.Error = sc.Err.Error()
		}
	}
}

// fillSelectView fills the SELECT_QUEUE part of v (after fillMessageView): the queue count, the
// queues themselves when withQueues (appended to v.Queues), and the selector argument when it is
// a string or bytes.
func fillSelectView(v *hookv1.MessageView, queues []message.MessageQueue, arg any, withQueues bool) {
	v.QueueCount = uint32(len(queues))
	if withQueues {
		for _, q := range queues {
			v.Queues = append(v.Queues, hookv1.QueueRef{Broker: q.BrokerName, QueueID: int32(q.QueueID)})
		}
	}
	switch a := arg.(type) {
	case string:
		v.SelectArg = []byte(a)
	case []byte:
		v.SelectArg = a
		if a == nil {
			v.SelectArg = []byte{}
		}
	}
}

// decideHook consumes the decision of a send hook point: a FORBID verdict (CHECK_FORBIDDEN,
// BEFORE_SEND) is stored in *forbid; the edits of any other BEFORE_SEND decision are validated and
// applied to the message (an error: the decision is invalid). An AFTER_SEND decision is ignored: an
// after hook cannot change the outcome.
func (c *pluginCore) decideHook(point hookv1.HookPoint, sc *send.SendContext, d *hookv1.Decision, forbid *error) error {
	if d == nil || point == hookv1.PointAfterSend {
		return nil
	}
	if d.Verdict == hookv1.Forbid {
		*forbid = &Forbidden{Plugin: c.name, Reason: sanitize(d.Reason), Transport: c.transport}
		return nil
	}
	if point == hookv1.PointBeforeSend {
		if d.ReplaceBody && sc.Batch {
			return errors.New("replace_body on a batch: its body is the encoded batch, not one message's body")
		}
		return applyEdits(sc.Message, d)
	}
	return nil
}

// decideQueue checks the decision of SELECT_QUEUE against the n queues offered: the index chosen,
// or -1 when the plugin made no choice.
func decideQueue(d *hookv1.Decision, n int) (int32, error) {
	if d == nil || d.QueueIndex < 0 {
		return -1, nil
	}
	if int(d.QueueIndex) >= n {
		return -1, fmt.Errorf("queue_index %d out of range (%d queues)", d.QueueIndex, n)
	}
	return d.QueueIndex, nil
}

// runHook calls a send hook point if the plugin wants it for sc's topic, and applies the point's
// failure policy to a failure.
func (c *pluginCore) runHook(point hookv1.HookPoint, sc *send.SendContext) error {
	if sc.Message == nil || !c.filter.wants(point, sc.Message.Topic) {
		return nil
	}
	forbid, perr := c.backend.callHook(point, sc)
	if perr != nil {
		if c.policy(point) == hookv1.FailOpen {
			return nil
		}
		return perr
	}
	return forbid
}

func (c *pluginCore) checkForbidden(sc *send.SendContext) error {
	return c.runHook(hookv1.PointCheckForbidden, sc)
}

func (c *pluginCore) before(sc *send.SendContext) error { return c.runHook(hookv1.PointBeforeSend, sc) }

func (c *pluginCore) after(sc *send.SendContext) {
	// Failures are logged and counted by the back end; an after hook cannot change the outcome.
	_ = c.runHook(hookv1.PointAfterSend, sc)
}

// Hooks returns a value implementing the send hook interfaces (send.CheckForbiddenHook,
// send.SendMessageBeforeHook, send.SendMessageAfterHook) of the points in use, and Name; nil when
// none is.
func (c *pluginCore) Hooks() send.Hook {
	f := &c.filter
	return composeHooks(c, f.has(hookv1.PointCheckForbidden), f.has(hookv1.PointBeforeSend), f.has(hookv1.PointAfterSend))
}

// composeHooks returns a value implementing exactly the hook interfaces selected (the producer
// checks them with type assertions, so an unimplemented point must not be there at all).
func composeHooks(c *pluginCore, f, b, a bool) send.Hook {
	n := implName{c}
	switch {
	case f && b && a:
		return struct {
			implName
			implForbid
			implBefore
			implAfter
		}{n, implForbid{c}, implBefore{c}, implAfter{c}}
	case f && b:
		return struct {
			implName
			implForbid
			implBefore
		}{n, implForbid{c}, implBefore{c}}
	case f && a:
		return struct {
			implName
			implForbid
			implAfter
		}{n, implForbid{c}, implAfter{c}}
	case b && a:
		return struct {
			implName
			implBefore
			implAfter
		}{n, implBefore{c}, implAfter{c}}
	case f:
		return struct {
			implName
			implForbid
		}{n, implForbid{c}}
	case b:
		return struct {
			implName
			implBefore
		}{n, implBefore{c}}
	case a:
		return struct {
			implName
			implAfter
		}{n, implAfter{c}}
	}
	return nil
}

type implName struct{ c *pluginCore }

func (n implName) Name() string { return n.c.name }

type implForbid struct{ c *pluginCore }

func (x implForbid) CheckForbidden(sc *send.SendContext) error { return x.c.checkForbidden(sc) }

type implBefore struct{ c *pluginCore }

func (x implBefore) SendMessageBefore(sc *send.SendContext) error { return x.c.before(sc) }

type implAfter struct{ c *pluginCore }

func (x implAfter) SendMessageAfter(sc *send.SendContext) { x.c.after(sc) }

// Selector returns a send.QueueSelector that asks the plugin (SELECT_QUEUE) and falls back to
// fallback when the plugin makes no choice, is not used for the topic, or fails under a fail-open
// policy (the default). Without SELECT_QUEUE in use it returns fallback; if the plugin declares
// consistent_select, its sends are ordered (send.ConsistentSelector); its select_retry is the
// selector's send.RetryingSelector policy.
func (c *pluginCore) Selector(fallback send.QueueSelector) send.QueueSelector {
	if !c.filter.has(hookv1.PointSelectQueue) {
		return fallback
	}
	return &selector{c: c, fallback: fallback}
}

// Consistent implements send.ConsistentSelector: a plugin that declared consistent_select makes
// ordered sends.
func (s *selector) Consistent() bool { return s.c.info.ConsistentSelect }

// SelectorRetry implements send.RetryingSelector with the plugin's select_retry: by default a send
// the plugin routed is made once, as Java makes selector sends.
func (s *selector) SelectorRetry() send.SelectorRetry {
	switch s.c.info.SelectRetry {
	case hookv1.SelectRetrySameQueue:
		return send.RetrySameQueue
	case hookv1.SelectRetryReselect:
		return send.RetryReselect
	}
	return send.RetryNever
}

// selector asks the plugin (SELECT_QUEUE) and falls back when the plugin makes no choice, does not
// apply to the topic, or fails under a fail-open policy.
type selector struct {
	c        *pluginCore
	fallback send.QueueSelector
}

func (s *selector) Name() string { return s.c.name }

func (s *selector) Select(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	c := s.c
	if len(queues) == 0 {
		return message.MessageQueue{}, send.ErrEmptyQueues
	}
	if msg == nil || !c.filter.wants(hookv1.PointSelectQueue, msg.Topic) {
		return s.fall(msg, queues, arg)
	}
	idx, perr := c.backend.callSelect(msg, queues, arg)
	if perr != nil {
		if c.policy(hookv1.PointSelectQueue) == hookv1.FailClosed {
			return message.MessageQueue{}, perr
		}
		return s.fall(msg, queues, arg)
	}
	if idx < 0 {
		return s.fall(msg, queues, arg)
	}
	return queues[idx], nil
}

func (s *selector) fall(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	if s.fallback == nil {
		return message.MessageQueue{}, fmt.Errorf("%s %q made no choice and there is %w", transportName(s.c.transport), s.c.name, errNoFallback)
	}
	return s.fallback.Select(msg, queues, arg)
}
